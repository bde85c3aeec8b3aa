"""Cross-source deduplication: one programme announced by several sources becomes one policy.

Records are blocked by normalised organisation and period end, then matched on normalised title,
exactly or by fuzzy ratio (rapidfuzz) for near-duplicates such as a changed bracket prefix or a
spacing difference. The survivor is chosen by a stable source priority, so a policy keeps its id
from run to run, and it records every source's id.

A day's records are also matched against the policies already stored in the same blocks
(``StoredPolicy``, looked up by the ``dedup_key`` column): a programme a second source posts on a
later day joins the existing policy, which keeps its id and gains the new source id.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

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


def block_key(item: Announcement) -> str:
    """Normalised organisation and period end; only records sharing it are compared (``dedup_key``)."""
    return block_key_of(item.organization, item.period_end, item.period_open_ended)


def block_key_of(organization: str | None, period_end: date | None, period_open_ended: bool) -> str:
    """:func:`block_key` from the three fields it reads (for rows that are not announcements)."""
    period = period_end.isoformat() if period_end else ("open" if period_open_ended else "")
    return f"{normalise_org(organization)}|{period}"


@dataclass(frozen=True)
class StoredPolicy:
    """A policy already in PostgreSQL that a day's records may turn out to belong to."""

    record: Announcement  # rebuilt from the row: the policy's own source, content and collected_at
    source_ids: tuple[str, ...]
    status: str

    @property
    def policy_id(self) -> str:
        return self.record.policy_id


@dataclass
class PolicyCandidate:
    """The surviving record of a duplicate group, with every source id it absorbed.

    ``members`` are the records of this run; ``stored`` the existing policies the group matched,
    which keep their id: an existing policy absorbs a later day's duplicate instead of a second
    policy appearing.
    """

    survivor: Announcement
    members: list[Announcement] = field(default_factory=list)
    stored: list[StoredPolicy] = field(default_factory=list)

    @property
    def policy_id(self) -> str:
        return self.survivor.policy_id

    @property
    def source_ids(self) -> list[str]:
        ids = {member.policy_id for member in self.members}
        for policy in self.stored:
            ids.add(policy.policy_id)
            ids.update(policy.source_ids)
        return sorted(ids)

    @property
    def absorbed(self) -> list[Announcement]:
        """Members and stored policies that are not the survivor (their own rows become archived)."""
        out: dict[str, Announcement] = {}
        for item in [*self.members, *(p.record for p in self.stored)]:
            if item.policy_id != self.policy_id:
                out.setdefault(item.policy_id, item)
        return list(out.values())

    @property
    def collected_at(self) -> datetime:
        """The survivor's collection time, or the newest of this run's records when a stored row survives.

        A stored survivor's own ``collected_at`` is older than the record it absorbs; advancing it
        keeps the ``collected_at`` guard meaningful, so a re-run of an older day cannot re-score it.
        """
        if any(m is self.survivor for m in self.members):
            return self.survivor.collected_at
        return max(m.collected_at for m in self.members)

    @property
    def dedup_key(self) -> str:
        return block_key(self.survivor)


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


# Among stored policies in one group, a served (active) one keeps its id over the others.
_STATUS_RANK = {"active": 0, "rejected": 1}


def _stored_rank(policy: StoredPolicy) -> tuple[int, tuple[int, int, str]]:
    return _STATUS_RANK.get(policy.status, 2), _rank(policy.record)


def deduplicate(
    announcements: Iterable[Announcement], stored: Iterable[StoredPolicy] = ()
) -> list[PolicyCandidate]:
    """Group duplicates, also against ``stored`` policies; ordered by policy id for deterministic output.

    A stored policy whose own source record is among ``announcements`` is represented by that
    fresh record. Groups holding no record of this run are left out: nothing new to write.
    """
    records = list(announcements)
    fresh = {item.policy_id: item for item in records}
    anchors: dict[str, StoredPolicy] = {}
    for policy in stored:
        anchors.setdefault(policy.policy_id, policy)

    stored_blocks: dict[str, list[tuple[Announcement, StoredPolicy | None]]] = defaultdict(list)
    for policy in sorted(anchors.values(), key=_stored_rank):
        item = fresh.get(policy.policy_id, policy.record)
        stored_blocks[block_key(item)].append((item, policy))
    blocks: dict[str, list[tuple[Announcement, StoredPolicy | None]]] = defaultdict(list)
    for item in sorted(records, key=_rank):
        if item.policy_id not in anchors:
            blocks[block_key(item)].append((item, None))

    candidates: list[PolicyCandidate] = []
    for key in blocks.keys() | stored_blocks.keys():
        # Stored policies first, so a group that holds one is led (and keeps its id) by it.
        candidates.extend(_cluster([*stored_blocks.get(key, []), *blocks.get(key, [])]))
    return sorted(candidates, key=lambda c: c.policy_id)


def _cluster(entries: Sequence[tuple[Announcement, StoredPolicy | None]]) -> list[PolicyCandidate]:
    groups: list[tuple[str, PolicyCandidate]] = []
    for item, policy in entries:  # best-ranked first, so the first entry of a group is its survivor
        title = normalise_title(item.title)
        group = next(
            (g for key, g in groups if title == key or fuzz.ratio(title, key) >= NEAR_DUPLICATE_RATIO), None
        )
        if group is None:
            group = PolicyCandidate(survivor=item)
            groups.append((title, group))
        if policy is not None:
            group.stored.append(policy)
        if policy is None or item is not policy.record:
            group.members.append(item)
    return [group for _, group in groups if group.members]
