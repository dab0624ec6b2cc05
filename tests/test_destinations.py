"""The stage engine's contract without a broker: destinations answer refusals or raise Unavailable/Misconfigured,
store errors are sorted into three kinds, and the loop backs off on Unavailable, reports degraded, and dead-letters
stage failures and refusals by one path; a stage that sends to a topic runs its next batch while the last one is
acknowledged, commits each once delivered and in order, and ends the worker when a delivery nobody awaits fails.
Proves the sorting and the loop's order with fakes and a real embedded store (its writer lock held by another
writer); does not prove the faust wiring (tests/test_pipeline_integration.py and the reliability suites do)."""

from __future__ import annotations

import asyncio
import errno
import threading

import pytest

from schemas import TaggedArticle
from services.destinations import (
    DocumentRejected,
    Misconfigured,
    Oversized,
    Refusal,
    Result,
    StoreDestination,
    TopicDestination,
    Unavailable,
    store_error_kind,
)
from services.health import WorkerStatus
from services.indexer.store import Rejection, StoreMisconfigured, StoreUnavailable, WriteResult
from services.stages import STAGES, Stage
from services.workers import Incoming, StageLoop


def _article(aid: str, body: str = "본문") -> TaggedArticle:
    return TaggedArticle(id=aid, title="제목", body=body)


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    async def send(self, *, key, value, headers=None):
        self.sent.append((key, value))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_a_result_too_large_for_a_message_is_refused_and_the_others_sent():
    topic = FakeTopic()
    results = [Result(0, b"a", _article("a")), Result(1, b"b", _article("b", "가" * 400_000)),
               Result(2, b"c", _article("c"))]
    refusals = asyncio.run(TopicDestination(topic, max_bytes=900_000).deliver(results))
    assert [r.index for r in refusals] == [1] and isinstance(refusals[0].error, Oversized)
    assert [k for k, _ in topic.sent] == [b"a", b"c"]


class FakeStore:
    def __init__(self, *errors: BaseException, rejected: list[Rejection] | None = None) -> None:
        self.errors, self.rejected, self.writes = list(errors), rejected or [], 0

    def write(self, batch):
        self.writes += 1
        if self.errors:
            raise self.errors.pop(0)
        return WriteResult(len(batch) - len(self.rejected), self.rejected)

    def close(self):
        pass


def _plain(store, batch):
    return store.write(batch)


def test_a_rejected_document_is_a_refusal_of_that_result_only():
    store = FakeStore(rejected=[Rejection("b", "mapper_parsing_exception", "field [x] of different type")])
    results = [Result(0, b"a", _article("a")), Result(1, b"b", _article("b"))]
    refusals = asyncio.run(StoreDestination(lambda: store, write=_plain).deliver(results))
    assert [r.index for r in refusals] == [1]
    assert isinstance(refusals[0].error, DocumentRejected)
    assert refusals[0].error.error_type == "mapper_parsing_exception"


@pytest.mark.parametrize(("error", "kind"), [
    (StoreUnavailable("down"), "retryable"),
    (OSError(errno.ENOSPC, "No space left on device"), "retryable"),
    (ValueError("Failed to acquire Lockfile: LockBusy."), "retryable"),
    (ValueError("An IO error occurred: 'No space left on device (os error 28)'"), "retryable"),
    (StoreMisconfigured("401"), "configuration"),
    (OSError(errno.EROFS, "Read-only file system"), "configuration"),
    (KeyError("bug"), None),
])
def test_store_errors_are_sorted_into_three_kinds(error, kind):
    assert store_error_kind(error) == kind


def test_retryable_and_configuration_errors_become_unavailable_and_misconfigured():
    results = [Result(0, b"a", _article("a"))]
    with pytest.raises(Unavailable):
        asyncio.run(StoreDestination(lambda: FakeStore(OSError(errno.ENOSPC, "disk full")), write=_plain).deliver(results))
    with pytest.raises(Misconfigured):
        asyncio.run(StoreDestination(lambda: FakeStore(StoreMisconfigured("403")), write=_plain).deliver(results))
    with pytest.raises(KeyError):  # not a store error we know: the worker exits and the batch comes back
        asyncio.run(StoreDestination(lambda: FakeStore(KeyError("bug")), write=_plain).deliver(results))


def test_a_writer_lock_held_elsewhere_makes_the_batch_wait_not_the_worker_crash(tmp_path):
    from services.indexer.embedded import EmbeddedStore

    holder = EmbeddedStore(tmp_path, writer=True)
    try:
        destination = StoreDestination(lambda: EmbeddedStore(tmp_path, writer=True))
        with pytest.raises(Unavailable, match="LockBusy"):
            asyncio.run(destination.deliver([Result(0, b"a", _article("a"))]))
    finally:
        holder.close()


class FlakyDestination:
    name = "store"

    def __init__(self, failures: int, refuse: set[int] = frozenset()) -> None:
        self.failures, self.refuse, self.calls = failures, refuse, 0

    async def deliver(self, results):
        self.calls += 1
        if self.calls <= self.failures:
            raise Unavailable("store down", retry_after=0.01)
        return [Refusal(r.index, DocumentRejected("bad field")) for r in results if r.index in self.refuse]


def _stage(function) -> Stage:
    return Stage("indexer", "articles.tagged", function, STAGES["indexer"].destination)


def _incoming(n: int, value: bytes) -> Incoming:
    return Incoming(value, "articles.tagged", 0, n, {})


def test_the_loop_waits_while_unavailable_then_dead_letters_failures_and_refusals_by_one_path():
    def function(payload: bytes):
        if payload == b"bad":
            raise ValueError("cannot parse")
        return _article(payload.decode())

    dlq = FakeTopic()
    status = WorkerStatus("indexer")
    seen: list[str] = []
    original = status.update

    def update(**changes):
        if "state" in changes:
            seen.append(changes["state"])
        original(**changes)

    status.update = update  # type: ignore[method-assign]
    destination = FlakyDestination(failures=2, refuse={2})
    loop = StageLoop(_stage(function), destination, dlq, status)
    asyncio.run(loop.handle([_incoming(0, b"a"), _incoming(1, b"bad"), _incoming(2, b"c")]))
    assert destination.calls == 3 and seen == ["degraded", "degraded", "ok"]
    assert status.retried == 2 and status.consumed == 3 and status.dead_lettered == 2 and status.produced == 1
    letters = [v.decode() for _, v in dlq.sent]
    assert len(letters) == 2 and "cannot parse" in letters[0] and "bad field" in letters[1]


class AcknowledgedLater:
    """A topic as the tagger sees it: sending is quick, the broker's acknowledgement comes later."""

    name = "articles.tagged"

    def __init__(self, events: list[str], sent: threading.Event) -> None:
        self.events, self.sent = events, sent

    async def deliver(self, results):
        keys = ",".join(r.key.decode() for r in results)
        self.events.append(f"sent {keys}")
        self.sent.set()
        await asyncio.sleep(0.05)
        self.events.append(f"acked {keys}")
        return []


def _committing(events: list[str], name: str):
    async def acknowledge() -> None:
        events.append(f"committed {name}")

    return acknowledge


def test_a_stage_that_sends_to_a_topic_runs_its_next_batch_while_the_last_is_acknowledged():
    events: list[str] = []
    first_sent = threading.Event()

    def function(payload: bytes):
        if payload == b"c":  # the second batch: waits for the first one's sending, which must not wait for it
            assert first_sent.wait(5), "the first batch was not sent before the second one ran"
        events.append(f"ran {payload.decode()}")
        return _article(payload.decode())

    stage = Stage("tagger", "articles.clean", function, STAGES["tagger"].destination)
    loop = StageLoop(stage, AcknowledgedLater(events, first_sent), FakeTopic(), WorkerStatus("tagger"))

    async def stream() -> None:
        await loop.handle([_incoming(0, b"a"), _incoming(1, b"b")], _committing(events, "a,b"))
        await loop.handle([_incoming(2, b"c"), _incoming(3, b"d")], _committing(events, "c,d"))
        await loop.finish_delivering()

    asyncio.run(stream())
    assert events.index("ran c") < events.index("acked a,b")  # ran while the first batch was on its way
    # Each batch committed once delivered, and the second one sent only after the first (a partition's order)
    assert [e for e in events if not e.startswith("ran")] == [
        "sent a,b", "acked a,b", "committed a,b", "sent c,d", "acked c,d", "committed c,d"]
    assert loop.next_offsets == {("articles.tagged", 0): 4}


def test_a_delivery_failing_while_the_stream_waits_ends_the_worker_and_is_not_committed():
    class BrokerGone:
        name = "articles.tagged"

        async def deliver(self, results):
            raise RuntimeError("broker gone")

    events: list[str] = []
    stage = Stage("tagger", "articles.clean", lambda p: _article(p.decode()), STAGES["tagger"].destination)
    loop = StageLoop(stage, BrokerGone(), FakeTopic(), WorkerStatus("tagger"))
    failures: list[BaseException] = []
    loop.on_failure = failures.append  # the worker exits there (services/workers.py build_app)

    async def stream() -> None:
        await loop.handle([_incoming(0, b"a")], _committing(events, "a"))
        await asyncio.sleep(0.1)  # no next batch comes to await the delivery

    asyncio.run(stream())
    assert [str(f) for f in failures] == ["broker gone"] and events == []


def test_a_delivery_cancelled_under_the_loop_fails_the_worker_rather_than_hold_its_partition():
    """Cancelled by anything but a stop of the loop (a send future cancelled under it), the batch would stay
    unacknowledged and hold back every later commit of its partitions: the loop raises, and the worker restarts."""

    class Stalled:
        name = "articles.tagged"

        async def deliver(self, results):
            await asyncio.sleep(10)
            return []

    events: list[str] = []
    stage = Stage("tagger", "articles.clean", lambda p: _article(p.decode()), STAGES["tagger"].destination)
    loop = StageLoop(stage, Stalled(), FakeTopic(), WorkerStatus("tagger"))

    async def stream() -> None:
        await loop.handle([_incoming(0, b"a")], _committing(events, "a"))
        await asyncio.sleep(0.01)
        loop._delivering.cancel()
        with pytest.raises(RuntimeError, match="cancelled"):
            await loop.finish_delivering()

    asyncio.run(stream())
    assert events == []
