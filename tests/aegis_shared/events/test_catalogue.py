"""The catalogue and its bundled schemas: every seed event and the pipeline contracts validate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from aegis_shared.config import Settings
from aegis_shared.errors import ValidationError
from aegis_shared.events import CATALOGUE, SCHEMAS_DIR, BundledSchemas, event_types, get_spec
from aegis_shared.events.topics import TOPICS, topic_name
from aegis_shared.messaging import SchemaValidators
from aegis_shared.models import Announcement, Attachment

SEED_EVENTS = {
    "PolicyCreated",
    "PolicyUpdated",
    "PolicyDeleted",
    "UserRegistered",
    "UserProfileUpdated",
    "UserLoggedIn",
    "RecommendationRequested",
    "RecommendationGenerated",
    "RecommendationFeedbackReceived",
    "ServiceHealthChanged",
    "DataSyncCompleted",
    "AuthenticationFailed",
    "SuspiciousActivityDetected",
}
PIPELINE_EVENTS = {"PolicyValidated", "PolicyQualityUpdated", "PolicyCollected", "DataSyncCompleted"}


@pytest.fixture(scope="module")
def validators() -> SchemaValidators:
    return SchemaValidators(BundledSchemas())


def _valid(validators: SchemaValidators, event_type: str, data: dict) -> None:
    validators.validate(validators.latest(event_type), data)


def _valid_at(validators: SchemaValidators, event_type: str, version: str, data: dict) -> None:
    validators.validate(validators.for_version(event_type, version), data)


SEED_DATA_SYNC = {  # seed 003 §8.2, as printed
    "syncJobId": "sync-uuid",
    "syncType": "policy_vectorization",
    "sourceSystem": "postgresql",
    "targetSystem": "milvus",
    "recordsProcessed": 1247,
    "recordsSucceeded": 1245,
    "recordsFailed": 2,
    "processingTimeMs": 45000,
    "failedRecords": [{"recordId": "policy-uuid-1", "error": "Invalid embedding dimension"}],
}


def test_data_sync_completed_2_0_accepts_the_seed_example_and_documents_the_break(
    validators: SchemaValidators,
) -> None:
    latest = validators.latest("DataSyncCompleted")
    assert latest.event_version == "2.0"
    validators.validate(latest, SEED_DATA_SYNC)
    # 1.0 stays readable for what was published under it, and refuses the seed form: the change
    # is breaking, hence a new major version (its own topic), described in the schema itself.
    with pytest.raises(ValidationError) as refused:
        _valid_at(validators, "DataSyncCompleted", "1.0", SEED_DATA_SYNC)
    assert refused.value.code == "VALID_3005"
    with pytest.raises(ValidationError) as incomplete:
        validators.validate(
            latest, {"store": "milvus", "upserted": 1, "deleted": 0, "total": 1, "duration_ms": 3}
        )
    assert incomplete.value.code == "VALID_3005"
    description = BundledSchemas().get("DataSyncCompleted")["description"]
    assert "seed 003 §8.2" in description and "Breaking change from 1.0" in description
    assert topic_name(Settings(env="dev"), "system", 2) == "dev.aegis.system.v2"


def test_catalogue_covers_seed_and_pipeline_events_each_with_a_schema_file() -> None:
    assert set(CATALOGUE) == SEED_EVENTS | PIPELINE_EVENTS
    assert set(BundledSchemas().subjects()) == set(CATALOGUE)
    for spec in CATALOGUE.values():
        assert spec.entity in TOPICS
        schema = json.loads((SCHEMAS_DIR / spec.event_type / "v1.json").read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["x-event-version"] == "1.0"
        assert schema["type"] == "object"
        assert spec.key_field in schema["properties"], spec


def test_entities_match_the_design_topics() -> None:
    assert set(event_types("policy")) == {
        "PolicyCreated",
        "PolicyUpdated",
        "PolicyDeleted",
        "PolicyValidated",
        "PolicyQualityUpdated",
    }
    assert event_types("collection") == ("PolicyCollected",)
    assert set(event_types("system")) == {"DataSyncCompleted", "ServiceHealthChanged"}


def test_unknown_event_type_is_valid_3007(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        get_spec("PolicyExploded")
    assert caught.value.code == "VALID_3007"
    with pytest.raises(ValidationError) as caught:
        BundledSchemas(tmp_path).get("PolicyCreated")
    assert caught.value.code == "VALID_3007"


def test_policy_collected_accepts_a_real_announcement(validators: SchemaValidators) -> None:
    announcement = Announcement(
        source="bizinfo",
        source_id="PBLN_000000000101234",
        title="2025년 소상공인 정책자금 공고",
        organization="중소벤처기업부",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        region_codes=["11"],
        attachments=[Attachment(name="공고문.hwp", url="https://example.kr/a.hwp")],
        raw={"pblancId": "PBLN_000000000101234"},
    )
    _valid(
        validators,
        "PolicyCollected",
        {
            "source": announcement.source,
            "source_id": announcement.source_id,
            "content_hash": announcement.content_hash,
            "title": announcement.title,
            "collected_at": announcement.collected_at.isoformat(),
            "announcement": announcement.model_dump(mode="json"),
        },
    )


def test_pipeline_contracts_validate(validators: SchemaValidators) -> None:
    digest = "a" * 64
    _valid(
        validators,
        "PolicyValidated",
        {
            "policy_id": "bizinfo:1",
            "source": "bizinfo",
            "source_id": "1",
            "content_hash": digest,
            "status": "pending_validation",
            "version": 1,
        },
    )
    _valid(
        validators,
        "PolicyQualityUpdated",
        {
            "policy_id": "bizinfo:1",
            "previous_status": "pending_validation",
            "status": "active",
            "quality_score": 0.82,
            "scores": {"completeness": 0.9, "accuracy": 0.8, "consistency": 0.75, "timeliness": 0.8},
        },
    )
    _valid_at(
        validators,
        "DataSyncCompleted",
        "1.0",
        {
            "store": "milvus",
            "upserted": 120,
            "deleted": 3,
            "total": 1247,
            "duration_ms": 4500.5,
        },
    )
    _valid_at(
        validators,
        "DataSyncCompleted",
        "1.0",
        {
            "store": "graph",
            "upserted": 0,
            "deleted": 0,
            "total": 0,
            "duration_ms": 1,
            "partition": "2025-01-01|bizinfo",
            "failed": 2,
            "failed_records": [{"record_id": "bizinfo:9", "error": "dimension"}],
        },
    )


def test_seed_examples_validate(validators: SchemaValidators) -> None:
    now = datetime.now(UTC).isoformat()
    _valid(
        validators,
        "PolicyCreated",
        {
            "policyId": "p-1",
            "title": "정책명",
            "issuingOrganization": "발행기관",
            "category": "창업지원",
            "targetRegions": ["11", "41"],
            "fundingDetails": {"maxAmount": 50000000, "interestRate": 2.5},
            "applicationPeriod": {"startDate": "2025-01-01", "endDate": "2025-12-31"},
            "qualityScore": 0.95,
            "status": "active",
        },
    )
    _valid(
        validators,
        "PolicyUpdated",
        {
            "policyId": "p-1",
            "changes": {"title": {"from": "a", "to": "b"}},
            "updatedFields": ["title"],
        },
    )
    _valid(
        validators,
        "RecommendationGenerated",
        {
            "recommendationId": "r",
            "userId": "u",
            "results": [{"policyId": "p", "rank": 1, "relevanceScore": 0.95, "confidenceScore": 0.88}],
        },
    )
    _valid(
        validators,
        "RecommendationFeedbackReceived",
        {
            "recommendationId": "r",
            "userId": "u",
            "feedback": {"overallRating": 4},
            "feedbackTimestamp": now,
        },
    )
    _valid(
        validators,
        "SuspiciousActivityDetected",
        {
            "activityId": "a",
            "activityType": "rapid_api_calls",
            "severity": "medium",
            "riskScore": 0.75,
        },
    )


@pytest.mark.parametrize(
    ("event_type", "data", "pointer"),
    [
        (
            "PolicyValidated",
            {
                "policy_id": "x",
                "source": "s",
                "source_id": "1",
                "content_hash": "a" * 64,
                "status": "active",
                "version": 1,
            },
            "/data/status",
        ),
        (
            "PolicyValidated",
            {
                "policy_id": "x",
                "source": "s",
                "source_id": "1",
                "content_hash": "zz",
                "status": "pending_validation",
                "version": 1,
            },
            "/data/content_hash",
        ),
        (
            "PolicyQualityUpdated",
            {
                "policy_id": "x",
                "previous_status": "active",
                "status": "active",
                "quality_score": 1.5,
                "scores": {"completeness": 1, "accuracy": 1, "consistency": 1, "timeliness": 1},
            },
            "/data/quality_score",
        ),
        (
            "DataSyncCompleted",
            {**SEED_DATA_SYNC, "recordsFailed": -1},
            "/data/recordsFailed",
        ),
        ("PolicyDeleted", {"policyId": "p"}, "/data/reason"),
        (
            "RecommendationGenerated",
            {"recommendationId": "r", "userId": "u", "results": [{"policyId": "p", "rank": 0}]},
            "/data/results/0/rank",
        ),
    ],
)
def test_invalid_data_names_the_failing_pointer(
    validators: SchemaValidators, event_type: str, data: dict, pointer: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _valid(validators, event_type, data)
    assert caught.value.code == "VALID_3005"
    assert caught.value.details["pointer"] == pointer
    assert pointer in caught.value.message
