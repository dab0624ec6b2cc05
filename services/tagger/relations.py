"""Relations: which Korean government is tied to which foreign partner, of what kinds, since when.

Cue words (data/rules.json) in a sentence go to the nearest partner named in it; ties (sister, friendship)
and agreements make a place a partner; a founding year or an anniversary gives `since`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from schemas import Relation
from services.tagger.document import Document, Resources, Sentence
from services.tagger.gazetteer import Mention
from services.tagger.rules import Rules

FOREIGN_PARTNER_KINDS = ("foreign_city", "foreign_region")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})년")
_ANNIVERSARY = re.compile(r"(\d{1,3})\s*주년")


def annotate(doc: Document, res: Resources) -> None:
    doc.relations = find_relations(doc.text, doc.sentences, doc.mentions, doc.title_end, doc.published_year,
                                   res.rules)


TIES = ("sister_city", "friendship_city")


def _cue_hits(sentence: Sentence, rules: Rules) -> list[tuple[str, int]]:
    """(kind, position) of every relation cue in the sentence, after the rules that discount cues."""
    # kind, start, end within the sentence; a cue inside a longer one (협약 in 업무협약, 우호협약) is not found
    found = [(rules.cue_kind[m.group(0)], m.start(), m.end()) for m in rules.cue_pattern.finditer(sentence.text)]
    hits = []
    for kind, start, end in found:
        after = sentence.text[end:end + rules.planned_window]
        if kind in (*TIES, "agreement") and any(p in after for p in rules.planned_markers):
            continue  # 우호도시 협약 체결을 추진하기로: not a tie yet
        if kind == "agreement" and any(k in TIES and 0 <= start - e <= rules.tie_document_window
                                       for k, _, e in found):
            continue  # 자매결연 협정, 우호교류 협정: the tie's own document, not a separate agreement
        if kind == "event" and rules.past_marker.search(sentence.text[:start]):
            continue  # 지난 2016년 총회는 …: a past event told as background
        hits.append((kind, sentence.start + start))
    return hits


def find_relations(text: str, sentences: list[Sentence], mentions: list[Mention], title_end: int,
                   published_year: int | None, rules: Rules) -> list[Relation]:
    gov_counts = Counter(m.entry.name for m in mentions if m.entry.kind == "korean_local_gov")
    title_govs = {m.entry.name for m in mentions if m.entry.kind == "korean_local_gov" and m.start < title_end}
    govs = [g for g, c in gov_counts.most_common() if c >= 2 or g in title_govs]
    partner_mentions = [m for m in mentions if m.entry.kind in FOREIGN_PARTNER_KINDS]
    country_mentions = [m for m in mentions if m.entry.kind == "country"]
    if not govs or not partner_mentions:
        return []
    entries = {m.entry.name: m.entry for m in partner_mentions}
    counts = Counter(m.entry.name for m in partner_mentions)
    main_partner = counts.most_common(1)[0][0]
    kinds: dict[str, set[str]] = defaultdict(set)
    since: dict[str, int] = {}
    is_partner: set[str] = {m.entry.name for m in partner_mentions if m.start < title_end}
    gov_surfaces = {m.surface for m in mentions if m.entry.kind == "korean_local_gov"}

    for s in sentences:
        in_sentence = [m for m in partner_mentions if s.start <= m.start < s.end]
        hits = _cue_hits(s, rules)
        names_here = {m.entry.name for m in in_sentence}
        mentions_gov = any(g in s.text for g in gov_surfaces) or "양 도시" in s.text or "양 시" in s.text
        countries_here = {m.entry.country for m in country_mentions if s.start <= m.start < s.end}
        for kind, pos in hits:
            if in_sentence:
                nearest = min(in_sentence, key=lambda m: min(abs(m.start - pos), abs(m.end - pos)))
                targets = [nearest.entry.name]
                if kind in ("sister_city", "friendship_city", "agreement"):
                    is_partner.add(nearest.entry.name)
            elif countries_here:
                # 일본과 중국, 베트남을 잇따라 방문해: a visit or event goes to the partners in the countries this
                # sentence names; a tie (자매·우호도시) cannot be told apart between them, so it goes to none.
                in_countries = [n for n, e in entries.items() if e.country in countries_here]
                targets = [] if kind in TIES and len(in_countries) > 1 else in_countries or [main_partner]
            else:
                targets = [main_partner]
            for target in targets:
                kinds[target].add(kind)
        if in_sentence and mentions_gov and any(c in s.text for c in rules.exchange_cues):
            is_partner.update(names_here)
        if any(c in s.text for c in rules.founding_cues):
            _founding_year(s, in_sentence or [], main_partner, published_year, since)
    is_partner.update(n for n, c in counts.items() if c >= 3)
    relations = []
    first_seen = {}
    for m in partner_mentions:
        first_seen.setdefault(m.entry.name, m.start)
    # Most-mentioned first, then first-mentioned: the same article always gives the same order.
    for name in sorted(is_partner, key=lambda n: (-counts[n], first_seen[n])):
        entry = entries[name]
        partner_kinds = [k for k in ("sister_city", "friendship_city", "agreement", "visit", "event")
                         if k in kinds.get(name, set())]
        if "sister_city" in partner_kinds and "friendship_city" in partner_kinds:
            partner_kinds.remove("friendship_city")  # a sister city is also called a friend; the stronger tie wins
        for gov in govs[:2] if len(govs) > 1 and gov_counts[govs[1]] >= 2 else govs[:1]:
            relations.append(Relation(korean_party=gov, partner=entry.name, partner_country=entry.country,
                                      kinds=partner_kinds, since=since.get(name)))  # type: ignore[arg-type]
    return relations


def _founding_year(s: Sentence, in_sentence: list[Mention], main_partner: str, published_year: int | None,
                   since: dict[str, int]) -> None:
    for m in _YEAR.finditer(s.text):
        year = int(m.group(1))
        if published_year and year > published_year:
            continue
        pos = s.start + m.start()
        target = min(in_sentence, key=lambda x: abs(x.start - pos)).entry.name if in_sentence else main_partner
        since.setdefault(target, year)
    if published_year:
        for m in _ANNIVERSARY.finditer(s.text):
            base = published_year - (1 if "지난해" in s.text else 0)
            target = in_sentence[0].entry.name if in_sentence else main_partner
            since.setdefault(target, base - int(m.group(1)))
