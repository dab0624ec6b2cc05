"""Sector scoring against the fixed taxonomy in data/sectors.json."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick

from schemas import Sector

SECTORS_FILE = Path(__file__).with_name("data") / "sectors.json"


@dataclass(frozen=True)
class Taxonomy:
    min_score: float
    min_share: float
    sectors: tuple[tuple[str, str, str, dict[str, float]], ...]  # code, ko, en, terms

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(s[0] for s in self.sectors)


@cache
def taxonomy() -> Taxonomy:
    data = json.loads(SECTORS_FILE.read_text(encoding="utf-8"))
    return Taxonomy(data["min_score"], data["min_share"],
                    tuple((s["code"], s["ko"], s["en"], s["terms"]) for s in data["sectors"]))


@cache
def _pattern(term: str) -> re.Pattern[str]:
    if term.isascii():  # AI, ICT, MOU: whole tokens only, not inside other words
        return re.compile(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])")
    if " " in term:  # a phrase starts a word: 경제 협력 is not in 수소경제 협력
        return re.compile(rf"(?<![가-힣]){re.escape(term)}")
    return re.compile(re.escape(term))


_AUTOMATA: dict[int, tuple[Taxonomy, ahocorasick.Automaton]] = {}


def _automaton(tax: Taxonomy) -> ahocorasick.Automaton:
    """Every term of the taxonomy in one Aho-Corasick automaton: one pass over a text finds them all."""
    if id(tax) not in _AUTOMATA:
        by_term: dict[str, list[str]] = {}
        for code, _ko, _en, terms in tax.sectors:
            for term in terms:
                by_term.setdefault(term, []).append(code)
        automaton = ahocorasick.Automaton()
        for term, codes in by_term.items():
            automaton.add_word(term, (term, tuple(codes)))
        automaton.make_automaton()
        _AUTOMATA[id(tax)] = (tax, automaton)
    return _AUTOMATA[id(tax)][1]


def _occurrences(text: str, tax: Taxonomy) -> dict[str, list[str]]:
    """Each sector's matched terms, longest match first across the whole taxonomy: a term inside a longer
    matched term (전시 in 기술전시회, 산업 in 물산업) does not count for its own sector."""
    candidates = []
    for last, (term, codes) in _automaton(tax).iter(text):
        start = last + 1 - len(term)
        if _pattern(term).match(text, start):  # its boundaries (AI not in SAID; a phrase starts a word)
            candidates += [(start, last + 1, code, term) for code in codes]
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
    taken = bytearray(len(text))
    found: dict[str, list[str]] = {}
    for start, end, code, term in candidates:
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        found.setdefault(code, []).append(term)
    return found


def score_sectors(title: str, body: str, tax: Taxonomy | None = None) -> list[Sector]:
    tax = tax or taxonomy()
    weights = {code: terms for code, _ko, _en, terms in tax.sectors}
    in_body, in_title = _occurrences(body, tax), _occurrences(title, tax)
    scored = []
    for code, _ko, _en, _terms in tax.sectors:
        hits = in_body.get(code, []) + 2 * in_title.get(code, [])
        if hits:
            score = sum(weights[code][t] for t in hits)
            scored.append((code, round(score, 2), sorted(set(hits), key=hits.index)))
    if not scored:
        return []
    top = max(s for _, s, _ in scored)
    keep = [s for s in scored if s[1] >= tax.min_score and s[1] >= tax.min_share * top]
    return [Sector(code=c, score=s, evidence=e) for c, s, e in sorted(keep, key=lambda x: -x[1])]
