"""The source table: a source added by one registration is parsed, served, collected and landed.

The fake source below (a municipal gazette with a JSON list API) exists only in this file: its
wire format, connector and replay handler are test code, and nothing of the platform is edited
to know it. Registering its row is what makes :func:`parse`, :func:`collect_source`, the replay
server, the settings resolution and deduplication's ranking serve it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from aegis_orchestration.resources.sources import SourcesResource
from aegis_orchestration.sources import SourceError, parse
from aegis_orchestration.sources.catalog import collect_source, pointing_at
from aegis_orchestration.sources.config import SourceConfig
from aegis_orchestration.sources.connector import PagedConnector
from aegis_orchestration.sources.days import parse_day
from aegis_orchestration.sources.fields import required_id, required_text
from aegis_orchestration.sources.landing import insert_changed, record_rejections
from aegis_orchestration.sources.page import SourcePage, build_page, json_bytes
from aegis_orchestration.sources.registry import (
    SourceSpec,
    priority_of,
    register,
    setting_names,
    source_names,
    unregister,
)
from aegis_orchestration.sources.replay import ReplayServer
from aegis_orchestration.sources.replay_handlers import Reply, SourceReplay, int_param, json_reply
from aegis_shared.config import get_settings
from aegis_shared.errors import SystemError_
from aegis_shared.models import Announcement
from tests.aegis_orchestration.hot_path.helpers import Database

from .conftest import FAST, KEY

NAME = "gazette"
PATH = "/gazette/notices.json"
DAY = date(2026, 11, 2)
# Seven notices, newest first, three a day; the fifth has no title, so it must come back rejected
# with its bytes, not dropped.
NOTICES = [
    {
        "noticeNo": 700 + n,
        "subject": f"2026년 구정 소식 {n}호" if n != 4 else "",
        "agency": "구청",
        "posted": f"2026-11-{10 - n // 3:02d}",
    }
    for n in range(7)
]


def parse_gazette(text: str) -> SourcePage:
    doc = json.loads(text)

    def mapper(item: Mapping[str, Any]) -> Announcement:
        return Announcement(
            source=NAME,
            source_id=required_id(item.get("noticeNo"), "noticeNo"),
            title=required_text(item.get("subject"), "subject"),
            organization=item.get("agency"),
            registered_on=parse_day(item.get("posted")),
        )

    return build_page(
        NAME,
        doc["notices"],
        mapper,
        id_of=lambda item: str(item.get("noticeNo")),
        total_count=doc["total"],
        page=doc["page"],
        originals=[json_bytes(item) for item in doc["notices"]],
    )


class GazetteConnector(PagedConnector):
    source = NAME
    path = PATH

    def params(self, page: int) -> dict[str, Any]:
        return {"apiKey": self.key, "page": page, "size": self.per_page}

    def parse_text(self, text: str) -> SourcePage:
        return parse_gazette(text)


class GazetteReplay(SourceReplay):
    source = NAME
    paths = (PATH,)
    key_param = "apiKey"

    def render(self, path: str, query: dict[str, list[str]]) -> Reply:
        size, number = int_param(query, "size", 10), int_param(query, "page", 1)
        chunk = NOTICES[(number - 1) * size : number * size]
        reply = json_reply({"total": len(NOTICES), "page": number, "notices": chunk})
        return Reply(reply.status, reply.content_type, reply.body, len(chunk))


SPEC = SourceSpec(
    name=NAME,
    parser=parse_gazette,
    connector=lambda config: GazetteConnector(key=config.value("gazette_api_key"), per_page=config.per_page),
    replay=GazetteReplay,
    base_url_setting="gazette_base_url",
    default_base_url=None,
    key_setting="gazette_api_key",
    priority=6,
    day_fields=("posted",),
)


@pytest.fixture
def gazette() -> Iterator[SourceSpec]:
    register(SPEC)  # the one edit a new source needs, besides its own module
    try:
        yield SPEC
    finally:
        unregister(NAME)


@pytest.fixture
def gazette_server(gazette: SourceSpec) -> Iterator[ReplayServer]:
    # Created after the registration: a server serves the rows registered when it starts.
    with ReplayServer(port=0, valid_keys={KEY}) as server:
        yield server


def offline(server: ReplayServer, **options: Any) -> SourceConfig:
    return pointing_at(server.base_url, KEY, requests_per_second=None, retry=FAST, **options)


def test_a_registered_source_is_collected_through_the_replay_server_and_landed_in_postgres(
    gazette_server: ReplayServer, db: Database
) -> None:
    result = collect_source(NAME, offline(gazette_server, per_page=3))

    # Paged to the end over HTTP, with the key from its own setting; nothing dropped.
    assert result.pages == 3 and len(gazette_server.requests_for(NAME)) == 3
    assert all(r.query["apiKey"] == [KEY] for r in gazette_server.requests_for(NAME))
    assert {r.source_id for r in result.records} == {"700", "701", "702", "703", "705", "706"}
    [rejected] = result.rejected
    assert (rejected.source_id, rejected.code) == ("704", "DP_2005")

    with db.engine.begin() as connection:
        landed = insert_changed(connection, result.records, DAY)
        kept = record_rejections(
            connection, result.rejected, partition_date=DAY, run_id="gazette-test", dlq_topic="test.dlq"
        )
    assert len(landed) == 6 and kept.recorded == 1
    with db.engine.connect() as connection:
        raw = connection.execute(
            sa.text("SELECT source_id, payload->>'title' FROM raw_announcements WHERE source = :s"),
            {"s": NAME},
        ).all()
        refused = connection.execute(
            sa.text("SELECT source_id, code, original FROM collection_rejections WHERE source = :s"),
            {"s": NAME},
        ).all()
    assert dict(raw) == {str(n["noticeNo"]): n["subject"] for n in NOTICES if n["subject"]}
    assert [(r.source_id, r.code, json.loads(bytes(r.original))) for r in refused] == [
        ("704", "DP_2005", NOTICES[4])
    ]


def test_a_registered_source_collects_one_day_by_the_date_field_its_row_names(
    gazette_server: ReplayServer,
) -> None:
    # No server-side filter: the list is read newest first down to the day. The rejected notice
    # has no record to ask; the row's day_fields place it on its own day only.
    on_ninth = collect_source(NAME, offline(gazette_server, per_page=3), day=date(2026, 11, 9))
    assert {r.source_id for r in on_ninth.records} == {"703", "705"}
    assert [r.source_id for r in on_ninth.rejected] == ["704"]
    on_tenth = collect_source(NAME, offline(gazette_server, per_page=3), day=date(2026, 11, 10))
    assert {r.source_id for r in on_tenth.records} == {"700", "701", "702"}
    assert on_tenth.rejected == []
    assert on_tenth.pages == 2  # stopped at the first page older than the day


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_registered_source_reads_its_own_aegis_variables_through_the_dagster_resource(
    gazette_server: ReplayServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_settings: None
) -> None:
    # Settings declares no gazette field: AEGIS_GAZETTE_* work because the table names them.
    key_file = tmp_path / "gazette.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv("AEGIS_GAZETTE_BASE_URL", gazette_server.base_url)
    monkeypatch.setenv("AEGIS_GAZETTE_API_KEY_FILE", str(key_file))
    resource = SourcesResource(requests_per_second=1000, retry_initial_wait=0.01, retry_max_wait=0.02)

    result = resource.collect(NAME)
    assert len(result.records) + len(result.rejected) == len(NOTICES)
    assert {r.query["apiKey"][0] for r in gazette_server.requests_for(NAME)} == {KEY}

    # Both the value and a file for it: refused by name, before any request.
    monkeypatch.setenv("AEGIS_GAZETTE_API_KEY", "another")
    sent = gazette_server.request_count(NAME)
    with pytest.raises(SystemError_) as caught:
        resource.collect(NAME)
    assert caught.value.code == "SYS_7022" and "AEGIS_GAZETTE_API_KEY_FILE" in caught.value.message
    assert gazette_server.request_count(NAME) == sent


def test_the_offline_resource_points_a_registered_source_at_the_replay_server(
    gazette_server: ReplayServer,
) -> None:
    # How `aegis demo` configures collection: every row of the table, without naming any.
    resource = SourcesResource.offline(gazette_server.base_url, KEY, requests_per_second=1000)
    assert len(resource.collect(NAME).records) == len(NOTICES) - 1
    assert {r.query["apiKey"][0] for r in gazette_server.requests_for(NAME)} == {KEY}


def test_a_registered_source_is_known_to_parsing_settings_and_dedup(gazette: SourceSpec) -> None:
    body = json.dumps({"total": 1, "page": 1, "notices": NOTICES[:1]}).encode()
    page = parse(NAME, body, "application/json")
    assert [r.source_id for r in page.records] == ["700"]
    assert NAME in source_names(scraped=False)
    assert {"gazette_base_url", "gazette_api_key"} <= set(setting_names())
    assert priority_of("bizinfo") < priority_of(NAME) < priority_of("not-a-source")


def test_without_a_base_url_a_registered_source_fails_with_dp_1001_before_any_request(
    gazette_server: ReplayServer,
) -> None:
    config = SourceConfig(settings={"gazette_api_key": KEY}, retry=FAST)
    with pytest.raises(SourceError) as caught:
        collect_source(NAME, config)
    assert caught.value.code == "DP_1001" and "gazette" in caught.value.message
    assert gazette_server.request_count(NAME) == 0


def test_an_unregistered_source_is_dp_1006_naming_the_known_ones() -> None:
    assert NAME not in source_names()
    with pytest.raises(SourceError) as caught:
        parse(NAME, b"{}", "application/json")
    assert caught.value.code == "DP_1006"
    assert set(caught.value.details["known"]) == {"bizinfo", "kstartup", "mss", "rss", "web"}
    with pytest.raises(SourceError) as caught:
        collect_source(NAME, SourceConfig())
    assert caught.value.code == "DP_1006"


def test_registering_a_name_twice_is_refused(gazette: SourceSpec) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(SPEC)


def modules_after_importing(module: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter (this one has long imported everything) after ``module``."""
    probe = f"import json, sys\nimport {module}\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert module in loaded  # the probe did import it
    return loaded


CONNECTORS = {f"aegis_orchestration.sources.{n}" for n in ("bizinfo", "kstartup", "mss", "rss", "web")}
TABLE = {"aegis_orchestration.sources.registry", "aegis_orchestration.sources.parsing"}


def test_importing_the_error_module_loads_no_connector_or_parsing_library() -> None:
    loaded = modules_after_importing("aegis_orchestration.sources.errors")
    assert loaded & ({"feedparser", "selectolax", "lxml"} | CONNECTORS | TABLE) == set()


def test_importing_decode_for_loads_no_connector_or_the_table() -> None:
    # decode_body lives in aegis_shared.text, whose HTML helpers bring selectolax; no more.
    loaded = modules_after_importing("aegis_orchestration.sources.decoding")
    assert loaded & ({"feedparser", "lxml"} | CONNECTORS | TABLE) == set()
