"""The search servers' requests, built once for Elasticsearch and OpenSearch alike.

Everything a search-server adapter sends is built here: the index body (analysis settings and
mapping), the bulk index and delete actions, the fingerprint scan and the free-text query. The
adapters (:mod:`elasticsearch_search`, :mod:`opensearch_search`) only execute them with their
own client. OpenSearch runs in the local stack, so every request body Elasticsearch receives is
one the tests have run for real; only the analyzer differs:

* **Elasticsearch**: ``nori_tokenizer`` (the analysis-nori plugin), Korean morphology.
* **OpenSearch**: no nori ships with it (none is published on Maven Central), so the text
  fields use what its ``analysis-common`` module ships: a 2–3-character ``ngram`` tokenizer over
  letters and digits, lowercased, the same grams the tantivy store indexes (docs/platform.md §1: two-
  syllable words inside compounds are found, which a morphological analyzer can miss).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from aegis_shared.stores.base import PolicyDocument
from aegis_shared.stores.search_documents import KEYWORD_FIELDS, TEXT_FIELDS, search_derivation, search_fields

Flavor = Literal["elasticsearch", "opensearch"]

BATCH_SIZE = 1_000
SCAN_PAGE = 5_000
NGRAM_MIN, NGRAM_MAX = 2, 3

_ANALYSIS: dict[Flavor, dict[str, Any]] = {
    "elasticsearch": {
        "tokenizer": {"ko_nori": {"type": "nori_tokenizer", "decompound_mode": "mixed"}},
        "analyzer": {
            "ko": {"type": "custom", "tokenizer": "ko_nori", "filter": ["lowercase", "nori_readingform"]}
        },
    },
    "opensearch": {
        "tokenizer": {
            "ko_ngram": {
                "type": "ngram",
                "min_gram": NGRAM_MIN,
                "max_gram": NGRAM_MAX,
                "token_chars": ["letter", "digit"],
            }
        },
        "analyzer": {"ko": {"type": "custom", "tokenizer": "ko_ngram", "filter": ["lowercase"]}},
    },
}


def index_settings(flavor: Flavor) -> dict[str, Any]:
    settings: dict[str, Any] = {"analysis": _ANALYSIS[flavor]}
    if flavor == "opensearch":
        settings["index"] = {"max_ngram_diff": NGRAM_MAX - NGRAM_MIN}
    return settings


# The same mapping on both servers: text fields analysed by "ko" with a keyword subfield; ids,
# hashes, codes and status exact.
INDEX_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        **{name: {"type": "keyword"} for name in KEYWORD_FIELDS},
        **{
            name: {
                "type": "text",
                "analyzer": "ko",
                "fields": {"keyword": {"type": "keyword", "ignore_above": 512}},
            }
            for name in TEXT_FIELDS
        },
    },
}


def index_body(flavor: Flavor) -> dict[str, Any]:
    """``settings`` and ``mappings`` of a new index."""
    return {"settings": index_settings(flavor), "mappings": INDEX_MAPPINGS}


def derivation(flavor: Flavor) -> str:
    """The store's derivation: a changed analyzer or mapping marks every indexed policy stale."""
    return search_derivation(flavor, index_body(flavor))


def index_actions(index: str, docs: Iterable[PolicyDocument]) -> list[dict[str, Any]]:
    """Bulk ``index`` actions keyed by policy id, so re-upserting a policy overwrites it."""
    return [
        {"_op_type": "index", "_index": index, "_id": doc.policy_id, "_source": search_fields(doc)}
        for doc in docs
    ]


def delete_actions(index: str, policy_ids: Sequence[str]) -> list[dict[str, Any]]:
    return [{"_op_type": "delete", "_index": index, "_id": policy_id} for policy_id in policy_ids]


def deleted(ok: bool, item: dict[str, Any]) -> bool:
    """Did this bulk delete item remove a document? A 404 is "was not there"; anything else fails."""
    result = item.get("delete", {})
    if ok and result.get("result") == "deleted":
        return True
    if result.get("status") != 404:
        raise RuntimeError(f"bulk delete failed: {result}")
    return False


# helpers.scan query: every document's id and content hash, nothing else.
FINGERPRINT_SCAN: dict[str, Any] = {"query": {"match_all": {}}, "_source": ["content_hash"]}


def search_body(query: str, k: int) -> dict[str, Any]:
    """A free-text query over the text fields with their boosts; ids only.

    Each whitespace-separated word must occur as a phrase (its grams in order, as tantivy's query
    parser reads a multi-gram word), and a document matches when any word does. Without the
    phrase, "진흥공단" would match every "창업진흥원" through the single gram "진흥".
    """
    fields = [f"{name}^{boost}" for name, boost in TEXT_FIELDS.items()]
    words = [{"multi_match": {"query": word, "fields": fields, "type": "phrase"}} for word in query.split()]
    return {"size": int(k), "_source": False, "query": {"bool": {"should": words, "minimum_should_match": 1}}}


def hits(response: dict[str, Any]) -> list[tuple[str, float]]:
    return [(hit["_id"], float(hit["_score"])) for hit in response["hits"]["hits"]]
