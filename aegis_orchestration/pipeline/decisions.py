"""The cold path's decisions, stage by stage, and :func:`preview`, which runs them all without a store.

The cold-path assets call :func:`validate_all`, :func:`~aegis_orchestration.pipeline.dedup.deduplicate`,
:func:`score` and :func:`decide` one asset at a time, each with its own metadata; :func:`preview`
calls the very same functions on a list of announcements and returns what production would
decide, with the reason for every status and every merge. So "why is this policy not active?"
is answered by the code that made the decision, not by a second copy of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from aegis_orchestration.pipeline import dedup, lifecycle, quality, validation
from aegis_orchestration.pipeline.dedup import MergeEvidence, PolicyCandidate, StoredPolicy
from aegis_orchestration.pipeline.lifecycle import Rules, StatusReason
from aegis_shared.config import QUALITY_DIMENSIONS
from aegis_shared.models import Announcement, PolicyStatus


def validate_all(
    records: Iterable[Announcement],
) -> tuple[list[Announcement], list[validation.ValidationRejection]]:
    """Full validation of every record: the cleaned ones and the rejections (with their DP codes)."""
    valid: list[Announcement] = []
    rejected: list[validation.ValidationRejection] = []
    for record in records:
        outcome = validation.validate(record)
        if isinstance(outcome, validation.ValidationRejection):
            rejected.append(outcome)
        else:
            valid.append(outcome)
    return valid, rejected


def score(candidates: Sequence[PolicyCandidate], *, today: date, rules: Rules) -> quality.QualityReport:
    """Great Expectations quality parts and weighted total of each candidate's survivor on ``today``."""
    frame = quality.frame([c.survivor for c in candidates], [c.policy_id for c in candidates], today)
    return quality.score(frame, rules)


def decide(
    candidates: Sequence[PolicyCandidate], scores: pd.DataFrame, *, today: date, rules: Rules
) -> pd.DataFrame:
    """``scores`` plus each policy's ``status`` and ``reasons`` (a list of ``{code, message}``)."""
    decided = scores.copy()
    by_id = {c.policy_id: c for c in candidates}
    statuses: list[str] = []
    reasons: list[list[dict[str, str]]] = []
    for row in scores.to_dict("records"):
        candidate = by_id[row["policy_id"]]
        outcome = lifecycle.decide(
            candidate.survivor, row, today=today, rules=rules, closed_by=candidate.closed_by
        )
        statuses.append(outcome.status.value)
        reasons.append([r.as_dict() for r in outcome.reasons])
    decided["status"] = pd.Series(statuses, index=scores.index, dtype="object")
    decided["reasons"] = pd.Series(reasons, index=scores.index, dtype="object")
    return decided


def reason_text(reasons: Sequence[Mapping[str, str]]) -> str:
    """A policy's status reasons as the one sentence stored in ``policies.status_reason``."""
    return "; ".join(r["message"] for r in reasons)


@dataclass(frozen=True)
class PreviewPolicy:
    """One policy as the cold path would write it, with why it has its status and its members."""

    policy_id: str
    status: str
    title: str
    source_ids: list[str]
    region_codes: list[str]
    period_start: date | None
    period_end: date | None
    completeness: float
    accuracy: float
    consistency: float
    timeliness: float
    total: float
    reasons: list[StatusReason]
    merges: list[MergeEvidence] = field(default_factory=list)

    @property
    def status_reason(self) -> str:
        return "; ".join(r.message for r in self.reasons)

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "status": self.status,
            "title": self.title,
            "source_ids": self.source_ids,
            "region_codes": self.region_codes,
            "period_start": self.period_start.isoformat() if self.period_start else None,
            "period_end": self.period_end.isoformat() if self.period_end else None,
            **{d: getattr(self, d) for d in (*QUALITY_DIMENSIONS, "total")},
            "reasons": [r.as_dict() for r in self.reasons],
            "merges": [m.as_dict() for m in self.merges],
        }


@dataclass(frozen=True)
class PreviewRejection:
    source: str
    source_id: str
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "source_id": self.source_id, "code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Preview:
    """What the cold path would decide for a set of announcements on ``today``."""

    today: date
    policies: list[PreviewPolicy]
    rejections: list[PreviewRejection]

    def policy(self, policy_id: str) -> PreviewPolicy:
        """The policy with ``policy_id``, or the one a ``source:source_id`` was merged into."""
        for item in self.policies:
            if item.policy_id == policy_id or policy_id in item.source_ids:
                return item
        raise KeyError(f"no policy {policy_id!r} in this preview (it may have been rejected)")

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.policies:
            counts[item.status] = counts.get(item.status, 0) + 1
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "policies": [p.as_dict() for p in self.policies],
            "rejections": [r.as_dict() for r in self.rejections],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)


def _as_announcement(item: Announcement | Mapping[str, Any]) -> Announcement:
    return item if isinstance(item, Announcement) else Announcement.model_validate(item)


def _as_stored(item: StoredPolicy | Announcement | Mapping[str, Any]) -> StoredPolicy:
    if isinstance(item, StoredPolicy):
        return item
    record = _as_announcement(item)
    return StoredPolicy(record=record, source_ids=(record.policy_id,), status=PolicyStatus.ACTIVE.value)


def preview(
    announcements: Iterable[Announcement | Mapping[str, Any]],
    *,
    today: date,
    stored: Iterable[StoredPolicy | Announcement | Mapping[str, Any]] = (),
    rules: Rules | None = None,
) -> Preview:
    """Run the cold path's decisions on ``announcements`` as of ``today``, touching no store.

    ``stored`` are policies already in PostgreSQL that the records may join (an announcement
    there stands for an active policy of its own id). Announcements may be models or their JSON
    dicts. ``rules`` defaults to seed 004's threshold and weights.
    """
    rules = rules or Rules()
    valid, rejected = validate_all(_as_announcement(a) for a in announcements)
    candidates = dedup.deduplicate(valid, [_as_stored(s) for s in stored])
    decided = decide(candidates, score(candidates, today=today, rules=rules).scores, today=today, rules=rules)
    rows = {row["policy_id"]: row for row in decided.to_dict("records")}
    policies = []
    for candidate in candidates:
        row = rows[candidate.policy_id]
        survivor = candidate.survivor
        policies.append(
            PreviewPolicy(
                policy_id=candidate.policy_id,
                status=row["status"],
                title=survivor.title,
                source_ids=candidate.source_ids,
                region_codes=list(survivor.region_codes),
                period_start=survivor.period_start,
                period_end=survivor.period_end,
                **{d: float(row[d]) for d in (*QUALITY_DIMENSIONS, "total")},
                reasons=[StatusReason(r["code"], r["message"]) for r in row["reasons"]],
                merges=list(candidate.evidence),
            )
        )
    return Preview(
        today=today,
        policies=policies,
        rejections=[PreviewRejection(r.source, r.source_id, r.code, r.reason) for r in rejected],
    )
