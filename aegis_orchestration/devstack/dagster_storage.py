"""Dagster's PostgreSQL storage, reading its URL from the stack's settings or stopping in one line.

``dagster.yaml`` names this class instead of ``storage: postgres`` with ``env:``: run in the
checkout without the stack's settings (``dagster dev`` instead of ``make dev``), Dagster's own
config error is a 60-line traceback about an unset variable. This says what to do instead.
"""

from __future__ import annotations

import os
from typing import Any

from dagster._config import Field, StringSource
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage

URL_VARIABLE = "AEGIS_DAGSTER_PG_URL"
MISSING_SETTINGS = (
    f"aegis: {URL_VARIABLE} is not set, so Dagster has no run storage: start the UI with `make dev` "
    "(it starts the local stack and sets it), or export the stack's settings with "
    "`eval $(aegis devstack env)` first"
)


class StackPostgresStorage(DagsterPostgresStorage):
    """:class:`DagsterPostgresStorage` at ``$AEGIS_DAGSTER_PG_URL`` (or ``postgres_url``)."""

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"postgres_url": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> StackPostgresStorage:
        url = config_value.get("postgres_url") or os.environ.get(URL_VARIABLE)
        if not url:
            raise SystemExit(MISSING_SETTINGS)
        return cls(postgres_url=url, inst_data=inst_data)
