"""The coded errors a source can raise, and which of them are worth retrying."""

from __future__ import annotations

from typing import Any

from aegis_shared.errors import PipelineError

# Codes for conditions that pass: an overloaded or briefly broken upstream, a rate limit.
RETRYABLE_CODES = frozenset({"DP_1001", "DP_1002", "EXT_5004"})


class SourceError(PipelineError):
    """A source answered with an error, or with a body we cannot read (DP_1xxx / EXT_5xxx).

    ``details`` carries the source, the upstream's own code and message, and a short excerpt of
    the body so an operator can see what came back; never the service key.
    """

    default_code = "DP_1004"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        source: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        if source is not None:
            merged.setdefault("source", source)
        super().__init__(code, message, details=merged)
        self.source = merged.get("source")

    @property
    def retryable(self) -> bool:
        """Whether backing off and asking again can succeed."""
        return self.code in RETRYABLE_CODES


class RejectedRecordError(PipelineError):
    """One item of an otherwise good page cannot become an announcement (DP_2xxx)."""

    default_code = "DP_2001"


def excerpt(text: str | bytes, limit: int = 200) -> str:
    """A short, printable head of a body for error details."""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", errors="replace")
    return text[:limit]
