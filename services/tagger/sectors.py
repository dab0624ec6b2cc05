"""Sector scoring against the fixed taxonomy in data/sectors.json."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


def _spans(term: str, text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _pattern(term).finditer(text)]


def _occurrences(text: str, tax: Taxonomy) -> dict[str, list[str]]:
    """Each sector's matched terms, longest match first across the whole taxonomy: a term inside a longer
    matched term (전시 in 기술전시회, 산업 in 물산업) does not count for its own sector."""
    candidates = [(start, end, code, term) for code, _ko, _en, terms in tax.sectors for term in terms
                  if term in text for start, end in _spans(term, text)]  # most terms are absent: one test each
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
