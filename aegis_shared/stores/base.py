"""The serving-store contract: the document every store holds and the interfaces over them.

PostgreSQL is the source of truth; the vector, graph and search stores are projections of it.
Calling code (sync assets, consistency checks) sees only these protocols and never learns which
adapter (production or embedded) the settings selected.

Each store says how it *derives* its copy of a policy (``derivation``: the embedding model, the
industry keyword map, the search mapping version). What a store keeps per policy, and what
``fingerprints()`` returns, is :func:`store_fingerprint` of the policy's content hash and that
derivation, so a new model, keyword map or mapping shows as drift exactly like changed content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Protocol, runtime_checkable

from aegis_shared.errors import ValidationError

# Longest policy id any adapter accepts; Milvus needs a VARCHAR bound and the others follow it
# so a document valid for one store is valid for all.
MAX_POLICY_ID_LENGTH = 256
MAX_CONTENT_HASH_LENGTH = 128

_TUPLE_FIELDS = ("region_codes", "target_groups", "industries")
_OPTIONAL_TEXT_FIELDS = ("summary", "organization", "executing_organization", "category", "url")


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """One policy as the serving stores see it; built from a ``policies`` row.

    Validated on construction so a bad row fails before any store is touched (VALID_3001 /
    VALID_3002 / VALID_3004). Lists are accepted for the tuple fields and frozen into tuples.
    ``content_hash`` is the version the store keeps and reports back from ``fingerprints()``; the
    sync passes :func:`store_fingerprint` of the policy's hash and the store's derivation.
    ``industries`` are explicit ones; the graph adds those its keyword map finds in the text.
    """

    policy_id: str
    content_hash: str
    title: str
    summary: str | None = None
    organization: str | None = None
    executing_organization: str | None = None
    category: str | None = None
    region_codes: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    url: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    status: str = "active"

    def __post_init__(self) -> None:
        for name, limit in (("policy_id", MAX_POLICY_ID_LENGTH), ("content_hash", MAX_CONTENT_HASH_LENGTH)):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(
                    "VALID_3002",
                    f"PolicyDocument.{name} must be a non-empty string",
                    details={"field": name, "policy_id": _safe_id(self)},
                )
            if len(value) > limit:
                raise ValidationError(
                    "VALID_3004",
                    f"PolicyDocument.{name} exceeds {limit} characters",
                    details={"field": name, "length": len(value)},
                )
        if not isinstance(self.title, str):
            raise ValidationError(
                "VALID_3001",
                "PolicyDocument.title must be a string",
                details={"field": "title", "policy_id": self.policy_id},
            )
        if not isinstance(self.status, str) or not self.status:
            raise ValidationError(
                "VALID_3001",
                "PolicyDocument.status must be a non-empty string",
                details={"field": "status", "policy_id": self.policy_id},
            )
        for name in _OPTIONAL_TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(
                    "VALID_3001",
                    f"PolicyDocument.{name} must be a string or None",
                    details={"field": name, "policy_id": self.policy_id},
                )
        for name in ("period_start", "period_end"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, date):
                raise ValidationError(
                    "VALID_3001",
                    f"PolicyDocument.{name} must be a date or None",
                    details={"field": name, "policy_id": self.policy_id},
                )
        for name in _TUPLE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ValidationError(
                    "VALID_3001",
                    f"PolicyDocument.{name} must be a sequence of strings",
                    details={"field": name, "policy_id": self.policy_id},
                )
            if not all(isinstance(item, str) and item for item in value):
                raise ValidationError(
                    "VALID_3001",
                    f"PolicyDocument.{name} must hold non-empty strings",
                    details={"field": name, "policy_id": self.policy_id},
                )
            # Frozen dataclass: the one sanctioned way to normalise a field after validation.
            object.__setattr__(self, name, tuple(dict.fromkeys(value)))

    @classmethod
    def from_row(
        cls,
        policy_id: str,
        content_hash: str,
        title: str,
        summary: str | None,
        organization: str | None,
        executing_organization: str | None,
        category: str | None,
        region_codes: Sequence[str] | None,
        target_groups: Sequence[str] | None,
        url: str | None,
        period_start: date | None,
        period_end: date | None,
        status: str,
    ) -> PolicyDocument:
        """A document from a ``policies`` row: the same checks as the constructor, done cheaply.

        A row from our own table nearly always passes, so the checks run as a few flat tests and
        the fields are written directly; anything doubtful goes through the validating constructor,
        so a bad row fails with exactly the code it always did.
        """
        # psycopg returns text[] as a list (NULL as None); anything else takes the validating path.
        regions = tuple(region_codes) if type(region_codes) is list else region_codes
        targets = tuple(target_groups) if type(target_groups) is list else target_groups
        if not (
            type(policy_id) is str
            and policy_id.strip()
            and len(policy_id) <= MAX_POLICY_ID_LENGTH
            and type(content_hash) is str
            and content_hash.strip()
            and len(content_hash) <= MAX_CONTENT_HASH_LENGTH
            and type(title) is str
            and type(status) is str
            and status
            and set(map(type, (summary, organization, executing_organization, category, url)))
            <= _TEXT_OR_NONE
            and (period_start is None or type(period_start) is date)
            and (period_end is None or type(period_end) is date)
            and type(regions) is tuple
            and _plain_items(regions)
            and type(targets) is tuple
            and _plain_items(targets)
        ):
            return cls(
                policy_id=policy_id,
                content_hash=content_hash,
                title=title,
                summary=summary,
                organization=organization,
                executing_organization=executing_organization,
                category=category,
                # Whatever the row held goes to the validating constructor, which raises the
                # documented code for a non-tuple; converting here would hide that.
                region_codes=() if region_codes is None else region_codes,  # type: ignore[arg-type]
                target_groups=() if target_groups is None else target_groups,  # type: ignore[arg-type]
                url=url,
                period_start=period_start,
                period_end=period_end,
                status=status,
            )
        doc = object.__new__(cls)
        # Frozen dataclass: the same direct slot writes its generated __init__ performs.
        put = object.__setattr__
        put(doc, "policy_id", policy_id)
        put(doc, "content_hash", content_hash)
        put(doc, "title", title)
        put(doc, "summary", summary)
        put(doc, "organization", organization)
        put(doc, "executing_organization", executing_organization)
        put(doc, "category", category)
        put(doc, "region_codes", regions)
        put(doc, "target_groups", targets)
        put(doc, "industries", ())
        put(doc, "url", url)
        put(doc, "period_start", period_start)
        put(doc, "period_end", period_end)
        put(doc, "status", status)
        return doc

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every field (tuples stay tuples, dates stay dates)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_TEXT_OR_NONE = frozenset({str, type(None)})
_TEXT = frozenset({str})


def _plain_items(items: tuple[Any, ...]) -> bool:
    """Non-empty strings without repeats: what __post_init__ would leave unchanged."""
    return not items or (set(map(type, items)) <= _TEXT and "" not in items and len(set(items)) == len(items))


def store_fingerprint(content_hash: str, derivation: str) -> str:
    """What a store keeps for a policy: its content hash bound to how the store derives documents."""
    return hashlib.blake2b(f"{content_hash}\x1f{derivation}".encode(), digest_size=16).hexdigest()


def _safe_id(doc: object) -> object:
    value = getattr(doc, "policy_id", None)
    return value if isinstance(value, str) else repr(value)[:64]


def unique_by_id(docs: Sequence[PolicyDocument]) -> list[PolicyDocument]:
    """Drop earlier duplicates of a policy id (the last version wins), keeping first-seen order.

    Upserts must be idempotent even if a batch names a policy twice; every adapter writes the
    deduplicated list so one batch never holds two versions of one id.
    """
    latest: dict[str, PolicyDocument] = {}
    for doc in docs:
        if not isinstance(doc, PolicyDocument):
            raise ValidationError(
                "VALID_3001",
                "stores accept only PolicyDocument instances",
                details={"type": type(doc).__name__},
            )
        latest[doc.policy_id] = doc
    return list(latest.values())


def validate_ids(policy_ids: Sequence[str]) -> list[str]:
    """Check a delete request's ids up front and drop repeats (VALID_3001 on a bad id)."""
    if isinstance(policy_ids, str):
        raise ValidationError("VALID_3001", "policy_ids must be a sequence of ids, not one string")
    for policy_id in policy_ids:
        if not isinstance(policy_id, str) or not policy_id:
            raise ValidationError(
                "VALID_3001",
                "every policy id must be a non-empty string",
                details={"policy_id": repr(policy_id)[:64]},
            )
    return list(dict.fromkeys(policy_ids))


@runtime_checkable
class PolicyStore(Protocol):
    """What every serving store offers the sync and consistency layers."""

    name: str
    """Logical store: ``"vectors"``, ``"graph"`` or ``"search"`` (the ``store_sync_state.store`` key)."""
    backend: str
    """The engine behind it, e.g. ``"milvus-lite"``, ``"falkordb"``, ``"tantivy"``."""
    write_batch_size: int
    """Documents per ``upsert`` call the store handles best (e.g. it commits once per call)."""

    @property
    def derivation(self) -> str:
        """How this store turns a policy into its document (model, keyword map, mapping version).

        Part of every fingerprint (:func:`store_fingerprint`): when it changes, every stored policy
        is stale until the next sync rewrites it.
        """
        ...

    def ensure_schema(self) -> None:
        """Create the collection/index/constraints if missing; safe to call repeatedly."""
        ...

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        """Write documents (batched inside); idempotent. Returns how many distinct ids were written."""
        ...

    def delete(self, policy_ids: Sequence[str]) -> int:
        """Remove documents by id. Returns how many of them were present."""
        ...

    def fingerprints(self) -> dict[str, str]:
        """``policy_id -> content_hash`` (as written) of everything stored, paged so it scales to 100k+."""
        ...

    def count(self) -> int:
        """Number of policies stored."""
        ...

    def ping(self) -> None:
        """Raise the store's coded ExternalServiceError if the backend is unreachable."""
        ...

    def close(self) -> None:
        """Release connections, writers and locks."""
        ...


@runtime_checkable
class VectorStore(PolicyStore, Protocol):
    """Embeddings of each policy (title + summary) for semantic recommendation."""

    @property
    def model_id(self) -> str:
        """The embedding model whose vectors this store holds."""
        ...

    def search(
        self, text: str, k: int = 10, filter: Mapping[str, str] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest policies to ``text``; ``filter`` keys: ``status``, ``region_code``."""
        ...


@runtime_checkable
class GraphStore(PolicyStore, Protocol):
    """The policy knowledge graph: organisations, regions, industries, categories, targets."""

    def related(self, policy_id: str) -> dict[str, Any] | None:
        """The policy's properties and its neighbours by relationship, or None if absent."""
        ...

    def similar(self, policy_id: str, k: int = 10) -> list[tuple[str, int]]:
        """Other policies sharing the most neighbours with ``policy_id``."""
        ...


@runtime_checkable
class SearchStore(PolicyStore, Protocol):
    """Full-text index over title, summary, organisation and category (Korean-aware)."""

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Best-matching policy ids with their relevance scores, best first."""
        ...
