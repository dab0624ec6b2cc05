"""Gazetteer coverage: the share of gold foreign partner names the gazetteer knows.

    python -m services.tagger.coverage ../shared/gold/seeds.json tests/fixtures/gold.json tests/devset/parts/*.gold.json

Gold is in the format of shared/gold/seeds.json: {article id: {"partners": [{"name", "aliases", "country"}, ...],
"partners_optional": ["name", ...], ...}}. Every distinct Hangul spelling of a partner (its name and aliases,
and each optional partner) is one item; it is known when the gazetteer has that exact surface for a foreign
place (city or region) in the gold country (any country for optional partners, which carry none), or when
the matcher finds it as such a name plus a place suffix (리옹시, 풀러턴 시: Gazetteer.find matches 리옹 + 시),
or, written in several words (포산시 난하이구, 도쿄 스미다구), when every word is known (the last one as the
partner, the others as places or countries). Spellings without Hangul (Cerro Navia, The State of Jalisco) are
not the gazetteer's business and are not counted.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FOREIGN_KINDS = ("foreign_city", "foreign_region")
_HANGUL = re.compile(r"[가-힣]")


@dataclass(frozen=True)
class Coverage:
    known: int
    total: int
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (surface, country or "")
    wrong_country: list[tuple[str, str]] = field(default_factory=list)  # known, but only in another country

    @property
    def share(self) -> float:
        return self.known / self.total if self.total else 1.0


def gold_surfaces(gold: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Distinct (surface, country) pairs of the gold foreign partners, in order of first appearance."""
    out: dict[tuple[str, str], None] = {}
    for doc in gold.values():
        for p in doc.get("partners") or []:
            for s in [p.get("name") or "", *(p.get("aliases") or [])]:
                if _HANGUL.search(s):
                    out[(s.strip(), p.get("country") or "")] = None
        for p in doc.get("partners_optional") or []:
            name = p if isinstance(p, str) else p.get("name") or ""
            country = "" if isinstance(p, str) else p.get("country") or ""
            if _HANGUL.search(name):
                out[(name.strip(), country)] = None
    return list(out)


def _entries(by_surface: Mapping[str, list[Any]], surface: str, suffixes: tuple[str, ...],
             kinds: tuple[str, ...]) -> list[Any]:
    """The places ``surface`` names: itself, or a known name followed by a place suffix."""
    found = [e for e in by_surface.get(surface, []) if e.kind in kinds]
    for suffix in suffixes:
        stem = surface[:-len(suffix)].rstrip()
        if not found and surface.endswith(suffix) and len(stem) >= 2:
            found = [e for e in by_surface.get(stem, []) if e.kind in kinds]
    return found


def coverage(gold: Mapping[str, Mapping[str, Any]], gazetteer: Any,
             suffixes: tuple[str, ...] | None = None) -> Coverage:
    """Pure: which gold partner spellings ``gazetteer.by_surface`` knows as a foreign place of their country.
    ``suffixes``: what may follow a name (rules.json place_suffixes by default)."""
    if suffixes is None:
        from services.tagger.rules import load_rules

        suffixes = tuple(load_rules().place_suffixes)
    suffixes = tuple(sorted(suffixes, key=len, reverse=True))
    known = 0
    unknown: list[tuple[str, str]] = []
    wrong: list[tuple[str, str]] = []
    for surface, country in gold_surfaces(gold):
        entries = _entries(gazetteer.by_surface, surface, suffixes, FOREIGN_KINDS)
        words = surface.split()
        if not entries and len(words) > 1 and all(
                _entries(gazetteer.by_surface, w, suffixes, (*FOREIGN_KINDS, "country")) for w in words[:-1]):
            entries = _entries(gazetteer.by_surface, words[-1], suffixes, FOREIGN_KINDS)
        if any(not country or e.country == country for e in entries):
            known += 1
        else:
            unknown.append((surface, country))
            if entries:
                wrong.append((surface, country))
    return Coverage(known, known + len(unknown), unknown, wrong)


def load_gold(paths: Iterable[Path]) -> dict[str, Any]:
    gold: dict[str, Any] = {}
    for path in paths:
        gold.update(json.loads(Path(path).read_text(encoding="utf-8")))
    return gold


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gold", nargs="+", type=Path, help="gold files; each is reported, then all together")
    ap.add_argument("--unknown", action="store_true", help="list the spellings the gazetteer does not know")
    args = ap.parse_args(argv)
    from services.tagger.gazetteer import Gazetteer

    g = Gazetteer()
    groups = [(str(p), [p]) for p in args.gold]
    if len(groups) > 1:
        groups.append(("all", list(args.gold)))
    for label, paths in groups:
        c = coverage(load_gold(paths), g)
        print(f"{label}: {c.known}/{c.total} = {c.share:.3f}")
        if args.unknown and c.unknown:
            print("  unknown: " + ", ".join(f"{s} ({cc})" if cc else s for s, cc in c.unknown))


if __name__ == "__main__":
    main()
