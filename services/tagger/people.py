"""People: names with their roles (권영진 대구시장, 마르틴 호른 프라이부르크 시장), and where the names stand,
so that the places component never reads a name as a place."""

from __future__ import annotations

import re

from schemas import Person
from services.tagger.document import Document, Resources
from services.tagger.gazetteer import Entry
from services.tagger.rules import Rules

_WORD = re.compile(r"\S+")
_HANGUL_NAME = re.compile(r"^[가-힣]{2,4}$")
_QUOTE_OPEN = "‘“'\""
_QUOTE_CLOSE = "’”'\""
_BULLETS = "▲△▶▷●○■□◆◇•·-"


def annotate(doc: Document, res: Resources) -> None:
    doc.people, doc.name_spans = find_people(doc.text, doc.article.reporter, res)


def _role_split(word: str, rules: Rules) -> tuple[str, str] | None:
    """'대구시장은' → ('대구', '시장'); '시장' → ('', '시장'); None when the word holds no role."""
    core = rules.strip_particles(word.strip(_QUOTE_CLOSE + ",."))
    m = rules.role_suffix.search(core)  # leftmost match of an end-anchored pattern: the longest role
    return (core[: m.start()], m.group(1)) if m else None


# Romanised spellings in parentheses (그레고리 두세(Grégory Doucet)) are blanked out, offsets kept.
_LATIN_PARENS = re.compile(r"\([^()가-힣]{2,60}\)")


def find_people(text: str, reporter: str | None, res: Resources) -> tuple[list[Person], list[tuple[int, int]]]:
    """People named with a role (권영진 대구시장, 루오린 양강신구 당서기, 마르틴 호른 프라이부르크 시장),
    and the text spans of their names, so that a name is never also read as a place (마르틴, 호른)."""
    g, rules = res.gazetteer, res.rules
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
        for filler in rules.prefix_fillers:
            prefix = prefix.removesuffix(filler)  # 용인특례시장: the mayor of 용인
        if prefix and role in rules.ambiguous_roles and not _place_prefix(prefix, res) \
                and not {e.kind for e in g.by_surface.get(words[i - 1][0].strip(",·"), [])} & {
                    "foreign_city", "foreign_region"}:
            # 중국시장 → not a place + role: the Chinese market; 경제부시장, 무역국 부국장 are titles, and so is
            # 유타주 경제실장, a foreign region or city before it (베트남 유통시장 stays a market)
            continue
        # Between the name and its title may stand where the person belongs: 루오린 양강신구 당서기,
        # 김성희 광양시의회 부의장, 야스마사 주한 일본대사, 아드히카리 네팔 포카라시장.
        j = i - 1
        affiliation_words: list[str] = []
        place_seen = False
        while j >= 1 and len(affiliation_words) < 3 and _affiliation_word(words[j][0], res):
            # One foreign city or region at most, right before a bare title: in 마르틴 호른 프라이부르크 시장,
            # 호른 (a Dutch town) is the name. Countries and Korean governments may add to it (네팔 포카라시장).
            # A title whose prefix is no place (경제실장, 비서실장) may follow a foreign place: 밸 헤일 유타주 경제실장.
            kinds = {e.kind for e in g.by_surface.get(words[j][0].strip(",·"), [])}
            if kinds and not kinds & {"country", "korean_local_gov"} and (
                    (prefix and _place_prefix(prefix, res)) or place_seen):
                break
            if _governor_named_like_a_city(words, j, prefix, role, res):
                break  # 아이치현의 오무라 지사: a city has no governor, so 오무라 is the name
            place_seen = place_seen or bool(kinds)
            affiliation_words.insert(0, words[j][0])
            j -= 1
        place_word = next((w for w in reversed(affiliation_words) if w in g.by_surface), None)
        name = _name_before(words, j, res)
        # 아이치현의 오무라 지사: a word known only as a city, before a governor's title, is the governor's name.
        governor = j >= 0 and not affiliation_words and _governor_named_like_a_city(words, j, prefix, role, res)
        if name is None and j >= 0 and _bare_word(words[j][0], res):
            name = words[j][0]  # may still be the family half of a foreign name (그레고리 두세)
            if _foreign_given_name(words, j, name, res) is None and not governor:
                continue
        if name is None or name == reporter:
            continue
        first = j - name.count(" ")  # a quoted name of several words ends at words[j]
        given = _foreign_given_name(words, j, name, res)
        if given is not None:
            name, first = f"{given} {name}", j - 1  # 다카시마 소이치로, 마르틴 호른
            more = _foreign_given_name(words, j - 1, given, res, shortest=1)
            if more is not None and max(len(w) for w in (more, *name.split())) <= 3:
                name, first = f"{more} {name}", j - 2  # 옴 라주 파우델: three short words
        elif name in g.by_surface and not _elsewhere(name, place_word, res) and not governor:
            continue  # a lone place name before a role: 중국 시장 is the Chinese market
        place = prefix or place_word or ""
        full_role = " ".join([*affiliation_words, f"{prefix}{role}"])
        entries = g.by_surface.get(place) or next((g.by_surface[place + x] for x in rules.prefix_place_suffixes
                                                   if place + x in g.by_surface), None) if place else None
        affiliation = entries[0].name if entries else None
        current = found.get(name)
        if current is None or (current.affiliation is None and affiliation):
            found[name] = Person(name=name, role=full_role, affiliation=affiliation)
        spans.append((words[first][1], words[j][1] + len(words[j][0])))
    romanised = _romanised_names(text, reporter, res, found, spans)
    _names_with_role_in_parentheses(text, reporter, res, found, spans)
    # 루이스 플라자 세로나비아 구청장: the romanisation says where the name ends.
    for name in [n for n in found if any(n != r and set(n.split()) & set(r.split()) for r in romanised)]:
        del found[name]
    # 대전광역시(시장 허태정), 미토요시(시장 야마시타 아키시): the name's words are a name, never a place
    for m in re.finditer(r"([가-힣]+)\((" + "|".join(rules.roles) + r")\s+([가-힣]{2,6}(?: [가-힣]{2,6}){0,2})\)",
                         text):
        place, role, name = m.group(1), m.group(2), m.group(3)
        words = name.split()
        name = " ".join(words[:next((i for i, w in enumerate(words) if _role_split(w, rules)), len(words))])
        entry = g.by_surface[place][0] if place in g.by_surface else None
        # One word needs a place before the parenthesis (인천 중구(청장 김홍섭): a district the gazetteer cannot
        # tell without its city still ends like one).
        if not name or name == reporter or (" " not in name and entry is None
                                            and not place.endswith(rules.prefix_place_suffixes)):
            continue
        if name not in found or found[name].affiliation is None:
            found[name] = Person(name=name, role=f"{_short(entry)}{role}" if entry else f"{place} {role}",
                                 affiliation=entry.name if entry else None)
        spans.append((m.start(3), m.end(3)))
    return _without_name_parts(found), spans


_ROMANISED = re.compile(r"((?:[가-힣]{1,8} ){1,4}[가-힣]{1,8})\(([A-Z][\w'\-]*(?: [A-Za-z][\w'\-]*){1,5})\)")


def _romanised_names(text: str, reporter: str | None, res: Resources, found: dict[str, Person],
                     spans: list[tuple[int, int]]) -> list[str]:
    """루이스 플라자(Luis Plaza) 세로나비아 구청장: a Hangul name followed by its romanisation, word for word, with a
    title after it, is a person even when unknown places stand between the name and the title."""
    g, rules = res.gazetteer, res.rules
    names = []
    for m in _ROMANISED.finditer(text):
        hangul, latin = m.group(1).split(), m.group(2).split()
        hangul = hangul[-len(latin):]
        # 루이스 is also a town: with its romanisation word for word, a run of names is a person's name.
        if len(hangul) != len(latin) or all(w in g.by_surface for w in hangul) \
                or any(w in rules.not_names for w in hangul):
            continue
        after = text[m.end():m.end() + 40].split()
        role = next((_role_split(w, rules) for w in after[:5] if _role_split(w, rules)), None)
        name = " ".join(hangul)
        if role is None or name == reporter:
            continue
        names.append(name)
        found.setdefault(name, Person(name=name, role=role[0] + role[1]))
        spans.append((m.end(1) - len(name), m.end(1)))
    return names


def _names_with_role_in_parentheses(text: str, reporter: str | None, res: Resources, found: dict[str, Person],
                                    spans: list[tuple[int, int]]) -> None:
    """나이나벤 페다디야(인도 라즈코트 시장), 알릭스 데술메(미국 노스마이애미 시장): a name with its title in
    parentheses after it, as lists of speakers write them."""
    g, rules = res.gazetteer, res.rules
    for m in _NAME_THEN_ROLE.finditer(text):
        words = m.group(1).split()
        marked = [i for i, w in enumerate(words) if rules.strip_particles(w) != w]
        words = words[marked[-1] + 1 if marked else 0:][-3:]  # 이날 세션에선 NAME(…): particles end what precedes
        inside = m.group(2).split()
        role = _role_split(inside[-1], rules)
        if (role is None or not all(re.fullmatch(r"[가-힣]{1,8}", w) for w in words) or len(" ".join(words)) < 3
                or any(w in g.by_surface or w in rules.not_names or _role_split(w, rules) for w in words)):
            continue
        places = [e for w in [role[0], *inside[:-1]] for e in g.by_surface.get(w, []) if e.kind != "country"]
        after_country = len(inside) >= 2 and any(e.kind == "country" for e in g.by_surface.get(inside[0], []))
        if role[1] in rules.ambiguous_roles and not places and not after_country:
            continue  # (중국시장): a market, not a mayor; (인도 라즈코트 시장) names its city
        name = " ".join(words)
        if name != reporter and name not in found:
            found[name] = Person(name=name, role=m.group(2).strip())
            spans.append((m.end(1) - len(name), m.end(1)))


_NAME_THEN_ROLE = re.compile(r"((?:[가-힣]{1,8} ){0,3}[가-힣]{1,8})\(([가-힣 ]{1,30})\)")


def _place_prefix(prefix: str, res: Resources) -> bool:
    """송파구청장 → 송파 + 구청장: the place may be written without its suffix, which the title carries."""
    g = res.gazetteer
    return prefix in g.by_surface or any(prefix + s in g.by_surface for s in res.rules.prefix_place_suffixes)


def _elsewhere(name: str, place_word: str | None, res: Resources) -> bool:
    """헤일 유타주 경제실장: a word the gazetteer has only in other countries than the place the person belongs to
    is that person's name (헤일 is a Belgian town; the official is Utah's)."""
    g = res.gazetteer
    if place_word is None:
        return False
    belongs = {e.country for e in g.by_surface.get(place_word, [])}
    return bool(belongs) and not belongs & {e.country for e in g.by_surface.get(name, [])}


def _governor_named_like_a_city(words: list[tuple[str, int]], j: int, prefix: str, role: str,
                                res: Resources) -> bool:
    """아이치현의 오무라 지사: a word known only as a city, after a region or country, before a governor's title, is
    the governor's name (a city has no governor). After anything else (한국관광공사 오사카 지사: a branch office) the
    city stays a city."""
    g, rules = res.gazetteer, res.rules
    if prefix or role not in rules.region_roles or j < 1:
        return False
    kinds = {e.kind for e in g.by_surface.get(words[j][0].strip(",·"), [])}
    before = {e.kind for e in g.by_surface.get(rules.strip_particles(words[j - 1][0].strip(",·")), [])}
    return kinds == {"foreign_city"} and bool(before & {"foreign_region", "country"})


def _without_name_parts(found: dict[str, Person]) -> list[Person]:
    """가와가츠 지사 after 가와가츠 헤이타 시즈오카현지사: the same person, named once in full."""
    parts = {part for name in found if " " in name for part in name.split()}
    return [p for name, p in found.items() if name not in parts]


def _affiliation_word(word: str, res: Resources) -> bool:
    """A word that says where a person belongs, standing between the name and the title: a place or country
    (타이베이, 네팔), a place with an institution (광양시의회, 고치현의회), or a modifier such as 주한."""
    word = word.strip(",·")
    return (word in res.gazetteer.by_surface or word in res.rules.role_modifiers
            or word.endswith(res.rules.institution_suffixes) or word.endswith(res.rules.org_suffixes))


def _foreign_given_name(words: list[tuple[str, int]], j: int, family: str, res: Resources,
                        shortest: int = 2) -> str | None:
    """The word before a foreign name, when the two make one name (마르틴 호른, 다카시마 소이치로): both look
    like names and the first is not a Korean government, a country, a role or a common word."""
    rules = res.rules
    if j < 1 or " " in family:
        return None
    word = words[j - 1][0].strip(",.·")
    if len(family) == 3 and family[0] in rules.korean_surnames and not _foreign_looking(word, res):
        return None  # 김철수 is one whole Korean name; 나카노 유타카 is not Korean however 유 begins it
    g = res.gazetteer
    stem = rules.strip_particles(word)
    if (stem != word and stem in g.by_surface) or _place_reference(stem, res):
        return None  # 가오슝시의 양밍쪼우, 산티아고시 NAME: a place before the name
    kinds = {e.kind for e in g.by_surface.get(word, [])}
    if (not re.fullmatch(rf"[가-힣]{{{shortest},6}}", word) or word in rules.not_names or _role_split(word, rules)
            or kinds & {"korean_local_gov", "country"} or (rules.particles.search(word) and len(word) <= 2)):
        return None
    family_ok = looks_like_name(family, res) or _bare_word(family, res)
    # A one-syllable word (옴, 반) is allowed only as the first of three short words, where Kiwi cannot judge it.
    return word if (looks_like_name(word, res) or len(word) == shortest == 1) and family_ok else None


def _foreign_looking(word: str, res: Resources) -> bool:
    """A word Kiwi reads as one proper noun or does not know, and not itself shaped as a Korean name."""
    tokens, _ = res.analyze_word(word)
    korean_shaped = len(word) == 3 and word[0] in res.rules.korean_surnames
    return not korean_shaped and len(tokens) == 1 and (tokens[0].tag == "NNP" or getattr(tokens[0], "oov", False))


def _bare_word(word: str, res: Resources) -> bool:
    """A Hangul word with nothing grammatical in it (no particle, ending or verb): 두세 in 그레고리 두세."""
    if not re.fullmatch(r"[가-힣]{2,6}", word) or word in res.rules.not_names \
            or word.endswith(res.rules.institution_suffixes) or word.endswith(res.rules.org_suffixes):
        return False
    tokens = res.analyze_word(word)[0]
    return not any(t.tag.startswith(("J", "E", "V", "X")) for t in tokens)


def _short(entry: Entry) -> str:
    return re.sub(r"(특별자치시|특별자치도|특별시|광역시)$", "", entry.name)


def _name_before(words: list[tuple[str, int]], j: int, res: Resources) -> str | None:
    rules = res.rules
    if j < 0:
        return None
    listed = words[j][0][:1] in _BULLETS  # ▲김칠태 홍보담당관: a list of officials, one name a bullet
    word = words[j][0].lstrip(_BULLETS)
    if word.endswith(tuple(_QUOTE_CLOSE)) or word.endswith(("’,", "”,")):
        # A quoted name, possibly with a space or comma inside: ‘커, 원저’
        parts = [word]
        k = j
        while not parts[0].lstrip().startswith(tuple(_QUOTE_OPEN)) and k > 0 and len(parts) < 5:
            k -= 1
            parts.insert(0, words[k][0])
        joined = re.sub(r"[\s,·" + _QUOTE_OPEN + _QUOTE_CLOSE + "]", "", " ".join(parts))
        if re.fullmatch(r"[가-힣]{2,5}", joined):
            return joined
        # ‘빅토르 휴고 리베라 차베즈’ 아레키파 시장: a foreign name of several words, quoted whole
        spaced = re.sub("[" + _QUOTE_OPEN + _QUOTE_CLOSE + "]", "", " ".join(parts)).strip()
        return spaced if re.fullmatch(r"[가-힣]{1,6}(?: [가-힣]{1,6}){1,4}", spaced) else None
    if word.endswith((",", "·")):
        return None  # 총리, 빈증성장, 투저우못시 서기장: a list item, not the name before the title
    word = word.strip(".")
    if word.endswith(rules.institution_suffixes) or word.endswith(rules.org_suffixes):
        return None  # 구의회 의장, 휴먼재단 이사장: an institution, not a name
    if _HANGUL_NAME.match(word) and word not in rules.not_names and _role_split(word, rules) is None \
            and not _place_reference(word, res) and (looks_like_name(word, res) or (listed and len(word) == 3)):
        return word
    return None


def _place_reference(word: str, res: Resources) -> bool:
    """빈증성장, 청두시민: a place name with a place suffix, never a person's name."""
    g = res.gazetteer
    return any(word[:k] in g.by_surface and word[k:] in res.rules.place_suffixes for k in range(2, len(word)))


# Kiwi scores a word it knows (분야, 총리: about -18) far above one it has never seen (뤄챵: -30).
_UNKNOWN_WORD_SCORE = -24.0


def looks_like_name(word: str, res: Resources) -> bool:
    """A Korean personal name Kiwi knows (NNP), a 3-syllable word with a Korean surname, or a word
    Kiwi has never seen (transliterated foreign names: 후헝화, 뤄챵)."""
    rules = res.rules
    tokens, score = res.analyze_word(word)
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


