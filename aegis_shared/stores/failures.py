"""Turning a backend's own exceptions into the store's registered error code.

Every adapter wraps each backend call in :func:`backend_errors`, so callers only ever see
``ExternalServiceError`` with EXT_5007 (search), EXT_5008 (graph) or EXT_5009 (vectors), with
the original exception chained as ``__cause__`` for operators.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aegis_shared.errors import AegisError, ExternalServiceError

STORE_ERROR_CODES: dict[str, str] = {"search": "EXT_5007", "graph": "EXT_5008", "vectors": "EXT_5009"}


@contextmanager
def backend_errors(store: str, backend: str, operation: str) -> Iterator[None]:
    """Re-raise any non-Aegis exception from the block as the store's coded error."""
    try:
        yield
    except AegisError:
        raise  # already coded (e.g. validation or model mismatch): keep its own code
    except Exception as exc:
        code = STORE_ERROR_CODES[store]
        # The backend's message may embed a URL; keep only the exception type in details and
        # a bounded message, never credentials (they live in settings, not in messages we build).
        raise ExternalServiceError(
            code,
            f"{backend} {operation} failed: {type(exc).__name__}: {str(exc)[:300]}",
            details={
                "store": store,
                "backend": backend,
                "operation": operation,
                "error_type": type(exc).__name__,
            },
        ) from exc
