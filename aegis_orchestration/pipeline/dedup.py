"""Cross-source deduplication: one programme announced by several sources becomes one policy.

Records are blocked by normalised organisation and period end, then matched on normalised title,
exactly or by fuzzy ratio (rapidfuzz) for near-duplicates such as a changed bracket prefix or a
spacing difference. The survivor is chosen by a stable source priority, so a policy keeps its id
from run to run, and it records every source's id.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from aegis_shared.models import Announcement

SOURCE_PRIORITY = ("bizinfo", "kstartup", "mss", "rss", "web")
NEAR_DUPLICATE_RATIO = 92.0

_BRACKETED = re.compile(r"^\s*[\[\(（【<〈][^\]\)）】>〉]{0,40}[\]\)）】>〉]\s*")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_YEAR_PREFIX = re.compile(r"^(20\d\d)\s*년?\s*(도)?")


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title)
    while _BRACKETED.match(text):
        text = _BRACKETED.sub("", text, count=1)
    text = _YEAR_PREFIX.sub(r"\1", text)
    return _NOISE.sub("", text).lower()


def normalise_org(org: str | None) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", org or "")).lower()


@dataclass
class PolicyCandidate:
    """The surviving record of a duplicate group, with every source id it absorbed."""

    survivor: Announcement
    members: list[Announcement] = field(default_factory=list)

    @property
    def policy_id(self) -> str:
        return self.survivor.policy_id

    @property
    def source_ids(self) -> list[str]:
        return sorted({member.policy_id for member in self.members})

    @property
    def absorbed(self) -> list[Announcement]:
        return [m for m in self.members if m.policy_id != self.policy_id]


def _rank(announcement: Announcement) -> tuple[int, int, str]:
    priority = SOURCE_PRIORITY.index(announcement.source) if announcement.source in SOURCE_PRIORITY else 99
    filled = sum(
        1
        for value in (
            announcement.summary,
            announcement.url,
            announcement.category,
            announcement.period_end,
            announcement.organization,
        )
        if value
    )
    return priority, -filled, announcement.source_id


def deduplicate(announcements: Iterable[Announcement]) -> list[PolicyCandidate]:
    """Group duplicates; candidates come back ordered by policy id for deterministic output."""
    blocks: dict[tuple[str, str], list[Announcement]] = defaultdict(list)
    for item in announcements:
        period = (
            item.period_end.isoformat() if item.period_end else ("open" if item.period_open_ended else "")
        )
        blocks[(normalise_org(item.organization), period)].append(item)

    candidates: list[PolicyCandidate] = []
    for members in blocks.values():
        candidates.extend(_cluster(sorted(members, key=_rank)))
    return sorted(candidates, key=lambda c: c.policy_id)


def _cluster(members: Sequence[Announcement]) -> list[PolicyCandidate]:
    groups: list[tuple[str, PolicyCandidate]] = []
    for item in members:  # best-ranked first, so the first member of a group is its survivor
        title = normalise_title(item.title)
        for key, group in groups:
            if title == key or fuzz.ratio(title, key) >= NEAR_DUPLICATE_RATIO:
                group.members.append(item)
                break
        else:
            groups.append((title, PolicyCandidate(survivor=item, members=[item])))
    return [group for _, group in groups]
