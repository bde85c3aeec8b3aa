"""Embedded search adapter: tantivy in process, with an n-gram analyzer for Korean.

Korean words are not space-delimited the way a whitespace tokenizer needs ("청년창업지원"), so
text fields use a registered ``Tokenizer.ngram(min_gram=2, max_gram=3)`` + lowercase analyzer:
two-syllable words such as "창업" are whole tokens and are found inside compounds. (SQLite FTS5
trigram misses them; docs/platform.md §1.)

tantivy allows one IndexWriter per index directory, across the whole process. Stores opened on
the same path therefore share one :class:`_SharedIndex` (index + writer), reference-counted, and
every batch is committed and the reader reloaded so reads see it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import tantivy

from aegis_shared.errors import ValidationError
from aegis_shared.stores.base import PolicyDocument, unique_by_id, validate_ids
from aegis_shared.stores.batching import chunks
from aegis_shared.stores.failures import backend_errors
from aegis_shared.stores.search_documents import TEXT_FIELDS, search_derivation, search_fields

NGRAM_TOKENIZER = "ko_ngram"
NGRAM_MIN, NGRAM_MAX = 2, 3
BATCH_SIZE = 5_000
WRITER_HEAP_BYTES = 64_000_000
FINGERPRINT_PAGE = 10_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("policy_id", stored=True, tokenizer_name="raw", fast=True)
    builder.add_text_field("content_hash", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name=NGRAM_TOKENIZER)
    builder.add_text_field("region_codes", stored=False, tokenizer_name="raw")
    builder.add_text_field("status", stored=False, tokenizer_name="raw")
    return builder.build()


def ngram_analyzer() -> tantivy.TextAnalyzer:
    """2–3-character n-grams, lowercased: the analyzer registered for every text field."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(min_gram=NGRAM_MIN, max_gram=NGRAM_MAX))
        .filter(tantivy.Filter.lowercase())
        .build()
    )


class _SharedIndex:
    """One open index and its single writer, shared by every store on the same path."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(_schema(), path=str(path), reuse=True)
        self.index.register_tokenizer(NGRAM_TOKENIZER, ngram_analyzer())
        self.writer = self.index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
        self.lock = threading.Lock()
        self.refs = 0


_OPEN: dict[Path, _SharedIndex] = {}
_OPEN_LOCK = threading.Lock()


def _acquire(path: Path) -> _SharedIndex:
    key = path.resolve()
    with _OPEN_LOCK:
        shared = _OPEN.get(key)
        if shared is None:
            shared = _OPEN[key] = _SharedIndex(key)
        shared.refs += 1
        return shared


def _release(path: Path) -> None:
    key = path.resolve()
    with _OPEN_LOCK:
        shared = _OPEN.get(key)
        if shared is None:
            return
        shared.refs -= 1
        if shared.refs <= 0:
            del _OPEN[key]
            # Dropping the last reference to the writer releases tantivy's directory lock.
            shared.writer.wait_merging_threads()


# What the analyzer does to text: part of the derivation, so a tokenizer change re-indexes everything.
_ANALYSIS = {"tokenizer": "ngram", "min_gram": NGRAM_MIN, "max_gram": NGRAM_MAX, "filters": ["lowercase"]}


class TantivySearchStore:
    """Search store on a tantivy index directory (``settings.search_path``)."""

    name = "search"
    backend = "tantivy"
    # One commit per upsert call, and commits are what cost: hand it large batches.
    write_batch_size = BATCH_SIZE
    derivation = search_derivation("tantivy", _ANALYSIS)

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._closed = False
        with backend_errors(self.name, self.backend, "open"):
            self._shared = _acquire(self.path)

    @property
    def raw(self) -> tantivy.Index:
        """The ``tantivy.Index`` (its writer is :attr:`raw_writer`)."""
        return self._shared.index

    @property
    def raw_writer(self) -> tantivy.IndexWriter:
        return self._shared.writer

    def ensure_schema(self) -> None:
        # The schema is fixed at open time; opening already created or validated it.
        self.ping()

    def _commit(self) -> None:
        self._shared.writer.commit()
        self._shared.index.reload()

    def upsert(self, docs: Sequence[PolicyDocument]) -> int:
        unique = unique_by_id(docs)
        shared = self._shared
        for batch in chunks(unique, BATCH_SIZE):
            with shared.lock, backend_errors(self.name, self.backend, "upsert"):
                try:
                    present = self._present([doc.policy_id for doc in batch])
                    for doc in batch:
                        if doc.policy_id in present:
                            # Delete-then-add inside one commit: the delete applies only to documents
                            # added before it, so the new version survives and the old one goes.
                            shared.writer.delete_documents_by_term("policy_id", doc.policy_id)
                        shared.writer.add_document(tantivy.Document(**search_fields(doc)))
                    self._commit()
                except BaseException:
                    shared.writer.rollback()
                    raise
        return len(unique)

    def _present(self, policy_ids: Sequence[str]) -> set[str]:
        """Which of these ids the committed index holds (callers hold the shared lock)."""
        index = self._shared.index
        searcher = index.searcher()
        if not policy_ids or searcher.num_docs == 0:
            return set()
        # doc_freq still counts deleted-but-unmerged documents, so ask a live search.
        query = tantivy.Query.term_set_query(index.schema, "policy_id", list(policy_ids))
        hits = searcher.search(query, limit=len(policy_ids), count=False).hits
        return {_stored(searcher.doc(address), "policy_id") for _score, address in hits}

    def delete(self, policy_ids: Sequence[str]) -> int:
        ids = validate_ids(policy_ids)
        shared = self._shared
        removed = 0
        for batch in chunks(ids, BATCH_SIZE):
            with shared.lock, backend_errors(self.name, self.backend, "delete"):
                present = self._present(batch)
                for policy_id in present:
                    shared.writer.delete_documents_by_term("policy_id", policy_id)
                if present:
                    self._commit()
                removed += len(present)
        return removed

    def fingerprints(self) -> dict[str, str]:
        result: dict[str, str] = {}
        with backend_errors(self.name, self.backend, "fingerprints"):
            searcher = self._shared.index.searcher()
            query = tantivy.Query.all_query()
            total = searcher.num_docs
            # One searcher = one consistent snapshot, paged so memory stays bounded per page.
            for offset in range(0, total, FINGERPRINT_PAGE):
                hits = searcher.search(query, limit=FINGERPRINT_PAGE, offset=offset, count=False).hits
                for _score, address in hits:
                    stored = searcher.doc(address)
                    result[_stored(stored, "policy_id")] = _stored(stored, "content_hash")
        return result

    def count(self) -> int:
        with backend_errors(self.name, self.backend, "count"):
            return int(self._shared.index.searcher().num_docs)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        if not isinstance(query, str):
            raise ValidationError("VALID_3001", "search query must be a string")
        if not query.strip():
            return []
        with backend_errors(self.name, self.backend, "search"):
            index = self._shared.index
            # Lenient parsing: user text with stray quotes or colons still searches, never raises.
            parsed, _errors = index.parse_query_lenient(
                query, default_field_names=list(TEXT_FIELDS), field_boosts=TEXT_FIELDS
            )
            searcher = index.searcher()
            hits = searcher.search(parsed, limit=int(k)).hits
            return [(_stored(searcher.doc(address), "policy_id"), float(score)) for score, address in hits]

    def ping(self) -> None:
        with backend_errors(self.name, self.backend, "ping"):
            if self._closed:
                raise RuntimeError("store is closed")
            self._shared.index.searcher()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with backend_errors(self.name, self.backend, "close"):
                _release(self.path)


def _stored(document: tantivy.Document, field: str) -> str:
    """A stored text field; every document this adapter writes stores its id and content hash."""
    return cast(str, document.get_first(field))
