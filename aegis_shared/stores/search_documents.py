"""The search-index document, shared by the tantivy and Elasticsearch adapters.

Both index exactly these fields, so what CI proves about the tantivy mapping holds for the
Elasticsearch one. ``policy_id`` and ``content_hash`` are exact (keyword/raw) fields so delete by
id and the fingerprint scan never depend on an analyzer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aegis_shared.stores.base import PolicyDocument

# Analysed text fields searched by a free-text query, with their relevance boosts.
TEXT_FIELDS: dict[str, float] = {"title": 3.0, "summary": 1.0, "organization": 1.5, "category": 1.5}
# Exact-match fields (ids, hashes, codes): never analysed.
KEYWORD_FIELDS: tuple[str, ...] = ("policy_id", "content_hash", "region_codes", "status")
# Bump when search_fields() changes what a document holds: every indexed policy goes stale.
SEARCH_DOCUMENT_VERSION = 1


def search_derivation(engine: str, analysis: Any) -> str:
    """The search store's derivation: document version, fields, and the engine's analysis/mapping."""
    canonical = json.dumps(
        {"text": TEXT_FIELDS, "keyword": KEYWORD_FIELDS, "analysis": analysis},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return f"search-doc/{SEARCH_DOCUMENT_VERSION};{engine}/{digest}"


def search_fields(doc: PolicyDocument) -> dict[str, Any]:
    """The indexed document; organisation covers both the issuing and the executing body."""
    organizations = [name for name in (doc.organization, doc.executing_organization) if name]
    return {
        "policy_id": doc.policy_id,
        "content_hash": doc.content_hash,
        "title": doc.title,
        "summary": doc.summary or "",
        "organization": " ".join(dict.fromkeys(organizations)),
        "category": doc.category or "",
        "region_codes": list(doc.region_codes),
        "status": doc.status,
    }
