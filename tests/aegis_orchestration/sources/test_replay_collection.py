"""Each connector through the replay server over real HTTP: paging, faults, retries, breaker."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from aegis_orchestration.sources import SourceError
from aegis_orchestration.sources.breaker import BreakerState, breaker_for
from aegis_orchestration.sources.catalog import collect_source
from aegis_orchestration.sources.http import USER_AGENT, RetryPolicy
from aegis_orchestration.sources.replay import ReplayServer
from aegis_orchestration.sources.snapshot import load_pages

from .conftest import KEY, config_for

SOURCES = ["bizinfo", "kstartup", "mss", "rss", "web"]


def snapshot_ids(source: str) -> tuple[set[str], set[str]]:
    pages = load_pages(source)
    records = {r.source_id for p in pages for r in p.records}
    rejected = {r.code for p in pages for r in p.rejected}
    return records, rejected


@pytest.mark.parametrize("source", SOURCES)
def test_pages_to_the_end_and_matches_the_snapshot(replay: ReplayServer, source: str) -> None:
    result = collect_source(source, config_for(replay, per_page=25))
    expected_ids, expected_codes = snapshot_ids(source)
    assert {r.source_id for r in result.records} == expected_ids
    assert {r.code for r in result.rejected} == expected_codes
    assert result.pages >= 2
    assert all(r.user_agent == USER_AGENT for r in replay.requests_for(source))


@pytest.mark.parametrize(
    ("source", "key_param"), [("bizinfo", "crtfcKey"), ("kstartup", "serviceKey"), ("mss", "serviceKey")]
)
def test_key_is_sent_once_and_encoded_once(replay: ReplayServer, source: str, key_param: str) -> None:
    collect_source(source, config_for(replay))
    for request in replay.requests_for(source):
        raw = [part for part in request.raw_query.split("&") if part.startswith(f"{key_param}=")]
        assert len(raw) == 1
        assert unquote_plus(raw[0].split("=", 1)[1]) == KEY


@pytest.mark.parametrize(
    ("source", "code"), [("bizinfo", "DP_1005"), ("kstartup", "DP_1005"), ("mss", "DP_1005")]
)
def test_bad_key_in_each_source_shape(replay: ReplayServer, source: str, code: str) -> None:
    with pytest.raises(SourceError) as caught:
        collect_source(source, config_for(replay, bizinfo_api_key="wrong", data_portal_service_key="wrong"))
    assert caught.value.code == code
    assert len(replay.requests_for(source)) == 1  # a key error is not retried


def test_missing_bizinfo_key_is_not_an_empty_page(replay: ReplayServer) -> None:
    with pytest.raises(SourceError) as caught:
        collect_source("bizinfo", config_for(replay, bizinfo_api_key=""))
    assert caught.value.code == "DP_1005"
    assert "인증키를 입력해주세요" in caught.value.message


@pytest.mark.parametrize("source", ["bizinfo", "kstartup", "mss", "rss", "web"])
def test_rate_limit_is_retried_then_succeeds(replay: ReplayServer, source: str) -> None:
    replay.inject(source, "ratelimit", "http503")
    result = collect_source(source, config_for(replay))
    assert {r.source_id for r in result.records} == snapshot_ids(source)[0]
    statuses = replay.requests_for(source)
    assert len(statuses) == result.requests


def test_portal_rate_limit_code_22_is_backed_off(replay: ReplayServer) -> None:
    replay.inject("mss", "ratelimit", "ratelimit")
    result = collect_source("mss", config_for(replay, per_page=100))
    assert len(result.records) == 60
    assert len(replay.requests_for("mss")) == 3  # two code-22 answers, then the page


def test_persistent_rate_limit_gives_up_with_dp_1002(replay: ReplayServer) -> None:
    replay.fail_always("kstartup", "ratelimit")
    with pytest.raises(SourceError) as caught:
        collect_source("kstartup", config_for(replay))
    assert caught.value.code == "DP_1002"
    assert caught.value.details["upstream_code"] == "22"
    assert len(replay.requests_for("kstartup")) == 3  # bounded: max_attempts, then give up


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("truncated", "DP_1004"),
        ("gateway-nocode", "DP_1005"),
        ("unauthorized", "DP_1005"),
        ("http404", "DP_1006"),
    ],
)
def test_fault_shapes_map_to_codes(replay: ReplayServer, fault: str, code: str) -> None:
    replay.fail_always("mss", fault)
    with pytest.raises(SourceError) as caught:
        collect_source("mss", config_for(replay))
    assert caught.value.code == code


def test_euc_kr_bodies_are_decoded(replay: ReplayServer) -> None:
    replay.fail_always("mss", "euckr")
    result = collect_source("mss", config_for(replay))
    assert {r.source_id for r in result.records} == snapshot_ids("mss")[0]
    assert any(r.title.startswith("2026년 예비창업패키지") for r in result.records)


def test_slow_response_times_out_as_ext_5004(replay: ReplayServer) -> None:
    replay.fail_always("kstartup", "slow:0.6")
    with pytest.raises(SourceError) as caught:
        collect_source("kstartup", config_for(replay, timeout=0.2, retry=RetryPolicy(2, 0.01, 0.02, 0.01)))
    assert caught.value.code == "EXT_5004"


def test_failing_source_opens_its_breaker_only(replay: ReplayServer) -> None:
    replay.fail_always("bizinfo", "http500")
    config = config_for(replay, breaker_failure_threshold=2)
    for _ in range(2):
        with pytest.raises(SourceError) as caught:
            collect_source("bizinfo", config)
        assert caught.value.code == "DP_1001"
    assert breaker_for("bizinfo").state is BreakerState.OPEN
    sent = len(replay.requests_for("bizinfo"))
    with pytest.raises(SourceError) as caught:
        collect_source("bizinfo", config)
    assert caught.value.code == "EXT_5011"
    assert len(replay.requests_for("bizinfo")) == sent  # failing fast: nothing was sent
    # Other sources are untouched.
    assert len(collect_source("kstartup", config).records) == 79
    assert breaker_for("kstartup").state is BreakerState.CLOSED


def test_breaker_half_opens_and_closes_after_success(replay: ReplayServer) -> None:
    replay.fail_always("mss", "http503")
    config = config_for(replay, breaker_failure_threshold=1, breaker_reset_seconds=0.2)
    with pytest.raises(SourceError):
        collect_source("mss", config)
    assert breaker_for("mss").state is BreakerState.OPEN
    replay.fail_always("mss", None)
    import time

    time.sleep(0.25)
    assert breaker_for("mss").state is BreakerState.HALF_OPEN
    assert len(collect_source("mss", config).records) == 60
    assert breaker_for("mss").state is BreakerState.CLOSED


def test_renamed_feed_404_does_not_fail_the_others(replay: ReplayServer) -> None:
    feeds = ("/rss/dept_mss.xml", "/rss/dept_motie.xml", "/rss/policy.xml")
    result = collect_source("rss", config_for(replay, rss_feeds=feeds))
    assert len(result.records) == 25
    assert any("dept_motie" in note and "DP_1006" in note for note in result.notes)
    with pytest.raises(SourceError) as caught:
        collect_source("rss", config_for(replay, rss_feeds=("/rss/dept_motie.xml",)))
    assert caught.value.code == "DP_1006"


def test_web_detail_404_is_a_rejection_not_a_drop(replay: ReplayServer) -> None:
    # The list page is served; then one detail page is missing.
    replay.inject("web", "", "", "http404")
    result = collect_source("web", config_for(replay, web_sites=("seoul",)))
    assert len(result.records) + len(result.rejected) == 20
    assert {r.code for r in result.rejected} == {"DP_1006", "DP_2004"}


def test_bizinfo_rss_form_over_http(replay: ReplayServer) -> None:
    import httpx

    from aegis_orchestration.sources import parse

    response = httpx.get(
        f"{replay.base_url}/uss/rss/bizinfoApi.do", params={"crtfcKey": KEY, "pageUnit": 100}
    )
    page = parse("bizinfo", response.content, response.headers["content-type"])
    assert page.total_count == 90 and page.item_count == 90
    assert {r.source_id for r in page.records} == snapshot_ids("bizinfo")[0]
