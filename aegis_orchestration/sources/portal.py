"""The public data portal gateway (apis.data.go.kr): its error shapes and its paging envelope.

Gateway errors arrive as XML even when JSON was asked for, sometimes without the code element,
so both the code and the message name are matched. ``03`` (NODATA) is an empty page, not an error.
"""

from __future__ import annotations

import json
from typing import Any

from aegis_orchestration.sources.errors import SourceError, excerpt
from aegis_orchestration.sources.xmldoc import child_text, parse_xml

GATEWAY_MESSAGES: dict[str, str] = {
    "00": "NORMAL_CODE",
    "01": "APPLICATION_ERROR",
    "02": "DB_ERROR",
    "03": "NODATA_ERROR",
    "04": "HTTP_ERROR",
    "05": "SERVICETIME_OUT",
    "10": "INVALID_REQUEST_PARAMETER_ERROR",
    "11": "NO_MANDATORY_REQUEST_PARAMETERS_ERROR",
    "12": "NO_OPENAPI_SERVICE_ERROR",
    "20": "SERVICE_ACCESS_DENIED_ERROR",
    "21": "TEMPORARILY_DISABLE_THE_SERVICEKEY_ERROR",
    "22": "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
    "30": "SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
    "31": "DEADLINE_HAS_EXPIRED_ERROR",
    "32": "UNREGISTERED_IP_ERROR",
    "33": "UNSIGNED_CALL_ERROR",
    "99": "UNKNOWN_ERROR",
}
_CODE_BY_MESSAGE = {message: code for code, message in GATEWAY_MESSAGES.items()}

# Gateway code → our code. Key and access problems will not heal by retrying; outages may.
_OUR_CODE: dict[str, str] = {
    "01": "DP_1001",
    "02": "DP_1001",
    "04": "DP_1001",
    "05": "DP_1001",
    "07": "DP_1008",
    "10": "DP_1008",
    "11": "DP_1008",
    "12": "DP_1006",
    "20": "DP_1005",
    "21": "DP_1005",
    "22": "DP_1002",
    "30": "DP_1005",
    "31": "DP_1005",
    "32": "DP_1005",
    "33": "DP_1005",
    "99": "DP_1001",
}
NODATA = "03"
OK_CODES = frozenset({"00", "0", "000", "NORMAL_CODE", "INFO-000"})


def _gateway_code(code: str | None, message: str | None) -> str | None:
    code = (code or "").strip()
    if code:
        return code.zfill(2) if code.isdigit() else code
    for name, number in _CODE_BY_MESSAGE.items():
        if message and name in message:
            return number
    return None


def gateway_error(source: str, code: str | None, message: str | None, *, body: str = "") -> SourceError:
    """Build the coded error for a gateway result code and/or message."""
    number = _gateway_code(code, message)
    ours = _OUR_CODE.get(number or "", "DP_1004" if number is None else "DP_1001")
    return SourceError(
        ours,
        f"data portal error {number or '?'}: {message or GATEWAY_MESSAGES.get(number or '', 'unknown')}",
        source=source,
        details={"upstream_code": number, "upstream_message": message, "excerpt": excerpt(body)},
    )


def raise_for_gateway_error(source: str, text: str) -> None:
    """Raise the coded error if ``text`` is one of the gateway's error bodies; else return."""
    stripped = text.lstrip()
    if stripped.startswith("<") and "OpenAPI_ServiceResponse" in stripped[:300]:
        root = parse_xml(stripped, source=source)
        header = root.find("cmmMsgHeader")
        scope = header if header is not None else root
        auth = child_text(scope, "returnAuthMsg")
        err = child_text(scope, "errMsg")
        raise gateway_error(source, child_text(scope, "returnReasonCode"), auth or err, body=text)
    if stripped[:40].strip().lower() in {"unauthorized", "forbidden"}:
        raise SourceError(
            "DP_1005",
            f"gateway answered {stripped[:40].strip()!r}",
            source=source,
            details={"excerpt": excerpt(text)},
        )


def check_result_header(source: str, code: Any, message: Any, *, body: str = "") -> bool:
    """Check a ``response/header`` result. Returns ``False`` for NODATA (an empty page)."""
    text_code = None if code is None else str(code).strip()
    if text_code in OK_CODES or (text_code is None and message in (None, "NORMAL_CODE", "NORMAL SERVICE.")):
        return True
    if _gateway_code(text_code, None if message is None else str(message)) == NODATA:
        return False
    raise gateway_error(source, text_code, None if message is None else str(message), body=body)


def load_json(source: str, text: str) -> Any:
    """Parse a JSON body; a malformed or truncated one is DP_1004 with an excerpt."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            "DP_1004",
            f"malformed JSON: {exc.msg} at {exc.pos}",
            source=source,
            details={"excerpt": excerpt(text)},
        ) from exc
