"""Tie-level figures (issue 14): the register folded from the tagged articles, scored against the ties the gold's
relations describe.

A gold tie is a (Korean government, partner) pair named by any gold relation; its kinds are the union of those
relations' kinds, and its `since` the year any of them states. The predicted register is `services.ties.build` over
the tagged articles, with each relation's names first mapped to the gold names they stand for (the caller does
that per article, as the article-level figures do), so what is scored is the fold itself:
- pairs: precision and recall of the register's ties;
- kinds: of (tie, kind);
- since where stated: a gold tie with a stated year counts as right when the register's tie has that year from a
  stated sentence (`since_source == "stated"`), not from its first evidence date.
Pairs the gold lists as optional count neither for nor against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import TaggedArticle
from services.ties.register import build

Pair = tuple[str, str]


@dataclass
class GoldTies:
    kinds: dict[Pair, set[str]] = field(default_factory=lambda: defaultdict(set))
    since: dict[Pair, set[int]] = field(default_factory=lambda: defaultdict(set))
    optional: set[Pair] = field(default_factory=set)

    def add(self, relations: Iterable[dict[str, Any]], optional: Iterable[Pair] = ()) -> None:
        for r in relations:
            pair = (r["korean"], r["partner"])
            self.kinds[pair].update(r.get("kinds", []))
            if r.get("since"):
                self.since[pair].add(int(r["since"]))
        self.optional.update(optional)


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def score_ties(articles: Sequence[TaggedArticle], gold: GoldTies) -> dict[str, Any]:
    """Pairs, kinds and stated `since` of the register built from `articles` against `gold`; `misses` lists each
    error as a line."""
    register = {(t.korean_party, t.partner): t for t in build(articles)}
    ignored = gold.optional - set(gold.kinds)
    predicted = set(register) - ignored
    expected = set(gold.kinds)
    misses = [f"tie false positive: {p}" for p in sorted(predicted - expected)]
    misses += [f"tie missed: {p}" for p in sorted(expected - predicted)]
    kinds_pred = {(p, k.kind) for p in predicted for k in register[p].kinds}
    kinds_gold = {(p, k) for p, ks in gold.kinds.items() for k in ks}
    misses += [f"tie kind false positive: {x}" for x in sorted(kinds_pred - kinds_gold)]
    misses += [f"tie kind missed: {x}" for x in sorted(kinds_gold - kinds_pred)]
    stated_right = 0
    for pair, years in sorted(gold.since.items()):
        tie = register.get(pair)
        got = (tie.since, tie.since_source) if tie else None
        if tie and tie.since_source == "stated" and tie.since in years:
            stated_right += 1
        else:
            misses.append(f"tie since: {pair} {got}, gold {sorted(years)}")
    return {
        "pairs": _prf(len(predicted & expected), len(predicted - expected), len(expected - predicted)),
        "kinds": _prf(len(kinds_pred & kinds_gold), len(kinds_pred - kinds_gold), len(kinds_gold - kinds_pred)),
        "since_accuracy": round(stated_right / len(gold.since), 3) if gold.since else None,
        "since_stated": len(gold.since),
        "misses": misses,
    }
