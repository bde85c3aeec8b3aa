"""Logging for every entry point of the code location: definitions load, CLI, serve, demo.

Each entry point calls :func:`configure_entry_point_logging` first, so no line leaves the
process unredacted: structlog and stdlib records go through ``aegis_shared``'s redaction
processor, and every stdlib record (Dagster's ``context.log`` included, which feeds the console
logger and the run's event log in the UI) is masked as it is created.
"""

from __future__ import annotations

import sys
from typing import Literal

from aegis_shared.config import get_settings
from aegis_shared.logging import configure_logging


def configure_entry_point_logging(service: str, *, interactive: bool = False) -> None:
    """Configure redacting logging for the entry point ``service``.

    Lines go to the process's standard error (``sys.__stderr__``): Dagster's compute-log capture
    and a terminal both see it, and a command's own output on stdout stays machine-readable.
    ``AEGIS_LOG_LEVEL`` and ``AEGIS_LOG_FORMAT`` override the defaults: INFO and JSON for
    services; WARNING and console lines for an ``interactive`` command line.
    """
    settings = get_settings()
    level = settings.log_level or ("WARNING" if interactive else "INFO")
    log_format: Literal["json", "console"] = settings.log_format or ("console" if interactive else "json")
    configure_logging(
        level,
        json=log_format == "json",
        service=service,
        stream=sys.__stderr__ or sys.stderr,
        settings=settings,
    )
