"""From a request's parameters to a SearchQuery and back; the aggregations the desk needs beyond
``ArticleStore.search`` (articles per month, relation pairs, any keyword field's counts); map data.

The aggregations have one implementation per store (tantivy's aggregation API, Elasticsearch's ``aggs``), kept
here rather than in the store interface so the desk adds no method that the indexer's stores must carry; both
reuse the store's own query building (``EmbeddedStore.build_query``, ``elastic.search_body``), so a filter means
the same thing in a facet, the histogram and the hits. They belong in ``ArticleStore`` once more than the desk
needs them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as daytime
from functools import cache
from pathlib import Path
from typing import Any

from schemas import RELATION_KINDS
from services.indexer.store import ArticleStore, SearchQuery

KST = timezone(timedelta(hours=9))
SECTORS_FILE = Path(__file__).resolve().parent.parent / "tagger" / "data" / "sectors.json"

# URL parameter → SearchQuery field. The CLI's flags, with the same meaning.
LIST_PARAMS = {"sector": "sector", "place": "place", "country": "country", "person": "person",
               "relation": "relation", "partner": "partner", "korean_party": "korean_party", "story": "story"}
# A facet (an index field) → the URL parameter that filters on it. outlet has no filter in SearchQuery: its
# counts are shown, not clickable.
FACET_PARAM = {"sector": "sector", "country": "country", "partner": "partner", "korean_party": "korean_party",
               "relation_kind": "relation"}
FACET_LABELS = {"sector": "분야 Sector", "relation_kind": "관계 Relation", "korean_party": "한국 지자체",
                "partner": "상대 도시·지역", "country": "국가 Country", "outlet": "매체 Outlet"}
FILTER_LABELS = {"sector": "분야", "place": "장소", "country": "국가", "person": "인물", "relation": "관계",
                 "partner": "상대", "korean_party": "한국 지자체", "since": "부터", "until": "까지",
                 "exchange_only": "교류 기사만", "story": "스토리", "stories": "스토리별 묶음"}
RELATION_LABELS = {"sister_city": "자매도시", "friendship_city": "우호도시", "agreement": "협약·협정",
                   "visit": "방문", "event": "행사", "since": "수립 연도"}
MAX_LIMIT = 200
MAX_VALUES = 20  # values per filter
MAX_TEXT = 500


class BadQuery(ValueError):
    """A parameter the desk cannot read; the message names it."""


@cache
def sector_labels() -> dict[str, tuple[str, str]]:
    """sector code → (Korean name, English name), from the tagger's fixed taxonomy."""
    try:
        data = json.loads(SECTORS_FILE.read_text(encoding="utf-8"))
        return {s["code"]: (s.get("ko", s["code"]), s.get("en", s["code"])) for s in data["sectors"]}
    except (OSError, ValueError, KeyError):
        return {}


def _date(value: str, name: str, end_of_day: bool) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadQuery(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from exc
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) and end_of_day:
        parsed = datetime.combine(parsed.date(), daytime(23, 59, 59, 999000))  # the whole last day
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=KST)


def parse_query(params: Mapping[str, Any], *, limit: int = 20, facet_size: int = 12) -> SearchQuery:
    """A SearchQuery from query parameters (a Starlette QueryParams or a dict of lists). Dates are KST days
    unless they carry an offset; ``until`` includes its whole day."""

    def values(name: str) -> list[str]:
        raw = params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
        if isinstance(raw, str):
            raw = [raw]
        out = [v.strip() for v in raw if v and v.strip()]
        if len(out) > MAX_VALUES:
            raise BadQuery(f"{name}: at most {MAX_VALUES} values")
        return list(dict.fromkeys(out))

    def one(name: str) -> str | None:
        got = values(name)
        return got[-1] if got else None

    text = one("q") or ""
    if len(text) > MAX_TEXT:
        raise BadQuery(f"q: at most {MAX_TEXT} characters")
    fields: dict[str, Any] = {field: values(param) for param, field in LIST_PARAMS.items()}
    unknown = [k for k in fields["relation"] if k not in RELATION_KINDS]
    if unknown:
        raise BadQuery(f"relation: {', '.join(unknown)} is not one of {', '.join(RELATION_KINDS)}")
    since, until = one("since"), one("until")
    try:
        n = int(one("limit") or limit)
        fsize = int(one("facet_size") or facet_size)
    except ValueError as exc:
        raise BadQuery("limit and facet_size are whole numbers") from exc
    return SearchQuery(text=text, **fields, exchange_only=(one("exchange_only") or "") in ("1", "true", "on"),
                       stories=(one("stories") or "") in ("1", "true", "on"),
                       since=_date(since, "since", False) if since else None,
                       until=_date(until, "until", True) if until else None,
                       limit=max(1, min(n, MAX_LIMIT)), facet_size=max(1, min(fsize, 100)))


def query_params(query: SearchQuery, *, with_limit: bool = False) -> list[tuple[str, str]]:
    """The URL parameters that give ``query`` back through parse_query (links, the CLI's requests)."""
    out: list[tuple[str, str]] = []
    if query.text:
        out.append(("q", query.text))
    for param, field in LIST_PARAMS.items():
        out += [(param, v) for v in getattr(query, field)]
    if query.exchange_only:
        out.append(("exchange_only", "1"))
    if query.stories:
        out.append(("stories", "1"))
    for name in ("since", "until"):
        value: datetime | None = getattr(query, name)
        if value is not None:
            out.append((name, value.isoformat()))
    if with_limit:
        out += [("limit", str(query.limit)), ("facet_size", str(query.facet_size))]
    return out


def day_params(query: SearchQuery) -> list[tuple[str, str]]:
    """Like query_params, with dates as the YYYY-MM-DD days the form shows (KST)."""
    out = []
    for name, value in query_params(query):
        if name in ("since", "until"):
            value = datetime.fromisoformat(value).astimezone(KST).date().isoformat()
        out.append((name, value))
    return out


# -- aggregations --------------------------------------------------------------------------------------------

class Unsupported(RuntimeError):
    """This store has no aggregation the desk knows how to ask for."""


def terms(store: ArticleStore, query: SearchQuery, fields: Iterable[str],
          size: int) -> dict[str, list[tuple[str, int]]]:
    """Counts of the most frequent values of keyword fields among the articles ``query`` finds."""
    names = list(fields)
    raw = _aggregate(store, query, {name: {"terms": {"field": name, "size": size}} for name in names})
    return {name: [(b["key"], int(b["doc_count"])) for b in raw.get(name, {}).get("buckets", [])] for name in names}


def months(store: ArticleStore, query: SearchQuery) -> list[tuple[str, int]]:
    """Articles per month (KST), every month from the first to the last with its count, zeros included."""
    from services.indexer.embedded import EmbeddedStore

    counts: dict[str, int] = {}
    if isinstance(store, EmbeddedStore):
        # tantivy has fixed intervals only: KST days (buckets start at 15:00 UTC), summed into months here.
        raw = _aggregate(store, query, {"d": {"date_histogram": {"field": "published_at", "fixed_interval": "1d",
                                                                 "offset": "-9h", "min_doc_count": 1}}})
        for b in raw.get("d", {}).get("buckets", []):
            day = datetime.fromtimestamp(b["key"] / 1000, UTC) + timedelta(hours=9)
            key = f"{day.year:04d}-{day.month:02d}"
            counts[key] = counts.get(key, 0) + int(b["doc_count"])
    else:
        raw = _aggregate(store, query, {"m": {"date_histogram": {"field": "published_at", "calendar_interval": "month",
                                                                 "time_zone": "+09:00", "min_doc_count": 1}}})
        for b in raw.get("m", {}).get("buckets", []):
            day = datetime.fromtimestamp(b["key"] / 1000, UTC) + timedelta(hours=9)
            counts[f"{day.year:04d}-{day.month:02d}"] = int(b["doc_count"])
    return _fill_months(counts)


def recent_stories(store: ArticleStore, query: SearchQuery, size: int) -> list[dict[str, Any]]:
    """The ``size`` stories among the articles ``query`` finds whose latest article is the most recent: story id,
    articles, first and last date, the Korean governments and partners their articles name. One aggregation (terms
    on story_id ordered by the latest date), the same on both stores; counts are exact on the embedded store and
    within Elasticsearch's usual terms error on a sharded index. Where stories with no dated article go is the
    store's choice."""
    by = {"first": {"min": {"field": "published_at"}}, "last": {"max": {"field": "published_at"}}}
    for name in ("korean_party", "partner"):
        by[name] = {"terms": {"field": name, "size": 8}}
    raw = _aggregate(store, query, {"s": {"terms": {"field": "story_id", "size": size, "order": {"last": "desc"}},
                                          "aggs": by}})
    out = []
    for b in raw.get("s", {}).get("buckets", []):
        out.append({"story_id": b["key"], "articles": int(b["doc_count"]),
                    "first": _epoch(b["first"].get("value")), "last": _epoch(b["last"].get("value")),
                    "korean_parties": [k["key"] for k in b["korean_party"]["buckets"]],
                    "partners": [k["key"] for k in b["partner"]["buckets"]]})
    return out


def _epoch(value: float | None) -> str | None:
    """A date aggregation's value as an ISO time (KST): tantivy counts nanoseconds, Elasticsearch milliseconds."""
    if value is None:
        return None
    seconds = value / 1e9 if abs(value) > 1e14 else value / 1e3
    return datetime.fromtimestamp(seconds, KST).isoformat()


def _fill_months(counts: dict[str, int]) -> list[tuple[str, int]]:
    if not counts:
        return []
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last and len(out) < 1200:  # a century at most, whatever the data says
        key = f"{year:04d}-{month:02d}"
        out.append((key, counts.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def month_range(month: str) -> tuple[str, str]:
    """'2023-11' → ('2023-11-01', '2023-11-30'): the since/until days that select that month."""
    year, mon = int(month[:4]), int(month[5:7])
    nxt = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1)
    return f"{year:04d}-{mon:02d}-01", (nxt - timedelta(days=1)).date().isoformat()


def _aggregate(store: ArticleStore, query: SearchQuery, aggs: dict[str, Any]) -> dict[str, Any]:
    from services.indexer.embedded import EmbeddedStore

    if isinstance(store, EmbeddedStore):
        searcher = store._searcher()  # the store's own reload-and-search; None before the first write
        if searcher is None:
            return {}
        return searcher.aggregate(store.build_query(query), aggs)
    try:
        from services.indexer.elastic import ElasticsearchStore, search_body
    except ImportError as exc:  # pragma: no cover - the elasticsearch client is a dependency
        raise Unsupported(str(exc)) from exc
    if isinstance(store, ElasticsearchStore):
        body = search_body(query)
        resp = store.client.search(index=store.index, query=body["query"], size=0, aggs=aggs)
        return dict(resp.get("aggregations") or {})
    raise Unsupported(f"{type(store).__name__} has no aggregations the desk can ask for")


# -- the map --------------------------------------------------------------------------------------------------

@dataclass
class Located:
    name: str
    name_en: str | None
    country: str
    kind: str
    lat: float
    lon: float


class PlaceLocator:
    """Where a place is, as the tagger recorded it in an article that names it (the store is the only source:
    no second gazetteer to disagree with the articles). Remembered for the server's life; a place found without
    coordinates is asked again after a minute (an article indexed since may give them)."""

    RETRY_S = 60.0

    def __init__(self) -> None:
        self.known: dict[str, Located] = {}
        self.unknown: dict[str, float] = {}  # name → when it was last looked for in vain

    def locate(self, store: ArticleStore, name: str) -> Located | None:
        if name in self.known:
            return self.known[name]
        if time.monotonic() - self.unknown.get(name, -self.RETRY_S) < self.RETRY_S:
            return None
        found = None
        for hit in store.search(SearchQuery(place=[name], limit=3, facet_size=1)).hits:
            doc = store.get(hit.id) or {}
            for p in doc.get("places", []):
                loc = p.get("location")
                if p.get("name") == name and loc and loc.get("lat") is not None:
                    found = Located(name, p.get("name_en"), p.get("country", ""), p.get("kind", ""),
                                    float(loc["lat"]), float(loc["lon"]))
                    break
            if found:
                break
        if found is None:
            self.unknown[name] = time.monotonic()
        else:
            self.known[name] = found
        return found


PAIR_SEPARATOR = " → "  # services.indexer.store.index_fields spells relation_pair this way


def map_data(store: ArticleStore, query: SearchQuery, locator: PlaceLocator, size: int = 400) -> dict[str, Any]:
    """Points (Korean governments and partners, with article counts) and lines (ties, with article counts) for
    the articles ``query`` finds; names without coordinates are listed apart, never guessed."""
    counts = terms(store, query, ("korean_party", "partner", "relation_pair"), size)
    points: dict[str, dict[str, Any]] = {}
    unplaced: list[str] = []
    for role, field in (("korean", "korean_party"), ("partner", "partner")):
        for name, n in counts[field]:
            loc = locator.locate(store, name)
            if loc is None:
                unplaced.append(name)
                continue
            point = points.setdefault(name, {"name": name, "name_en": loc.name_en, "country": loc.country,
                                             "lat": loc.lat, "lon": loc.lon, "role": role, "count": 0})
            point["count"] = max(point["count"], n)
    lines = []
    for pair, n in counts["relation_pair"]:
        a, _, b = pair.partition(PAIR_SEPARATOR)
        if a in points and b in points:
            lines.append({"korean_party": a, "partner": b, "count": n})
    return {"points": sorted(points.values(), key=lambda p: -p["count"]), "lines": lines,
            "unplaced": sorted(set(unplaced))}
