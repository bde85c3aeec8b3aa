"""The central error-code registry.

Codes follow seed 000 (AUTH, AUTHZ, VALID, DB, EXT, BIZ, SYS) and seed 004 (DP_1xxx collection,
DP_2xxx validation, DP_3xxx sync, DP_4xxx processing). Each code has an English message, an
HTTP status, a Korean message for end users and a resolution for operators. Adding a code means
adding one row to ``_ROWS``; a test proves every code used in the codebase is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ErrorCategory(StrEnum):
    AUTH = "AUTH"
    AUTHZ = "AUTHZ"
    VALID = "VALID"
    DB = "DB"
    EXT = "EXT"
    BIZ = "BIZ"
    SYS = "SYS"
    DP = "DP"


@dataclass(frozen=True, slots=True)
class ErrorDefinition:
    code: str
    category: ErrorCategory
    message: str
    http_status: int
    user_message: str
    resolution: str


# code, http status, message, Korean user message, resolution
_ROWS: tuple[tuple[str, int, str, str, str], ...] = (
    # Authentication
    (
        "AUTH_1001",
        401,
        "Invalid authentication token",
        "인증에 실패했습니다. 다시 로그인해주세요.",
        "Obtain a new token.",
    ),
    (
        "AUTH_1002",
        401,
        "Authentication token has expired",
        "세션이 만료되었습니다. 다시 로그인해주세요.",
        "Use the refresh token to get a new access token.",
    ),
    (
        "AUTH_1003",
        401,
        "Authentication token is missing",
        "로그인이 필요합니다.",
        "Send the token in the Authorization header.",
    ),
    (
        "AUTH_1004",
        401,
        "Invalid credentials",
        "아이디 또는 비밀번호가 올바르지 않습니다.",
        "Check the credentials.",
    ),
    (
        "AUTH_1005",
        401,
        "Token is not yet valid",
        "인증 정보가 아직 유효하지 않습니다.",
        "Check the issuer clock and the nbf claim.",
    ),
    (
        "AUTH_1006",
        401,
        "Wrong token type",
        "올바르지 않은 인증 토큰 유형입니다.",
        "Use an access token for API calls and a refresh token only to refresh.",
    ),
    (
        "AUTH_1007",
        401,
        "Unknown signing key",
        "인증에 실패했습니다. 다시 로그인해주세요.",
        "The kid header names no known key; re-issue the token.",
    ),
    (
        "AUTH_1008",
        401,
        "Refresh token was already used",
        "보안을 위해 다시 로그인해주세요.",
        "A reused refresh token suggests theft; the session was revoked.",
    ),
    (
        "AUTH_1009",
        401,
        "Token algorithm is not allowed",
        "인증에 실패했습니다. 다시 로그인해주세요.",
        "Sign tokens with the algorithm this service pins.",
    ),
    (
        "AUTH_1010",
        401,
        "Token audience does not match",
        "이 서비스에 대한 접근 권한이 없습니다.",
        "Request a service token for this audience.",
    ),
    (
        "AUTH_1020",
        500,
        "Stored password hash is unreadable",
        "인증 처리 중 오류가 발생했습니다.",
        "The stored value is not an Argon2 hash: reset the account's password.",
    ),
    # Authorization
    (
        "AUTHZ_2001",
        403,
        "Insufficient permissions",
        "이 작업을 수행할 권한이 없습니다.",
        "Ask an administrator for the permission.",
    ),
    (
        "AUTHZ_2002",
        403,
        "Resource is forbidden",
        "이 리소스에 접근할 수 없습니다.",
        "Check resource ownership.",
    ),
    (
        "AUTHZ_2003",
        403,
        "Role not found",
        "알 수 없는 역할입니다.",
        "Define the role in the RBAC configuration.",
    ),
    # Validation
    ("VALID_3001", 400, "Invalid input", "입력값이 올바르지 않습니다.", "Correct the input and retry."),
    (
        "VALID_3002",
        400,
        "Missing required field",
        "필수 항목이 누락되었습니다.",
        "Provide every required field.",
    ),
    ("VALID_3003", 400, "Invalid format", "형식이 올바르지 않습니다.", "Follow the documented format."),
    (
        "VALID_3004",
        400,
        "Value out of range",
        "허용 범위를 벗어난 값입니다.",
        "Use a value within the allowed range.",
    ),
    (
        "VALID_3005",
        422,
        "Event data does not match its registered schema",
        "이벤트 데이터가 스키마와 맞지 않습니다.",
        "Fix the producer or register a compatible schema version.",
    ),
    (
        "VALID_3006",
        409,
        "Schema version is incompatible with its subject",
        "호환되지 않는 스키마 변경입니다.",
        "Make the change compatible or use a new major version.",
    ),
    (
        "VALID_3007",
        400,
        "Unknown event type",
        "알 수 없는 이벤트 유형입니다.",
        "Register the event type's schema first.",
    ),
    (
        "VALID_3008",
        400,
        "Unsupported event major version",
        "지원하지 않는 이벤트 버전입니다.",
        "Upgrade the consumer or publish to the matching topic.",
    ),
    (
        "VALID_3009",
        400,
        "Message could not be decoded",
        "메시지를 해석할 수 없습니다.",
        "Send UTF-8 JSON in the event envelope.",
    ),
    (
        "VALID_3010",
        400,
        "Timestamp must be timezone-aware UTC",
        "시간 정보가 올바르지 않습니다.",
        "Send ISO-8601 timestamps with an offset.",
    ),
    (
        "VALID_3011",
        413,
        "Payload is too large",
        "데이터 크기가 너무 큽니다.",
        "Split the payload or raise the configured limit.",
    ),
    (
        "VALID_3012",
        400,
        "Invalid schema definition",
        "스키마 정의가 올바르지 않습니다.",
        "Fix the schema file at the reported location.",
    ),
    (
        "VALID_3020",
        400,
        "Invalid business registration number",
        "사업자등록번호가 올바르지 않습니다.",
        "Enter the 10-digit number (XXX-XX-XXXXX) exactly as on the registration certificate.",
    ),
    (
        "VALID_3021",
        400,
        "Invalid phone number",
        "전화번호 형식이 올바르지 않습니다.",
        "Enter a Korean number such as 010-1234-5678 or 02-123-4567.",
    ),
    (
        "VALID_3022",
        400,
        "Invalid e-mail address",
        "이메일 주소 형식이 올바르지 않습니다.",
        "Enter an address such as name@example.kr.",
    ),
    (
        "VALID_3023",
        400,
        "Unusable file name",
        "파일 이름을 사용할 수 없습니다.",
        "Rename the file with letters or Hangul before its extension.",
    ),
    (
        "VALID_3024",
        400,
        "Encrypted value rejected",
        "암호화된 값을 확인할 수 없습니다.",
        "The token was altered, expired, or made with a key not in AEGIS_ENCRYPTION_KEYS.",
    ),
    ("VALID_3025", 400, "Password is empty", "비밀번호를 입력해주세요.", "Enter a password."),
    (
        "VALID_3026",
        400,
        "File content does not match its type",
        "파일 내용이 확장자와 일치하지 않습니다.",
        "Upload the original file; do not rename files to another extension.",
    ),
    # Database
    ("DB_4001", 404, "Entity not found", "요청하신 정보를 찾을 수 없습니다.", "Check the id."),
    ("DB_4002", 409, "Duplicate entity", "이미 존재하는 정보입니다.", "Use a different key."),
    (
        "DB_4003",
        503,
        "Database connection error",
        "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
        "Check AEGIS_POSTGRES_URL and that PostgreSQL is up.",
    ),
    (
        "DB_4004",
        500,
        "Transaction failed",
        "요청을 처리하지 못했습니다.",
        "Retry; if it persists, check the database logs.",
    ),
    (
        "DB_4005",
        409,
        "Constraint violation",
        "데이터 제약 조건을 위반했습니다.",
        "Check references and unique keys.",
    ),
    (
        "DB_4006",
        423,
        "Entity is locked",
        "다른 작업이 진행 중입니다.",
        "Retry after the other operation finishes.",
    ),
    (
        "DB_4007",
        500,
        "Schema migration failed and was rolled back",
        "데이터베이스 변경에 실패했습니다.",
        "Read the failed step in schema_migrations and fix it.",
    ),
    (
        "DB_4008",
        409,
        "Migration would lose data",
        "데이터 손실 위험이 있는 변경입니다.",
        "Pass allow_data_loss=True after taking a backup.",
    ),
    (
        "DB_4009",
        423,
        "Another migration holds the lock",
        "다른 마이그레이션이 진행 중입니다.",
        "Wait for the running migration to finish.",
    ),
    (
        "DB_4010",
        400,
        "Schema reference is invalid",
        "스키마 참조가 올바르지 않습니다.",
        "Point the reference at an existing table and column of the same type.",
    ),
    (
        "DB_4011",
        503,
        "Retries exhausted on serialization failure or deadlock",
        "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
        "Reduce contention or retry later.",
    ),
    (
        "DB_4020",
        503,
        "Database schema is not at the expected version",
        "서비스 준비 중입니다. 잠시 후 다시 시도해주세요.",
        "Run `aegis schema migrate` (or the Dagster job schema_migrate_job); resources never run DDL.",
    ),
    (
        "DB_4021",
        409,
        "Migration cannot be rolled back (not purely additive)",
        "되돌릴 수 없는 데이터베이스 변경입니다.",
        "Write a new forward migration in the registry instead.",
    ),
    (
        "DB_4022",
        404,
        "No applied migration to roll back",
        "되돌릴 변경이 없습니다.",
        "Check `schema_migrations`; nothing was changed.",
    ),
    (
        "DB_4030",
        409,
        "Event stream version conflict",
        "다른 작업이 먼저 변경했습니다. 다시 시도해주세요.",
        "Another writer appended to the stream first: read the stream again and retry the decision.",
    ),
    (
        "DB_4031",
        400,
        "Event cannot be appended",
        "요청을 처리하지 못했습니다.",
        "Give a non-blank stream id and event type, JSON-object data and an expected version >= 0 or ANY.",
    ),
    # External services
    ("EXT_5001", 503, "LLM service error", "AI 서비스가 일시적으로 사용할 수 없습니다.", "Retry later."),
    ("EXT_5002", 429, "LLM rate limit", "요청이 많아 잠시 후 다시 시도해주세요.", "Back off and retry."),
    (
        "EXT_5003",
        502,
        "External API error",
        "외부 서비스 오류가 발생했습니다.",
        "Check the upstream service status.",
    ),
    (
        "EXT_5004",
        504,
        "External API timeout",
        "외부 서비스 응답이 지연되고 있습니다.",
        "Retry later; check the timeout setting.",
    ),
    (
        "EXT_5005",
        503,
        "Kafka error",
        "메시지 처리 중 오류가 발생했습니다.",
        "Check AEGIS_KAFKA_BOOTSTRAP and the broker.",
    ),
    (
        "EXT_5006",
        503,
        "Redis error",
        "일시적인 오류가 발생했습니다.",
        "Check AEGIS_REDIS_URL and the Redis server.",
    ),
    (
        "EXT_5007",
        503,
        "Search engine error",
        "검색 서비스 오류가 발생했습니다.",
        "Check AEGIS_ELASTICSEARCH_URL or the local index path.",
    ),
    (
        "EXT_5008",
        503,
        "Graph database error",
        "그래프 서비스 오류가 발생했습니다.",
        "Check AEGIS_NEO4J_URI or the local FalkorDB server.",
    ),
    (
        "EXT_5009",
        503,
        "Vector database error",
        "벡터 검색 서비스 오류가 발생했습니다.",
        "Check AEGIS_MILVUS_URI.",
    ),
    (
        "EXT_5010",
        502,
        "External API rejected the service key",
        "외부 서비스 인증에 실패했습니다.",
        "Check the source's API key setting.",
    ),
    (
        "EXT_5011",
        503,
        "Circuit breaker is open",
        "외부 서비스가 일시적으로 차단되었습니다.",
        "Wait for the breaker's reset timeout.",
    ),
    (
        "EXT_5012",
        503,
        "Kafka delivery failed",
        "메시지 전송에 실패했습니다.",
        "Check the broker and topic; the event was not delivered.",
    ),
    (
        "EXT_5030",
        503,
        "Kafka read failed",
        "메시지를 읽지 못했습니다.",
        "Check the broker is reachable; nothing was changed.",
    ),
    (
        "EXT_5031",
        503,
        "Dead-letter replay delivery failed",
        "실패 메시지 재전송에 실패했습니다.",
        "Check the broker and run the replay again; it resumes without sending twice.",
    ),
    # Business
    (
        "BIZ_6001",
        400,
        "Policy not eligible",
        "이 정책의 지원 대상이 아닙니다.",
        "Check the eligibility rules.",
    ),
    (
        "BIZ_6002",
        400,
        "Application deadline passed",
        "신청 기간이 지났습니다.",
        "Look for an open programme.",
    ),
    (
        "BIZ_6003",
        409,
        "Invalid business state",
        "현재 상태에서는 처리할 수 없습니다.",
        "Check the entity's status.",
    ),
    ("BIZ_6004", 404, "Recommendation not available", "추천 결과를 준비 중입니다.", "Retry later."),
    # System
    (
        "SYS_7001",
        500,
        "Internal server error",
        "서버 내부 오류가 발생했습니다.",
        "Report the request id to the platform team.",
    ),
    ("SYS_7002", 503, "Service unavailable", "서비스를 일시적으로 사용할 수 없습니다.", "Retry later."),
    (
        "SYS_7006",
        500,
        "A cached function called itself with the same cache key while computing it",
        "서버 내부 오류가 발생했습니다.",
        "The call can never finish: fix the recursion, or give the inner call different arguments "
        "(check the decorator's key template and ignore list).",
    ),
    (
        "SYS_7003",
        500,
        "Configuration error",
        "서비스 설정 오류가 발생했습니다.",
        "Check the AEGIS_* settings.",
    ),
    ("SYS_7004", 503, "Resource exhausted", "시스템 자원이 부족합니다.", "Scale up or reduce load."),
    (
        "SYS_7010",
        500,
        "Optional dependency missing: install the extra the message names",
        "서비스 설정 오류가 발생했습니다.",
        'pip install "aegis-platform[<extra>]" with the extra named in the message (README, For library users).',
    ),
    (
        "SYS_7011",
        500,
        "Bundled schemas are not on a filesystem",
        "서비스 설정 오류가 발생했습니다.",
        "Install aegis-platform unpacked with pip rather than importing it from a zip archive.",
    ),
    (
        "SYS_7005",
        503,
        "Local server prerequisite missing",
        "로컬 서버를 시작하는 데 필요한 구성 요소가 없습니다.",
        "Install what the message names (Java 17, Maven, PostgreSQL) or free the port.",
    ),
    (
        "SYS_7013",
        503,
        "Metrics push failed",
        "운영 지표를 전송하지 못했습니다.",
        "Check AEGIS_PUSHGATEWAY_URL and Redis; the totals are kept and go out with the next push.",
    ),
    (
        "SYS_7020",
        500,
        "Required setting missing",
        "서비스 설정 오류가 발생했습니다.",
        "Set each AEGIS_* variable the message names (or its _FILE variable) for this environment.",
    ),
    (
        "SYS_7021",
        500,
        "Setting file unreadable",
        "서비스 설정 오류가 발생했습니다.",
        "The AEGIS_*_FILE variable names a file that is missing, unreadable or empty: mount the secret.",
    ),
    (
        "SYS_7022",
        500,
        "Setting given twice",
        "서비스 설정 오류가 발생했습니다.",
        "Set either AEGIS_X or AEGIS_X_FILE, not both.",
    ),
    (
        "SYS_7023",
        500,
        "Invalid encryption key",
        "서비스 설정 오류가 발생했습니다.",
        "AEGIS_ENCRYPTION_KEYS holds Fernet keys (aegis_shared.utils.crypto.generate_key), comma-separated.",
    ),
    (
        "SYS_7030",
        500,
        "Unknown step executor",
        "서비스 설정 오류가 발생했습니다.",
        "Set AEGIS_EXECUTOR to multiprocess (default) or celery.",
    ),
    (
        "SYS_7031",
        500,
        "Invalid Celery executor setting",
        "서비스 설정 오류가 발생했습니다.",
        "With AEGIS_EXECUTOR=celery, point AEGIS_CELERY_BROKER_URL (or AEGIS_REDIS_URL) at a redis:// or "
        "amqp:// broker and keep AEGIS_CELERY_VISIBILITY_TIMEOUT above the longest step, in seconds.",
    ),
    # Data pipeline: collection
    (
        "DP_1001",
        503,
        "Data source unavailable",
        "공고 수집처에 접속할 수 없습니다.",
        "Check the source's base URL and status; the run retries.",
    ),
    (
        "DP_1002",
        429,
        "Source API rate limit exceeded",
        "수집 요청 한도를 초과했습니다.",
        "Back off; lower the source's request rate.",
    ),
    (
        "DP_1003",
        403,
        "Scraping blocked",
        "웹 수집이 차단되었습니다.",
        "Check the site's access policy and User-Agent.",
    ),
    (
        "DP_1004",
        502,
        "Invalid data format from source",
        "수집 데이터 형식이 올바르지 않습니다.",
        "Inspect the raw body kept with the error.",
    ),
    (
        "DP_1005",
        502,
        "Source rejected the API key",
        "수집처 인증키가 올바르지 않습니다.",
        "Set a valid key for the source.",
    ),
    (
        "DP_1006",
        404,
        "Source endpoint or feed not found",
        "수집 대상을 찾을 수 없습니다.",
        "Update the feed or endpoint URL.",
    ),
    (
        "DP_1007",
        502,
        "Source body could not be decoded",
        "수집 데이터의 문자 인코딩을 해석할 수 없습니다.",
        "Check the declared charset.",
    ),
    (
        "DP_1008",
        502,
        "Source request parameters rejected",
        "수집 요청 값이 올바르지 않습니다.",
        "Check the connector's request parameters.",
    ),
    # Data pipeline: validation
    (
        "DP_2001",
        422,
        "Record failed validation",
        "공고 데이터 검증에 실패했습니다.",
        "See the rejection reason kept with the record.",
    ),
    (
        "DP_2002",
        422,
        "Quality score below threshold",
        "공고 데이터 품질이 기준에 미달합니다.",
        "Improve the source record's completeness.",
    ),
    ("DP_2003", 409, "Duplicate data detected", "중복된 공고입니다.", "None; duplicates are merged."),
    (
        "DP_2004",
        422,
        "Impossible date",
        "날짜 정보가 올바르지 않습니다.",
        "Fix the source's application period.",
    ),
    (
        "DP_2005",
        422,
        "Required field missing",
        "필수 항목이 누락된 공고입니다.",
        "The source omitted a required field.",
    ),
    (
        "DP_2006",
        422,
        "Field exceeds its maximum length",
        "항목 길이가 허용 범위를 초과했습니다.",
        "Check the source field.",
    ),
    ("DP_2007", 422, "Invalid URL", "공고 링크가 올바르지 않습니다.", "Check the source's URL field."),
    (
        "DP_2008",
        413,
        "Record exceeds the maximum size",
        "공고 데이터가 너무 큽니다.",
        "Check the source; oversize records are rejected.",
    ),
    # Data pipeline: sync
    (
        "DP_3001",
        503,
        "Vector store sync failed",
        "벡터 저장소 동기화에 실패했습니다.",
        "Check the vector store; the next consistency check repairs it.",
    ),
    (
        "DP_3002",
        503,
        "Graph store sync failed",
        "그래프 저장소 동기화에 실패했습니다.",
        "Check the graph server; the next consistency check repairs it.",
    ),
    (
        "DP_3003",
        503,
        "Search index sync failed",
        "검색 색인 동기화에 실패했습니다.",
        "Check the search store; the next consistency check repairs it.",
    ),
    (
        "DP_3004",
        500,
        "Consistency check failed",
        "저장소 간 데이터 불일치가 발견되었습니다.",
        "Run the repair job for the named store.",
    ),
    (
        "DP_3005",
        500,
        "Embedding model mismatch",
        "임베딩 모델이 일치하지 않습니다.",
        "Rebuild the collection with one model.",
    ),
    # Data pipeline: processing
    (
        "DP_4001",
        504,
        "Hot path timeout",
        "실시간 처리 시간이 초과되었습니다.",
        "Check the hot-path job and broker.",
    ),
    ("DP_4002", 500, "Cold path failed", "배치 처리에 실패했습니다.", "Inspect the failed run in Dagster."),
    (
        "DP_4003",
        500,
        "Batch processing error",
        "일괄 처리 중 오류가 발생했습니다.",
        "Inspect the failed batch; records went to the DLQ.",
    ),
    (
        "DP_4004",
        500,
        "Handler failed after retries",
        "메시지 처리에 반복 실패했습니다.",
        "Inspect the DLQ entry's headers.",
    ),
    (
        "DP_4010",
        400,
        "Invalid dead-letter command argument",
        "요청 값이 올바르지 않습니다.",
        "Fix the argument the message names (see `aegis dlq --help`).",
    ),
    (
        "DP_4011",
        404,
        "Dead letter not found",
        "요청한 실패 메시지를 찾을 수 없습니다.",
        "List the DLQ with `aegis dlq list`; retention may have deleted it.",
    ),
    (
        "DP_4012",
        404,
        "Kafka topic does not exist",
        "요청한 메시지 토픽이 없습니다.",
        "Check the topic name and AEGIS_ENV; `aegis dlq list` shows the original topics.",
    ),
)

_CATEGORY_BY_PREFIX = {c.value: c for c in ErrorCategory}

_REGISTRY: Mapping[str, ErrorDefinition] = MappingProxyType(
    {
        code: ErrorDefinition(
            code=code,
            category=_CATEGORY_BY_PREFIX[code.split("_", 1)[0]],
            message=message,
            http_status=status,
            user_message=user_message,
            resolution=resolution,
        )
        for code, status, message, user_message, resolution in _ROWS
    }
)


def get_definition(code: str) -> ErrorDefinition:
    """Return the definition of ``code``; unknown codes are a programming error."""
    try:
        return _REGISTRY[code]
    except KeyError:
        raise KeyError(f"error code {code!r} is not registered in aegis_shared.errors.registry") from None


def is_registered(code: str) -> bool:
    return code in _REGISTRY


def all_definitions() -> tuple[ErrorDefinition, ...]:
    """Every registered definition, ordered by code."""
    return tuple(sorted(_REGISTRY.values(), key=lambda d: d.code))
