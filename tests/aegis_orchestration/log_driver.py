"""Runs one real entry point and, inside it, logs planted secrets and personal data.

Used by ``test_log_redaction.py``: ``python log_driver.py <entry point> <planted JSON> [args…]``.
The entry point is the real one, unchanged; what this driver adds is code *inside* that process
that logs the planted values the ways real code does (a third-party stdlib logger with a URL, a
%-format argument, structlog key/values, an exception traceback and Dagster's ``context.log``),
so the test can look for them in everything the process writes.
"""

import json
import logging
import sys
import threading
import time
from typing import Any

import dagster as dg
import structlog

PLANTED: dict[str, str] = json.loads(sys.argv[2])


def plant(where: str) -> None:
    text = (
        f"planted-marker-{where}: key {PLANTED['service_key']} for {PLANTED['email']} "
        f"call {PLANTED['phone']} bearer {PLANTED['jwt']}"
    )
    logging.getLogger("httpx").warning(
        "GET https://apis.data.go.kr/1421000/mssBizService_v2?serviceKey=%s %s", PLANTED["service_key"], text
    )
    logging.getLogger("aegis.planted").error(
        "login as admin with password=%s (%s)", PLANTED["password"], text
    )
    structlog.get_logger("aegis.planted").warning(
        f"planted-marker-{where}",
        password=PLANTED["password"],
        contact={"email": PLANTED["email"], "phone": PLANTED["phone"]},
        note=text,
    )
    try:
        raise RuntimeError(text)
    except RuntimeError:
        logging.getLogger("aegis.planted").exception("planted-marker-%s failed", where)


def _configured_service() -> str | None:
    """The service name the root handler stamps on each line (None: logging not configured).

    ``configure_logging`` installs that handler last, after configuring structlog.
    """
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_aegis_handler", False):
            for processor in getattr(handler.formatter, "foreign_pre_chain", None) or ():
                if getattr(processor, "__name__", "") == "add_service" and processor.__closure__:
                    return processor.__closure__[0].cell_contents  # type: ignore[no-any-return]
    return None


def plant_once_configured(where: str, service: str) -> threading.Thread:
    """Plant from another thread as soon as the entry point has configured logging for ``service``."""

    def run() -> None:
        deadline = time.monotonic() + 120
        while _configured_service() != service and time.monotonic() < deadline:
            time.sleep(0.01)
        plant(where)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def definitions() -> None:
    """Load the code location, then materialize an asset that logs through ``context.log``."""
    import aegis_orchestration.definitions  # noqa: F401 - the entry point under test

    plant("definitions")

    @dg.asset
    def leaky(context: dg.AssetExecutionContext) -> int:
        context.log.info(
            f"planted-marker-context: {PLANTED['email']} {PLANTED['phone']} token={PLANTED['jwt']}"
        )
        context.log.warning("password=%s serviceKey=%s", PLANTED["password"], PLANTED["service_key"])
        return 1

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([leaky], instance=instance)
    assert result.success
    # What the UI shows for the run: every event-log entry's message.
    messages: list[Any] = [entry.user_message for entry in instance.all_logs(result.run_id)]
    print(json.dumps({"event_log": messages}, ensure_ascii=False), flush=True)


def cli() -> None:
    """The ``aegis`` group with one extra command that logs the planted values."""
    import click

    from aegis_orchestration.cli import main

    @main.command("plant")
    def plant_command() -> None:
        plant("cli")
        click.echo("planted")

    main(["plant"], standalone_mode=False)


def serve() -> None:
    """``aegis hot-path serve`` until idle, with the planted values logged while it runs."""
    from aegis_orchestration.hot_path.cli import hot_path

    planter = plant_once_configured("serve", "aegis-hot-path")
    hot_path(sys.argv[3:], standalone_mode=False)
    planter.join(10)
    assert "aegis_orchestration.definitions" not in sys.modules  # serve itself configured logging


def demo() -> None:
    """``aegis demo`` over a short window, with the planted values logged while it runs."""
    from aegis_orchestration.cli import main

    planter = plant_once_configured("demo", "aegis-demo")
    main(["demo", *sys.argv[3:]], standalone_mode=False)
    planter.join(10)


if __name__ == "__main__":
    {"definitions": definitions, "cli": cli, "serve": serve, "demo": demo}[sys.argv[1]]()
