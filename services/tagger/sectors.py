"""Sector scoring against the fixed taxonomy in data/sectors.json."""

from __future__ import annotations

import json
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


def _count(term: str, text: str) -> int:
    if term.isascii():  # AI, ICT, MOU: whole tokens only, not inside other words
        import re

        return len(re.findall(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", text))
    return text.count(term)


def score_sectors(title: str, body: str) -> list[Sector]:
    tax = taxonomy()
    scored = []
    for code, _ko, _en, terms in tax.sectors:
        score, evidence = 0.0, []
        # A longer term that contains a shorter one (물산업 ⊃ 산업) counts once, as the longer.
        for term, weight in sorted(terms.items(), key=lambda kv: -len(kv[0])):
            n = _count(term, body) + 2 * _count(term, title)
            if n:
                score += weight * n
                evidence.append(term)
        if score:
            scored.append((code, round(score, 2), evidence))
    if not scored:
        return []
    top = max(s for _, s, _ in scored)
    keep = [s for s in scored if s[1] >= tax.min_score and s[1] >= tax.min_share * top]
    return [Sector(code=c, score=s, evidence=e) for c, s, e in sorted(keep, key=lambda x: -x[1])]
