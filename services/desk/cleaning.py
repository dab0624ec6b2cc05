""""How it was cleaned": the cleaner's verdict on every line of an article's raw page, the data of
`citydesk clean --explain`, computed again from the raw message.

The store keeps the clean article only. The raw page lives on ``articles.raw`` for as long as the broker keeps
it (tansu: in memory, until it stops; Kafka: the topic's retention). The feeder keys raw messages by article id,
so the one partition that can hold it is known: that partition alone is read, with a deadline, and the last
version under the id wins. When the broker is down or no longer has it, the desk says so.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

from schemas import RawArticle, topics
from services.settings import Settings


@dataclass
class RawLookup:
    raw: RawArticle | None
    where: str  # where it was found, or why it was not
    scanned: int = 0
    seconds: float = 0.0


@dataclass
class Explanation:
    available: bool
    message: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0
    kept: int = 0
    notes: list[str] = field(default_factory=list)
    body_differs: bool = False
    error: str | None = None


def broker_error(bootstrap_servers: str, timeout: float = 0.5) -> str | None:
    """None when some bootstrap server accepts a TCP connection, else why none did (fast: no client start-up)."""
    errors = []
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
                return None
        except (OSError, ValueError) as exc:
            errors.append(f"{server.strip()}: {exc}")
    return "broker not reachable (" + "; ".join(errors) + ")"


def find_raw(cfg: Settings, article_id: str, deadline_s: float = 5.0) -> RawLookup:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.partitioner.default import murmur2

    started = time.monotonic()
    down = broker_error(cfg.bootstrap_servers)
    if down:
        return RawLookup(None, down)
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False,
                             client_id="citydesk-desk-raw", consumer_timeout_ms=500, request_timeout_ms=5000)
    scanned = 0
    found: bytes | None = None
    try:
        partitions = sorted(consumer.partitions_for_topic(topics.RAW) or [])
        if not partitions:
            return RawLookup(None, f"the broker has no {topics.RAW} topic")
        key = article_id.encode()
        partition = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]  # the default partitioner's choice
        tp = TopicPartition(topics.RAW, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        for record in consumer:  # ends after 500 ms without a record: the end of what the broker holds
            scanned += 1
            if record.key == key:
                found = record.value
            if time.monotonic() - started > deadline_s:
                return RawLookup(_parse(found), f"stopped after {deadline_s:.0f} s reading {topics.RAW}"
                                 f"[{partition}] ({scanned} messages)", scanned, time.monotonic() - started)
    finally:
        consumer.close()
    where = f"{topics.RAW}[{partition}], {scanned} messages read"
    if found is None:
        return RawLookup(None, f"not on {where}", scanned, time.monotonic() - started)
    return RawLookup(_parse(found), where, scanned, time.monotonic() - started)


def _parse(payload: bytes | None) -> RawArticle | None:
    if payload is None:
        return None
    try:
        return RawArticle.model_validate_json(payload)
    except ValueError:
        return None


def reason_doc(code: str) -> str:
    try:
        from services.cleaner.reasons import R

        return R.doc(code)
    except (ImportError, KeyError, AttributeError):
        return ""


def explain(raw: RawArticle, stored_body: str | None = None) -> Explanation:
    """Every line's verdict, as `citydesk clean --explain` prints it, from today's cleaner."""
    from services.cleaner import CleaningError, analyze

    try:
        result = analyze(raw)
    except CleaningError as exc:
        return Explanation(True, "the cleaner refuses this page today", error=str(exc))
    lines = [{"number": v.number, "kept": v.kept, "reason": v.reason, "doc": reason_doc(v.reason), "text": v.text}
             for v in result.verdicts]
    kept = sum(1 for line in lines if line["kept"])
    return Explanation(True, "computed again from the raw page", lines=lines, kept=kept,
                       dropped=len(lines) - kept, notes=list(getattr(result, "notes", []) or []),
                       body_differs=stored_body is not None and result.article.body != stored_body)
