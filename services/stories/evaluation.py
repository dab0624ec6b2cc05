"""Pairwise precision and recall of stories and copies against gold clusters (`citydesk eval --stories`).

Articles are placed one by one, in the order given, through the same `place` the stream uses, on a
`MemoryWindow`; relabelling (two stories found to be one, an older copy arriving late) is applied as it
happens. A pair counts once: same story predicted and in gold, and so on.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas import TaggedArticle
from services.stories.core import StoryParams, fingerprint, load_params
from services.stories.window import MemoryWindow, place


def assign(articles: Sequence[TaggedArticle], params: StoryParams | None = None) -> dict[str, tuple[str, str | None]]:
    """article id → (story id, duplicate_of) after placing every article in order."""
    params = params or load_params()
    window = MemoryWindow(params)
    assigned: dict[str, tuple[str, str | None]] = {}
    for article in articles:
        fp = fingerprint(article, params)
        decision = place(fp, window, params)
        window.add(fp, decision)
        assigned[fp.article_id] = (decision.story_id, decision.duplicate_of)
        assigned.update(decision.relabel)  # the window may have evicted some of these already
    return assigned


def _pairs(groups: Iterable[Iterable[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(set(g)), 2)}


def _prf(predicted: set[frozenset[str]], gold: set[frozenset[str]]) -> dict[str, Any]:
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(gold) if gold else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "pairs_predicted": len(predicted),
            "pairs_gold": len(gold), "false": sorted(sorted(x) for x in predicted - gold),
            "missed": sorted(sorted(x) for x in gold - predicted)}


def score(assigned: dict[str, tuple[str, str | None]], stories: list[list[str]],
          duplicates: list[list[str]]) -> dict[str, Any]:
    by_story: dict[str, list[str]] = {}
    for article_id, (story_id, _) in assigned.items():
        by_story.setdefault(story_id, []).append(article_id)
    predicted_dups = {frozenset((a, d)) for a, (_, d) in assigned.items() if d}
    return {"story": _prf(_pairs(by_story.values()), _pairs(stories)),
            "duplicate": _prf(predicted_dups, _pairs(duplicates))}


def _tagged(article_id: str, body: str, published: str | None = None) -> TaggedArticle:
    from schemas import RawArticle
    from services.cleaner import clean
    from services.tagger import tag

    article = clean(RawArticle(id=article_id, body=body))
    if published:
        article = article.model_copy(update={"published_at": datetime.fromisoformat(published)})
    return tag(article)


def fixture_set(folder: Path) -> tuple[list[TaggedArticle], list[list[str]], list[list[str]]]:
    """Our own story fixtures: gold.json names the stories, the copies and each article's date."""
    gold = json.loads((folder / "gold.json").read_text(encoding="utf-8"))
    articles = [_tagged(f.stem, f.read_text(encoding="utf-8"), gold["published"].get(f.stem))
                for f in sorted(folder.glob("*.txt"))]
    return articles, gold["stories"], gold.get("duplicates", [])


def devset_set(gold: dict[str, Any], cache: Path, extra: dict[str, str]) -> tuple[list[TaggedArticle],
                                                                                  list[list[str]], list[list[str]]]:
    """The real-page set: its gold marks pages on one event with story_note ("same event as g1_03")."""
    articles = [_tagged(key, (cache / g["file"]).read_text(encoding="utf-8")) for key, g in sorted(gold.items())]
    articles += [_tagged(key, body) for key, body in sorted(extra.items())]
    stories = [[key, m.group(0)] for key, g in gold.items()
               if (m := re.search(r"g\d_\d+", g.get("story_note") or ""))]
    return articles, stories, []



def report(folder: Path, devset: tuple[dict[str, Any], Path] | None, seeds: Path | None) -> dict[str, Any]:
    """Both levels on our fixtures and, when its cache is present, on the real-page set (with seeds 001 and 003,
    one meeting reported by two outlets), each placed in two orders: as listed, and reversed."""
    out: dict[str, Any] = {}
    sets = {"fixtures": fixture_set(folder)}
    if devset is not None:
        gold, cache = devset
        extra = {f.stem: f.read_text(encoding="utf-8") for f in sorted(seeds.glob("*.txt"))} if seeds else {}
        articles, stories, duplicates = devset_set(gold, cache, extra)
        judged = cache.parent / "stories.json"
        if judged.exists():
            data = json.loads(judged.read_text(encoding="utf-8"))
            stories, duplicates = data["stories"], data.get("duplicates", [])
        seed_pair = [k for k in extra if k.startswith(("001_", "003_"))]
        sets["devset"] = (articles, stories + ([seed_pair] if len(seed_pair) == 2 else []), duplicates)
    for name, (articles, stories, duplicates) in sets.items():
        out[name] = {order: score(assign(list(seq)), stories, duplicates)
                     for order, seq in (("listed", articles), ("reversed", list(reversed(articles))))}
    return out


def format_story_report(rep: dict[str, Any]) -> str:
    lines = []
    for name, orders in rep.items():
        for order, levels in orders.items():
            parts = [f"{level} precision {r['precision']} recall {r['recall']} "
                     f"({r['pairs_predicted']} pairs predicted, {r['pairs_gold']} in gold)"
                     for level, r in levels.items()]
            lines.append(f"{name:<9} {order:<9} " + "; ".join(parts))
            for level, r in levels.items():
                lines += [f"    {level} false: {' / '.join(p)}" for p in r["false"]]
                lines += [f"    {level} missed: {' / '.join(p)}" for p in r["missed"]]
    return "\n".join(lines)
