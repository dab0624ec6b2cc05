"""Stories and ties at scale: the window's memory from 10k to 100k articles, and the register built for 10k.

    .venv/bin/python tools/stories_bench.py [--window 100000] [--register 10000] [--json]

Articles: every text the project has (the examples, the fixtures, the story fixtures, the shared seeds) cleaned and
tagged once, then copied: each copy gets its own id, a date that advances through 2015–2025 and a few words of its
own at the end of its body (so copies of one text are near-duplicates, as reprints are, not identical).

1. Window memory (MemoryWindow, the in-process window `citydesk eval --stories` uses and the indexer uses for one
   batch): every copy is fingerprinted and placed in date order; at 10k, 25k, 50k and 100k articles the window's
   size (articles held), the Python heap it holds (tracemalloc) and the process's RSS are read. The window evicts
   what is older than twice window_days behind the newest date, so its memory should stay flat. The stream's own
   window is the search store (services/indexer/placement.py): the indexer holds one batch whatever the archive.
2. Register: N copies written to a fresh embedded store (plain writes), then `citydesk ties rebuild`'s function timed
   (read every article back, fold every tie, replace the register). Target (issue 14): under a minute for 10k.
3. The stream's path for the same N: index_batch in the indexer's batches (CITYDESK_BATCH_SIZE, 500 by default:
   placement against the store, write, relabels, ties updated), timed, with the process's peak RSS before and after.
4. Cost on real pages (--cost): the stories' placement against the tagger, as `citydesk bench` measures it (best of
   three each, CPU), on the real-page dev set's cached pages and the seeds instead of the bench's short texts.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemas import TaggedArticle  # noqa: E402
from tools.desk_bench import originals as tagged_originals  # noqa: E402

KST = timezone(timedelta(hours=9))
SOURCES = (ROOT.parent / "shared" / "seeds", ROOT / "services" / "assets" / "examples", ROOT / "tests" / "fixtures" /
           "raw", ROOT / "tests" / "fixtures" / "heldout" / "raw", ROOT / "tests" / "fixtures" / "stories")
WORDS = ("협력", "교류", "방문", "도시", "시장", "행사", "경제", "문화", "관광", "청년", "기업", "포럼")


def originals() -> list[TaggedArticle]:
    return tagged_originals(SOURCES)


def copies(base: list[TaggedArticle], n: int, seed: int = 7) -> Iterator[TaggedArticle]:
    """n copies in date order over 2015–2025, each with its own id and a few words of its own (made one at a time:
    the window's memory is measured, not the benchmark's)."""
    rng = random.Random(seed)
    start, span = datetime(2015, 1, 1, 9, tzinfo=KST), timedelta(days=3650)
    for i in range(n):
        a = base[i % len(base)]
        when = start + span * (i / n)
        extra = " ".join(rng.choice(WORDS) for _ in range(6))
        yield a.model_copy(update={"id": f"bench-{i:06d}", "url": f"https://bench.citydesk.invalid/{i}",
                                   "published_at": when, "body": f"{a.body}\n\n{extra} {i}"})


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def window_memory(base: list[TaggedArticle], n: int) -> list[dict]:
    from services.stories.core import fingerprint
    from services.stories.window import MemoryWindow, place

    window = MemoryWindow()
    marks = sorted({m for m in (10_000, 25_000, 50_000, 100_000, n) if m <= n})
    rows, started = [], time.perf_counter()
    tracemalloc.start()
    placed_s = 0.0
    for i, article in enumerate(copies(base, n), start=1):
        fp = fingerprint(article)
        t = time.perf_counter()
        window.add(fp, place(fp, window))
        placed_s += time.perf_counter() - t
        if i in marks:
            heap, _ = tracemalloc.get_traced_memory()
            rows.append({"articles": i, "window_articles": len(window), "window_keys": len(window.by_key),
                         "heap_mb": round(heap / 2**20, 1), "rss_mb": round(rss_mb()),
                         "place_ms_per_article": round(1000 * placed_s / i, 3),
                         "elapsed_s": round(time.perf_counter() - started, 1)})
            print(f"window: {rows[-1]}", file=sys.stderr, flush=True)
    tracemalloc.stop()
    return rows


def register(base: list[TaggedArticle], n: int) -> dict:
    from services.indexer.embedded import EmbeddedStore
    from services.indexer.placement import index_batch, rebuild_ties
    from services.indexer.store import SearchQuery
    from services.settings import Settings

    articles = list(copies(base, n))
    out: dict = {"articles": n}
    with tempfile.TemporaryDirectory(dir=ROOT / ".citydesk") as tmp:
        store = EmbeddedStore(Path(tmp) / "plain", writer=True)
        t = time.perf_counter()
        for i in range(0, n, 500):
            store.write(articles[i:i + 500])
        out["plain_write_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        read, ties, _ = rebuild_ties(store)
        out.update(rebuild_s=round(time.perf_counter() - t, 1), rebuild_read=read, ties=ties)
        store.close()
        print(f"register: {out}", file=sys.stderr, flush=True)

        store = EmbeddedStore(Path(tmp) / "stream", writer=True)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        batch = Settings().batch_size
        for i in range(0, n, batch):
            index_batch(store, articles[i:i + batch])
        out.update(batch=batch, index_batch_s=round(time.perf_counter() - t, 1),
                   index_batch_ms_per_article=round(1000 * (time.perf_counter() - t) / n, 2),
                   peak_rss_mb_before=round(rss_before),
                   peak_rss_mb_after=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                   stories=store.search(SearchQuery(stories=True, limit=1)).stories,
                   ties_streamed=len(store.read_ties()))
        store.close()
    print(f"register: {out}", file=sys.stderr, flush=True)
    return out


def real_page_cost() -> dict:
    from schemas import RawArticle
    from services.cleaner import CleaningError, clean
    from services.feed import content_type_for
    from services.indexer.embedded import EmbeddedStore
    from services.indexer.placement import index_batch, place_batch
    from services.stories import load_params
    from services.tagger import tag

    paths = sorted((ROOT / "tests" / "devset" / "cache").glob("*")) + sorted(SOURCES[0].glob("*.txt"))
    cleaned = []
    for path in paths:
        try:
            cleaned.append(clean(RawArticle(url=f"https://bench.citydesk.invalid/{path.stem}",
                                            body=path.read_text(encoding="utf-8"),
                                            content_type=content_type_for(path))))  # type: ignore[arg-type]
        except CleaningError:
            continue
    tagged = [tag(c) for c in cleaned]
    tagger = min(_cpu(lambda: [tag(c) for c in cleaned]) for _ in range(3))
    params, stories = load_params(), 0.0
    with tempfile.TemporaryDirectory(dir=ROOT / ".citydesk") as tmp:
        store = EmbeddedStore(Path(tmp) / "store", writer=True)
        for i in range(0, len(tagged), 20):
            batch = tagged[i:i + 20]
            stories += min(_cpu(lambda b=batch: place_batch(store, b, params)) for _ in range(3))
            index_batch(store, batch, params)
        store.close()
    n = max(len(tagged), 1)
    return {"articles": len(tagged), "mean_chars": round(sum(len(a.title) + len(a.body) for a in tagged) / n),
            "tagger_ms": round(1000 * tagger / n, 2), "stories_ms": round(1000 * stories / n, 3),
            "stories_vs_tagger": round(stories / tagger, 3) if tagger else None}


def _cpu(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    fn()
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=100_000, help="articles through the MemoryWindow (0: skip)")
    parser.add_argument("--register", type=int, default=10_000, help="articles for the register (0: skip)")
    parser.add_argument("--cost", action="store_true", help="also the stories' cost against the tagger on real pages")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    (ROOT / ".citydesk").mkdir(exist_ok=True)
    base = originals()
    print(f"{len(base)} original articles", file=sys.stderr, flush=True)
    report = {"originals": len(base)}
    if args.window:
        report["window"] = window_memory(base, args.window)
    if args.register:
        report["register"] = register(base, args.register)
    if args.cost:
        report["cost"] = real_page_cost()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for row in report.get("window", []):
            print("window  " + "  ".join(f"{k} {v}" for k, v in row.items()))
        for name in ("register", "cost"):
            if name in report:
                print(f"{name}  " + "  ".join(f"{k} {v}" for k, v in report[name].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
