"""`citydesk run`: the whole pipeline on its embedded defaults, as one unit.

Starts the broker CITYDESK_BROKER names (tansu in memory, or a local Apache Kafka with its log on disk; none for
external), creates the topics, starts the three workers as separate processes, feeds
the given articles, waits until each one is searchable or dead-lettered, prints a summary, and stops
everything (unless --keep). Logs of the broker and each worker go to <data_dir>/logs/.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.cores import SHARED, place, plan, worker_name
from services.settings import Settings
from services.stages import STAGES
from services.supervise import DataDirLock, die_with_parent

if TYPE_CHECKING:
    from services.engines import KafkaServer
    from services.retention import BrokerMemoryWatch

log = logging.getLogger("citydesk.run")


@dataclass
class Pipeline:
    cfg: Settings
    broker: subprocess.Popen[bytes] | None = None  # tansu
    kafka: KafkaServer | None = None  # a local Apache Kafka
    workers: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    restarts: dict[tuple[str, int], int] = field(default_factory=dict)  # per worker slot, how often it was restarted
    _restart_due: dict[tuple[str, int], float] = field(default_factory=dict)
    _lock: DataDirLock | None = None
    broker_watch: BrokerMemoryWatch | None = None  # tansu's memory against its budget (services/retention.py)
    cores: dict[str, frozenset[int]] = field(default_factory=dict)  # which process runs where (services/cores.py)

    def start(self, *, scale: dict[str, int] | None = None, stages: tuple[str, ...] = tuple(STAGES)) -> None:
        from services.broker import create_topics, wait_for_broker

        self._lock = DataDirLock(self.cfg.data_dir)
        self._lock.acquire()  # one pipeline per data directory: DataDirBusy names the other one
        self.cfg.log_dir.mkdir(parents=True, exist_ok=True)
        counts = {stage: (scale or {}).get(stage, 1) for stage in stages}
        self.cores = plan(counts, os.sched_getaffinity(0), self.cfg.cpu_placement)
        if self.cores:
            log.info("cores: %s", ", ".join(f"{name} {sorted(cpus)}" for name, cpus in self.cores.items()))
        self.start_broker()
        wait_for_broker(self.cfg)
        if self.broker_process is not None:
            place(self.broker_process.pid, self.cores.get(SHARED))  # its threads are running: each is placed
        created = create_topics(self.cfg)
        if created:
            log.info("created topics %s with %d partitions", ", ".join(created), self.cfg.partitions)
        for stage, count in counts.items():
            for n in range(count):
                self.start_worker(stage, n)

    @property
    def broker_process(self) -> subprocess.Popen[bytes] | None:
        """The broker's process when this pipeline started it: tansu, or the local Apache Kafka."""
        return self.broker or (self.kafka.proc if self.kafka is not None else None)

    def log_file(self, stage: str, n: int = 0) -> Path:
        return self.cfg.log_dir / f"{worker_name(stage, n)}.log"

    def start_broker(self) -> None:
        from services.broker import start_embedded, start_kafka

        if self.cfg.broker == "tansu":
            from services.retention import BrokerMemoryWatch

            self.broker = start_embedded(self.cfg, self.cfg.log_dir / "broker.log")
            self.broker_watch = BrokerMemoryWatch(self.cfg, self.broker.pid)
        elif self.cfg.broker == "kafka":
            self.kafka = start_kafka(self.cfg)

    def stop_broker(self) -> None:
        if self.kafka is not None:
            self.kafka.stop()
        if self.broker is not None and self.broker.poll() is None:
            self.broker.terminate()
            try:
                self.broker.wait(10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait()

    def start_worker(self, stage: str, n: int = 0) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        # The workers get this pipeline's whole configuration (store, URLs, timeouts …), not just the broker.
        for name, value in self.cfg.model_dump().items():
            if value is not None:
                env[f"CITYDESK_{name.upper()}"] = str(value)
        env["CITYDESK_DATA_DIR"] = str(self.cfg.data_dir.resolve())
        log_file = self.log_file(stage, n)
        proc = subprocess.Popen([sys.executable, "-m", "services.cli", "worker", stage],
                                stdout=log_file.open("ab"), stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=die_with_parent)
        # Placed as it starts, one thread (Popen returns once it runs Python): every thread it starts inherits.
        place(proc.pid, self.cores.get(worker_name(stage, n), self.cores.get(SHARED)))
        procs = self.workers.setdefault(stage, [])
        if n < len(procs):
            procs[n] = proc
        else:
            procs.append(proc)
        return proc

    def worker_pids(self) -> list[int]:
        return [p.pid for ps in self.workers.values() for p in ps if p.poll() is None]

    def check_alive(self) -> None:
        """Restart a worker that died (exit 70: its stream failed; a signal: killed), after a backoff that grows with
        its restarts: its unacknowledged batch comes back, and a batch that keeps killing it is isolated there
        (services/isolation.py). A worker that stopped on a configuration error (exit 78) is not restarted: the
        error is raised with the log to read."""
        from services.backoff import delay_after

        if self.broker_watch is not None:
            self.broker_watch.check()
        for stage, procs in self.workers.items():
            for n, proc in enumerate(procs):
                code = proc.poll()
                if code is None:
                    continue
                log_file = self.log_file(stage, n)
                if code == 78:
                    raise RuntimeError(f"the {stage} worker stopped on a configuration error (exit 78): fix it and "
                                       f"start again; see {log_file}")
                slot = (stage, n)
                due = self._restart_due.setdefault(slot, time.monotonic() + delay_after(self.restarts.get(slot, 0),
                                                                                        1.0, 30.0))
                if time.monotonic() >= due:
                    self.restarts[slot] = self.restarts.get(slot, 0) + 1
                    del self._restart_due[slot]
                    log.warning("the %s worker exited with code %s; restarting it (restart %d; see %s)", stage, code,
                                self.restarts[slot], log_file)
                    self.start_worker(stage, n)

    def stop(self, timeout: float = 20.0) -> None:
        procs = [p for ps in self.workers.values() for p in ps]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # graceful: finish the batch, commit, leave the group
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.stop_broker()
        if self._lock is not None:
            self._lock.release()


# With no article indexed and no dead letter counted for this long, the DLQ is read anyway: a worker killed between
# its dead letter and its status file would otherwise leave that article waiting until the timeout.
DLQ_STALL_S = 5.0


def _dead_lettered(status_dir: Path) -> int:
    """Dead letters the workers have sent, as their status files count them (after each letter is acknowledged)."""
    from services.health import read_statuses

    return sum(st.get("dead_lettered") or 0 for st in read_statuses(status_dir, include_exited=True))


def wait_until_done(pipeline: Pipeline, ids: list[str], timeout: float, progress: bool = True) -> tuple[set, set]:
    """Poll the store until each id is indexed or dead-lettered, and the ties they touched are folded. Returns
    (indexed, dead).

    The DLQ is read (a consumer of its own, about 0.4 s and 15 ms of CPU on Kafka) only when the workers have counted
    a dead letter since the last read, or when nothing has moved for DLQ_STALL_S: reading it whenever a poll found
    nothing new cost a 1,200-article run 7–14 reads, on the cores the pipeline was using."""
    from tqdm import tqdm

    from services.dlq import read_dead_letters
    from services.indexer import open_store

    wanted = set(ids)
    indexed: set[str] = set()
    dead: set[str] = set()
    dead_read_at: int | None = None  # the workers' count when the DLQ was last read
    moved_at = time.monotonic()
    store = open_store(pipeline.cfg)
    deadline = time.monotonic() + timeout
    bar = tqdm(total=len(wanted), desc="indexed", unit="article", disable=None if progress else True, file=sys.stderr)
    try:
        while True:
            pipeline.check_alive()
            before = len(indexed)
            indexed |= store.has_ids(sorted(wanted - indexed))
            remaining = wanted - indexed
            counted = _dead_lettered(pipeline.cfg.status_dir)
            if len(indexed) != before:
                moved_at = time.monotonic()
            if remaining - dead and (counted != dead_read_at or time.monotonic() - moved_at >= DLQ_STALL_S):
                dead = {d.article_id for d in read_dead_letters(pipeline.cfg, idle_ms=300)
                        if d.article_id in remaining}
                dead_read_at, moved_at = counted, time.monotonic()
            bar.n = len(indexed) + len(dead & remaining)
            bar.refresh()
            # Searchable, and the ties they touched folded (the indexer folds them once its stream is idle)
            if not remaining - dead and not store.ties_pending():
                return indexed, dead & remaining
            if time.monotonic() > deadline:
                waiting = (f"{len(remaining - dead)} of {len(wanted)} articles not indexed" if remaining - dead
                           else "every article indexed, but the ties they touched not folded")
                raise TimeoutError(f"{waiting} after {timeout:.0f} s; see the worker logs in {pipeline.cfg.log_dir}")
            time.sleep(0.2)
    finally:
        bar.close()
        store.close()


def feed_paths(cfg: Settings, paths: list[str], progress: bool = True) -> tuple[list[str], list]:
    """Produce every readable article and wait until the broker has each one. Returns (ids delivered, FeedErrors):
    an unreadable input, a message over the configured size limit (checked before sending) and a send the broker
    refused are each a FeedError that names the input or the article; none is counted as fed."""
    from kafka.errors import KafkaError
    from tqdm import tqdm

    from services.feed import FeedError, producer, read_articles, send_raw

    prod = producer(cfg)
    sent: list[tuple[str, Any]] = []
    errors: list[FeedError] = []
    try:
        with tqdm(desc="fed", unit="article", disable=None if progress else True, file=sys.stderr) as bar:
            for item in read_articles(paths):
                if isinstance(item, FeedError):
                    errors.append(item)
                    continue
                size = len(item.model_dump_json().encode())
                if size > cfg.max_message_bytes:
                    limit = cfg.max_message_bytes
                    errors.append(FeedError(f"article {item.id}", f"{size:,} bytes exceeds the {limit:,}-byte "
                                                                  "message limit (CITYDESK_MAX_MESSAGE_BYTES)"))
                    continue
                try:
                    sent.append((str(item.id), send_raw(prod, item)))
                except KafkaError as exc:  # refused before it left: too large for the producer, buffer full …
                    errors.append(FeedError(f"article {item.id}", f"not sent: {type(exc).__name__}: {exc}"))
                    continue
                bar.update()
        prod.flush()
        ids = []
        for article_id, future in sent:  # kafka-python only logs a failed batch: ask each send how it went
            try:
                future.get(timeout=60)
                ids.append(article_id)
            except KafkaError as exc:
                errors.append(FeedError(f"article {article_id}", f"the broker did not take it: "
                                                                 f"{type(exc).__name__}: {exc}"))
    finally:
        prod.close()
    return ids, errors


def examples_dir() -> Path:
    """The example articles: package data (services/assets/examples), so an installed citydesk has them too."""
    from importlib import resources

    return Path(str(resources.files("services").joinpath("assets", "examples")))


def default_examples() -> list[str]:
    return [str(examples_dir())]
