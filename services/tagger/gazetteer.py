"""Gazetteers (data/*.tsv) and the matcher that finds their names in text.

Matching rules, each guarding against a false place seen in practice:
- a name must start at a word or morpheme boundary (no 대구 inside 연대구조);
- it must end at a morpheme boundary, at non-Hangul text, or before a suffix such as 시/성/시장
  (청두시장 → 청두 + 시장) or a particle (앵커리지와: Kiwi reads it as one token) — rules.json;
- a two-syllable name also needs Kiwi to read it as a proper noun, a suffix after it, or its full
  name elsewhere in the same article (나라, 구조 are common words); inside a word (수원화성) only the
  full name elsewhere will do;
- names in stoplist.txt never match.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick

from services.analysis import Token
from services.tagger.rules import load_rules

DATA = Path(__file__).with_name("data")
_HANGUL = re.compile(r"[가-힣]")
_NON_HANGUL = re.compile(r"[^가-힣]")
KIND_PRIORITY = {"korean_local_gov": 0, "country": 1, "foreign_region": 2, "foreign_city": 3}


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    country: str
    name_en: str | None
    lat: float | None
    lon: float | None
    population: int = 0
    level: str | None = None  # korean_local_gov: sido | sigungu
    parent: str | None = None  # korean_local_gov sigungu: its sido (서울특별시), or its city for 수원시 장안구


@dataclass(frozen=True)
class Mention:
    entry: Entry
    surface: str
    start: int
    end: int


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _read_tsv(name: str) -> Iterable[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        yield from csv.DictReader(fh, delimiter="\t")


def _split(aliases: str) -> list[str]:
    return [a for a in (aliases or "").split("|") if a]


class Gazetteer:
    def __init__(self) -> None:
        self.stoplist = {w.strip() for w in (DATA / "stoplist.txt").read_text(encoding="utf-8").splitlines()
                         if w.strip() and not w.startswith("#")}
        self.by_surface: dict[str, list[Entry]] = {}
        self.by_name: dict[str, Entry] = {}
        self.districts: dict[str, list[Entry]] = {}
        for row in _read_tsv("korean_govs.tsv"):
            e = Entry(row["name"], "korean_local_gov", "KR", row["name_en"] or None, _float(row["lat"]),
                      _float(row["lon"]), level=row["level"], parent=row.get("parent") or None)
            surfaces = [row["name"], *_split(row["aliases"])]
            self._add(e, surfaces)
            # A district or county by its bare name (중구, 마포구, 인천 남구's 남구): the candidates
            # resolve_district chooses from.
            for bare in dict.fromkeys(s.split()[-1] for s in surfaces if " " in s):
                self.districts.setdefault(bare, []).append(e)
        country_extra: dict[str, list[str]] = {}
        for row in _read_tsv("country_aliases.tsv"):
            country_extra.setdefault(row["iso2"], []).extend(_split(row["aliases"]))
        for row in _read_tsv("countries.tsv"):
            e = Entry(row["name"], "country", row["iso2"], row["name_en"], _float(row["lat"]), _float(row["lon"]))
            self._add(e, [row["name"], *_split(row["aliases"]), *country_extra.get(row["iso2"], [])])
        for filename in ("curated_places.tsv", "foreign_places.tsv"):
            for row in _read_tsv(filename):
                e = Entry(row["name"], row["kind"], row["country"], row["name_en"] or None, _float(row["lat"]),
                          _float(row["lon"]), int(row["population"] or 0))
                self._add(e, [row["name"], *_split(row["aliases"])])
        for entries in self.by_surface.values():
            entries.sort(key=lambda e: (KIND_PRIORITY[e.kind], -e.population))
        # Every surface in one Aho-Corasick automaton: one pass over an article finds them all (in C).
        self.automaton = ahocorasick.Automaton()
        for surface in self.by_surface:
            self.automaton.add_word(surface, len(surface))
        self.automaton.make_automaton()
        self.countries = {e.country: e for es in self.by_surface.values() for e in es if e.kind == "country"}

    def _add(self, entry: Entry, surfaces: list[str]) -> None:
        first = self.by_name.setdefault(entry.name, entry)
        if first is not entry and (first.country, first.kind) == (entry.country, entry.kind):
            return  # curated rows come first and win over a source's row of the same name
        for surface in dict.fromkeys(surfaces):
            if surface in self.stoplist or (len(surface) < 2 and _HANGUL.search(surface)):
                continue
            self.by_surface.setdefault(surface, []).append(entry)

    def find(self, text: str, tokens: list[Token]) -> list[Mention]:
        """Every place mention in ``text``, longest match first, no overlaps."""
        starts = {t.start for t in tokens}
        ends = {t.end for t in tokens}
        proper = {(t.start, t.end) for t in tokens if t.tag == "NNP"}
        rules = load_rules()
        candidates: list[Mention] = []
        n = len(text)
        # A name can start only where a morpheme starts or after non-Hangul text (中충칭, "청두"), and end only at a
        # morpheme end, before non-Hangul text, or before a suffix or particle (청두시장 → 청두 + 시장).
        followers = rules.place_followers
        # At each start the longest name that ends well; a name inside one already taken is not another.
        longest: dict[int, int] = {}
        for last, length in self.automaton.iter(text):
            start, end = last + 1 - length, last + 1
            if length <= longest.get(start, 0):
                continue
            starts_well = start == 0 or start in starts or not _HANGUL.match(text[start - 1])
            ends_well = (end == n or end in ends or not _HANGUL.match(text[end]) or text.startswith(followers, end))
            if starts_well and ends_well:
                longest[start] = length
        taken_until = 0
        for start in sorted(longest):
            if start >= taken_until:
                end = start + longest[start]
                candidates.append(Mention(self.by_surface[text[start:end]][0], text[start:end], start, end))
                taken_until = end
        # A name several places share (본시: Bonn or Vaughan; 시드니) is the one in a country the article names.
        named_countries = {m.entry.country for m in candidates if m.entry.kind == "country"}
        candidates = [self._in_named_country(m, named_countries) for m in candidates]
        full_names = {m.entry.name for m in candidates if len(m.surface) >= 3}
        return [m for m in candidates if self._confident(m, text, proper, full_names, rules.place_suffixes)]

    def _in_named_country(self, m: Mention, countries: set[str]) -> Mention:
        entries = self.by_surface[m.surface]
        if len(entries) > 1 and m.entry.country not in countries:
            for e in entries:
                if e.country in countries and e.kind == m.entry.kind:
                    return Mention(e, m.surface, m.start, m.end)
        return m

    @staticmethod
    def _confident(m: Mention, text: str, proper: set[tuple[int, int]], full_names: set[str],
                   suffixes: tuple[str, ...]) -> bool:
        if len(m.surface) >= 3 or not _HANGUL.search(m.surface):
            return True
        if m.surface == m.entry.name and m.surface.endswith(("시", "성", "주", "현")) and m.entry.kind != "country":
            return True  # 본시, 빈시: a one-syllable name written with its administrative suffix
        if m.start > 0 and _HANGUL.match(text[m.start - 1]):
            return m.entry.name in full_names  # 화성 inside 수원화성 (a fortress): only if 화성시 is named too
        return ((m.start, m.end) in proper or m.entry.name in full_names
                or (text.startswith(suffixes, m.end) and not text.startswith("도", m.end)))


# What may follow a bare district name: 중구청, 중구의회, 중구민, a particle, or no Hangul at all.
_DISTRICT_FOLLOWERS = frozenset("청의민은는이가을를와과에도로")
_SENTENCE_BREAK = re.compile(r"\n|[.!?](?:\s|$)")


def resolve_district(text: str, mentions: Sequence[Mention], districts: Mapping[str, Sequence[Entry]],
                     window: int = 40) -> list[Mention]:
    """Korean districts and counties written by their bare name (중구, 북구, 강서구, 고성군 …) that ``mentions``
    did not cover, each resolved by the Korean government named nearest to it in the same sentence: a city
    (울산 북구, 부산시 강서구청), or another district of the same city (해운대구와 중구). A name only one
    government has needs no city; one several have and no city nearby (서구 문화: the West) is left out.

    ``districts`` is Gazetteer.districts (bare name → candidates, each with its ``parent``). Pure: the
    tagger merges the result into its mentions."""
    if not districts:
        return []
    pattern = _district_pattern(frozenset(districts))
    korean = sorted((m for m in mentions if m.entry.kind == "korean_local_gov"), key=lambda m: m.start)
    covered = [(m.start, m.end) for m in mentions]
    out: list[Mention] = []
    for hit in pattern.finditer(text):
        start, end = hit.span()
        if end < len(text) and _HANGUL.match(text[end]) and text[end] not in _DISTRICT_FOLLOWERS:
            continue  # 중구난방, 서구적
        if any(s < end and start < e for s, e in covered):
            continue
        candidates = districts[hit.group()]
        entry = _by_nearest_city(text, start, end, korean, candidates, window)
        if entry is None and len(candidates) == 1:
            entry = candidates[0]
        if entry is not None:
            out.append(Mention(entry, hit.group(), start, end))
    return out


@cache
def _district_pattern(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![가-힣])(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + ")")


def _by_nearest_city(text: str, start: int, end: int, korean: Sequence[Mention], candidates: Sequence[Entry],
                     window: int) -> Entry | None:
    def gap(m: Mention) -> int:
        return start - m.end if m.end <= start else m.start - end

    near = [m for m in korean if not (m.start < end and start < m.end) and 0 <= gap(m) <= window
            and not _SENTENCE_BREAK.search(text[m.end:start] if m.end <= start else text[end:m.start])]
    # nearest first; at equal distance the one in front (울산 북구) before the one after
    for m in sorted(near, key=lambda m: (gap(m), m.start > start)):
        for e in candidates:
            if m.entry.name == e.parent or (m.entry.level == "sigungu" and m.entry.parent == e.parent):
                return e
    return None


@cache
def gazetteer() -> Gazetteer:
    return Gazetteer()
