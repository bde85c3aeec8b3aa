"""The lifecycle rule: whether a policy is served (``active``), and why; the one place it is decided.

``active`` means a founder can apply now or soon. So a programme whose application period ended
before the as-of day in Asia/Seoul, or whose source says applications are closed, is never
active, whatever its quality: it is ``archived`` with a reason that names why. A programme ending
on the as-of day is still open; upcoming and open-ended programmes are active when their quality
total reaches the threshold, and ``rejected`` below it.

Every path asks this module: the cold path (:func:`decide`), hot-path staging and expiry
(:func:`closure`), and serving reads (:data:`SERVABLE_SQL`). Each decision carries
:class:`StatusReason` values, written with every change by the one status-change trail
(:mod:`aegis_orchestration.pipeline.trail`), so a status can always be explained
(``aegis pipeline explain``).
The rule in prose, with the quality parts and their defaults: docs/lifecycle.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from aegis_shared.config import DEFAULT_QUALITY_WEIGHTS, QUALITY_DIMENSIONS, Settings
from aegis_shared.models import Announcement, PolicyStatus
from aegis_shared.utils.dates import seoul_today

PERIOD_ENDED = "period_ended"
CLOSED_BY_SOURCE = "closed_by_source"
QUALITY_BELOW_THRESHOLD = "quality_below_threshold"
QUALITY_PASSED = "quality_passed"
MERGED_INTO = "merged_into"
PENDING_COLD_PATH = "pending_cold_path"

# Boards mark a finished call in its title ("[마감] …", "(접수마감) …", "【모집종료】 …"). Only a
# bracketed word that says the call is over counts: "[마감임박]" (closing soon) and "(예산 소진 시
# 조기마감)" (may close early) describe calls that are still open.
_CLOSED_TITLE_MARK = re.compile(
    r"[\[(【〔<［（]\s*((?:접수|모집|신청|공고|사업)?\s*(?:마감|종료)(?:\s*완료)?|closed)\s*[\])】〕>］）]",
    re.IGNORECASE,
)

# A serving read's filter: what may be served on ``:today`` (the store syncs and their checks).
SERVABLE_SQL = (
    "status = 'active' AND deleted_at IS NULL AND NOT closed_by_source "
    "AND (period_end IS NULL OR period_end >= :today)"
)


def as_of(settings: Settings) -> date:
    """``AEGIS_AS_OF`` when set (demos, replays of a past day), else today in Asia/Seoul."""
    return settings.as_of or seoul_today()


@dataclass(frozen=True)
class StatusReason:
    """One reason behind a status: a stable ``code`` to group by and a sentence for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Rules:
    """The quality threshold and weights (settings, not constants; defaults in docs/lifecycle.md)."""

    threshold: float = 0.7
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_QUALITY_WEIGHTS))

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(threshold=settings.quality_active_threshold, weights=dict(settings.quality_weights))

    def total(self, parts: Mapping[str, float]) -> float:
        """The weighted quality total of the four parts, rounded as stored."""
        return round(sum(float(parts[d]) * self.weights[d] for d in QUALITY_DIMENSIONS), 4)


@dataclass(frozen=True)
class Decision:
    status: PolicyStatus
    reasons: tuple[StatusReason, ...]

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    @property
    def explanation(self) -> str:
        """The reasons as one sentence, stored with the policy (``status_reason``)."""
        return "; ".join(r.message for r in self.reasons)


def closed_title_mark(title: str | None) -> str | None:
    """The bracketed word by which a title says applications are closed (``[마감]``), if any."""
    found = _CLOSED_TITLE_MARK.search(title or "")
    return found.group(0) if found else None


def closure(
    *,
    period_end: date | None,
    closed_by_source: bool,
    source: str,
    today: date,
    title: str | None = None,
) -> tuple[StatusReason, ...]:
    """Why a programme can no longer be applied to on ``today``; empty when it still can."""
    reasons: list[StatusReason] = []
    if closed_by_source:
        reasons.append(StatusReason(CLOSED_BY_SOURCE, f"{source} marks applications as closed"))
    elif mark := closed_title_mark(title):
        message = f"the {source} title marks applications as closed: {mark}"
        reasons.append(StatusReason(CLOSED_BY_SOURCE, message))
    if period_end is not None and period_end < today:
        reasons.append(
            StatusReason(
                PERIOD_ENDED,
                f"application period ended on {period_end.isoformat()}, before {today.isoformat()} "
                "(Asia/Seoul)",
            )
        )
    return tuple(reasons)


def closure_of(item: Announcement, today: date, closed_by: Sequence[str] = ()) -> tuple[StatusReason, ...]:
    """:func:`closure` of an announcement; ``closed_by`` names the sources that closed a merged one."""
    return closure(
        period_end=item.period_end,
        closed_by_source=item.closed_by_source,
        source=", ".join(closed_by) or item.source,
        today=today,
        title=item.title,
    )


def _open_window(item: Announcement, today: date) -> str:
    if item.period_start is not None and item.period_start > today:
        opens = f"upcoming: opens {item.period_start.isoformat()}"
        return opens + (f", closes {item.period_end.isoformat()}" if item.period_end else ", no end date")
    if item.period_end is not None:
        return f"open until {item.period_end.isoformat()}"
    if item.period_open_ended:
        return "open-ended" + (f" ({item.period_note})" if item.period_note else "")
    return "no application period published"


def decide(
    item: Announcement,
    parts: Mapping[str, float],
    *,
    today: date,
    rules: Rules,
    closed_by: Sequence[str] = (),
) -> Decision:
    """The status of a scored policy on ``today``: archived if closed, else active or rejected by quality.

    ``closed_by`` names the sources that closed it, when it merged several sources' records.
    """
    total = rules.total(parts)
    closed = closure_of(item, today, closed_by)
    if closed:
        return Decision(PolicyStatus.ARCHIVED, closed)
    breakdown = ", ".join(f"{d} {float(parts[d]):.2f}" for d in QUALITY_DIMENSIONS)
    if total >= rules.threshold:
        return Decision(
            PolicyStatus.ACTIVE,
            (
                StatusReason(
                    QUALITY_PASSED,
                    f"quality {total:.2f} ≥ {rules.threshold:.2f} ({breakdown}); {_open_window(item, today)}",
                ),
            ),
        )
    return Decision(
        PolicyStatus.REJECTED,
        (
            StatusReason(
                QUALITY_BELOW_THRESHOLD,
                f"quality {total:.2f} < {rules.threshold:.2f} ({breakdown})",
            ),
        ),
    )
