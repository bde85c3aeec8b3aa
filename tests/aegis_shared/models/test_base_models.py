"""BaseEntity, pagination helpers and the shared enums."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError as PydanticValidationError

from aegis_shared.errors import ValidationError
from aegis_shared.models import (
    BaseEntity,
    HealthStatus,
    PageParams,
    PaginatedResponse,
    PolicyStatus,
    ProcessingPath,
)


class Policy(BaseEntity):
    title: str


def test_base_entity_defaults_and_soft_delete() -> None:
    policy = Policy(title="창업 지원")
    assert policy.created_at.tzinfo is not None and not policy.is_deleted
    before = policy.updated_at
    policy.mark_deleted()
    assert policy.is_deleted and policy.updated_at >= before
    dumped = policy.model_dump(mode="json")
    assert dumped["id"] == str(policy.id) and dumped["created_at"].endswith("Z")
    assert Policy.model_validate_json(policy.model_dump_json()) == policy


def test_base_entity_refuses_naive_datetimes() -> None:
    with pytest.raises(PydanticValidationError):
        Policy(title="x", created_at=datetime(2026, 1, 1))
    Policy(title="x", created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_base_entity_reads_orm_objects() -> None:
    class Row:
        title = "from orm"

    assert Policy.model_validate(Row()).title == "from orm"


def test_paginated_response_helpers() -> None:
    params = PageParams.of(page=2, page_size=10)
    assert (params.offset, params.limit) == (10, 10)
    page = PaginatedResponse[int].from_sequence(list(range(25)), params)
    assert page.items == list(range(10, 20))
    assert (page.total, page.total_pages, page.has_next, page.has_previous) == (25, 3, True, True)
    last = PaginatedResponse[int].from_sequence(list(range(25)), PageParams.of(3, 10))
    assert last.items == [20, 21, 22, 23, 24] and not last.has_next
    empty = PaginatedResponse[str].create([], 0, PageParams())
    assert empty.total_pages == 0 and not empty.has_next
    assert set(empty.model_dump()) >= {"items", "total", "page", "page_size", "total_pages", "has_next"}


@pytest.mark.parametrize(("page", "size"), [(0, 10), (1, 0), (1, 10_000), (-3, 5)])
def test_bad_page_params_are_coded(page: int, size: int) -> None:
    with pytest.raises(ValidationError) as exc:
        PageParams.of(page, size)
    assert exc.value.code == "VALID_3004"


def test_paginated_items_are_typed() -> None:
    with pytest.raises(PydanticValidationError):
        PaginatedResponse[int](items=["x"], total=1, page=1, page_size=10)


def test_enums_are_shared_values() -> None:
    assert HealthStatus("degraded") is HealthStatus.DEGRADED
    assert ProcessingPath.HOT == "hot"
    assert PolicyStatus.PENDING_VALIDATION == "pending_validation"


def test_core_packages_do_not_import_fastapi_or_dagster() -> None:
    code = (
        "import sys, aegis_shared.auth, aegis_shared.cache, aegis_shared.monitoring, "
        "aegis_shared.contracts, aegis_shared.models, aegis_shared.versioning; "
        "bad = [m for m in ('fastapi', 'starlette', 'dagster') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
