"""Places: Korean governments, countries and foreign cities and regions found through the gazetteer."""

from __future__ import annotations

from collections import Counter, defaultdict

from schemas import GeoPoint, Place
from services.tagger.document import Document, Resources
from services.tagger.gazetteer import Mention


def find_mentions(doc: Document, res: Resources) -> None:
    """Every gazetteer name in the text, except inside a person's name (마르틴 호른: 마르틴 is a Slovak town)."""
    doc.mentions = [m for m in res.gazetteer.find(doc.text, doc.tokens)
                    if not any(start <= m.start and m.end <= end for start, end in doc.name_spans)]


def keep_places(doc: Document, res: Resources) -> None:
    """Every Korean government and country, and foreign cities and regions that are partners or named twice."""
    partner_names = {r.partner for r in doc.relations}
    counts = Counter(m.entry.name for m in doc.mentions)
    kept = [m for m in doc.mentions if m.entry.kind in ("korean_local_gov", "country")
            or m.entry.name in partner_names or counts[m.entry.name] >= 2]
    doc.places = build_places(kept)


def build_places(mentions: list[Mention]) -> list[Place]:
    grouped: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for m in mentions:
        grouped[(m.entry.name, m.entry.kind)].append(m)
    places = []
    for ms in sorted(grouped.values(), key=lambda ms: (ms[0].start)):
        e = ms[0].entry
        location = GeoPoint(lat=e.lat, lon=e.lon) if e.lat is not None and e.lon is not None else None
        places.append(Place(name=e.name, name_en=e.name_en, kind=e.kind, country=e.country,  # type: ignore[arg-type]
                            location=location, mentions=list(dict.fromkeys(m.surface for m in ms))))
    return places
