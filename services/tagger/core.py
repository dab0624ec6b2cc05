"""The tagger's pure core: a clean article → places, people, organizations, events, relations, sectors.

No Kafka here. Built from Kiwi's morphological analysis, the gazetteers and the rules in data/;
the morphemes it computes are passed on as search terms so nothing analyses the text twice.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from schemas import (
    CleanArticle,
    GeoPoint,
    Named,
    Person,
    Place,
    Relation,
    SearchTerms,
    TaggedArticle,
)
from services.analysis import Token, kiwi, terms_from_tokens, tokenize
from services.tagger.gazetteer import Entry, Mention, gazetteer
from services.tagger.rules import Rules, load_rules
from services.tagger.sectors import score_sectors

FOREIGN_PARTNER_KINDS = ("foreign_city", "foreign_region")
_SENTENCE_END = re.compile(r"(?<=[다요])\.(?=[\s\"”’']|$)|(?<=[.!?])\s+(?=[가-힣A-Z\[‘“\"'])|\n+")
_WORD = re.compile(r"\S+")
_HANGUL_NAME = re.compile(r"^[가-힣]{2,4}$")
_QUOTE_OPEN = "‘“'\""
_QUOTE_CLOSE = "’”'\""
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})년")
_ANNIVERSARY = re.compile(r"(\d{1,3})\s*주년")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos and text[pos:m.start()].strip():
            out.append(Sentence(pos, m.start(), text[pos:m.start()]))
        pos = m.end()
    if text[pos:].strip():
        out.append(Sentence(pos, len(text), text[pos:]))
    return out


# --- people ----------------------------------------------------------------------------------------

def _role_split(word: str, rules: Rules) -> tuple[str, str] | None:
    """'대구시장은' → ('대구', '시장'); '시장' → ('', '시장'); None when the word holds no role."""
    core = rules.strip_particles(word.strip(_QUOTE_CLOSE + ",."))
    m = rules.role_suffix.search(core)  # leftmost match of an end-anchored pattern: the longest role
    return (core[: m.start()], m.group(1)) if m else None


# Romanised spellings in parentheses (그레고리 두세(Grégory Doucet)) are blanked out, offsets kept.
_LATIN_PARENS = re.compile(r"\([^()가-힣]{2,60}\)")


def find_people(text: str, reporter: str | None, rules: Rules) -> tuple[list[Person], list[tuple[int, int]]]:
    """People named with a role (권영진 대구시장, 루오린 양강신구 당서기, 마르틴 호른 프라이부르크 시장),
    and the text spans of their names, so that a name is never also read as a place (마르틴, 호른)."""
    g = gazetteer()
    blanked = _LATIN_PARENS.sub(lambda m: " " * len(m.group(0)), text)
    words = [(m.group(0), m.start()) for m in _WORD.finditer(blanked)]
    found: dict[str, Person] = {}
    spans: list[tuple[int, int]] = []
    for i, (word, _) in enumerate(words):
        if i == 0 or not rules.role_anywhere.search(word):
            continue
        split = _role_split(word, rules)
        if split is None:
            continue
        prefix, role = split
        place_word = None
        j = i - 1
        if prefix and prefix not in g.by_surface:
            continue  # 중국시장 → not a place + role: the Chinese market
        if not prefix and j >= 1 and words[j][0] in g.by_surface:
            place_word = words[j][0]  # 루오린 양강신구 당서기 / 커원저 타이베이 시장
            j -= 1
        name = _name_before(words, j, rules)
        if name is None and j >= 0 and _bare_word(words[j][0], rules):
            name = words[j][0]  # may still be the family half of a foreign name (그레고리 두세)
            if _foreign_given_name(words, j, name, rules) is None:
                continue
        if name is None or name == reporter:
            continue
        first = j
        given = _foreign_given_name(words, j, name, rules)
        if given is not None:
            name, first = f"{given} {name}", j - 1  # 다카시마 소이치로, 마르틴 호른
        elif name in g.by_surface:
            continue  # a lone place name before a role: 중국 시장 is the Chinese market
        place = prefix or place_word or ""
        full_role = f"{place}{role}" if prefix else (f"{place_word} {role}" if place_word else role)
        affiliation = g.by_surface[place][0].name if place else None
        current = found.get(name)
        if current is None or (current.affiliation is None and affiliation):
            found[name] = Person(name=name, role=full_role, affiliation=affiliation)
        spans.append((words[first][1], words[j][1] + len(words[j][0])))
    # 대전광역시(시장 허태정)
    for m in re.finditer(r"([가-힣]+)\((" + "|".join(rules.roles) + r")\s+([가-힣]{2,4})\)", text):
        place, role, name = m.group(1), m.group(2), m.group(3)
        if (name not in found or found[name].affiliation is None) and place in g.by_surface and name != reporter:
            entry = g.by_surface[place][0]
            found[name] = Person(name=name, role=f"{_short(entry)}{role}", affiliation=entry.name)
            spans.append((m.start(3), m.end(3)))
    return list(found.values()), spans


def _foreign_given_name(words: list[tuple[str, int]], j: int, family: str, rules: Rules) -> str | None:
    """The word before a foreign name, when the two make one name (마르틴 호른, 다카시마 소이치로): both look
    like names and the first is not a Korean government, a country, a role or a common word."""
    if j < 1 or " " in family or (len(family) == 3 and family[0] in rules.korean_surnames):
        return None
    word = words[j - 1][0].strip(",.·")
    g = gazetteer()
    kinds = {e.kind for e in g.by_surface.get(word, [])}
    if (not re.fullmatch(r"[가-힣]{2,6}", word) or word in rules.not_names or _role_split(word, rules)
            or kinds & {"korean_local_gov", "country"} or (rules.particles.search(word) and len(word) <= 2)):
        return None
    family_ok = looks_like_name(family, rules) or _bare_word(family, rules)
    return word if looks_like_name(word, rules) and family_ok else None


def _bare_word(word: str, rules: Rules) -> bool:
    """A Hangul word with nothing grammatical in it (no particle, ending or verb): 두세 in 그레고리 두세."""
    if not re.fullmatch(r"[가-힣]{2,6}", word) or word in rules.not_names:
        return False
    tokens = kiwi().analyze(word, top_n=1)[0][0]
    return not any(t.tag.startswith(("J", "E", "V", "X")) for t in tokens)


def _short(entry: Entry) -> str:
    return re.sub(r"(특별자치시|특별자치도|특별시|광역시)$", "", entry.name)


def _name_before(words: list[tuple[str, int]], j: int, rules: Rules) -> str | None:
    if j < 0:
        return None
    word = words[j][0]
    if word.endswith(tuple(_QUOTE_CLOSE)) or word.endswith(("’,", "”,")):
        # A quoted name, possibly with a space or comma inside: ‘커, 원저’
        parts = [word]
        k = j
        while not parts[0].lstrip().startswith(tuple(_QUOTE_OPEN)) and k > 0 and len(parts) < 3:
            k -= 1
            parts.insert(0, words[k][0])
        joined = re.sub(r"[\s,·" + _QUOTE_OPEN + _QUOTE_CLOSE + "]", "", " ".join(parts))
        return joined if re.fullmatch(r"[가-힣]{2,5}", joined) else None
    if word.endswith((",", "·")):
        return None  # 총리, 빈증성장, 투저우못시 서기장: a list item, not the name before the title
    word = word.strip(".")
    if _HANGUL_NAME.match(word) and word not in rules.not_names and _role_split(word, rules) is None \
            and not _place_reference(word, rules) and looks_like_name(word, rules):
        return word
    return None


def _place_reference(word: str, rules: Rules) -> bool:
    """빈증성장, 청두시민: a place name with a place suffix, never a person's name."""
    g = gazetteer()
    return any(word[:k] in g.by_surface and word[k:] in rules.place_suffixes for k in range(2, len(word)))


# Kiwi scores a word it knows (분야, 총리: about -18) far above one it has never seen (뤄챵: -30).
_UNKNOWN_WORD_SCORE = -24.0


def looks_like_name(word: str, rules: Rules) -> bool:
    """A Korean personal name Kiwi knows (NNP), a 3-syllable word with a Korean surname, or a word
    Kiwi has never seen (transliterated foreign names: 후헝화, 뤄챵)."""
    tokens, score = kiwi().analyze(word, top_n=1)[0][:2]
    if len(tokens) == 1 and tokens[0].tag == "NNP":
        return True
    if any(getattr(t, "oov", False) for t in tokens) and tokens[0].tag.startswith("NN"):
        return True  # a word Kiwi has never seen (소이치로): a name far more often than not
    nominal = all(t.tag.startswith(("NN", "NR", "XS")) for t in tokens)
    # 김두겸 → 김 + 두 + 겸: Kiwi can only break a name it does not know into single syllables.
    syllables = all(t.len == 1 for t in tokens)
    if len(word) == 3 and word[0] in rules.korean_surnames and (nominal or syllables):
        return True
    return len(tokens) == 1 and tokens[0].tag == "NNG" and score < _UNKNOWN_WORD_SCORE


# --- organizations and events ----------------------------------------------------------------------

def find_named(text: str, rules: Rules) -> tuple[list[Named], list[Named]]:
    orgs: dict[str, None] = {}
    events: dict[str, None] = {}
    for m in re.finditer(r"[‘'“\"]([^’'”\"\n]{3,60})[’'”\"]", text):
        name = re.sub(r"^제\s*\d+\s*회\s*", "", m.group(1)).strip()
        name = re.sub(r"\s*\([A-Za-z]{2,10}\)$", "", name)
        if name.endswith(rules.event_suffixes):
            events[name] = None
    for m in re.finditer(r"([가-힣A-Za-z]{2,30})\(([A-Z]{2,10})\)", text):
        if m.group(1).endswith(rules.org_suffixes):
            orgs[m.group(1)] = None
    words = [m.group(0) for m in _WORD.finditer(text)]
    for i, raw in enumerate(words):
        if not rules.name_suffix_anywhere.search(raw):
            continue
        for word in re.split(r"[·,]", raw.strip("‘’“”'\"()[]")):
            core = rules.strip_particles(word)
            core = re.sub(r"\([A-Za-z]{2,10}\)$", "", core)
            if not re.fullmatch(r"[가-힣A-Za-z0-9&\-]{3,30}", core):
                continue
            suffix = next((s for s in rules.event_suffixes if core.endswith(s)), None)
            if suffix and len(core) > len(suffix) + 1:
                events.setdefault(core, None)
            elif suffix and i > 0 and re.fullmatch(r"[A-Z]{2,10}", words[i - 1]):
                events.setdefault(f"{words[i - 1]} {core}", None)  # WTA 총회
            org_suffix = next((s for s in rules.org_suffixes if core.endswith(s)), None)
            if org_suffix and len(core) > len(org_suffix) + 1 and not suffix:
                orgs.setdefault(core, None)
    return [Named(name=n) for n in orgs], [Named(name=n) for n in events]


# --- relations -------------------------------------------------------------------------------------

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


# --- places ----------------------------------------------------------------------------------------

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


# --- entry point -----------------------------------------------------------------------------------

def tag(article: CleanArticle) -> TaggedArticle:
    rules = load_rules()
    text = f"{article.title}\n{article.body}"
    title_end = len(article.title)
    tokens: list[Token] = tokenize(text)
    people, name_spans = find_people(text, article.reporter, rules)
    # A person's name is not a place (마르틴 호른: 마르틴 is a Slovak town, 호른 a Dutch one).
    mentions = [m for m in gazetteer().find(text, tokens)
                if not any(start <= m.start and m.end <= end for start, end in name_spans)]
    sentences = split_sentences(text)
    published_year = article.published_at.year if article.published_at else None
    relations = find_relations(text, sentences, mentions, title_end, published_year, rules)
    partner_names = {r.partner for r in relations}
    # Places: every Korean government and country, and foreign cities/regions that are partners or named twice.
    counts = Counter(m.entry.name for m in mentions)
    kept = [m for m in mentions if m.entry.kind in ("korean_local_gov", "country") or m.entry.name in partner_names
            or counts[m.entry.name] >= 2]
    orgs, events = find_named(text, rules)
    has_gov = any(m.entry.kind == "korean_local_gov" for m in mentions)
    has_foreign = any(m.entry.kind != "korean_local_gov" for m in mentions)
    cue_count = sum(text.count(c) for c in rules.exchange_cues)
    is_exchange = bool(relations) or (has_gov and has_foreign and cue_count >= 3)
    title_tokens = [t for t in tokens if t.end <= title_end]
    body_tokens = [t for t in tokens if t.start > title_end]
    return TaggedArticle(
        **article.model_dump(),
        places=build_places(kept),
        people=people,
        organizations=orgs,
        events=events,
        relations=relations,
        sectors=score_sectors(article.title, article.body),
        is_exchange=is_exchange,
        terms=SearchTerms(title=terms_from_tokens(title_tokens), body=terms_from_tokens(body_tokens)),
    )
