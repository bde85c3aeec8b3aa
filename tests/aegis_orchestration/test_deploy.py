"""deploy/ validates against Dagster's own config schemas (no cluster: nothing is applied here).

The instance file goes through Dagster's instance loader and the run launcher's and storage's
schemas (dagster-k8s, dagster-postgres); the run config through ``k8s_job_executor``'s schema;
the Celery workers' file through ``celery_executor``'s schema and equals what the settings give.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster_celery import celery_executor
from dagster_k8s import K8sRunLauncher, k8s_job_executor

from aegis_orchestration.execution import load_settings, worker_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV = {
    "DAGSTER_PG_HOST": "postgresql.aegis.svc",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
}


def load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def errors(config_type: Any, value: Any) -> list[str]:
    result = validate_config(config_type, value)
    return [] if result.success else [e.message for e in result.errors]


@pytest.fixture
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    return tmp_path


def test_the_production_instance_passes_dagsters_instance_schema_and_its_launcher_and_storage_schemas(
    instance_dir: Path,
) -> None:
    config, _ = dagster_instance_config(str(instance_dir))
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert errors(K8sRunLauncher.config_type(), launcher["config"]) == []
    # The settings every run pod needs come from the ConfigMap and Secret deploy/settings.yaml defines.
    assert set(launcher["config"]["env_config_maps"]) | set(launcher["config"]["env_secrets"]) == {
        "aegis-settings",
        "aegis-secrets",
    }
    from dagster_postgres import DagsterPostgresStorage

    assert errors(DagsterPostgresStorage.config_type(), config["storage"]["postgres"]) == []
    assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_a_misspelt_launcher_field_is_refused_by_the_same_schemas(instance_dir: Path) -> None:
    raw = load("dagster.yaml")
    raw["run_launcher"]["config"]["job_namespce"] = raw["run_launcher"]["config"].pop("job_namespace")
    assert any(
        "job_namespce" in message
        for message in errors(K8sRunLauncher.config_type(), raw["run_launcher"]["config"])
    )
    raw = load("dagster.yaml")
    raw["concurrency"]["pools"]["default_limt"] = 1
    (instance_dir / "dagster.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(Exception, match="default_limt"):
        dagster_instance_config(str(instance_dir))


def test_the_run_config_passes_k8s_job_executors_schema() -> None:
    execution = load("executor.yaml")["execution"]["config"]
    assert errors(k8s_job_executor.config_schema.config_type, execution) == []
    assert set(execution["env_config_maps"]) | set(execution["env_secrets"]) == {
        "aegis-settings",
        "aegis-secrets",
    }
    execution["max_concurrent"] = "four"
    assert errors(k8s_job_executor.config_schema.config_type, execution)


def test_the_celery_worker_file_passes_the_executor_schema_and_matches_the_settings() -> None:
    worker = load("celery-worker.yaml")
    assert errors(celery_executor.config_schema.config_type, worker["execution"]["config"]) == []
    settings = load_settings(
        {"AEGIS_EXECUTOR": "celery", "AEGIS_REDIS_URL": "redis://redis.aegis.svc:6379/0"}
    )
    assert worker == worker_config(settings)


def test_the_helm_values_run_this_code_location_with_the_instances_launcher_and_limits() -> None:
    values = load("values.yaml")
    instance = load("dagster.yaml")
    deployment = values["dagster-user-deployments"]["deployments"][0]
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    import importlib

    assert importlib.import_module(module).defs is not None
    assert {m["name"] for m in deployment["envConfigMaps"]} | {
        s["name"] for s in deployment["envSecrets"]
    } == {
        "aegis-settings",
        "aegis-secrets",
    }
    assert values["runLauncher"]["type"] == instance["run_launcher"]["class"]
    assert (
        values["runLauncher"]["config"]["k8sRunLauncher"]["jobNamespace"]
        == instance["run_launcher"]["config"]["job_namespace"]
    )
    assert (
        values["concurrency"]["runs"]["maxConcurrentRuns"]
        == instance["concurrency"]["runs"]["max_concurrent_runs"]
    )
    assert values["concurrency"]["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    assert values["postgresql"]["enabled"] is False


def test_every_setting_named_in_deploy_is_one_aegis_reads() -> None:
    from aegis_orchestration.execution import ExecutionSettings
    from aegis_shared.config import Settings

    documents = list(yaml.safe_load_all((DEPLOY / "settings.yaml").read_text()))
    names = {*documents[0]["data"], *documents[1]["stringData"]}
    known = {f"AEGIS_{name.upper()}" for name in (*Settings.model_fields, *ExecutionSettings.model_fields)}
    assert {n for n in names if n.startswith("AEGIS_")} <= known
    assert {n for n in names if n.startswith("DAGSTER_PG_")} == {k for k in ENV if k != "DAGSTER_PG_PASSWORD"}
