"""Exception handlers: every failure leaves as the standard error body.

``{"code", "message", "user_message", "details", "request_id"}`` with the code's HTTP status.
Unexpected exceptions become SYS_7001 without their text (it may hold SQL, paths or secrets);
the full exception goes to the log with the same request id.
"""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from aegis_shared.contracts.validator import json_pointer
from aegis_shared.errors import AegisError
from aegis_shared.monitoring.health import redact

logger = structlog.get_logger(__name__)


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_body(error: AegisError, request_id: str | None) -> dict[str, Any]:
    return {
        "code": error.code,
        "message": error.message,
        "user_message": error.user_message,
        "details": error.details,
        "request_id": request_id,
    }


def error_response(error: AegisError, request: Request) -> JSONResponse:
    request_id = request_id_of(request)
    headers = {"X-Request-ID": request_id} if request_id else {}
    if error.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(error, request_id), status_code=error.http_status, headers=headers)


async def _aegis_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, AegisError):  # registered for AegisError only; anything else is a 500
        raise exc
    log = logger.warning if exc.http_status < 500 else logger.error
    log("request_failed", code=exc.code, status=exc.http_status, path=request.url.path)
    return error_response(exc, request)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for RequestValidationError only
        raise exc
    errors = [
        # "loc" starts with where the value came from (body, query, path, header).
        {
            "pointer": json_pointer(err.get("loc", ())[1:]),
            "in": str(err.get("loc", ("",))[0]),
            "type": err.get("type"),
        }
        for err in exc.errors()[:20]
    ]
    error = AegisError("VALID_3001", details={"errors": errors})
    return error_response(error, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Runs outside the request-id middleware (Starlette's ServerErrorMiddleware), so the id is
    # passed explicitly rather than through the context variables.
    logger.error(
        "unhandled_exception",
        path=request.url.path,
        error=type(exc).__name__,
        request_id=request_id_of(request),
        # Exception text often quotes connection URLs: credentials are stripped. The stack is
        # kept as frames only, without the message.
        error_message=redact(str(exc))[:500],
        stack="".join(traceback.format_tb(exc.__traceback__)),
    )
    return error_response(AegisError("SYS_7001"), request)


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AegisError, _aegis_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(Exception, _unexpected)
