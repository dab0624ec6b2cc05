"""Faust workers: the thin shell that wires each stage's pure function to its topics.

Each batch is processed, its results (or dead letters) are sent and their delivery awaited, and only
then does the loop take the next batch, which is when faust acknowledges the previous one: offsets are
committed only after the downstream send (or the store write) has succeeded. At-least-once delivery
with deterministic ids and upserts means each article ends up in the store exactly once.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import time
from typing import Any

import faust
from pydantic import BaseModel

from schemas import topics
from services.deadletter import dead_letter
from services.health import WorkerStatus, serve
from services.indexer.store import ArticleStore, StoreMisconfigured, StoreUnavailable, open_store
from services.settings import Settings
from services.stages import STAGES, StageError, article_id_of, warm_up

log = logging.getLogger("citydesk.worker")
MAX_BACKOFF_S = 30.0
# A produced message must stay under the broker's and producer's default limit of 1 MB.
MAX_MESSAGE_BYTES = 900_000


def build_app(stage: str, cfg: Settings, status: WorkerStatus | None = None) -> faust.App:
    if stage not in STAGES:
        raise ValueError(f"unknown worker {stage!r}: choose one of {', '.join(STAGES)}")
    in_topic, out_topic, function = STAGES[stage]
    datadir = cfg.data_dir / "faust" / stage
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"citydesk-{stage}",
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
    source = app.topic(in_topic, partitions=cfg.partitions)
    out = app.topic(out_topic, partitions=cfg.partitions) if out_topic else None
    dlq = app.topic(topics.DLQ, partitions=cfg.partitions)
    store_holder: dict[str, ArticleStore] = {}
    status = status or WorkerStatus(stage)

    async def send_dead_letter(exc: BaseException, event: Any) -> Any:
        msg = event.message
        payload = msg.value or b""
        aid = article_id_of(payload)
        letter = dead_letter(stage, exc, payload, article_id=aid, topic=msg.topic, partition=msg.partition,
                             offset=msg.offset, headers=_headers(msg.headers))
        log.warning("%s: dead-lettered %s:%s@%s (%s): %s", stage, msg.topic, msg.partition, msg.offset,
                    letter.error_type, letter.error[:300], extra={"article_id": aid, "stage": stage})
        return await dlq.send(key=(aid or letter.id).encode(), value=letter.model_dump_json().encode())

    def run_batch(payloads: list[bytes]) -> list[BaseModel | BaseException]:
        results: list[BaseModel | BaseException] = []
        for payload in payloads:
            try:
                results.append(function(payload))
            except Exception as exc:
                results.append(exc)
        return results

    async def write_with_retry(store: ArticleStore, batch: list) -> Any:
        backoff = 0.5
        while True:
            try:
                result = await asyncio.get_running_loop().run_in_executor(None, store.write, batch)
                if status.state == "degraded":
                    log.info("indexer: store available again", extra={"stage": stage})
                status.update(state="ok")
                return result
            except StoreUnavailable as exc:
                log.warning("indexer: store unavailable (%s); retrying the batch of %d in %.1f s",
                            exc, len(batch), backoff)
                status.update(state="degraded", retried=status.retried + 1, last_error=str(exc)[:500])
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    @app.agent(source, name=f"citydesk-{stage}")
    async def process(stream: faust.StreamT) -> None:
        try:
            await process_batches(stream)
        except StoreMisconfigured as exc:
            # Retrying cannot help (credentials, privileges): say what to fix and exit with EX_CONFIG.
            log.error("%s: configuration error, the batch is not retried: %s", stage, exc, extra={"stage": stage})
            logging.shutdown()
            os._exit(78)
        except Exception:
            # A crashed agent leaves the process alive with its stream stopped, the worst of both: exit instead,
            # so the supervisor (citydesk run, compose) restarts it and the unacknowledged batch comes back.
            log.exception("%s: the stream failed; exiting so the worker is restarted", stage)
            logging.shutdown()
            os._exit(70)

    async def process_batches(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        status.update(ready=True, state="ok")
        async for events in stream.take_events(cfg.batch_size, within=cfg.batch_within_s):
            started = time.perf_counter()
            # CPU-bound work (Kiwi) runs off the event loop so heartbeats keep flowing.
            results = await loop.run_in_executor(None, run_batch, [e.message.value or b"" for e in events])
            pending, dead = [], 0
            good = []
            for event, result in zip(events, results, strict=True):
                if isinstance(result, BaseException):
                    pending.append(await send_dead_letter(result, event))
                    dead += 1
                else:
                    good.append((event, result))
            if out is not None:
                for event, result in good:
                    value = result.model_dump_json().encode()
                    if len(value) > MAX_MESSAGE_BYTES:  # the broker would refuse it and the stream would stop
                        pending.append(await send_dead_letter(StageError(
                            f"result of {len(value):,} bytes exceeds the {MAX_MESSAGE_BYTES:,}-byte message limit"),
                            event))
                        dead += 1
                        continue
                    pending.append(await out.send(key=result.id.encode(), value=value))  # type: ignore[attr-defined]
            elif good:
                if "store" not in store_holder:
                    store_holder["store"] = open_store(cfg, writer=True)
                    atexit.register(store_holder["store"].close)
                written = await write_with_retry(store_holder["store"], [r for _, r in good])
                by_id = {r.id: e for e, r in good}  # type: ignore[attr-defined]
                for rejection in written.rejected:
                    event = by_id.get(rejection.article_id)
                    if event is not None:
                        pending.append(await send_dead_letter(
                            ValueError(f"store rejected the document: {rejection.reason}"), event))
                        dead += 1
            await asyncio.gather(*pending)  # delivered before this batch is acknowledged
            status.update(consumed=status.consumed + len(events), produced=status.produced + len(events) - dead,
                          dead_lettered=status.dead_lettered + dead, last_batch_at=time.time())
            log.info("%s: %d in, %d out, %d dead-lettered in %.2f s", stage, len(events), len(events) - dead,
                     dead, time.perf_counter() - started,
                     extra={"stage": stage, "duration_s": round(time.perf_counter() - started, 3)})

    return app


def _headers(raw: Any) -> dict[str, str]:
    """Kafka headers (a list of (key, bytes) pairs, or a mapping) as text, for the dead letter."""
    pairs = raw.items() if isinstance(raw, dict) else (raw or [])
    return {str(k): v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for k, v in pairs}


def run_worker(stage: str, cfg: Settings) -> None:
    from services.broker import create_topics, wait_for_broker

    wait_for_broker(cfg)
    create_topics(cfg)
    status = WorkerStatus(stage, status_dir=cfg.status_dir)
    serve(status, cfg.health_port, cfg.health_host)
    log.info("%s: health on %s/health and /ready", stage, status.health_url, extra={"stage": stage})
    started = time.perf_counter()
    warm_up(stage)
    log.info("%s: models and data loaded in %.1f s", stage, time.perf_counter() - started, extra={"stage": stage})
    app = build_app(stage, cfg, status)
    worker = faust.Worker(app, loglevel=cfg.log_level.lower(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
