"""The source table: one row per public source, read by everything that handles sources.

Each :class:`SourceSpec` names a source's parser, connector, settings, bundled snapshot files,
replay handler, schedule group and deduplication priority. Parsing
(:func:`aegis_orchestration.sources.parse`), collection (:mod:`aegis_orchestration.sources.catalog`),
the partitions, the collection schedules, the replay server, the snapshot readers, the Dagster
resource's settings, the devstack's environment and deduplication's survivor order all read this
table, so adding a source is its own code (a module with its parser and connector, and a replay
handler, :mod:`aegis_orchestration.sources.replay_handlers` for the bundled ones) plus one
:func:`register` call, or one row below; its snapshot files, if it bundles any, come from
``tools/snapshot``. Rows registered at run time reach everything that reads the table when it is
used; the Dagster partitions and schedules read it once, when the code location loads.

Imports only go one way: this module imports the connectors, and no connector (nor
:mod:`~aegis_orchestration.sources.errors`, :mod:`~aegis_orchestration.sources.decoding`) imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aegis_orchestration.sources import bizinfo, days, kstartup, mss, rss, web
from aegis_orchestration.sources.config import Connector, SourceConfig
from aegis_orchestration.sources.connector import PagedConnector
from aegis_orchestration.sources.errors import SourceError
from aegis_orchestration.sources.page import SourcePage
from aegis_orchestration.sources.replay_handlers import (
    BizinfoReplay,
    KstartupReplay,
    MssReplay,
    RssReplay,
    SourceReplay,
    WebReplay,
)

Parser = Callable[[str], SourcePage]

# A source missing from the table ranks after every known one when duplicates are merged.
UNKNOWN_PRIORITY = 99


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Everything the platform needs to know about one source, in one row.

    ``base_url_setting`` and ``key_setting`` are names of settings (``AEGIS_<NAME>`` in
    :class:`aegis_shared.config.Settings`, and fields of the Dagster ``SourcesResource`` when it has
    them); sources of one provider share them (K-Startup and MSS use the data portal's).
    ``snapshot`` is a glob under the bundled snapshot folder of the files parsed offline, served
    as ``content_type``; ``None`` when the source bundles none. ``priority`` orders sources when
    deduplication picks the surviving record (lower wins, and keeps a policy's id stable).
    """

    name: str
    parser: Parser
    connector: Callable[[SourceConfig], Connector]
    replay: type[SourceReplay]
    base_url_setting: str
    default_base_url: str | None
    priority: int
    key_setting: str | None = None
    snapshot: str | None = None
    content_type: str = "application/json;charset=UTF-8"
    # Scraped boards are collected on their own, gentler schedule.
    scraped: bool = False
    # Raw fields holding an item's registration or update date (which day's partition it is in).
    day_fields: tuple[str, ...] = ()
    # No registration or update date at all: an item's day is the day its period opens.
    days_from_period_start: bool = False


_TABLE: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    """Add ``spec`` to the table; a second source of the same name is a programming error."""
    if spec.name in _TABLE:
        raise ValueError(f"source {spec.name!r} is already registered")
    _TABLE[spec.name] = spec
    days.RAW_DAY_FIELDS[spec.name] = spec.day_fields
    if spec.days_from_period_start:
        days.PERIOD_START_SOURCES.add(spec.name)
    return spec


def unregister(name: str) -> None:
    """Remove a source added with :func:`register` (tests registering a fake source)."""
    _TABLE.pop(name, None)
    days.RAW_DAY_FIELDS.pop(name, None)
    days.PERIOD_START_SOURCES.discard(name)


def source_specs() -> tuple[SourceSpec, ...]:
    """Every registered source, in priority order."""
    return tuple(sorted(_TABLE.values(), key=lambda s: (s.priority, s.name)))


def source_names(*, scraped: bool | None = None) -> tuple[str, ...]:
    """Names of every source (``scraped``: only the scraped, or only the API ones)."""
    return tuple(s.name for s in source_specs() if scraped is None or s.scraped == scraped)


def spec_for(name: str) -> SourceSpec:
    """The row of ``name``; an unknown source is DP_1006, listing the known ones."""
    spec = _TABLE.get(name)
    if spec is None:
        raise SourceError(
            "DP_1006", f"unknown source {name!r}", source=name, details={"known": sorted(_TABLE)}
        )
    return spec


def priority_of(name: str) -> int:
    """Deduplication rank of source ``name`` (lower survives)."""
    spec = _TABLE.get(name)
    return spec.priority if spec is not None else UNKNOWN_PRIORITY


def setting_names() -> tuple[str, ...]:
    """Every base-URL and key setting the registered sources read, each once, in table order."""
    names = [n for s in source_specs() for n in (s.base_url_setting, s.key_setting) if n]
    return tuple(dict.fromkeys(names))


def base_url_settings() -> tuple[str, ...]:
    """The base-URL settings of every registered source, each once."""
    return tuple(dict.fromkeys(s.base_url_setting for s in source_specs()))


def key_settings() -> tuple[str, ...]:
    """The key settings of every registered source that has one, each once."""
    return tuple(dict.fromkeys(s.key_setting for s in source_specs() if s.key_setting))


def _paged(cls: type[PagedConnector], key_setting: str) -> Callable[[SourceConfig], Connector]:
    return lambda config: cls(key=config.value(key_setting), per_page=config.per_page)


_DATA_PORTAL = "https://apis.data.go.kr"
_JSON = "application/json;charset=UTF-8"

for _spec in (
    SourceSpec(
        name=bizinfo.SOURCE,
        parser=bizinfo.parse,
        connector=_paged(bizinfo.BizinfoConnector, "bizinfo_api_key"),
        replay=BizinfoReplay,
        base_url_setting="bizinfo_base_url",
        default_base_url="https://www.bizinfo.go.kr",
        key_setting="bizinfo_api_key",
        snapshot="bizinfo/page-*.json",
        day_fields=("creatPnttm", "updtPnttm"),
        content_type=_JSON,
        priority=1,
    ),
    SourceSpec(
        name=kstartup.SOURCE,
        parser=kstartup.parse,
        connector=_paged(kstartup.KstartupConnector, "data_portal_service_key"),
        replay=KstartupReplay,
        base_url_setting="data_portal_base_url",
        default_base_url=_DATA_PORTAL,
        key_setting="data_portal_service_key",
        snapshot="kstartup/page-*.json",
        # K-Startup publishes no registration or update date; its cond[...] filter addresses the
        # day receipt opens, which keys its partitions.
        day_fields=(kstartup.DAY_FIELD,),
        days_from_period_start=True,
        content_type=_JSON,
        priority=2,
    ),
    SourceSpec(
        name=mss.SOURCE,
        parser=mss.parse,
        connector=_paged(mss.MssConnector, "data_portal_service_key"),
        replay=MssReplay,
        base_url_setting="data_portal_base_url",
        default_base_url=_DATA_PORTAL,
        key_setting="data_portal_service_key",
        snapshot="mss/page-*.xml",
        day_fields=mss.DAY_FIELDS,
        content_type="text/xml;charset=UTF-8",
        priority=3,
    ),
    SourceSpec(
        name=rss.SOURCE,
        parser=rss.parse,
        connector=lambda config: rss.RssConnector(config.rss_feeds or rss.DEFAULT_FEEDS),
        replay=RssReplay,
        base_url_setting="rss_base_url",
        default_base_url="https://www.korea.kr",
        snapshot="rss/*.xml",
        day_fields=("published", "pubDate"),
        content_type="application/rss+xml",
        priority=4,
    ),
    SourceSpec(
        name=web.SOURCE,
        parser=web.parse,
        connector=lambda config: web.WebConnector(config.web_sites),
        replay=WebReplay,
        # Each board's own host is in web_sites.yaml; the setting only re-points them all (replay).
        base_url_setting="web_base_url",
        default_base_url=None,
        snapshot="web/*/detail-*.html",
        day_fields=("posted",),
        content_type="text/html",
        scraped=True,
        priority=5,
    ),
):
    register(_spec)
