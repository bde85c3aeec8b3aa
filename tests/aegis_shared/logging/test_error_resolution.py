"""Every coded failure in the log carries the registry's resolution, whoever logged it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from aegis_shared.errors import ExternalServiceError, PipelineError, get_definition
from aegis_shared.logging import clear_context, configure_logging, get_logger


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", json=True, service="test-service", stream=stream)
    clear_context()
    yield stream
    configure_logging("WARNING", stream=io.StringIO())


def _line(stream: io.StringIO, event: str) -> dict[str, object]:
    (line,) = [json.loads(raw) for raw in stream.getvalue().splitlines() if event in raw]
    return line


def test_a_logged_aegis_error_carries_its_code_and_resolution(output: io.StringIO) -> None:
    log = get_logger("aegis.test")
    try:
        raise PipelineError("DP_2009", "quality expectation x failed to run")
    except PipelineError:
        log.exception("quality step failed")
    err = ExternalServiceError("EXT_5011", "bizinfo breaker open")
    log.warning("source skipped", exc_info=err)

    line = _line(output, "quality step failed")
    assert line["error_code"] == "DP_2009"
    assert line["resolution"] == get_definition("DP_2009").resolution
    assert "quality expectation x failed to run" in str(line["exception"])
    assert _line(output, "source skipped")["resolution"] == get_definition("EXT_5011").resolution


def test_a_failure_naming_a_code_gets_its_resolution(output: io.StringIO) -> None:
    log = get_logger("aegis.test")
    log.error("delivery failed", code="EXT_5012", topic="t")
    log.warning("rejected", error_code="DP_2005")
    # Standard-library loggers (Dagster's, third parties') naming "[CODE]" the way errors render.
    logging.getLogger("dagster.test").error("step collect failed: [DP_1001] bizinfo unavailable")
    try:
        raise PipelineError("DP_4004")
    except PipelineError:
        logging.getLogger("other.lib").exception("handler gave up")

    assert _line(output, "delivery failed")["resolution"] == get_definition("EXT_5012").resolution
    assert _line(output, "rejected")["resolution"] == get_definition("DP_2005").resolution
    step = _line(output, "step collect failed")
    assert (step["error_code"], step["resolution"]) == ("DP_1001", get_definition("DP_1001").resolution)
    assert _line(output, "handler gave up")["error_code"] == "DP_4004"


def test_lines_that_are_not_coded_failures_stay_as_they_were(output: io.StringIO) -> None:
    log = get_logger("aegis.test")
    log.info("dead letter replayed", code="DP_4004")  # not a failure: no advice needed
    log.error("odd failure", code="NOPE")  # not a registered code
    log.error("kept", code="DP_1001", resolution="ours, written by the caller")

    assert "resolution" not in _line(output, "dead letter replayed")
    assert "resolution" not in _line(output, "odd failure")
    assert _line(output, "kept")["resolution"] == "ours, written by the caller"
