"""The Operations page's data: the workers' status files (what `citydesk status` reads), consumer lag per topic
and partition, dead letters grouped by reason (what `citydesk dlq list` reads) and their replay.

Everything that talks to the broker first checks, in half a second, that it accepts connections, so the page
answers quickly with "broker not reachable" instead of waiting for a client's timeouts.

Lag is the end offset minus the group's committed offset. tansu (the embedded broker) reports end offsets that
can be wrong after batched produces (shared/notes/embedded-broker.md), so on tansu the committed offsets are
shown and lag is not computed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from schemas import DeadLetter
from services.desk.cleaning import broker_error
from services.settings import Settings

PREVIEW_CHARS = 400


def workers(cfg: Settings) -> list[dict[str, Any]]:
    from services.health import read_statuses

    now = time.time()
    out = []
    for s in read_statuses(cfg.status_dir):
        s = dict(s)
        s["last_batch_ago_s"] = round(now - s["last_batch_at"], 1) if s.get("last_batch_at") else None
        s["up_s"] = round(now - s["started_at"], 0) if s.get("started_at") else None
        out.append(s)
    return out


@dataclass
class Lag:
    available: bool
    note: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)


def lag(cfg: Settings) -> Lag:
    from kafka import KafkaConsumer, TopicPartition

    from services.stages import STAGES

    down = broker_error(cfg.bootstrap_servers)
    if down:
        return Lag(False, down)
    trust_end = getattr(cfg, "broker", "tansu") != "tansu"
    rows = []
    for stage, in_topic in ((s.name, s.source) for s in STAGES.values()):
        group = f"citydesk-{stage}"  # the faust app id of services/workers.py
        # A consumer of the group that never subscribes: it reads the group's committed offsets (OffsetFetch)
        # without joining it, so the workers are not rebalanced.
        consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, group_id=group,
                                 client_id="citydesk-desk-ops", request_timeout_ms=3000, enable_auto_commit=False)
        try:
            tps = [TopicPartition(in_topic, p) for p in sorted(consumer.partitions_for_topic(in_topic) or [])]
            ends = consumer.end_offsets(tps) if (tps and trust_end) else {}
            for tp in tps:
                done = consumer.committed(tp)
                end = ends.get(tp)
                rows.append({"stage": stage, "group": group, "topic": tp.topic, "partition": tp.partition,
                             "committed": done, "end": end,
                             "lag": (end - (done or 0)) if end is not None else None})
        finally:
            consumer.close()
    note = "" if trust_end else ("tansu reports end offsets that can be wrong: committed offsets shown, lag not "
                                 "computed (Kafka reports it)")
    return Lag(True, note, rows)


_NUMBERS = re.compile(r"\d+")


def reason_key(letter: DeadLetter) -> str:
    """Letters that failed for the same reason share a key: numbers (offsets, sizes, positions) do not count."""
    first = letter.error.strip().splitlines()[0] if letter.error.strip() else ""
    return f"{letter.stage} · {letter.error_type} · {_NUMBERS.sub('#', first)[:160]}"


def preview(letter: DeadLetter) -> str:
    if letter.payload_encoding == "base64":
        return f"(binary, {letter.payload_bytes:,} bytes, base64 in the letter)"
    text = letter.payload[:PREVIEW_CHARS]
    return text + ("…" if len(letter.payload) > PREVIEW_CHARS else "")


@dataclass
class Letters:
    error: str | None
    letters: list[DeadLetter] = field(default_factory=list)

    def groups(self) -> list[dict[str, Any]]:
        grouped: dict[str, list[DeadLetter]] = {}
        for letter in self.letters:
            grouped.setdefault(reason_key(letter), []).append(letter)
        out = []
        for key, items in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
            first = items[0]
            out.append({"key": key, "stage": first.stage, "error_type": first.error_type, "count": len(items),
                        "replayable": [x.id for x in items if x.source_topic and not x.payload_truncated],
                        "letters": [{"id": x.id, "article_id": x.article_id, "error": x.error, "attempts": x.attempts,
                                     "source": f"{x.source_topic}[{x.partition}]@{x.offset}",
                                     "last_seen": x.last_seen, "truncated": x.payload_truncated,
                                     "replayable": bool(x.source_topic) and not x.payload_truncated,
                                     "preview": preview(x)} for x in items]})
        return out


def dead_letters(cfg: Settings) -> Letters:
    from services.dlq import read_dead_letters

    down = broker_error(cfg.bootstrap_servers)
    if down:
        return Letters(down)
    try:
        return Letters(None, list(read_dead_letters(cfg, idle_ms=400)))
    except Exception as exc:  # a broker that accepts connections but not our client: say so on the page
        return Letters(f"{type(exc).__name__}: {exc}")


def replay(cfg: Settings, ids: list[str]) -> tuple[int, list[str]]:
    """Send the letters with these ids back to their topics; returns (sent, ids not found among the letters)."""
    from services.dlq import replay as send_again

    found = dead_letters(cfg)
    if found.error:
        raise RuntimeError(found.error)
    wanted = set(ids)
    chosen = [x for x in found.letters if x.id in wanted]
    missing = sorted(wanted - {x.id for x in chosen})
    return send_again(cfg, chosen), missing
