"""`citydesk ties` output: filters, a table, one tie's timeline with its evidence, CSV and GeoJSON.

GeoJSON (RFC 7946): a FeatureCollection of LineStrings from the Korean government to its partner, coordinates in
WGS 84 longitude, latitude; properties are flat scalars (lists joined by ", "), so QGIS opens the file as a layer as
it is, every property a column. A tie whose ends have no coordinates in its articles takes them from the gazetteer;
one with neither keeps its properties with a null geometry (allowed by RFC 7946).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from schemas import GeoPoint, Tie, TieEvidence
from services.ties.register import ACTIVE_DAYS

# --status choices → the Tie.status values they select
STATUS_CHOICES = {"active": "registered_active", "dormant": "registered_dormant", "news_only": "news_only",
                  "no_news": "registered_no_news"}
CSV_COLUMNS = ("korean_party", "partner", "partner_country", "kinds", "since", "since_source", "status",
               "registered_kind", "registered_year", "articles", "stories", "outlets", "first_activity",
               "last_activity", "active_12_months", "sectors", "people", "events", "korean_lon", "korean_lat",
               "partner_lon", "partner_lat")


def status_label(tie: Tie) -> str:
    year = tie.last_activity.year if tie.last_activity else None
    return {"registered_active": "registered and active",
            "registered_dormant": f"registered, no news since {year}",
            "news_only": "in the news, not registered",
            "registered_no_news": "registered, no news"}[tie.status]


def select(ties: Sequence[Tie], *, korean_party: Sequence[str] = (), partner: Sequence[str] = (),
           country: Sequence[str] = (), kind: Sequence[str] = (), status: Sequence[str] = ()) -> list[Tie]:
    """The ties every given filter accepts (any of a filter's values). A registered tie with no news has the
    register's kind."""
    wanted_status = {STATUS_CHOICES.get(s, s) for s in status}
    countries = {c.upper() for c in country}

    def kinds(t: Tie) -> set[str]:
        return {k.kind for k in t.kinds} | ({t.registered.kind} if t.registered else set())

    return [t for t in ties
            if (not korean_party or t.korean_party in korean_party) and (not partner or t.partner in partner)
            and (not countries or t.partner_country in countries) and (not kind or kinds(t) & set(kind))
            and (not wanted_status or t.status in wanted_status)]


# Columns a register can be sorted by (the CLI's table, the desk's) → the key, undated and unknown values last
SORT_KEYS = ("korean_party", "partner", "country", "kinds", "since", "status", "last_activity", "articles",
             "stories", "sectors")
STATUS_ORDER = ("registered_active", "registered_dormant", "news_only", "registered_no_news")


def sort_ties(ties: Sequence[Tie], key: str, descending: bool = False) -> list[Tie]:
    """The ties ordered by one of SORT_KEYS; ties without a value (no since, no news) stay last either way, and
    equal values keep the register's own order (most stories first)."""
    if key not in SORT_KEYS:
        raise ValueError(f"sort: {key!r} is not one of {', '.join(SORT_KEYS)}")

    def value(t: Tie) -> Any:
        return {"korean_party": t.korean_party, "partner": t.partner, "country": t.partner_country,
                "kinds": len(t.kinds), "since": t.since, "status": STATUS_ORDER.index(t.status),
                "last_activity": t.last_activity.timestamp() if t.last_activity else None,
                "articles": t.articles, "stories": t.stories, "sectors": len(t.sectors)}[key]

    known = [t for t in ties if value(t) is not None]
    unknown = [t for t in ties if value(t) is None]
    return sorted(known, key=value, reverse=descending) + unknown


def evidence_in_order(tie: Tie) -> list[TieEvidence]:
    """A tie's evidence in date order (undated last), as its timeline shows it."""
    return sorted(tie.evidence, key=lambda e: (e.published_at is None, e.published_at or datetime.min, e.article_id))


def fill_locations(ties: Sequence[Tie]) -> list[Tie]:
    """Ties whose ends have no coordinates from their articles (a registered tie with no news) take the
    gazetteer's."""
    from services.tagger.gazetteer import gazetteer

    out = []
    for tie in ties:
        if tie.korean_location is None or tie.partner_location is None:
            g = gazetteer()
            tie = tie.model_copy()
            for attr, name in (("korean_location", tie.korean_party), ("partner_location", tie.partner)):
                entry = g.by_name.get(name)
                if getattr(tie, attr) is None and entry is not None and entry.lat is not None and entry.lon is not None:
                    setattr(tie, attr, GeoPoint(lat=entry.lat, lon=entry.lon))
        out.append(tie)
    return out


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "-"


SINCE_SOURCES = {"stated": "stated", "first_evidence": "first news", "register": "register"}


def _since(tie: Tie) -> str:
    if tie.since is None:
        return "-"
    return f"{tie.since} ({SINCE_SOURCES.get(tie.since_source or '', '?')})"


def _kinds(tie: Tie) -> str:
    shown = [k.kind for k in tie.kinds] or ([f"{tie.registered.kind} (register)"] if tie.registered else [])
    return ", ".join(shown) or "-"


def table(ties: Sequence[Tie]) -> str:
    """One line per tie, widest first."""
    header = ("Korean government", "partner", "country", "kinds", "since", "status", "articles", "stories",
              "last news")
    rows = [(t.korean_party, t.partner, t.partner_country, _kinds(t), _since(t), status_label(t), str(t.articles),
             str(t.stories), _day(t.last_activity)) for t in ties]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join([*lines, f"{len(ties)} ties"])


def timeline(tie: Tie) -> str:
    """One tie: what it is, then every article in date order with the sentences that show each kind."""
    lines = [f"{tie.korean_party} — {tie.partner} ({tie.partner_country})",
             f"  status:   {status_label(tie)}"
             + (f" (register: {tie.registered.kind}, {tie.registered.year or 'year not given'})" if tie.registered
                else ""),
             f"  since:    {_since(tie)}",
             "  kinds:    " + ("; ".join(f"{k.kind} {_day(k.first)} – {_day(k.last)}, {k.stories} "
                                         f"{'story' if k.stories == 1 else 'stories'}" for k in tie.kinds) or "-"),
             f"  news:     {tie.articles} articles, {tie.stories} stories, {len(tie.outlets)} outlets "
             f"({', '.join(tie.outlets) or '-'}); first {_day(tie.first_activity)}, last {_day(tie.last_activity)}",
             "  sectors:  " + (", ".join(f"{code} ({n})" for code, n in tie.sectors.items()) or "-"),
             "  people:   " + (", ".join(f"{p.name}" + (f" ({p.role})" if p.role else "") + f" [{p.side}]"
                                         for p in tie.people) or "-"),
             "  events:   " + (", ".join(tie.events) or "-")]
    if tie.evidence:
        lines += ["", "  timeline:"]
    for e in evidence_in_order(tie):
        when = _day(e.published_at) if e.published_at else "undated   "
        lines.append(f"  {when}  {e.outlet or '-'}  article {e.article_id}  story {e.story_id or '-'}"
                     f"  [{', '.join(e.kinds)}{f'; since {e.since}' if e.since else ''}]")
        for s in e.sentences:
            lines.append(f"      {s.kind}: {s.sentence.strip()}")
        if not e.sentences:
            lines.append("      (no evidence sentence: tagged before evidence was recorded)")
    return "\n".join(lines)


def _active(tie: Tie, now: datetime | None) -> bool:
    if tie.last_activity is None:
        return False
    now = now or datetime.now(tie.last_activity.tzinfo)
    return now - tie.last_activity <= timedelta(days=ACTIVE_DAYS)


def _flat(tie: Tie, now: datetime | None) -> dict[str, Any]:
    """The columns of CSV and the properties of GeoJSON: scalars only."""
    k, p = tie.korean_location, tie.partner_location
    return {
        "korean_party": tie.korean_party, "partner": tie.partner, "partner_country": tie.partner_country,
        "kinds": ", ".join(x.kind for x in tie.kinds), "since": tie.since, "since_source": tie.since_source,
        "status": tie.status, "registered_kind": tie.registered.kind if tie.registered else None,
        "registered_year": tie.registered.year if tie.registered else None, "articles": tie.articles,
        "stories": tie.stories, "outlets": len(tie.outlets),
        "first_activity": tie.first_activity.isoformat() if tie.first_activity else None,
        "last_activity": tie.last_activity.isoformat() if tie.last_activity else None,
        "active_12_months": _active(tie, now),
        "sectors": ", ".join(f"{code}:{n}" for code, n in tie.sectors.items()),
        "people": ", ".join(x.name for x in tie.people), "events": ", ".join(tie.events),
        "korean_lon": k.lon if k else None, "korean_lat": k.lat if k else None,
        "partner_lon": p.lon if p else None, "partner_lat": p.lat if p else None,
    }


def to_csv(ties: Sequence[Tie], now: datetime | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for tie in ties:
        writer.writerow({key: "" if value is None else value for key, value in _flat(tie, now).items()})
    return out.getvalue()


def to_geojson(ties: Sequence[Tie], now: datetime | None = None) -> dict[str, Any]:
    features = []
    for tie in fill_locations(ties):
        k, p = tie.korean_location, tie.partner_location
        geometry = {"type": "LineString", "coordinates": [[k.lon, k.lat], [p.lon, p.lat]]} if k and p else None
        features.append({"type": "Feature", "id": tie.id, "geometry": geometry,
                         "properties": {"id": tie.id, **_flat(tie, now)}})
    return {"type": "FeatureCollection", "features": features}


def to_json(ties: Sequence[Tie]) -> str:
    return json.dumps([t.model_dump(mode="json") for t in ties], ensure_ascii=False, indent=2)
