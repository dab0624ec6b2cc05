"""Places: Korean governments, countries and foreign cities and regions found through the gazetteer."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from schemas import GeoPoint, Place
from services.tagger.document import Document, Resources
from services.tagger.gazetteer import Entry, Gazetteer, Mention, resolve_district
from services.tagger.relations import acting_govs

_HANGUL = re.compile(r"[가-힣A-Za-z0-9]")


def find_mentions(doc: Document, res: Resources) -> None:
    """Every place in the text, in order, except inside a person's name (마르틴 호른: 마르틴 is a Slovak town):
    gazetteer names, bare district names resolved by the city named beside them (울산 북구), and foreign places
    the gazetteer lacks but the text names after their country (필리핀 두마게티시)."""
    g = res.gazetteer
    found = g.find(doc.text, doc.tokens)
    found += resolve_district(doc.text, found, g.districts)
    found += inferred_foreign_places(doc.text, found, res)
    found = [_as_city(_local_unit(doc.text, m, res), g) for m in found
             if m.entry.kind == "korean_local_gov" or not doc.text.startswith(res.rules.missions_abroad, m.end)]
    person_names = {p.name for p in doc.people}  # 상홍군 구장: a name written again is still a name
    doc.mentions = sorted((m for m in found if m.surface not in person_names
                           and not any(start <= m.start and m.end <= end for start, end in doc.name_spans)),
                          key=lambda m: m.start)


def _local_unit(text: str, m: Mention, res: Resources) -> Mention:
    """몽고메리 타운십, 버겐 카운티: a county or township named after a place (Montgomery, Alabama) is another place."""
    if m.entry.kind not in ("foreign_city", "foreign_region"):
        return m
    unit = next((u for u in res.rules.local_unit_words if text.startswith(f" {u}", m.end)), None)
    if unit is None:
        return m
    end = m.end + 1 + len(unit)
    known = res.gazetteer.by_surface.get(f"{m.surface}{unit}") or res.gazetteer.by_surface.get(f"{m.surface} {unit}")
    entry = known[0] if known else Entry(name=f"{m.surface} {unit}", kind="foreign_city", country=m.entry.country,
                                         name_en=None, lat=None, lon=None)
    return Mention(entry, text[m.start:end], m.start, end)


def _as_city(m: Mention, g: Gazetteer) -> Mention:
    """수원시 영통구 is an office of 수원시, not a government of its own (unlike Seoul's 마포구)."""
    parent = g.by_name.get(m.entry.parent or "")
    if m.entry.kind == "korean_local_gov" and parent is not None and parent.level == "sigungu":
        return Mention(parent, m.surface, m.start, m.end)
    return m


def inferred_foreign_places(text: str, mentions: list[Mention], res: Resources) -> list[Mention]:
    """A word with an administrative suffix right after a country's name (美 풀러턴市, 이탈리아 살레르노시) is a
    place in that country even when no gazetteer knows it; it has no coordinates."""
    rules = res.rules
    taken = [(m.start, m.end) for m in mentions]
    out: list[Mention] = []
    # After a country (베트남 뜨선시, 필리핀의 마데오시), or after a foreign city or region for its district
    # (위해시 환취구, 콘야시 에레일리구), the city itself possibly inferred first (튀르키예 콘야시 에레일리구).
    anchors = sorted((m for m in mentions if m.entry.kind in ("country", "foreign_city", "foreign_region")),
                     key=lambda m: m.start)
    while anchors:
        anchor = anchors.pop(0)
        after = anchor.end
        if text.startswith("의" if anchor.entry.kind == "country" else ("시", "성", "주", "현"), after):
            after += 1  # 필리핀의 마데오시; 울란바타르(시) 항올구
        hit = rules.inferred_place.match(text, after)
        if hit is None or any(s < hit.end(1) and hit.start(1) < e for s, e in taken):
            continue
        name = hit.group(1).replace("市", "시").replace("州", "주").replace("省", "성").replace("縣", "현")
        if anchor.entry.kind == "country" and name.endswith("동"):
            continue  # 일본 활동을: a ward (동) only after its city
        if anchor.entry.kind != "country" and not name.endswith(("구", "현", "군", "동")):
            continue  # after a city only its district or ward: 울란바타르시 항올구, 다낭시 하이쩌우동 (not 당서기)
        if (name.endswith(rules.inferred_place_not) or name.endswith(rules.org_suffixes)
                or name in res.gazetteer.stoplist or rules.cue_pattern.search(name)):
            continue  # 중국 대도시, 캄보디아 자매결연市, 중국의 양강생명과기성 (an organisation)
        kind = "foreign_city" if name.endswith(("시", "구", "군", "동")) else "foreign_region"
        entry = Entry(name=name, kind=kind, country=anchor.entry.country, name_en=None, lat=None, lon=None)
        found = Mention(entry, hit.group(1), hit.start(1), hit.end(1))
        out.append(found)
        taken.append((found.start, found.end))
        if kind == "foreign_city" and name.endswith("시"):
            anchors.append(found)  # a city's district may follow it; a district's neighbour is no district of it
    # The same name written again without its country (한편 살레르노시는 …) is the same place.
    for m in list(out):
        for again in re.finditer(re.escape(m.surface), text):
            start, end = again.span()
            if (start > 0 and _HANGUL.match(text[start - 1])) or any(s < end and start < e for s, e in taken):
                continue
            hit = rules.inferred_place.match(text, start)
            if hit is not None and hit.group(1) == m.surface:
                out.append(Mention(m.entry, m.surface, start, end))
                taken.append((start, end))
    return out


def keep_places(doc: Document, res: Resources) -> None:
    """Every Korean government and country, and foreign cities and regions that are partners or named twice."""
    partner_names = {r.partner for r in doc.relations}
    counts = Counter(m.entry.name for m in doc.mentions)
    # A province named only to say where its city is (경남 합천군) is not a government of the story.
    acting = {m.entry.name for m in acting_govs(doc.text, doc.mentions)}
    kept = [m for m in doc.mentions if m.entry.kind == "country" or m.entry.name in acting
            or (m.entry.kind != "korean_local_gov" and (m.entry.name in partner_names or counts[m.entry.name] >= 2))]
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
