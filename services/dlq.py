"""Reading articles.dlq: list, show and replay dead letters.

The embedded broker reports wrong end offsets, so reading "to the end" means polling until a poll
comes back empty, never comparing against end offsets.
"""

from __future__ import annotations

from collections.abc import Iterator

from schemas import DeadLetter, topics
from services.settings import Settings


def read_dead_letters(cfg: Settings, idle_ms: int = 1500) -> Iterator[DeadLetter]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False,
                             client_id="citydesk-dlq-reader", consumer_timeout_ms=idle_ms)
    try:
        partitions = consumer.partitions_for_topic(topics.DLQ) or set()
        tps = [TopicPartition(topics.DLQ, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        seen: dict[str, DeadLetter] = {}
        for record in consumer:
            letter = DeadLetter.model_validate_json(record.value)
            previous = seen.get(letter.id)
            if previous is not None:  # the same failure again (a retry or a replay): one letter, counted
                letter = letter.model_copy(update={"first_seen": previous.first_seen,
                                                   "attempts": previous.attempts + letter.attempts})
            seen[letter.id] = letter
        yield from seen.values()
    finally:
        consumer.close()


class ReplayFailed(RuntimeError):
    """Some letters could not be sent again; the message names them and why."""


def replay(cfg: Settings, letters: list[DeadLetter], stage: str | None = None) -> int:
    """Send each letter's original payload back to the topic it failed on, marked with a replay header, and wait
    until the broker has every one. Idempotent downstream: ids are deterministic, so a replayed article that now
    succeeds is written once, and one that fails again is the same letter (counted), not a new one.
    Returns how many were sent; raises ReplayFailed naming any the broker refused."""
    from kafka.errors import KafkaError

    from services.deadletter import REPLAY_HEADER, original_payload
    from services.feed import producer

    prod = producer(cfg)
    sent: list[tuple[DeadLetter, object]] = []
    skipped: list[str] = []
    try:
        for letter in letters:
            if (stage and letter.stage != stage) or not letter.source_topic:
                continue
            if letter.payload_truncated:
                skipped.append(letter.id)  # only part of the message was kept: it cannot be sent again
                continue
            key = (letter.article_id or letter.id).encode()
            headers = [(REPLAY_HEADER, letter.id.encode())]
            if topics.VERSION_HEADER in letter.headers:  # the version it had: an old replay stays old in the store
                headers.append((topics.VERSION_HEADER, letter.headers[topics.VERSION_HEADER].encode()))
            sent.append((letter, prod.send(letter.source_topic, key=key, value=original_payload(letter),
                                           headers=headers)))
        prod.flush()
        failed = []
        for letter, future in sent:
            try:
                future.get(timeout=30)  # type: ignore[attr-defined]
            except KafkaError as exc:
                failed.append(f"{letter.id} ({type(exc).__name__}: {exc})")
    finally:
        prod.close()
    if skipped:
        import logging

        logging.getLogger("citydesk.dlq").warning(
            "not replayed (payload truncated, too large to keep whole): %s", ", ".join(skipped))
    if failed:
        raise ReplayFailed(f"{len(failed)} of {len(sent)} letters were not sent again: {'; '.join(failed)}; "
                           "check the broker (citydesk status) and replay again: the others are not doubled")
    return len(sent)
