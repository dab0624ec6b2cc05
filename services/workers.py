"""Faust workers: the wiring of a Stage (services/stages.py) to its topics, and the one loop every stage runs.

The loop, for each batch the stream hands over:
  0. record its offsets as in flight, with an attempt count (services/isolation.py);
  1. run the stage's pure function on every message, off the event loop (heartbeats keep flowing); after
     `isolate_after` failed starts on the same offsets, message by message in a child process instead, so that a
     message that kills, hangs or exhausts the worker is dead-lettered rather than stalling its partition;
  2. deliver the results to the stage's destination (services/destinations.py), waiting with backoff while it is
     unavailable: nothing is acknowledged meanwhile; a stage that sends to a topic does this while its next batch
     runs (step 1), and delivers that one only after it;
  3. dead-letter what failed and what the destination refused, by one path, and await those sends too;
  4. clear the in-flight record and acknowledge the batch.
A watchdog thread ends the process (exit 70) when one message runs past the stage's budget, so a hang becomes a
failed start that the next try counts.
Offsets are therefore committed only after the downstream send or the store write has succeeded: at-least-once
delivery, with deterministic ids and upserts, so each article ends up in the store exactly once.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from pydantic import BaseModel

from schemas import topics
from services import faults
from services.backoff import Backoff, delay_after
from services.deadletter import dead_letter
from services.destinations import (
    Destination,
    Misconfigured,
    Refusal,
    Result,
    StoreDestination,
    TopicDestination,
    ToTopic,
    Unavailable,
)
from services.health import WorkerStatus, serve
from services.isolation import Journal, run_isolated
from services.settings import Settings
from services.stages import STAGES, Stage, article_id_of, warm_up

log = logging.getLogger("citydesk.worker")
EX_SOFTWARE, EX_CONFIG = 70, 78  # sysexits: the stream failed (restart me) / the configuration is wrong (fix it)


@dataclass(frozen=True)
class Incoming:
    """One consumed message, as the loop needs it: its bytes and where it came from."""

    value: bytes
    topic: str
    partition: int
    offset: int
    headers: dict[str, str]
    version: int | None = None  # when it was fed: the version header, else the message's timestamp (ms)

    @classmethod
    def of(cls, event: Any) -> Incoming:
        msg = event.message
        headers = _headers(msg.headers)
        version = _version(headers.get(topics.VERSION_HEADER), msg.timestamp)
        if version is not None:
            headers.setdefault(topics.VERSION_HEADER, str(version))  # kept by a dead letter, sent again by replay
        return cls(msg.value or b"", msg.topic, msg.partition, msg.offset, headers, version)


# How long the broker may hold a fetch that finds nothing new. faust hard-codes 1500 ms; Apache Kafka answers a
# waiting fetch as soon as a record arrives whatever this is, but the embedded broker (tansu) answers late in
# proportion to it: measured here, a record produced while a fetch waited reached the consumer after 0.34 s on
# average at 1500 ms, 0.012 s at 100 ms — paid at every stage boundary. 100 ms costs an idle worker ten empty fetches
# a second.
FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts (its Fetcher)
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


async def take_batches(stream: Any, max_: int, within: float, idle: float,
                       on_idle: Callable[[], Awaitable[None]] | None = None) -> AsyncIterator[list[Any]]:
    """faust's `Stream.take_events` (faust/streams.py, same buffering), with two changes. The events are not
    acknowledged here: the loop acknowledges a batch once it is delivered (`acknowledger`), which may be after it has
    asked for the next one (faust commits an offset only when every offset before it is acknowledged). And a batch
    is handed over when it holds `max_` events, or `within` seconds after its first event, or as soon as no event has
    come for `idle` seconds — whatever the broker had for us. take_events waits out `within` whenever fewer than
    `max_` are there: on each stage, at the start of a burst and at its end (measured: up to 0.1–0.5 s per stage per
    burst), while under load a batch fills up anyway during the previous one (the buffer waits, as in take_events).
    ``on_idle`` is awaited each time `within` seconds pass with no event at all."""
    from mode.utils.futures import notify

    events: list[Any] = []
    buffer_full, buffer_consumed, added = asyncio.Event(), asyncio.Event(), asyncio.Event()
    buffer_consuming: asyncio.Future[None] | None = None
    loop = asyncio.get_running_loop()
    channel_it = stream.channel.__aiter__()
    stream_enable_acks = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal buffer_consuming
        try:
            if buffer_consuming is not None:  # the loop holds the current batch: wait until it asks for the next
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take buffer found current_event is None")
            events.append(event)
            added.set()
            if len(events) >= max_:
                buffer_full.set()
                buffer_consumed.clear()
                await stream.wait(buffer_consumed)  # never more than max_ in a batch
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("error adding to the take buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # acked below, once the batch is done
    stream.add_processor(add_to_buffer)
    stream._enable_passive(channel_it)
    try:
        while not stream.should_stop:
            if not events:
                added.clear()
                await stream.wait_for_stopped(added, timeout=within)
                if not events and on_idle is not None and not stream.should_stop:
                    await on_idle()
                continue
            first_at = loop.time()
            while not buffer_full.is_set():
                left = within - (loop.time() - first_at)
                if left <= 0:
                    break
                added.clear()
                await stream.wait_for_stopped(added, timeout=min(idle, left))
                if not added.is_set():
                    break  # nothing more came: hand over what there is
            if stream.should_stop:
                break
            buffer_consuming = loop.create_future()
            try:
                yield list(events)
            finally:
                events.clear()
                notify(buffer_consuming)
                buffer_full.clear()
                buffer_consumed.set()
    finally:
        stream.enable_acks = stream_enable_acks
        stream._processors.remove(add_to_buffer)


def build_app(stage_name: str, cfg: Settings, status: WorkerStatus | None = None) -> faust.App:
    if stage_name not in STAGES:
        raise ValueError(f"unknown worker {stage_name!r}: choose one of {', '.join(STAGES)}")
    stage = STAGES[stage_name]
    datadir = cfg.data_dir / "faust" / stage.name
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"citydesk-{stage.name}",
        broker=[f"kafka://{s.strip()}" for s in cfg.bootstrap_servers.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        processing_guarantee="at_least_once",  # exactly_once needs transactions the embedded broker lacks
        broker_session_timeout=cfg.session_timeout_s,
        broker_heartbeat_interval=max(cfg.session_timeout_s / 3, 0.5),
        broker_rebalance_timeout=cfg.session_timeout_s,
        consumer_auto_offset_reset="earliest",
        topic_partitions=cfg.partitions,
        topic_allow_declare=False,  # topics are created by `citydesk setup` with their partition counts
        topic_disable_leader=True,
        producer_acks=-1,
        web_enabled=False,
        datadir=str(datadir),
    )
    app.transport.Consumer = _Consumer  # type: ignore[misc]  # FETCH_MAX_WAIT_MS
    source = app.topic(stage.source, partitions=cfg.partitions)
    dlq = app.topic(topics.DLQ, partitions=cfg.partitions)
    destination = open_destination(stage, app, cfg)
    atexit.register(destination.close)
    loop = StageLoop(stage, destination, dlq, status or WorkerStatus(stage.name), cfg)

    def fail(exc: BaseException) -> None:
        if isinstance(exc, Misconfigured):
            # Retrying cannot help (credentials, privileges): say what to fix and exit with EX_CONFIG; the next
            # start waits longer each time (config_errors), so a restarting supervisor does not hammer the store.
            log.error("%s: configuration error, the batch is not retried: %s", stage.name, exc,
                      extra={"stage": stage.name})
            loop.config_errors.record()
            logging.shutdown()
            os._exit(EX_CONFIG)
        # A crashed agent leaves the process alive with its stream stopped, the worst of both: exit instead,
        # so the supervisor (citydesk run, compose) restarts it and the unacknowledged batch comes back.
        log.error("%s: the stream failed; exiting so the worker is restarted", stage.name, exc_info=exc)
        logging.shutdown()
        os._exit(EX_SOFTWARE)

    loop.on_failure = fail  # a delivery that fails while the stream waits for its next batch

    @app.agent(source, name=f"citydesk-{stage.name}")
    async def process(stream: Any) -> None:  # a faust Stream: StreamT does not declare take_events
        try:
            loop.status.update(ready=True, state="ok", last_progress_at=time.time())
            batch_size = min(cfg.batch_size, stage.max_batch or cfg.batch_size)
            async for events in take_batches(stream, batch_size, cfg.batch_within_s, stage.idle_s,
                                             on_idle=loop.idle):
                await loop.handle([Incoming.of(e) for e in events], acknowledger(stream, events))
            await loop.finish_delivering()
        except asyncio.CancelledError:
            loop.abandon_delivering()  # a stop: the batch on its way is not acknowledged, so it comes back
            raise
        except Exception as exc:
            fail(exc)

    @app.timer(interval=2.0)
    async def watch_waiting() -> None:
        """How many messages wait on this worker's partitions (the fetch highwater past what the loop finished or
        the group committed): with no batch finishing meanwhile, /health reports the worker stalled."""
        waiting = 0
        consumer = app.consumer
        committed = getattr(consumer, "_committed_offset", {})  # faust keeps no public view of it
        for tp in consumer.assignment():
            if tp.topic != stage.source:
                continue
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            done = max(loop.next_offsets.get((tp.topic, tp.partition), 0),
                       committed.get(tp) or 0)
            waiting += max(0, highwater - done)
        loop.status.waiting = waiting

    return app


def acknowledger(stream: Any, events: list[Any]) -> Callable[[], Awaitable[None]]:
    async def acknowledge() -> None:
        for event in events:
            await stream.ack(event)

    return acknowledge


def open_destination(stage: Stage, app: faust.App, cfg: Settings) -> Destination:
    if isinstance(stage.destination, ToTopic):
        return TopicDestination(app.topic(stage.destination.topic, partitions=cfg.partitions))
    from services.indexer import open_store

    return StoreDestination(lambda: open_store(cfg, writer=True))


class StageLoop:
    """Process a batch, then deliver it, dead-letter what failed, and only then acknowledge it. A stage that sends to
    a topic delivers each batch while the next one runs (its core would otherwise sit idle while the broker
    acknowledges: 0.7 s of a 6.1 s run for the tagger on Kafka); the next batch's results go out only after it, so a
    partition keeps its order. The indexer delivers each batch before it takes the next: its store write is its
    work, and a batch taken while it writes would be a small one, with a commit of its own."""

    def __init__(self, stage: Stage, destination: Destination, dlq: Any, status: WorkerStatus,
                 cfg: Settings | None = None) -> None:
        cfg = cfg or Settings()
        self.stage, self.destination, self.dlq, self.status = stage, destination, dlq, status
        self.function = faults.wrap(stage.name, stage.function)  # unchanged unless a test injects faults
        self.budget_s = cfg.message_budget_s or stage.budget_s
        self.isolate_after, self.memory_mb = cfg.isolate_after, cfg.isolation_memory_mb
        self.journal = Journal(cfg.data_dir / "inflight" / stage.name)
        self.config_errors = ConfigErrors(self.journal.directory / "config-errors.json")
        self.next_offsets: dict[tuple[str, int], int] = {}  # per source partition: the offset after the last done
        self.overlap = stage.output_topic is not None  # deliver while the next batch runs (the class's docstring)
        self._delivering: asyncio.Future[None] | None = None  # the batch on its way
        self.on_failure: Callable[[BaseException], None] | None = None  # its failure, when nobody awaits it
        status.budget_s, status.stall_after_s = self.budget_s, cfg.stall_after_s

    async def handle(self, batch: Sequence[Incoming],
                     acknowledge: Callable[[], Awaitable[None]] | None = None) -> None:
        """Run the batch; then, once the batch before it is delivered, deliver it (in a task when the stage overlaps,
        awaited otherwise) and acknowledge it with ``acknowledge``."""
        started = time.perf_counter()
        offsets: dict[tuple[str, int], list[int]] = {}
        for m in batch:
            offsets.setdefault((m.topic, m.partition), []).append(m.offset)
        # 0. in flight, counted: an earlier try of these offsets that never finished makes this attempt 2, 3 …
        attempt = self.journal.begin(offsets)
        self.status.update(attempt=attempt, received=self.status.received + len(batch))
        try:
            outcomes = await self._run(batch, attempt)
            await self.finish_delivering()  # the batch before: its results go out first
        except asyncio.CancelledError:  # a graceful stop is not a failed start: the batch is not poison
            self.journal.done(offsets)
            raise
        self._delivering = asyncio.ensure_future(self._deliver(batch, outcomes, offsets, started, acknowledge))
        if not self.overlap or attempt > self.isolate_after:
            await self.finish_delivering()
        else:
            self._delivering.add_done_callback(self._check_delivered)

    async def finish_delivering(self) -> None:
        """Wait for the batch on its way; its failure is raised here, and so is its cancellation by anyone but a
        stop of this loop (the batch would stay unacknowledged, holding its partition's commits back)."""
        delivering, self._delivering = self._delivering, None
        if delivering is None:
            return
        try:
            await delivering
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            raise RuntimeError("the delivery of a batch was cancelled; restarting so that it comes back") from None

    async def idle(self) -> None:
        """The stream has been idle: the destination finishes what it put off (the indexer's ties), timed."""
        started = time.perf_counter()
        if await self.destination.idle():
            self.status.update(idle_work_at=time.time(), idle_work_s=round(time.perf_counter() - started, 3))

    def abandon_delivering(self) -> None:
        """A stop: the batch on its way is given up, not acknowledged (it is delivered again after the restart)."""
        if self._delivering is not None:
            self._delivering.cancel()
            self._delivering = None

    def _check_delivered(self, delivering: asyncio.Future[None]) -> None:
        """The worker exits on a failed delivery nobody awaits yet (the stream may wait long for its next batch), so
        the batch comes back after the restart; without on_failure, finish_delivering raises it."""
        failed = delivering is self._delivering and not delivering.cancelled() and delivering.exception() is not None
        if failed and self.on_failure is not None:
            self._delivering = None
            self.on_failure(delivering.exception())  # type: ignore[arg-type]

    async def _run(self, batch: Sequence[Incoming], attempt: int) -> list[BaseModel | BaseException]:
        payloads = [m.value for m in batch]
        # 1. the pure function, off the event loop (Kiwi is CPU-bound; heartbeats must keep flowing)
        if attempt > self.isolate_after:
            log.warning("%s: attempt %d at offsets %s: processing message by message in a child process",
                        self.stage.name, attempt, _span(batch), extra={"stage": self.stage.name})
            self.status.update(isolated=self.status.isolated + 1)
            return await asyncio.get_running_loop().run_in_executor(
                None, run_isolated, self.function, payloads, self.budget_s, self.memory_mb)
        return await asyncio.get_running_loop().run_in_executor(None, self.run, payloads)

    async def _deliver(self, batch: Sequence[Incoming], outcomes: list[BaseModel | BaseException],
                       offsets: dict[tuple[str, int], list[int]], started: float,
                       acknowledge: Callable[[], Awaitable[None]] | None) -> None:
        try:
            results = [Result(n, str(getattr(o, "id", "")).encode(), _versioned(o, batch[n].version))
                       for n, o in enumerate(outcomes) if isinstance(o, BaseModel)]
            failures = [Refusal(n, o) for n, o in enumerate(outcomes) if isinstance(o, BaseException)]
            # 2. delivered whole, or the batch waits
            refusals = await self.deliver(results) if results else []
            # 3. one path to the DLQ for both
            await self.dead_letter(batch, failures + refusals)
        except asyncio.CancelledError:  # a graceful stop is not a failed start: the batch is not poison
            self.journal.done(offsets)
            raise
        dead = len(failures) + len(refusals)
        elapsed = time.perf_counter() - started
        st = self.status
        st.update(consumed=st.consumed + len(batch), produced=st.produced + len(batch) - dead,
                  dead_lettered=st.dead_lettered + dead, last_batch_at=time.time(), last_progress_at=time.time())
        log.info("%s: %d in, %d out, %d dead-lettered in %.2f s", self.stage.name, len(batch), len(batch) - dead,
                 dead, elapsed, extra={"stage": self.stage.name, "duration_s": round(elapsed, 3)})
        # 4. done: faust may commit these offsets once every offset before them is acknowledged too
        self.journal.done(offsets)
        for (topic, partition), offs in offsets.items():
            self.next_offsets[(topic, partition)] = max(offs) + 1
        if acknowledge is not None:
            await acknowledge()

    def run(self, payloads: list[bytes]) -> list[BaseModel | BaseException]:
        outcomes: list[BaseModel | BaseException] = []
        try:
            for payload in payloads:
                self.status.message_started_at = time.time()  # the watchdog's clock (services/health.py)
                try:
                    outcomes.append(self.function(payload))
                except Exception as exc:
                    outcomes.append(exc)
        finally:
            self.status.message_started_at = None
        return outcomes

    async def deliver(self, results: list[Result]) -> list[Refusal]:
        backoff = Backoff()
        while True:
            try:
                refusals = await self.destination.deliver(results)
            except Unavailable as exc:
                wait = exc.retry_after if exc.retry_after is not None else backoff.next()
                log.warning("%s: %s unavailable (%s); retrying the batch of %d in %.1f s", self.stage.name,
                            self.destination.name, exc, len(results), wait, extra={"stage": self.stage.name})
                self.status.update(state="degraded", retried=self.status.retried + 1, last_error=str(exc)[:500])
                await asyncio.sleep(wait)
                continue
            if self.status.state == "degraded":
                log.info("%s: %s available again", self.stage.name, self.destination.name,
                         extra={"stage": self.stage.name})
                self.status.update(state="ok")
            self.config_errors.clear()
            return refusals

    async def dead_letter(self, batch: Sequence[Incoming], refusals: list[Refusal]) -> None:
        pending = []
        for refusal in sorted(refusals, key=lambda r: r.index):
            msg = batch[refusal.index]
            aid = article_id_of(msg.value)
            letter = dead_letter(self.stage.name, refusal.error, msg.value, article_id=aid, topic=msg.topic,
                                 partition=msg.partition, offset=msg.offset, headers=msg.headers)
            log.warning("%s: dead-lettered %s:%s@%s (%s): %s", self.stage.name, msg.topic, msg.partition, msg.offset,
                        letter.error_type, letter.error[:300], extra={"article_id": aid, "stage": self.stage.name})
            pending.append(await self.dlq.send(key=(aid or letter.id).encode(),
                                               value=letter.model_dump_json().encode()))
        await asyncio.gather(*pending)  # delivered before this batch is acknowledged


class ConfigErrors:
    """Consecutive exits on a configuration error, kept across restarts: each start after one waits longer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cleared = False

    def count(self) -> tuple[int, float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return int(data["count"]), float(data["at"])
        except (OSError, ValueError, KeyError):
            return 0, 0.0

    def record(self) -> None:
        self.path.write_text(json.dumps({"count": self.count()[0] + 1, "at": time.time()}), encoding="utf-8")

    def clear(self) -> None:
        if not self._cleared:
            self.path.unlink(missing_ok=True)
            self._cleared = True

    def wait_before_start(self, stage: str) -> None:
        count, at = self.count()
        wait = delay_after(count, first_s=2.0, cap_s=120.0) - (time.time() - at)
        if wait > 0:
            log.warning("%s: the last %d starts ended on a configuration error; waiting %.0f s before trying again",
                        stage, count, wait, extra={"stage": stage})
            time.sleep(wait)


def _span(batch: Sequence[Incoming]) -> str:
    parts: dict[str, list[int]] = {}
    for m in batch:
        parts.setdefault(f"{m.topic}:{m.partition}", []).append(m.offset)
    return ", ".join(f"{tp}@{min(o)}-{max(o)}" for tp, o in parts.items())


def watchdog(status: WorkerStatus, interval_s: float = 1.0) -> threading.Thread:
    """Ends the process when one message runs past its budget: a hang becomes a failed start, which the next try
    counts, so the same batch is isolated after isolate_after tries instead of hanging the partition forever."""

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            problem = status.problem()
            if problem and problem.startswith("hung"):
                log.error("%s: %s; exiting so that the batch is retried (isolated after repeated failures)",
                          status.stage, problem, extra={"stage": status.stage})
                logging.shutdown()
                os._exit(EX_SOFTWARE)

    thread = threading.Thread(target=watch, name="watchdog", daemon=True)
    thread.start()
    return thread


def _version(header: str | None, timestamp: float | None) -> int | None:
    if header and header.isdigit():
        return int(header)
    return int(timestamp * 1000) if timestamp else None


def _versioned(result: BaseModel, version: int | None) -> BaseModel:
    """A result that carries no version yet (the cleaner's, from a raw message) takes its input's; later stages
    keep the one their input carries."""
    if version is None or getattr(result, "version", 0) is not None:
        return result
    return result.model_copy(update={"version": version})


def _headers(raw: Any) -> dict[str, str]:
    """Kafka headers (a list of (key, bytes) pairs, or a mapping) as text, for the dead letter."""
    pairs = raw.items() if isinstance(raw, dict) else (raw or [])
    return {str(k): v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for k, v in pairs}


def run_worker(stage: str, cfg: Settings) -> None:
    from services.broker import create_topics, wait_for_broker

    wait_for_broker(cfg)
    create_topics(cfg)
    status = WorkerStatus(stage, status_dir=cfg.status_dir)
    ConfigErrors(cfg.data_dir / "inflight" / stage / "config-errors.json").wait_before_start(stage)
    serve(status, cfg.health_port, cfg.health_host)
    log.info("%s: health on %s/health and /ready", stage, status.health_url, extra={"stage": stage})
    started = time.perf_counter()
    warm_up(stage)
    log.info("%s: models and data loaded in %.1f s", stage, time.perf_counter() - started, extra={"stage": stage})
    app = build_app(stage, cfg, status)
    watchdog(status)
    worker = _Worker(app, loglevel=cfg.log_level.lower(), quiet=True, redirect_stdouts=False)
    worker.citydesk_logging = (cfg.log_level, cfg.log_format)
    worker.execute_from_commandline()


class _Worker(faust.Worker):
    """faust's worker replaces the root logger's handlers with its own when it starts: ours go back right after, so
    CITYDESK_LOG_FORMAT=json holds for every line a worker logs from then on."""

    citydesk_logging: tuple[str, str] = ("INFO", "text")

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        from services.logs import configure

        super().on_setup_root_logger(logger, level)
        configure(*self.citydesk_logging)
