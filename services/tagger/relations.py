"""Relations: which Korean government is tied to which foreign partner, of what kinds, since when.

Cue words (data/rules.json) in a sentence go to the nearest partner named in it; ties (sister, friendship)
and agreements make a place a partner; a founding year or an anniversary gives `since`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from schemas import RELATION_KINDS, Evidence, Relation
from services.tagger.document import Document, Resources, Sentence
from services.tagger.gazetteer import Mention
from services.tagger.rules import Rules

FOREIGN_PARTNER_KINDS = ("foreign_city", "foreign_region")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})년")
_ANNIVERSARY = re.compile(r"(\d{1,3})\s*주년|지\s*(?=\d)(\d{1,3})\s*년")


def annotate(doc: Document, res: Resources) -> None:
    doc.relations = find_relations(doc.text, doc.sentences, doc.mentions, doc.title_end, doc.published_year,
                                   res.rules, stand_ins=person_stand_ins(doc, res))


def person_stand_ins(doc: Document, res: Resources) -> list[Mention]:
    """Where a Korean official stands for their government: '최 군수는 … 앙헬레스시를 방문해' is 보은군 acting
    when 최재형 is 보은군's 군수 (from his title, or the government named before him in his sentence)."""
    govs = [m for m in doc.mentions if m.entry.kind == "korean_local_gov"]
    out = []
    for person in doc.people:
        entry = res.gazetteer.by_name.get(person.affiliation or "")
        first = doc.text.find(person.name)
        if entry is None or entry.kind != "korean_local_gov":
            sentence = doc.sentence_at(first)
            before = [m for m in govs if sentence and sentence.start <= m.start < first]
            entry = before[-1].entry if before else None
        title = res.rules.role_suffix.search(person.role or "")
        if entry is None or title is None or len(person.name) != 3:
            continue  # a Korean name (3 syllables) is shortened to its surname: 최 군수
        for form in (person.name, f"{person.name[0]} {title.group(1)}"):
            start = doc.text.find(form)
            while start >= 0:
                out.append(Mention(entry, form, start, start + len(form)))
                start = doc.text.find(form, start + len(form))
    return out


TIES = ("sister_city", "friendship_city")


Cue = tuple[str, int, int]  # kind, start, end within the sentence


def _cues(text: str, rules: Rules) -> list[Cue]:
    """Every relation cue in a sentence; a cue inside a longer one (협약 in 업무협약, 우호협약) is not found."""
    return [(rules.cue_kind[m.group(0)], m.start(), m.end()) for m in rules.cue_pattern.finditer(text)]


def _cue_hits(sentence: Sentence, found: list[Cue], rules: Rules,
              published_year: int | None = None) -> list[tuple[str, int]]:
    """(kind, position) of every relation cue in the sentence, after the rules that discount cues."""
    # A year in the sentence before the article's own (or any year, when the article has no date) dates what
    # it tells: 2008년 자매결연을 맺은 앵커리지.
    years = [int(y) for y in _YEAR.findall(sentence.text)]
    told_as_past = (bool(years) and (published_year is None or min(years) < published_year)) \
        or bool(rules.tie_age.search(sentence.text)) or any(w in sentence.text for w in rules.last_year_words)
    # 협회와의 업무협약 … 협정을 축하했다: an organisation's agreement, and the sentence's other agreement cues with it
    organisations = any(kind == "agreement" and _with_organisation(sentence.text[max(0, start - 30):start], rules)
                        for kind, start, _ in found)
    hits = []
    for kind, start, end in found:
        after = sentence.text[end:end + rules.planned_window]
        if kind in (*TIES, "agreement") and any(p in after for p in rules.planned_markers):
            continue  # 우호도시 협약 체결을 추진하기로: not a tie yet
        if kind in TIES and after.startswith(rules.proposal_markers):
            continue  # 자매결연 제안: proposed, not made
        document_of_tie = kind == "agreement" and any(k in TIES and 0 <= start - e <= rules.tie_document_window
                                                      for k, _, e in found)
        if document_of_tie and told_as_past:
            continue  # 1993년 자매결연 협정을 맺은: the tie's old document, not an agreement of this story
        if kind == "agreement" and _began_tie(sentence.text, start, end, published_year, rules):
            continue  # 지난 2005년 … 교류 협약을 맺은 이래: where the tie began, its year may date it (_founding_year)
        if kind == "agreement" and organisations:
            continue  # 한인과학기술인협회와의 업무협약: an organisation's agreement, not the partner city's
        if kind == "event" and rules.event_word_not.match(sentence.text, end):
            continue  # 공연단, 총회장: a troupe, an officer, not an event
        if kind == "event" and rules.past_marker.search(sentence.text[:start]):
            continue  # 지난 2016년 총회는 …: a past event told as background
        if kind in TIES and sentence.text.startswith(rules.plural_suffixes, end):
            continue  # 자매도시들: a government's ties in general
        if kind in ("visit", "event") and rules.planned_sentence.search(sentence.text):
            continue  # 다음 달 방문할 예정이다: not in this story yet
        hits.append((kind, sentence.start + start))
        if (kind in TIES and not told_as_past and any(v in after for v in rules.signing_verbs)
                and not any(w in after for w in rules.ongoing_markers)):  # 맺고 있는: a standing tie, not a signing
            hits.append(("agreement", sentence.start + start))  # 자매결연을 맺었다 / 우호협약을 체결: signed now
    return hits


def _with_organisation(before: str, rules: Rules) -> bool:
    """협회와의 업무협약: the agreement is the organisation's, unless the organisation is one of several parties
    (청두시 및 현지 기업과)."""
    m = rules.agreement_with_organisation.search(before)
    return m is not None and not any(c in before[:m.start()] for c in ("및", "·"))


def _dated_before(text: str, position: int, published_year: int | None, window: int) -> int | None:
    """The year written (before the article's own) within `window` characters before `position`, if any."""
    if published_year is None:
        return None  # an undated article's years may be its own: 2023년 협약을 체결했다
    years = [int(m.group(1)) for m in _YEAR.finditer(text, 0, position)
             if position - m.end() <= window and int(m.group(1)) < published_year]
    return years[-1] if years else None


def _began_tie(text: str, start: int, end: int, published_year: int | None, rules: Rules) -> bool:
    """An agreement dated before the article and told as what the relationship dates from (지난 2005년 … 교류 협약을
    맺은 이래): where the tie began, not an agreement of this story."""
    return (_dated_before(text, start, published_year, rules.dated_agreement_window) is not None
            and any(w in text[end:end + rules.planned_window] for w in rules.since_markers))


def acting_govs(text: str, mentions: list[Mention]) -> list[Mention]:
    """Korean government mentions, without a province or metropolitan city that only says where the next one
    is (경기도 의왕시, 부산광역시 영도구: the actor is the city or district)."""
    govs = [m for m in mentions if m.entry.kind == "korean_local_gov"]
    return [m for m, nxt in zip(govs, [*govs[1:], None], strict=False)
            if not (nxt and m.entry.level == "sido" and nxt.entry.level != "sido"
                    and not text[m.end:nxt.start].strip())]


def partner_candidates(text: str, mentions: list[Mention]) -> list[Mention]:
    """Foreign city and region mentions, without one that only says where the next one is (산서성 운성시,
    상해시 황포구: the partner is the city or the district)."""
    foreign = [m for m in mentions if m.entry.kind in FOREIGN_PARTNER_KINDS]
    return [m for m, nxt in zip(foreign, [*foreign[1:], None], strict=False)
            if not (nxt and nxt.entry.country == m.entry.country and not text[m.end:nxt.start].strip())]


def _nearest(mentions: list[Mention], pos: int) -> Mention:
    return min(mentions, key=lambda m: min(abs(m.start - pos), abs(m.end - pos)))


def _paired_in_text(text: str, gov: Mention, partner: Mention, connectors: re.Pattern[str],
                    mentions: list[Mention]) -> bool:
    """'의왕시와 운성시', '운성시와 한국 경기도 의왕시', '대구-청두': the two are written as a pair; between them
    stand only a connector and places that say where (a country, a province)."""
    first, second = (gov, partner) if gov.start < partner.start else (partner, gov)
    gap = text[first.end:second.start]
    for m in mentions:
        if first.end <= m.start and m.end <= second.start:
            gap = gap.replace(m.surface, " ", 1)
    return bool(connectors.fullmatch(gap))


def find_relations(text: str, sentences: list[Sentence], mentions: list[Mention], title_end: int,
                   published_year: int | None, rules: Rules, stand_ins: Sequence[Mention] = ()) -> list[Relation]:
    # 아산 온양그랜드호텔에서: where a venue is, not a party.
    acting = [m for m in acting_govs(text, mentions)
              if m.start < title_end or not rules.venue_after_place.match(text, m.end)]
    # A government named once and not in the title is where something happens (구미에서 열리는 박람회),
    # not a party; one that acts is named again.
    named_often = Counter(m.entry.name for m in acting)
    # ... unless it is the only Korean government the article names (봉화군 우호교류단은 …).
    partner_sentences = {id(s) for s in sentences for m in mentions
                         if m.entry.kind in FOREIGN_PARTNER_KINDS and s.start <= m.start < s.end}

    def acts(m: Mention) -> bool:
        if named_often[m.entry.name] >= 2 or m.start < title_end or len(named_often) == 1:
            return True
        # Named once beside a partner, and not as the place where something happens (구미에서 열리는).
        sentence = next((s for s in sentences if s.start <= m.start < s.end), None)
        return (sentence is not None and id(sentence) in partner_sentences
                and not text.startswith(rules.locative_particles, m.end))

    govs = [m for m in acting if acts(m)]
    # Officials standing for their government act in its place, whatever their government's own count.
    govs = sorted([*govs, *stand_ins], key=lambda m: m.start)
    partners = partner_candidates(text, mentions)
    countries = [m for m in mentions if m.entry.kind == "country"]
    if not govs or not partners:
        return []
    gov_counts = Counter(m.entry.name for m in govs)
    title_govs = {m.entry.name for m in govs if m.start < title_end}
    # The article's own Korean parties: named in the title, else the most named.
    main_govs = sorted(title_govs, key=lambda g: -gov_counts[g]) or [gov_counts.most_common(1)[0][0]]
    entries = {m.entry.name: m.entry for m in partners}
    counts = Counter(m.entry.name for m in partners)
    main_partner = counts.most_common(1)[0][0]
    # (Korean party, partner) → kind → the first sentence that states it
    found: dict[tuple[str, str], dict[str, Sentence]] = defaultdict(dict)
    dates = _FoundingDates()
    shared_events: dict[str, Sentence] = {}  # Korean party → the event sentence that names several parties
    by_country: list[tuple[list[str], set[str], str, Sentence]] = []  # visits to a country of several partners

    def add(gov_names: list[str], partner: str, kind: str) -> None:
        for gov in gov_names:
            found[(gov, partner)].setdefault(kind, s)

    for s in sentences:
        cues = _cues(s.text, rules)
        hits = _cue_hits(s, cues, rules, published_year)
        p_here = [m for m in partners if s.start <= m.start < s.end]
        g_here = [m for m in govs if s.start <= m.start < s.end]
        # The partner the sentence is about (살레르노시는 …, 더저우시(山東省 德州市)와 …).
        subject = [m for m in p_here if _followed_by_subject(s.text, m.end - s.start, rules)]
        # A founding year is a tie's (자매결연, 우호도시 …), not an agreement's (2023년 업무협약), unless the
        # agreement is what the tie dates from (지난 2005년 … 교류 협약을 맺은 이래).
        _founding_year(s, cues, p_here, subject, main_partner, published_year, dates, rules)
        # The article's own government referred to by its level alone (특히 도는 …) is the sentence's party.
        if (self_ref := rules.self_reference.match(s.text)) is not None:
            g_here = [g for g in govs if g.entry.name in main_govs and g.entry.name.endswith(self_ref.group(1))][:1] \
                or g_here
        if not hits:
            continue
        # Pairs the sentence writes out (A시와 B시): each gets every tie and agreement the sentence states.
        written_pairs = [(g, p) for g in g_here for p in p_here
                         if _paired_in_text(text, g, p, rules.pair_connectors, mentions)]
        countries_here = {m.entry.country for m in countries if s.start <= m.start < s.end}
        # Something signed or held at the partner's place (타이중시청 회의실에서 … 협약을 체결): the Korean side went.
        years = [int(y) for y in _YEAR.findall(s.text)]
        past = bool(years) and (published_year is None or min(years) < published_year)
        if any(kind != "visit" for kind, _ in hits) and not past:
            for p in p_here:
                if rules.at_place.match(text, p.end, s.end):
                    hits.append(("visit", p.start))
        if any(w in s.text for w in rules.remote_markers):
            hits = [(kind, pos) for kind, pos in hits if kind != "visit"]  # 온라인으로 참가: nobody travelled
        for kind, pos in hits:
            if written_pairs and kind in (*TIES, "agreement"):
                for g, p in written_pairs:
                    add([g.entry.name], p.entry.name, kind)
                continue
            if p_here:
                # A tie or an agreement belongs to the partner the sentence is about (살레르노시는 나폴리 남쪽의 …
                # 자매결연), else the one nearest its cue; a visit or an event to every partner the sentence names
                # (the cities attending one forum).
                tie_target = subject[0] if len({m.entry.name for m in subject}) == 1 else _nearest(p_here, pos)
                listed = kind in TIES and len({m.entry.name for m in p_here}) >= rules.tie_list_partners
                if listed and text.startswith(rules.umbrella_tie_cues, pos):
                    continue  # 자매우호도시인 애틀랜타, 히로시마, 칭다오 …: which of them is which tie is not said
                # 해외자매도시인 베르사유시, 니트라시, 후에시 …: each of them is one; but when the sentence is about one
                # partner (쿠스코시는 일본 교토, 미국 뉴저지 … 와 자매결연을 맺고 있으며), the others are its own ties.
                single = kind in (*TIES, "agreement") and (not listed or bool(subject))
                for target in [tie_target] if single else p_here:
                    gov_names = [_nearest(g_here, target.start).entry.name] if g_here else main_govs
                    add(gov_names, target.entry.name, kind)
                continue
            if countries_here:
                # 일본과 중국, 베트남을 잇따라 방문해: a visit or event goes to the partners in the countries this
                # sentence names; a tie (자매·우호도시) cannot be told apart between them, so it goes to none.
                # Only a country with one partner in the article says which partner it is.
                per_country = Counter(e.country for e in entries.values())
                in_countries = [n for n, e in entries.items() if e.country in countries_here
                                and per_country[e.country] == 1]
                gov_names = [g.entry.name for g in g_here] or main_govs
                if not in_countries and kind in ("visit", "event"):
                    # 보은군은 … 필리핀으로 출국: several partners in that country; each government's own partner
                    # there, once the whole article is read (see below).
                    by_country.append((gov_names, countries_here, kind, s))
                    continue
                targets = [] if kind in TIES and len(in_countries) > 1 else in_countries or [main_partner]
            else:
                if kind == "event" and len({g.entry.name for g in g_here}) > 1:
                    # 이번 대회에는 의왕시, 충주시 … 대표단이 참석해: each Korean party attends with its own partner.
                    for g in g_here:
                        shared_events.setdefault(g.entry.name, s)
                    continue
                targets = [main_partner]
                gov_names = [g.entry.name for g in g_here] or main_govs
            for target_name in targets:
                add(gov_names, target_name, kind)
    for gov_names, countries_named, kind, sentence in by_country:
        for gov in gov_names:
            own = {p for g, p in found if g == gov and entries[p].country in countries_named}
            found[(gov, own.pop() if len(own) == 1 else main_partner)].setdefault(kind, sentence)
    for (gov, _), kinds in found.items():
        if gov in shared_events:
            kinds.setdefault("event", shared_events[gov])
    relations = []
    first_seen: dict[str, int] = {}
    for m in partners:
        first_seen.setdefault(m.entry.name, m.start)
    # Most-mentioned partner first, then first-mentioned: the same article always gives the same order.
    for (gov, name), kinds in sorted(found.items(), key=lambda kv: (-counts[kv[0][1]], first_seen[kv[0][1]],
                                                                    -gov_counts[kv[0][0]], kv[0][0])):
        entry = entries[name]
        ordered = [k for k in RELATION_KINDS if k in kinds]
        if "sister_city" in ordered and "friendship_city" in ordered:
            ordered.remove("friendship_city")  # a sister city is also called a friend; the stronger tie wins
        evidence = [_evidence(k, kinds[k], title_end) for k in ordered]
        year, year_sentence = dates.strong(name)
        story_year = published_year or _latest_year_written(text)
        if year is None and story_year and "agreement" in kinds and set(ordered) & set(TIES):
            # The tie signed in this story (자매결연 협약을 체결했다) dates from the article itself; an undated article
            # from the latest year it writes (2018 대구국제교류도시포럼 … 우호협력도시를 체결한다).
            year, year_sentence = story_year, kinds["agreement"]
        if year is None:
            year, year_sentence = dates.weak_year(name, sentences)
        if year_sentence is not None:
            evidence.append(_evidence("since", year_sentence, title_end))
        relations.append(Relation(korean_party=gov, partner=entry.name, partner_country=entry.country,
                                  kinds=ordered, since=year, evidence=evidence))  # type: ignore[arg-type]
    return relations


_ANY_YEAR = re.compile(r"(?<![\d.\-])((?:19|20)\d{2})(?![\d.\-])")


def _latest_year_written(text: str) -> int | None:
    """The latest year an undated article writes (2018 세계물도시포럼, 2018년): the year it is most likely from."""
    return max((int(y) for y in _ANY_YEAR.findall(text)), default=None)


def _evidence(kind: str, s: Sentence, title_end: int) -> Evidence:
    """Offsets in the clean title or body: the analysed text is title, a newline, then the body."""
    if s.start < title_end:
        return Evidence(kind=kind, sentence=s.text, field="title", start=s.start, end=s.end)  # type: ignore[arg-type]
    body_start = title_end + 1
    return Evidence(kind=kind, sentence=s.text, field="body", start=s.start - body_start,  # type: ignore[arg-type]
                    end=s.end - body_start)


class _FoundingDates:
    """Candidate founding years per partner, strongest first: a year written just before a tie cue; one counted
    back from the article's date (결연 10주년, 지난해 맺은); a year written after the cue (체결해 2015년부터) or
    before a past agreement the tie dates from; an anniversary counted back from a year the article writes
    beside the same anniversary (2020년 연기됐던 10주년), for an article without a date."""

    def __init__(self) -> None:
        self.stated: dict[str, tuple[int, Sentence]] = {}
        self.derived: dict[str, tuple[int, Sentence]] = {}
        self.weak: dict[str, tuple[int, Sentence]] = {}
        self.anniversary: dict[str, tuple[int, Sentence]] = {}  # N주년, when the article has no date

    def strong(self, name: str) -> tuple[int, Sentence] | tuple[None, None]:
        return self.stated.get(name) or self.derived.get(name) or (None, None)

    def weak_year(self, name: str, sentences: list[Sentence]) -> tuple[int, Sentence] | tuple[None, None]:
        if name in self.weak:
            return self.weak[name]
        if name in self.anniversary:
            years = self.anniversary[name][0]
            pattern = re.compile(rf"(?<!\d)((?:19|20)\d{{2}})년[^.]{{0,30}}?(?<!\d){years}\s*주년")
            for other in sentences:
                if (m := pattern.search(other.text)) is not None:
                    return int(m.group(1)) - years, other
        return None, None


def _followed_by_subject(text: str, position: int, rules: Rules) -> bool:
    """살레르노시는, 빈증성과는: a subject particle after the name, its administrative suffix or a gloss in
    parentheses allowed between."""
    rest = text[position:]
    if rest[:1] in ("시", "군", "구", "도", "주", "성", "현"):
        rest = rest[1:]
    if rest.startswith("(") and 0 < (close := rest.find(")")) < 40:
        rest = rest[close + 1:]  # 더저우시(山東省 德州市)와: the name's gloss stands between
    return rest.startswith(rules.subject_particles)


def _founding_year(s: Sentence, cues: list[Cue], in_sentence: list[Mention], subjects: list[Mention],
                   main_partner: str, published_year: int | None, dates: _FoundingDates, rules: Rules) -> None:
    """`subjects`: the partners in the sentence a subject particle follows; the year goes to them first."""
    text = s.text
    if "년" not in text and not any(w in text for w in rules.last_year_words):
        return  # no year, anniversary or 지난해: nothing to date (most sentences)
    tie_cues = [pos for kind, pos, end in cues if kind in TIES  # not a tie yet: 자매도시교류 의향서, 결연 추진
                and not any(w in text[end:end + rules.planned_window] for w in rules.planned_markers)]
    # The partner the sentence is about (살레르노시는 … 로마 남단 … 2016년 자매결연), else the one nearest the year.
    def partner_at(pos: int) -> str:
        candidates = subjects or in_sentence
        return min(candidates, key=lambda x: abs(x.start - pos)).entry.name if candidates else main_partner

    for kind, pos, end in cues:
        if kind == "agreement" and _began_tie(text, pos, end, published_year, rules):
            year = _dated_before(text, pos, published_year, rules.dated_agreement_window)
            if year is not None:
                dates.weak.setdefault(partner_at(s.start + pos), (year, s))  # 지난 2005년 … 협약을 맺은 이래
    if not tie_cues:
        return

    before: list[tuple[int, int, int]] = []  # (gap to the next tie cue, year, position)
    for m in _YEAR.finditer(text):
        year = int(m.group(1))
        if published_year and year > published_year:
            continue
        gaps = [c - m.end() for c in tie_cues if c >= m.end()]
        if text.startswith("부터", m.end()):
            dates.weak.setdefault(partner_at(s.start + m.start()), (year, s))  # 2011년부터 추진된 자매결연
        elif gaps and min(gaps) <= rules.founding_window:
            before.append((min(gaps), year, m.start()))
        elif any(c < m.start() for c in tie_cues):
            dates.weak.setdefault(partner_at(s.start + m.start()), (year, s))  # 자매도시를 체결해 2015년부터
    if before:
        _, year, pos = min(before)  # the year nearest before its cue: 2005년 파견 협정을 시작으로 2007년 자매결연
        dates.stated.setdefault(partner_at(s.start + pos), (year, s))
    # Counted back from the article's date, weaker than a year written out: 결연 10주년, 맺은 지 30년, and a
    # tie made 지난해.
    last_year = any(w in text for w in rules.last_year_words)
    shift = -1 if last_year else 1 if any(w in text for w in rules.next_year_words) else 0
    name = partner_at(s.start)
    for m in _ANNIVERSARY.finditer(text):
        years = int(m.group(1) or m.group(2))
        name = partner_at(s.start + m.start())  # 오타루시 대표단은 자매결연 10주년: the partner beside it
        if published_year:
            dates.derived.setdefault(name, (published_year + shift - years, s))
        elif m.group(1):
            dates.anniversary.setdefault(name, (years, s))
    if published_year and last_year and not _ANNIVERSARY.search(text) and not _YEAR.search(text):
        dates.derived.setdefault(name, (published_year - 1, s))
