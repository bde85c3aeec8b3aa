"""MSS contact e-mails and phone numbers are masked inside the connector: nothing it returns (records,
their raw payload, rejections' original bytes) holds the unmasked values."""

from __future__ import annotations

import json

from aegis_orchestration.sources import parse
from aegis_orchestration.sources.catalog import collect_source
from aegis_orchestration.sources.mss import mask_email, mask_phone
from aegis_orchestration.sources.page import SourcePage
from aegis_orchestration.sources.replay import ReplayServer
from tests.aegis_orchestration.sources.conftest import config_for
from tests.aegis_orchestration.sources.test_parse import body, mss_body

CONTACT = (
    "<writerName>담당자</writerName><writerPhone>044-204-7781</writerPhone>"
    "<writerEmail>kim.jiwoo@korea.kr</writerEmail>"
)
GOOD = f"<item><itemId>1</itemId><title>스마트공장 공고</title>{CONTACT}</item>"
BAD = f"<item><itemId>2</itemId>{CONTACT}</item>"  # no title: rejected, original bytes kept


def _everything(page: SourcePage) -> str:
    """All a page hands on: every record as stored and every rejection's kept bytes."""
    parts = [record.model_dump_json() for record in page.records]
    parts += [json.dumps(r.raw, ensure_ascii=False, default=str) for r in page.rejected]
    parts += [r.original_bytes().decode("utf-8") for r in page.rejected]
    return "\n".join(parts)


def test_masks_keep_the_organisation_and_exchange_only() -> None:
    assert mask_email("kim.jiwoo@korea.kr") == "k***@korea.kr"
    assert mask_email("not-an-address") == "***"
    assert mask_phone("044-204-7781") == "044-204-****"
    assert mask_phone("0442047781") == "044204****"


def test_xml_items_and_their_original_bytes_are_masked() -> None:
    page = parse("mss", mss_body(GOOD + BAD, total=2))
    [record] = page.records
    [rejected] = page.rejected
    assert record.raw["writerEmail"] == "k***@korea.kr" and record.raw["writerPhone"] == "044-204-****"
    assert b"<writerEmail>k***@korea.kr</writerEmail>" in rejected.original_bytes()
    everything = _everything(page)
    assert "kim.jiwoo" not in everything and "7781" not in everything
    assert "담당자" in everything  # other fields are kept as sent


def test_json_items_and_their_original_bytes_are_masked() -> None:
    contact = {"writerPhone": "02-345-6789", "writerEmail": "lee@mss.go.kr"}
    doc = {
        "response": {
            "header": {"resultCode": "00", "resultMsg": "NORMAL_CODE"},
            "body": {
                "items": {"item": [{"itemId": "9", "title": "제목", **contact}, {"itemId": "10", **contact}]},
                "totalCount": 2,
                "pageNo": 1,
            },
        }
    }
    page = parse("mss", body(doc))
    assert page.records[0].raw["writerPhone"] == "02-345-****"
    assert page.records[0].raw["writerEmail"] == "l***@mss.go.kr"
    everything = _everything(page)
    assert "lee@" not in everything and "6789" not in everything


def test_collecting_mss_over_http_never_returns_an_unmasked_contact(replay: ReplayServer) -> None:
    result = collect_source("mss", config_for(replay))
    assert len(result.records) == 60
    dumped = "\n".join(record.model_dump_json() for record in result.records)
    # The snapshot's contacts are staff{i}@korea.kr and 044-204-{7000 + i}.
    assert "staff" not in dumped and "044-204-7" not in dumped
    assert all(r.raw["writerEmail"] == "s***@korea.kr" for r in result.records)
    assert all(r.raw["writerPhone"] == "044-204-****" for r in result.records)
