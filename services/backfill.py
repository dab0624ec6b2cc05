"""`citydesk bench --backfill N`: an archive of N articles through a running pipeline, as an office loading its
archive would (`citydesk run --keep`, then `citydesk feed archive.jsonl`).

The archive: the bench's sources (services/bench.py SOURCE_DIRS: the shared seeds when present, our examples and
fixtures) cycled, each copy with its own id and URL, its dates rewritten to one that advances through 2015–2025 (so
copies of one text are reprints days apart, as a real archive's are, and the stories' window sees a moving date),
and a few words of its own at the end. Made one at a time, never held whole.

The run: a pipeline on the configured broker (CITYDESK_BROKER: tansu by default, or kafka) with one worker per
stage and `citydesk run`'s settings, in a data directory of its own; the archive fed in steps, the producer never
more than two steps ahead of the store, so the broker holds what a feed holds and the figures are the pipeline's,
not the producer's. At every step (default 5,000 articles): articles searchable, seconds for the step, the broker's
resident memory, the store's size on disk, the indexer's memory. At 10,000 and at N the feed pauses until the
pipeline is idle and search is timed: in this process (the store open, Kiwi loaded: what a server pays per query),
and through the CLI (`citydesk search` in a new process, without and with a running desk). Pauses are not counted
in the throughput.

Progress on stderr; `--json` prints one object at the end.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from schemas import RawArticle
from services.settings import Settings

KST = timezone(timedelta(hours=9))
WORDS = ("협력", "교류", "방문", "도시", "시장", "행사", "경제", "문화", "관광", "청년", "기업", "포럼")
# A full date as the pages print it: 2024.05.21, 2024-05-21, 2024/02/15, 2024년 5월 21일.
DATE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?P<sep1>[./-]|년 ?)\d{1,2}(?P<sep2>[./-]|월 ?)\d{1,2}(?P<end>일?)(?!\d)")
# What is searched at each checkpoint: words, a phrase, filters alone, and both (the CLI's forms).
QUERIES: tuple[tuple[str, ...], ...] = (
    ("협력",), ("자매결연",), ("스마트시티",), ('"스마트 시티"',), ("포럼", "--country", "CN"),
    ("--relation", "sister_city", "--since", "2020-01-01"), ("청두",), ("방문", "--sector", "smart_city"),
    (), ("경제", "교류"),
)


def _sources() -> list[tuple[str, str]]:
    from services.bench import SOURCE_DIRS
    from services.feed import content_type_for

    paths = sorted(p for d in SOURCE_DIRS if d.is_dir() for p in d.glob("*") if p.suffix in (".txt", ".html", ".htm"))
    if not paths:
        raise RuntimeError("no example articles found under examples/ or tests/fixtures/")
    return [(p.read_text(encoding="utf-8"), content_type_for(p)) for p in paths]


def redate(body: str, when: datetime) -> str:
    """Every full date in the page becomes `when`'s, in the page's own format."""
    def one(m: re.Match[str]) -> str:
        sep1, sep2 = m.group("sep1"), m.group("sep2")
        if sep1.startswith("년"):
            return f"{when.year}{sep1}{when.month}{sep2}{when.day}{m.group('end')}"
        return f"{when.year}{sep1}{when.month:02d}{sep2}{when.day:02d}{m.group('end')}"

    return DATE.sub(one, body)


def archive(n: int, seed: int = 7) -> Iterator[RawArticle]:
    """n raw articles, one at a time: the sources cycled, each with its own id, URL, date and closing words."""
    texts = _sources()
    rng = random.Random(seed)
    start, span = datetime(2015, 1, 1, 9, tzinfo=KST), timedelta(days=3650)
    for i in range(n):
        body, content_type = texts[i % len(texts)]
        when = start + span * (i / max(n, 1)) + timedelta(hours=rng.randint(0, 23))
        extra = " ".join(rng.choice(WORDS) for _ in range(6)) + f" {i}"
        body = redate(body, when)
        if content_type == "text/html":
            tail = f"<p>{extra}</p>"
            body = body.replace("</body>", f"{tail}</body>", 1) if "</body>" in body else body + tail
        else:
            body = f"{body}\n\n{extra}"
        yield RawArticle(id=f"backfill-{i:07d}", url=f"https://backfill.citydesk.invalid/{i}", body=body,
                         content_type=content_type, fetched_at=when)  # type: ignore[arg-type]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1) if path.exists() else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def progress(message: str) -> None:
    print(f"backfill: {message}", file=sys.stderr, flush=True)


def _query(args: tuple[str, ...]) -> Any:
    from services.cli import build_parser
    from services.indexer.store import SearchQuery

    a = build_parser().parse_args(["search", *args])
    return SearchQuery(text=" ".join(a.query), sector=a.sector, country=a.country, relation=a.relation,
                       since=a.since, limit=a.limit)


def search_in_process(cfg: Settings, rounds: int = 3) -> dict[str, Any]:
    """Every query `rounds` times on one open store (the first query, which loads Kiwi, timed apart)."""
    from services.indexer import open_store

    store = open_store(cfg)
    try:
        started = time.perf_counter()
        store.search(_query(QUERIES[0]))
        first = time.perf_counter() - started
        times = []
        for _ in range(rounds):
            for q in QUERIES:
                query = _query(q)
                started = time.perf_counter()
                store.search(query)
                times.append(time.perf_counter() - started)
    finally:
        store.close()
    return {"queries": len(times), "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(percentile(times, 0.95) * 1000, 1), "first_query_s": round(first, 2)}


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("citydesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


def search_cli(cfg: Settings, queries: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """`citydesk search` in a new process, as a user types it: wall time from start to exit."""
    from services.desk.server import child_env

    env = child_env(cfg)
    times = []
    for q in queries:
        started = time.perf_counter()
        done = subprocess.run([*cli_command(), "search", *q], env=env, capture_output=True, timeout=120)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"citydesk search {' '.join(q)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return {"queries": len(times), "p50_s": round(statistics.median(times), 2),
            "p95_s": round(percentile(times, 0.95), 2), "max_s": round(max(times), 2)}


def checkpoint_search(cfg: Settings, cli_queries: int) -> dict[str, Any]:
    from services.desk.server import start_background

    out: dict[str, Any] = {"in_process": search_in_process(cfg)}
    progress(f"  search in-process: p50 {out['in_process']['p50_ms']} ms, p95 {out['in_process']['p95_ms']} ms")
    picked = QUERIES[:cli_queries]
    out["cli_no_desk"] = search_cli(cfg, picked)
    progress(f"  citydesk search, no desk: p50 {out['cli_no_desk']['p50_s']} s, p95 {out['cli_no_desk']['p95_s']} s")
    desk = start_background(cfg, port=0)
    try:
        search_cli(cfg, picked[:1])  # the desk's first query loads Kiwi there
        out["cli_with_desk"] = search_cli(cfg, picked)
    finally:
        desk.stop()
    progress(f"  citydesk search, desk running: p50 {out['cli_with_desk']['p50_s']} s, "
             f"p95 {out['cli_with_desk']['p95_s']} s")
    return out


def tagged_copies(n: int, seed: int = 7) -> Iterator[Any]:
    """n tagged articles without the pipeline: each source cleaned and tagged once, then copied with the archive's
    ids, dates and closing words (the copies keep their source's tags and search terms)."""
    from services.cleaner import CleaningError, clean
    from services.tagger import tag

    base = []
    for raw in archive(len(_sources()), seed):
        try:
            base.append(tag(clean(raw)))
        except CleaningError:
            continue
    rng = random.Random(seed)
    start, span = datetime(2015, 1, 1, 9, tzinfo=KST), timedelta(days=3650)
    for i in range(n):
        a = base[i % len(base)]
        when = start + span * (i / max(n, 1)) + timedelta(hours=rng.randint(0, 23))
        extra = " ".join(rng.choice(WORDS) for _ in range(6))
        yield a.model_copy(update={"id": f"backfill-{i:07d}", "url": f"https://backfill.citydesk.invalid/{i}",
                                   "published_at": when, "body": f"{a.body}\n\n{extra} {i}"})


def search_at_scale(cfg: Settings, n: int, cli_queries: int = 6) -> dict[str, Any]:
    """Search on a store of n documents written directly (plain writes in batches of 500: no pipeline, no stories or
    ties), for sizes the pipeline cannot reach in the time there is."""
    from services.indexer.embedded import EmbeddedStore

    store = EmbeddedStore(cfg.store_dir, writer=True)
    started = time.perf_counter()
    batch: list[Any] = []
    for article in tagged_copies(n):
        batch.append(article)
        if len(batch) == 500:
            store.write(batch)
            batch = []
            if store.count() % 10_000 == 0:
                progress(f"{store.count()} written")
    if batch:
        store.write(batch)
    written_s = time.perf_counter() - started
    documents = store.count()
    store.close()
    progress(f"{documents} documents written in {written_s:.0f} s; searching ...")
    return {"documents": documents, "write_s": round(written_s, 1), "store_mb": dir_mb(cfg.store_dir),
            **checkpoint_search(cfg, cli_queries)}


def run_backfill(cfg: Settings, n: int, every: int = 5000, search_at: tuple[int, ...] = (10_000,),
                 cli_queries: int = 6, timeout_per_step: float = 1800.0,
                 budget_s: float | None = None) -> dict[str, Any]:
    """The archive through a pipeline; with budget_s, the feed stops at the first step past that many seconds of
    feeding and the last search is taken there (the report says where it stopped)."""
    from services.bench import _warm_pipeline, synthetic_articles
    from services.feed import producer, send_raw
    from services.indexer import open_store
    from services.pipeline import Pipeline

    pipeline = Pipeline(cfg)
    pipeline.start()
    steps: list[dict[str, Any]] = []
    searches: dict[str, Any] = {}
    try:
        progress(f"{cfg.broker} broker, 1 worker per stage, {cfg.partitions} partitions; warming up ...")
        _warm_pipeline(pipeline, synthetic_articles(1))
        broker_pid = pipeline.broker_process.pid if pipeline.broker_process is not None else None
        broker_start = rss_mb(broker_pid) if broker_pid else 0.0
        store = open_store(cfg)
        base = store.count()  # the warm-up article
        prod = producer(cfg)
        articles = archive(n)
        fed = 0
        checkpoints = sorted({c for c in (*search_at, n) if 0 < c <= n})
        marks = sorted({*range(every, n + 1, every), *checkpoints})
        busy = 0.0  # seconds the pipeline had work, pauses for search left out
        step_started = time.perf_counter()
        last_count = 0
        stopped_at: int | None = None
        for mark in marks:
            # Feed up to two steps ahead of the store (never past the next checkpoint), until `mark` are searchable.
            deadline = time.monotonic() + timeout_per_step
            stop_at = next(c for c in checkpoints if c >= mark)
            while True:
                indexed = store.count() - base
                ahead = min(stop_at, indexed + 2 * every)
                while fed < ahead:
                    send_raw(prod, next(articles))
                    fed += 1
                prod.flush()
                if indexed >= mark:
                    break
                pipeline.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{indexed} of {mark} articles searchable after {timeout_per_step:.0f} s; "
                                       f"see {cfg.log_dir}")
                time.sleep(0.5)
            now = time.perf_counter()
            seconds = now - step_started
            busy += seconds
            step = {"articles": indexed, "step_s": round(seconds, 1),
                    "per_s": round((indexed - last_count) / seconds, 1),
                    "elapsed_s": round(busy, 1), "broker_rss_mb": rss_mb(broker_pid) if broker_pid else None,
                    "store_mb": dir_mb(cfg.store_dir),
                    "indexer_rss_mb": max(rss_mb(p.pid) for p in pipeline.workers["indexer"]),
                    "tagger_rss_mb": max(rss_mb(p.pid) for p in pipeline.workers["tagger"]),
                    "loadavg": Path("/proc/loadavg").read_text().split()[0]}
            steps.append(step)
            last_count = indexed
            progress(f"{indexed:>7} searchable  {step['per_s']:>6}/s this step  broker {step['broker_rss_mb']} MB  "
                     f"store {step['store_mb']} MB  indexer {step['indexer_rss_mb']} MB  load {step['loadavg']}")
            over = budget_s is not None and busy > budget_s and mark < n
            if over:  # stop here: what was fed ahead goes through first, so that search has the machine to itself
                drain = time.monotonic() + timeout_per_step
                while store.count() - base < fed and time.monotonic() < drain:
                    pipeline.check_alive()
                    time.sleep(0.5)
                indexed = store.count() - base
            if mark in checkpoints or over:
                progress(f"searching at {indexed} articles (feed paused, not counted) ...")
                searches[str(mark)] = {"documents": store.count(), **checkpoint_search(cfg, cli_queries)}
            step_started = time.perf_counter()
            if over:
                stopped_at = indexed
                progress(f"stopping at {indexed} of {n} articles: past the budget of {budget_s:.0f} s of feeding")
                break
        prod.close()
        store.close()
    finally:
        pipeline.stop()
    report = summarise(cfg, n, every, steps, searches, broker_start)
    report["stopped_at"] = stopped_at  # None: the whole archive went through
    return report


def summarise(cfg: Settings, n: int, every: int, steps: list[dict[str, Any]], searches: dict[str, Any],
              broker_start: float) -> dict[str, Any]:
    rates = [s["per_s"] for s in steps]
    out: dict[str, Any] = {
        "n": n, "broker": cfg.broker, "partitions": cfg.partitions, "workers_per_stage": 1, "step": every,
        "articles_per_s": round(steps[-1]["articles"] / steps[-1]["elapsed_s"], 1) if steps else None,
        "first_step_per_s": rates[0] if rates else None, "last_step_per_s": rates[-1] if rates else None,
        "last_vs_first": round(rates[-1] / rates[0], 2) if rates and rates[0] else None,
        "broker_rss_start_mb": broker_start, "broker_rss_end_mb": steps[-1]["broker_rss_mb"] if steps else None,
    }
    if steps and steps[-1]["broker_rss_mb"] is not None:
        out["broker_mb_per_1k"] = round((steps[-1]["broker_rss_mb"] - broker_start) / (steps[-1]["articles"] / 1000), 2)
    if steps:
        out["store_mb"] = steps[-1]["store_mb"]
        out["store_kb_per_article"] = round(steps[-1]["store_mb"] * 1024 / max(steps[-1]["articles"], 1), 2)
    out["steps"] = steps
    out["search"] = searches
    return out


def format_report(r: dict[str, Any]) -> str:
    lines = [f"citydesk bench --backfill {r['n']}: {r['broker']} broker, {r['workers_per_stage']} worker per stage, "
             f"{r['partitions']} partitions",
             f"{'searchable':>10}{'step s':>8}{'/s':>8}{'broker MB':>11}{'store MB':>10}{'indexer MB':>12}{'load':>6}"]
    for s in r["steps"]:
        lines.append(f"{s['articles']:>10}{s['step_s']:>8}{s['per_s']:>8}{s['broker_rss_mb']!s:>11}"
                     f"{s['store_mb']:>10}{s['indexer_rss_mb']:>12}{s['loadavg']:>6}")
    lines.append("")
    for key in ("articles_per_s", "first_step_per_s", "last_step_per_s", "last_vs_first", "broker_rss_start_mb",
                "broker_rss_end_mb", "broker_mb_per_1k", "store_mb", "store_kb_per_article"):
        lines.append(f"{key:<24}{r.get(key)}")
    for s in r["search"].values():
        lines.append(f"search at {s['documents']} documents: in-process p50 {s['in_process']['p50_ms']} ms, p95 "
                     f"{s['in_process']['p95_ms']} ms; citydesk search without a desk p50 "
                     f"{s['cli_no_desk']['p50_s']} s, p95 {s['cli_no_desk']['p95_s']} s; with the desk running "
                     f"p50 {s['cli_with_desk']['p50_s']} s, p95 {s['cli_with_desk']['p95_s']} s")
    return "\n".join(lines)


def main(n: int, as_json: bool, work_dir: Path, every: int = 5000, budget_s: float | None = None,
         store_only: bool = False) -> int:
    import socket

    from services.settings import settings

    base = settings()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="backfill-") as tmp:
        cfg = base.model_copy(update={"bootstrap_servers": f"127.0.0.1:{port}", "data_dir": Path(tmp),
                                      "engines_dir": base.engines_dir or base.data_dir / "engines"})
        if store_only:
            report = {"n": n, "store_only": search_at_scale(cfg, n)}
            print(json.dumps(report, ensure_ascii=False))
            return 0
        report = run_backfill(cfg, n, every=every, search_at=tuple(c for c in (10_000,) if c < n), budget_s=budget_s)
    print(json.dumps(report, ensure_ascii=False) if as_json else format_report(report))
    sys.stdout.flush()
    return 0
