"""Cross-source deduplication: one programme announced by several sources becomes one policy.

Records are blocked by normalised organisation and period end, then matched on their title key
(:func:`title_key`): the title with bracket noise, 「」, 년/년도, spacing, punctuation and notice
words (공고, 모집, 재공고, 안내) set aside. Keys must be equal, not merely similar: a similarity
ratio waves through programmes that differ in one word (스마트상점 / 스마트공방) or one digit.
Before titles are compared at all, records that name different things are kept apart
(:func:`conflicts`): different region tags or region codes, different numbers (years, rounds
1차/2차, cohorts 제3기/4기) or different edition words (상반기/하반기, 추가). Merging two
programmes is the worse error: a founder loses one of them.

The survivor is chosen by a stable source priority (the source table's ``priority``), so a
policy keeps its id from run to run; it records every source's id, the union of their region
codes, and why each member merged (:class:`MergeEvidence`: the fields that matched and the title
score).

A day's records are also matched against the policies already stored in the same blocks
(``StoredPolicy``, looked up by the ``dedup_key`` column): a programme a second source posts on a
later day joins the existing policy, which keeps its id and gains the new source id.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from rapidfuzz import fuzz

from aegis_orchestration.sources.registry import priority_of
from aegis_shared.models import Announcement
from aegis_shared.text import region_codes
from aegis_shared.text.normalise import fold_width, squeeze, strip_region_labels

# "2026년도" and "2026년" are one year; "'26년" names it too.
_YEAR_SUFFIX = re.compile(r"년도")
_SHORT_YEAR = re.compile(r"(?<![\d])[\'’‘]?(\d{2})\s*년(?!\d)")
_NUMBER = re.compile(r"\d+")
# Words that name one edition of a recurring call; a different (or missing) one is another call.
_EDITION_WORDS = re.compile(r"상반기|하반기|전반기|후반기|추가\s*모집|추가\s*공고|추경")

# "제3기" is "3기", "제 1차" is "1차"; 제주 is not touched.
_ORDINAL_PREFIX = re.compile(r"제\s*(?=\d)")
# "2026년도 X" is "2026년 X"; the 도 of "2026년 도시재생" is not.
_YEAR = re.compile(r"(?<!\d)(20\d\d)\s*년(?:도(?![가-힣]))?")
# Words that say what kind of notice this is, not which programme: "모집 공고" = "모집" = "공고".
_NOTICE_WORDS = re.compile(r"재공고|공고문|공고|모집|안내|알림")


def normalise_title(title: str) -> str:
    """NFKC, leading region labels dropped, "2026년"/"2026년도" → "2026", 제3기 → 3기, punctuation gone.

    Only a label that names regions alone is dropped (one source tags ``[서울]``, another does not;
    regions are compared on their own in :func:`conflicts`). Any other label keeps its words:
    ``(수원시)`` and ``(용인시)`` editions are two programmes.
    """
    text = strip_region_labels(fold_width(title))
    return squeeze(_ORDINAL_PREFIX.sub("", _YEAR.sub(r"\1", text)))


@dataclass(frozen=True)
class TitleMarks:
    """What a title says that a fuzzy ratio would wave through: regions, numbers and edition words."""

    regions: frozenset[str]
    numbers: tuple[int, ...]
    editions: frozenset[str]


def title_marks(title: str) -> TitleMarks:
    """The regions, numbers (years, rounds, cohorts) and edition words a title names."""
    text = _YEAR_SUFFIX.sub("년", fold_width(title))
    text = _SHORT_YEAR.sub(lambda m: f"20{m.group(1)}년", text)
    editions = frozenset(re.sub(r"\s+", "", m.group(0)) for m in _EDITION_WORDS.finditer(text))
    return TitleMarks(
        regions=frozenset(region_codes(text)),
        numbers=tuple(sorted(int(n) for n in _NUMBER.findall(text))),
        editions=editions,
    )


def conflicts(a: Announcement, b: Announcement) -> list[str]:
    """Why ``a`` and ``b`` cannot be one programme, whatever their titles' similarity; empty if none.

    A region known on one side only is not a conflict (K-Startup titles carry no ``[지역]`` tag that
    bizinfo's do), but two known, different region sets are.
    """
    reasons: list[str] = []
    if normalise_org(a.organization) != normalise_org(b.organization):
        reasons.append("organization")
    if a.period_end != b.period_end or a.period_open_ended != b.period_open_ended:
        reasons.append("period")
    codes_a, codes_b = set(a.region_codes), set(b.region_codes)
    if codes_a and codes_b and codes_a != codes_b:
        reasons.append("region_codes")
    marks_a, marks_b = title_marks(a.title), title_marks(b.title)
    if marks_a.regions and marks_b.regions and marks_a.regions != marks_b.regions:
        reasons.append("region_tags")
    if marks_a.numbers != marks_b.numbers:
        reasons.append("numbers")  # years, rounds (1차/2차), cohorts (제3기/4기)
    if marks_a.editions != marks_b.editions:
        reasons.append("edition")
    return reasons


def title_key(title: str) -> str:
    """The title as a programme's identity: normalised, with notice words set aside."""
    return _NOTICE_WORDS.sub("", normalise_title(title))


def title_score(a: Announcement, b: Announcement) -> float:
    """Similarity of the normalised titles in [0, 100] (rapidfuzz), reported with each merge."""
    ta, tb = normalise_title(a.title), normalise_title(b.title)
    return 100.0 if ta == tb else round(float(fuzz.ratio(ta, tb)), 1)


@dataclass(frozen=True)
class MergeEvidence:
    """Why ``member`` became part of the policy ``into``: what matched, and how well the titles did."""

    member: str
    into: str
    title_score: float
    matched: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "member": self.member,
            "into": self.into,
            "title_score": self.title_score,
            "matched": list(self.matched),
        }

    @property
    def message(self) -> str:
        return (
            f"{self.member} merged into {self.into}: same title once spacing, brackets and notice "
            f"words are set aside (similarity {self.title_score:.1f}); same {', '.join(self.matched)}"
        )


def _evidence(member: Announcement, leader: Announcement, score: float) -> MergeEvidence:
    matched = ["title", "organization", "period"]
    if member.region_codes and leader.region_codes:
        matched.append("region_codes")
    marks = title_marks(member.title)
    if marks.numbers:
        matched.append("numbers " + "/".join(map(str, marks.numbers)))
    if marks.editions:
        matched.append("edition " + "/".join(sorted(marks.editions)))
    return MergeEvidence(member.policy_id, leader.policy_id, score, tuple(matched))


def normalise_org(org: str | None) -> str:
    return squeeze(fold_width(org or ""))


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

    leader: Announcement
    members: list[Announcement] = field(default_factory=list)
    stored: list[StoredPolicy] = field(default_factory=list)
    evidence: list[MergeEvidence] = field(default_factory=list)

    @property
    def policy_id(self) -> str:
        return self.leader.policy_id

    @property
    def closed_by(self) -> list[str]:
        """The sources of this programme that say applications are closed."""
        items = [self.leader, *self.members, *(p.record for p in self.stored)]
        return sorted({item.source for item in items if item.closed_by_source})

    @property
    def survivor(self) -> Announcement:
        """The leader's record, carrying the union of every member's region codes, and closed when
        any source of the programme says applications are closed."""
        items = [self.leader, *self.members, *(p.record for p in self.stored)]
        codes = sorted({code for item in items for code in item.region_codes})
        closed = any(item.closed_by_source for item in items)
        if codes == sorted(set(self.leader.region_codes)) and closed == self.leader.closed_by_source:
            return self.leader
        merged = self.leader.model_copy(update={"region_codes": codes, "closed_by_source": closed})
        merged.content_hash = merged.compute_content_hash()
        return merged

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
        if any(m is self.leader for m in self.members):
            return self.leader.collected_at
        return max(m.collected_at for m in self.members)

    @property
    def dedup_key(self) -> str:
        return block_key(self.leader)


def _rank(announcement: Announcement) -> tuple[int, int, str]:
    priority = priority_of(announcement.source)  # the source table's order
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
    by_key: dict[str, list[tuple[list[Announcement], PolicyCandidate]]] = defaultdict(list)
    ordered: list[PolicyCandidate] = []
    for item, policy in entries:  # best-ranked first, so the first entry of a group is its leader
        group: PolicyCandidate | None = None
        same_title = by_key[title_key(item.title)]
        for seen, candidate in same_title:
            # A member must agree with everyone already in the group, not only the leader.
            if any(conflicts(item, other) for other in seen):
                continue
            group = candidate
            seen.append(item)
            if item.policy_id != candidate.policy_id:
                candidate.evidence.append(
                    _evidence(item, candidate.leader, title_score(item, candidate.leader))
                )
            break
        if group is None:
            group = PolicyCandidate(leader=item)
            same_title.append(([item], group))
            ordered.append(group)
        if policy is not None:
            group.stored.append(policy)
        if policy is None or item is not policy.record:
            group.members.append(item)
    return [group for group in ordered if group.members]
