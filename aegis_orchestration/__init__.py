"""aegis_orchestration: the Dagster code location of the Aegis data platform.

It ships in the same distribution as ``aegis_shared`` but needs the ``orchestration`` extra
(Dagster, pandas, Great Expectations, the source clients); without it, importing this package,
and so the ``aegis`` command, fails with SYS_7010 naming the install line.
"""

from aegis_shared._extras import require_extra

require_extra("orchestration", "aegis_orchestration (the Dagster code location)")
