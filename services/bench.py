"""`citydesk bench`: how fast and how big, measured side by side with the physical references.

Every figure comes from this run on this machine: the stages alone in this process (one core), and
the references on the same text (plain Kiwi analysis, trafilatura alone on the HTML pages). Speed
targets live here, never in timed tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas import CleanArticle, RawArticle
from services.cores import worker_name

ROOT = Path(__file__).resolve().parent.parent
# The shared seeds (real pages, 5–9 KB raw) when the checkout has them beside it; our own examples and
# fixtures (shorter) always.
SOURCE_DIRS = (ROOT.parent / "shared" / "seeds", ROOT / "services" / "assets" / "examples",
               ROOT / "tests" / "fixtures" / "raw", ROOT / "tests" / "fixtures" / "heldout" / "raw")


def synthetic_articles(n: int) -> list[RawArticle]:
    """n raw articles cycled from the project's own examples and fixtures (text and HTML), each with its
    own URL so that every one is a distinct document."""
    from services.feed import content_type_for

    sources = sorted(p for d in SOURCE_DIRS if d.is_dir() for p in d.glob("*")
                     if p.suffix in (".txt", ".html", ".htm"))
    if not sources:
        raise RuntimeError("no example articles found under examples/ or tests/fixtures/")
    texts = [(p.read_text(encoding="utf-8"), content_type_for(p)) for p in sources]
    return [RawArticle(url=f"https://bench.citydesk.invalid/{i}", body=texts[i % len(texts)][0],
                       content_type=texts[i % len(texts)][1])  # type: ignore[arg-type]
            for i in range(n)]


# The default sample. A run through the broker lasts 5–6 s at 1,200 against about 2 s at 400: at 400 the
# pipeline's fill and drain (the cleaner's first batch before the tagger starts, the tagger's last batch of 100 and
# the indexer's after it: about 0.5 s) were a quarter of the run, and the 400 ids' partition keys gave one of two
# taggers 57% of the tagging (a ceiling of 1.75 on their speedup, whatever the workers do); at 1,200, 52%.
ARTICLES = 1200
REPEATS = 3
E2E_PASSES = REPEATS  # end to end is one run through every process: best of as many passes as the stages have runs


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timing:
    name: str
    items: int
    seconds: float  # CPU seconds for in-process stages, wall seconds for what runs across processes
    note: str = ""
    wall_seconds: float | None = None

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else float("inf")

    @property
    def wall_per_second(self) -> float:
        wall = self.wall_seconds if self.wall_seconds is not None else self.seconds
        return self.items / wall if wall else float("inf")


@dataclass
class Report:
    n: int
    timings: dict[str, Timing] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def time(self, name: str, items: int, fn: Callable[[], Any], note: str = "") -> Any:
        # CPU time of this process: the in-process stages run on one thread, and on a shared virtual machine
        # wall time also counts the time other tenants hold the core.
        started, wall = time.process_time(), time.perf_counter()
        result = fn()
        self.timings[name] = Timing(name, items, time.process_time() - started, note, time.perf_counter() - wall)
        return result


def _warm_up() -> None:
    """Load Kiwi and the gazetteers before timing: a one-off cost of every worker's start, not per article."""
    from services.cleaner import clean
    from services.tagger import tag

    tag(clean(RawArticle(body="워밍업 기사 제목입니다\n대구시는 청두시와 협력하기로 했다고 밝혔다.")))


def run_stages(report: Report, raws: list[RawArticle], store_dir: Path) -> list[CleanArticle]:
    from services.analysis import kiwi
    from services.cleaner import CleaningError, clean
    from services.cleaner.html import extract_html
    from services.indexer.embedded import EmbeddedStore
    from services.indexer.placement import index_batch, place_batch
    from services.stories import load_params
    from services.tagger import tag

    started = time.perf_counter()
    _warm_up()
    report.figures["startup_s"] = round(time.perf_counter() - started, 2)

    def clean_all() -> list[CleanArticle]:
        out = []
        for raw in raws:
            with contextlib.suppress(CleaningError):  # counted below: every source should clean
                out.append(clean(raw))
        return out

    cleaned = report.time("cleaner", len(raws), clean_all, "text and HTML, one core")
    report.figures["cleaner_refused"] = len(raws) - len(cleaned)
    html = [r for r in raws if r.content_type == "text/html"]
    report.time("trafilatura alone (HTML)", len(html), lambda: [extract_html(r.body, r.url) for r in html],
                f"reference: the {len(html)} HTML pages only")
    kw = kiwi()
    # Interleaved, best of REPEATS each: the ratio compares the two at their best on the same text, so that
    # a burst of load on the machine does not fall on one side only.
    kiwi_runs, tagger_runs = [], []
    for _ in range(REPEATS):
        kiwi_runs.append(report.time("Kiwi alone (reference)", len(cleaned),
                                     lambda: [kw.tokenize(f"{a.title}\n{a.body}") for a in cleaned],
                                     f"reference: the tagger's floor, same clean text; best of {REPEATS}"))
        kiwi_runs[-1] = report.timings["Kiwi alone (reference)"]
        tagged = report.time("tagger", len(cleaned), lambda: [tag(a) for a in cleaned],
                             f"one core; best of {REPEATS}")
        tagger_runs.append(report.timings["tagger"])
    report.timings["Kiwi alone (reference)"] = min(kiwi_runs, key=lambda t: t.seconds)
    report.timings["tagger"] = min(tagger_runs, key=lambda t: t.seconds)
    store = EmbeddedStore(store_dir, writer=True)
    batch = 100
    # The indexer as it runs: stories placed, the batch written, ties folded (services/indexer/placement.py). Before
    # each batch, its placement alone is timed on the same store (best of REPEATS, as the tagger is): the stories'
    # own cost, beside the tagger's.
    params = load_params()
    cpu = {"stories": 0.0, "indexer": 0.0}
    wall = {"stories": 0.0, "indexer": 0.0}
    for i in range(0, len(tagged), batch):
        runs = []
        for _ in range(REPEATS):
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            place_batch(store, tagged[i:i + batch], params)
            runs.append((time.process_time() - started_cpu, time.perf_counter() - started_wall))
        cpu["stories"] += min(runs)[0]
        wall["stories"] += min(runs)[1]
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        index_batch(store, tagged[i:i + batch], params)
        cpu["indexer"] += time.process_time() - started_cpu
        wall["indexer"] += time.perf_counter() - started_wall
    report.timings["indexer (embedded store)"] = Timing(
        "indexer (embedded store)", len(tagged), cpu["indexer"],
        f"batches of {batch}: stories placed, written (one commit), ties folded", wall["indexer"])
    report.timings["stories (placement)"] = Timing(
        "stories (placement)", len(tagged), cpu["stories"],
        f"fingerprint, candidates from the store, decide; best of {REPEATS} per batch",
        wall["stories"])
    store.close()
    tagger_cost = report.timings["tagger"].seconds / max(report.timings["tagger"].items, 1)
    report.figures["stories_vs_tagger"] = round(cpu["stories"] / max(len(tagged), 1) / tagger_cost, 3)
    chars = statistics.mean(len(a.title) + len(a.body) for a in cleaned) if cleaned else 0
    report.figures["mean_clean_chars"] = round(chars)
    report.figures["tagger_vs_kiwi"] = round(report.timings["tagger"].per_second
                                             / report.timings["Kiwi alone (reference)"].per_second, 3)
    report.figures["peak_rss_mb_in_process"] = round(peak_rss_mb())
    return cleaned


def format_table(report: Report) -> str:
    lines = [f"citydesk bench: {report.n} synthetic articles (examples and fixtures cycled), this machine",
             f"{'stage':<34}{'articles':>9}{'CPU s':>8}{'/s (CPU)':>10}{'wall s':>8}{'/s (wall)':>10}  note"]
    for t in report.timings.values():
        cpu = f"{t.seconds:>8.2f}{t.per_second:>10.1f}" if t.wall_seconds is not None else f"{'':>8}{'':>10}"
        lines.append(f"{t.name:<34}{t.items:>9}{cpu}{t.wall_seconds or t.seconds:>8.2f}{t.wall_per_second:>10.1f}"
                     f"  {t.note}")
    lines.append("")
    for key, value in report.figures.items():
        if key == "targets":
            continue
        lines.append(f"{key:<34}{value}")
    lines.append("")
    lines += [f"target {key:<27}{verdict}" for key, verdict in report.figures.get("targets", {}).items()]
    return "\n".join(lines)


def bench_broker(choice: str | None = None) -> str:
    """The broker the bench runs on: the one asked for, else the configured CITYDESK_BROKER when the bench can start
    it (tansu or kafka; an external broker is not ours to fill with benchmark topics), else tansu."""
    if choice is None:
        from services.settings import settings

        choice = settings().broker if settings().broker in ("tansu", "kafka") else "tansu"
    if choice == "kafka":
        # As the test suites start it (tests/conftest.py require_engine): fetched and verified once, Java 17+.
        from services.engines import fetch, find_java

        fetch()
        find_java(17)
    return choice


def main(n: int, as_json: bool, work_dir: Path, stages_only: bool = False, rate: float = 10.0,
         latency_n: int = 100, broker: str | None = None) -> int:
    import tempfile

    report = Report(n=n)
    report.figures["broker"] = broker = bench_broker(broker)
    raws = synthetic_articles(n)
    report.figures["sources"] = ", ".join(str(d.relative_to(ROOT.parent)) for d in SOURCE_DIRS if d.is_dir())
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        cleaned = run_stages(report, raws, Path(tmp) / "store")
        if not stages_only:
            progress(f"references: kafka-python produce and consume through {broker} ...")
            run_transport(report, raws, Path(tmp), broker)
            progress(f"end to end on {broker}: {n} articles at once, then {latency_n} at {rate:g}/s ...")
            run_end_to_end(report, raws, Path(tmp), rate, latency_n, broker)
            progress(f"one tagger, then two, on {broker}, on pre-cleaned articles ...")
            run_scaling(report, cleaned, Path(tmp), broker)
            # End to end can only be wall time, so it is compared with the slowest stage's wall time (best of 3
            # for the tagger); tagger_vs_kiwi compares CPU times.
            slowest = min(report.timings[k].wall_per_second for k in ("cleaner", "tagger", "indexer (embedded store)"))
            report.figures["articles_per_s"] = round(report.timings["end to end (1 worker per stage)"].per_second, 1)
            report.figures["slowest_stage_wall_per_s"] = round(slowest, 1)
            report.figures["e2e_vs_slowest"] = round(report.figures["articles_per_s"] / slowest, 3)
            # The most end to end could reach on these cores: the CPU all its processes spent, spread over every
            # core (services/bench.py CpuAccount), against the same slowest stage.
            report.figures["e2e_cores_bound_vs_slowest"] = round(
                min(report.figures["e2e_cores_bound_per_s"] / slowest, 1.0), 3)
    report.figures["targets"] = targets(report.figures)
    if as_json:
        keys = ("broker", "tagger_vs_kiwi", "e2e_vs_slowest", "p95_latency_s", "peak_rss_mb", "two_taggers_speedup",
                "articles_per_s")
        out = {"n": n, **{k: report.figures.get(k) for k in keys},
               **{f"{name}_per_s": round(t.per_second, 2) for name, t in report.timings.items()},
               **{k: v for k, v in report.figures.items() if k not in keys}}
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(format_table(report))
    sys.stdout.flush()
    return 0


TARGETS = {  # from issue 7: figure, comparison, bound
    "tagger_vs_kiwi": (">=", 0.7), "e2e_vs_slowest": (">=", 0.8), "p95_latency_s": ("<=", 2.0),
    "peak_rss_mb": ("<=", 600), "two_taggers_speedup": (">=", 1.6),
    "stories_vs_tagger": ("<=", 0.10),  # issue 13: placing stories costs at most a tenth of tagging
}


def targets(figures: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, (op, bound) in TARGETS.items():
        value = figures.get(key)
        if value is None:
            continue
        met = value >= bound if op == ">=" else value <= bound
        out[key] = f"{value} {op} {bound}: {'met' if met else 'NOT met'}"
    return out


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- through the broker -----------------------------------------------------------------------------

def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has spent: /proc/<pid>/stat fields 14 and 15."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pipeline_pids(pipeline: Any) -> dict[str, int]:
    """The processes a run's CPU is spent in, by name: each worker and the broker (tansu or the Kafka JVM)."""
    pids = {worker_name(stage, n): proc.pid
            for stage, procs in pipeline.workers.items() for n, proc in enumerate(procs)}
    broker = pipeline.broker_process
    if broker is not None:
        pids["broker"] = broker.pid
    return pids


class CpuAccount:
    """The CPU every process of a run spent between ``start`` and ``stop``, this one (the bench's feeding and
    polling) included. Divided by the cores, it is the shortest wall time the run could have taken here: what the
    throughput figures are bounded by on a small machine, whatever the scheduling."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "bench": os.getpid()}
        self.spent: dict[str, float] = {}

    def start(self) -> CpuAccount:
        self._from = {name: _cpu_s(pid) for name, pid in self.pids.items()}
        return self

    def stop(self) -> dict[str, float]:
        self.spent = {name: round(_cpu_s(pid) - self._from[name], 2) for name, pid in self.pids.items()}
        return self.spent

    def shortest_wall_s(self) -> float:
        return sum(self.spent.values()) / len(os.sched_getaffinity(0))  # the cores this machine lets us use


def _stage_progress(status_dir: Path, stage: str) -> tuple[int, float]:
    """What a stage's running workers have delivered, and when the last of their batches ended (their status files:
    the workers' own clock, time.time()); work put off to an idle moment after it (the indexer's ties) counts as if it
    had followed that batch at once."""
    from services.health import read_statuses

    statuses = [st for st in read_statuses(status_dir) if st.get("stage") == stage]

    def ended(st: dict[str, Any]) -> float:
        last = st.get("last_batch_at") or 0.0
        idle_at = st.get("idle_work_at") or 0.0
        return last + (st.get("idle_work_s") or 0.0) if idle_at > last else last

    return (sum(st.get("produced") or 0 for st in statuses), max((ended(st) for st in statuses), default=0.0))


def _vm_hwm_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), read while it still runs."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _settings(work_dir: Path, name: str, partitions: int, batch_within_s: float, broker: str = "tansu") -> Any:
    import socket

    from services.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Settings(bootstrap_servers=f"127.0.0.1:{port}", data_dir=work_dir / name, partitions=partitions,
                    batch_within_s=batch_within_s, broker=broker)


def _warm_pipeline(pipeline: Any, raws: list[RawArticle]) -> None:
    """Feed one article and wait until it is searchable: every worker has joined its group and loaded its models."""
    from services.feed import producer, send_raw
    from services.pipeline import wait_until_done

    prod = producer(pipeline.cfg)
    warm = RawArticle(url="https://bench.citydesk.invalid/warm-up", body=raws[0].body,
                      content_type=raws[0].content_type)
    send_raw(prod, warm)
    prod.flush()
    prod.close()
    wait_until_done(pipeline, [warm.id], timeout=180, progress=False)  # type: ignore[list-item]


def run_end_to_end(report: Report, raws: list[RawArticle], work_dir: Path, rate: float, latency_n: int,
                   broker: str = "tansu") -> None:
    from services.feed import producer, send_raw
    from services.indexer import open_store
    from services.pipeline import Pipeline, wait_until_done

    cfg = _settings(work_dir, "e2e", partitions=4, batch_within_s=0.1, broker=broker)
    pipeline = Pipeline(cfg)
    pipeline.start()
    # Which cores each process was given (services/cores.py; empty: the scheduler shared them)
    report.figures["e2e_cores"] = {name: sorted(cpus) for name, cpus in pipeline.cores.items()}
    try:
        _warm_pipeline(pipeline, raws)
        prod = producer(cfg)
        # Throughput: everything offered at once, timed until the last article is searchable; E2E_PASSES passes of
        # the n articles under new addresses on the same pipeline, the best kept, as the stages keep their best of
        # REPEATS: a burst of load on the machine then falls on neither side alone. Every pass is reported.
        passes: list[tuple[float, dict[str, float], float]] = []
        for n_pass in range(E2E_PASSES):
            batch = raws if n_pass == 0 else [RawArticle(url=f"{r.url}/pass-{n_pass}", body=r.body,
                                                         content_type=r.content_type) for r in raws]
            cpu = CpuAccount(_pipeline_pids(pipeline)).start()
            started, started_at = time.perf_counter(), time.time()
            for raw in batch:
                send_raw(prod, raw)
            prod.flush()
            wait_until_done(pipeline, [r.id for r in batch], timeout=900, progress=False)  # type: ignore[misc]
            elapsed = time.perf_counter() - started
            spent = cpu.stop()
            # The poller sees the last article up to one poll interval (0.2 s) after the indexer committed it, about
            # a tenth of this run: the end is the indexer's own clock, the end of its last batch (its write
            # committed, so searchable; the poller has just confirmed every article is), plus the fold of the ties
            # it put off to its next idle moment (as if that fold had followed at once). Same machine and clock.
            _, last_batch = _stage_progress(cfg.status_dir, "indexer")
            if started_at < last_batch <= started_at + elapsed:
                elapsed = last_batch - started_at
            passes.append((elapsed, spent, cpu.shortest_wall_s()))
        elapsed, spent, shortest = min(passes, key=lambda p: p[0])
        report.figures["e2e_passes_per_s"] = [round(len(raws) / p[0], 1) for p in passes]
        report.figures["e2e_cpu_s"] = spent
        report.figures["e2e_cores_bound_per_s"] = round(len(raws) / shortest, 1)
        report.timings["end to end (1 worker per stage)"] = Timing(
            "end to end (1 worker per stage)", len(raws), elapsed,
            f"feed → searchable, wall time, all at once; best of {E2E_PASSES}")
        # Latency at a fixed offered rate: each article's feed time against the moment search first finds it.
        lat_raws = [RawArticle(url=f"https://bench.citydesk.invalid/latency/{i}", body=r.body,
                               content_type=r.content_type) for i, r in enumerate(raws[:latency_n])]
        store = open_store(cfg)
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        interval = 1.0 / rate
        next_send = time.perf_counter()
        pending = list(lat_raws)
        deadline = time.perf_counter() + latency_n / rate + 120
        while (pending or len(seen) < len(lat_raws)) and time.perf_counter() < deadline:
            now = time.perf_counter()
            if pending and now >= next_send:
                raw = pending.pop(0)
                send_raw(prod, raw)
                prod.flush()
                sent[raw.id] = time.perf_counter()  # type: ignore[index]
                next_send += interval
            waiting = [i for i in sent if i not in seen]
            if waiting:
                for article_id in store.has_ids(waiting):
                    seen[article_id] = time.perf_counter()
            time.sleep(0.02)
        prod.close()
        latencies = sorted(seen[i] - sent[i] for i in seen)
        report.figures["latency_articles"] = f"{len(latencies)} of {latency_n} at {rate:g}/s offered"
        report.figures["p50_latency_s"] = round(statistics.median(latencies), 3) if latencies else None
        report.figures["p95_latency_s"] = (round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3)
                                           if latencies else None)
        rss = {stage: max(_vm_hwm_mb(p.pid) for p in procs) for stage, procs in pipeline.workers.items()}
        report.figures["worker_peak_rss_mb"] = {k: round(v) for k, v in rss.items()}
        report.figures["peak_rss_mb"] = round(max(rss.values()))
    finally:
        pipeline.stop()


def _tagger_rate(work_dir: Path, name: str, cleaned: list[CleanArticle], taggers: int, broker: str = "tansu"
                 ) -> tuple[float, CpuAccount]:
    """Articles/s of `taggers` tagger workers: they start on empty topics and settle into their group first,
    then the pre-cleaned articles are produced onto articles.clean at once, timed until the last one is tagged.
    With it, the CPU each process spent meanwhile."""
    from kafka import KafkaProducer

    from schemas import topics
    from services.pipeline import Pipeline

    cfg = _settings(work_dir, name, partitions=4, batch_within_s=0.2, broker=broker)
    pipeline = Pipeline(cfg)
    pipeline.start(stages=())
    try:
        for n in range(taggers):
            pipeline.start_worker("tagger", n)
        logs = [pipeline.log_file("tagger", n) for n in range(taggers)]
        deadline = time.monotonic() + 120
        # faust logs "[^Worker]: Ready", or "[^_Worker]: Ready" for our subclass (services/workers.py _Worker)
        while not all(p.exists() and "Worker]: Ready" in p.read_text(errors="replace") for p in logs):
            pipeline.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"taggers not ready after 120 s; see {cfg.log_dir}")
            time.sleep(0.2)
        time.sleep(cfg.session_timeout_s)  # the group's last rebalance settles within a session timeout
        prod = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=20)

        def tagged(payloads: list[tuple[bytes, bytes]], timeout: float) -> float:
            """Produce the payloads at once; seconds until the last of them was tagged and delivered, by the taggers'
            own clock: the end of their last batch once their counts, read every POLL_S, have grown by as many.
            Reading the tagged records back cost this process 0.3–0.4 CPU-s a run, taken from the cores the taggers
            share; and Kafka's end offsets would do, but tansu's are wrong after a batch (shared notes)."""
            before, _ = _stage_progress(cfg.status_dir, "tagger")
            started_at = time.time()
            for key, value in payloads:
                prod.send(topics.CLEAN, key=key, value=value)
            prod.flush()
            deadline = time.monotonic() + timeout
            while (done := _stage_progress(cfg.status_dir, "tagger")[0] - before) < len(payloads):
                pipeline.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{taggers} tagger(s) tagged {done} of {len(payloads)} within {timeout:.0f} s")
                time.sleep(POLL_S)
            return _stage_progress(cfg.status_dir, "tagger")[1] - started_at

        # Warm-up, as the end-to-end run has: a few articles on every partition through the taggers and the broker
        # first (the first messages pay for connections, buffers and, on Kafka, the JVM's compilation), untimed.
        tagged([(f"warm-up-{i}".encode(), a.model_copy(update={"id": f"warm-up-{i}"}).model_dump_json().encode())
                for i, a in enumerate(cleaned[:8 * cfg.partitions])], 120)
        # Serialised before the clock starts: what is timed is the taggers, not this process's JSON.
        payloads = [(a.id.encode(), a.model_dump_json().encode()) for a in cleaned]
        cpu = CpuAccount(_pipeline_pids(pipeline)).start()
        seconds = tagged(payloads, 600)
        cpu.stop()
        prod.close()
        return len(payloads) / seconds, cpu
    finally:
        pipeline.stop()


POLL_S = 0.05  # how often the scaling run reads the taggers' status files


def run_scaling(report: Report, cleaned: list[CleanArticle], work_dir: Path, broker: str = "tansu") -> None:
    one, _ = _tagger_rate(work_dir, "one-tagger", cleaned, 1, broker)
    two, cpu = _tagger_rate(work_dir, "two-taggers", cleaned, 2, broker)
    report.figures["one_tagger_articles_per_s"] = round(one, 1)
    report.figures["two_taggers_articles_per_s"] = round(two, 1)
    report.figures["two_taggers_speedup"] = round(two / one, 2)
    # The most two taggers could do on these cores, with the broker and the bench's own producer and consumer
    # taking their share: the CPU the run spent, spread over every core, against one tagger's rate.
    report.figures["two_taggers_cpu_s"] = cpu.spent
    report.figures["two_taggers_cores_bound"] = round(len(cleaned) / cpu.shortest_wall_s() / one, 2)
    # The most this run's split of the partitions allowed: each tagger tags only its own partitions' articles, so
    # the one with more work (CPU) sets the pace.
    taggers = [spent for name, spent in cpu.spent.items() if name.startswith("tagger")]
    report.figures["two_taggers_split_bound"] = round(sum(taggers) / max(max(taggers), 1e-9), 2)


def run_transport(report: Report, raws: list[RawArticle], work_dir: Path, broker: str = "tansu") -> None:
    """Reference: kafka-python producing and consuming the same messages through the bench's broker."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from services.pipeline import Pipeline

    cfg = _settings(work_dir, "transport", partitions=4, batch_within_s=0.2, broker=broker)
    pipeline = Pipeline(cfg)
    pipeline.start(stages=())  # the broker alone (tansu, or Apache Kafka as the suites start it) and the topics
    try:
        payloads = [(r.id.encode(), r.model_dump_json().encode()) for r in raws]  # type: ignore[union-attr]
        prod = KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=20)
        started = time.perf_counter()
        for key, value in payloads:
            prod.send("articles.raw", key=key, value=value)
        prod.flush()
        produced = time.perf_counter() - started
        consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False)
        tps = [TopicPartition("articles.raw", p) for p in range(cfg.partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = 0
        started = time.perf_counter()
        while got < len(payloads) and time.perf_counter() - started < 120:
            got += sum(len(v) for v in consumer.poll(timeout_ms=500).values())
        consumed = time.perf_counter() - started
        consumer.close()
        prod.close()
        report.timings["kafka-python produce (reference)"] = Timing(
            "kafka-python produce (reference)", len(payloads), produced, "reference: the transport's limit")
        report.timings["kafka-python consume (reference)"] = Timing(
            "kafka-python consume (reference)", got, consumed, "reference: the transport's limit")
    finally:
        pipeline.stop()
