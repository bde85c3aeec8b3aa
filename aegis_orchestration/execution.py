"""Which engine runs a job's steps is a setting, so moving Aegis onto more machines is configuration.

``AEGIS_EXECUTOR`` picks it:

* ``multiprocess`` (default): every step in its own process on the run worker's machine.
* ``celery``: every step is a Celery task picked up by ``dagster-celery worker`` processes on any
  machine that reaches the broker, the Dagster instance's PostgreSQL and the stores. The broker and
  result backend are Redis (``AEGIS_CELERY_BROKER_URL`` / ``AEGIS_CELERY_BACKEND_URL``, both
  defaulting to ``AEGIS_REDIS_URL``, the devstack's Redis) or RabbitMQ (``amqp://``).

The executor config names the environment variables instead of holding the URLs, so a broker
password never lands in a run's stored config. Tasks are acknowledged only after the step ends
(``task_acks_late``): a worker killed mid-step leaves its task unacknowledged, and after
``AEGIS_CELERY_VISIBILITY_TIMEOUT`` seconds the broker hands it to another worker. That timeout
must exceed the longest step, or a step still running is started a second time; every Aegis step
is idempotent (upserts by id and content hash), so even then nothing is written twice.

Concurrency pools (one writer per store) are claimed by the run's orchestrating process before a
step is submitted, in the instance's PostgreSQL, so they hold across workers and machines.
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

import dagster as dg
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from aegis_shared.errors import AegisError

ExecutorName = Literal["multiprocess", "celery"]
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)
BROKER_SCHEMES = ("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://")


class ExecutionSettings(BaseSettings):
    """The ``AEGIS_*`` settings of the step executor (read where the job is defined)."""

    model_config = SettingsConfigDict(env_prefix="AEGIS_", extra="ignore", frozen=True)

    executor: ExecutorName = "multiprocess"
    celery_broker_url: str | None = None
    celery_backend_url: str | None = None
    celery_visibility_timeout: int = 3600
    celery_queue: str = "dagster"


def _broker_env(settings: ExecutionSettings) -> str:
    """The variable the broker URL is read from at run time (never the URL itself)."""
    return "AEGIS_CELERY_BROKER_URL" if settings.celery_broker_url else "AEGIS_REDIS_URL"


def _backend_env(settings: ExecutionSettings) -> str:
    return "AEGIS_CELERY_BACKEND_URL" if settings.celery_backend_url else _broker_env(settings)


def load_settings(environ: dict[str, str] | None = None) -> ExecutionSettings:
    """Read and check the executor settings; SYS_7030/SYS_7031 name what is wrong."""
    env = os.environ if environ is None else environ
    name = env.get("AEGIS_EXECUTOR", "multiprocess").strip().lower() or "multiprocess"
    if name not in EXECUTORS:
        raise AegisError(
            "SYS_7030",
            f"AEGIS_EXECUTOR={name!r} is not an executor Aegis runs on; choose one of {', '.join(EXECUTORS)}",
            details={"executor": name, "choices": list(EXECUTORS)},
        )
    try:
        settings = ExecutionSettings(
            executor=name,  # type: ignore[arg-type]
            celery_broker_url=env.get("AEGIS_CELERY_BROKER_URL") or None,
            celery_backend_url=env.get("AEGIS_CELERY_BACKEND_URL") or None,
            celery_visibility_timeout=env.get("AEGIS_CELERY_VISIBILITY_TIMEOUT", 3600),  # type: ignore[arg-type]
            celery_queue=env.get("AEGIS_CELERY_QUEUE", "dagster"),
        )
    except ValidationError as error:
        raise AegisError("SYS_7031", f"invalid Celery executor setting: {error.errors()[0]['msg']}") from None
    if settings.executor == "celery":
        variable = _broker_env(settings)
        url = env.get(variable, "")
        if not url.startswith(BROKER_SCHEMES):
            # Only the scheme is named: the URL may carry a password.
            scheme = url.split("://", 1)[0] + "://" if "://" in url else "(no scheme)"
            raise AegisError(
                "SYS_7031",
                f"AEGIS_EXECUTOR=celery needs a Redis or RabbitMQ broker URL in {variable}; "
                f"got {scheme if url else 'nothing'}",
                details={"variable": variable, "accepted": list(BROKER_SCHEMES)},
            )
        if settings.celery_visibility_timeout < 1:
            raise AegisError("SYS_7031", "AEGIS_CELERY_VISIBILITY_TIMEOUT must be at least 1 second")
    return settings


def celery_config(settings: ExecutionSettings) -> dict[str, Any]:
    """The ``celery_executor`` config: the same block the workers' ``-y`` YAML holds."""
    return {
        "broker": {"env": _broker_env(settings)},
        "backend": {"env": _backend_env(settings)},
        "config_source": {
            # Acknowledge after the step, and hand a dead worker's task to another one.
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "task_default_queue": settings.celery_queue,
            "broker_transport_options": {
                "visibility_timeout": settings.celery_visibility_timeout,
                # Look for a dead worker's tasks every quarter of the timeout (at most a minute).
                "unacked_restore_interval": max(1, min(60, settings.celery_visibility_timeout // 4)),
                "unacked_restore_throttle": 1,
            },
            "result_backend_transport_options": {"visibility_timeout": settings.celery_visibility_timeout},
        },
    }


def worker_config(settings: ExecutionSettings | None = None) -> dict[str, Any]:
    """The YAML document for ``dagster-celery worker start -y`` (see ``aegis celery-config``)."""
    return {"execution": {"config": celery_config(settings or load_settings())}}


def executor_from_settings(settings: ExecutionSettings | None = None) -> dg.ExecutorDefinition:
    """The executor every Aegis job runs on, chosen by ``AEGIS_EXECUTOR``."""
    settings = settings or load_settings()
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(celery_config(settings), name="celery")
    # Dagster's default: a process per step, or ``execution: {config: {in_process: {}}}`` per run.
    return dg.multi_or_in_process_executor


if __name__ == "__main__":
    import yaml

    # The workers' `dagster-celery worker start -y` file for the current AEGIS_* settings.
    print(yaml.safe_dump(worker_config(), sort_keys=False), end="")
