"""aegis_shared.database must stay importable by any service: no Dagster underneath it."""

from __future__ import annotations

import subprocess
import sys


def test_database_package_does_not_import_dagster() -> None:
    code = (
        "import sys, aegis_shared.database, aegis_shared.database.cli, aegis_shared.database.repository, "
        "aegis_shared.database.engine, aegis_shared.database.schema_docs; "
        "print(any(m == 'dagster' or m.startswith('dagster.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
