"""Where a stage's results go: the next topic or the search store, behind one contract.

Shaped after Quix Streams' sinks (a sink is flushed before the checkpoint; `SinkBackpressureError(retry_after)` makes
the app wait and retry), written for citydesk's worker loop:

- `Destination.deliver(results)` delivers a whole batch and answers with the *refusals*: results it will never take
  for their own content (a result too large for a message, a document the store rejected). The worker dead-letters
  refusals by the same path as the stage's own failures.
- It raises `Unavailable(retry_after)` when the whole batch must wait (the store is down, overloaded, its disk is
  full, another writer holds its lock): the worker backs off, reports itself degraded and delivers the same batch
  again. Nothing is acknowledged meanwhile.
- It raises `Misconfigured` when retrying cannot help (credentials, privileges): the worker exits 78 with the reason.

Store errors are sorted into these three kinds in one place, `store_error_kind`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from services.backoff import Backoff

if TYPE_CHECKING:
    from services.indexer.store import ArticleStore, WriteResult

log = logging.getLogger("citydesk.worker")

# A produced message must stay under the broker's and producer's default limit of 1 MB.
MAX_MESSAGE_BYTES = 900_000


@dataclass(frozen=True)
class Result:
    """One processed message on its way out: `index` is its position in the batch, so a refusal finds its input."""

    index: int
    key: bytes
    value: BaseModel
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    """A result the destination will never take, and why (an exception, as the stage's own failures are)."""

    index: int
    error: BaseException


class Unavailable(Exception):
    """The whole batch must wait: try it again after `retry_after` seconds (None: the worker's backoff decides)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Misconfigured(Exception):
    """The destination refuses us as configured; retrying cannot help. The text says what to fix."""


class Oversized(ValueError):
    """A result larger than one message may be."""


class DocumentRejected(ValueError):
    """The store refused this document for its content (a mapping conflict, a field too large …)."""

    def __init__(self, reason: str, error_type: str = "document_rejected") -> None:
        super().__init__(f"store rejected the document: {reason}")
        self.error_type = error_type


class Destination(ABC):
    name: str

    @abstractmethod
    async def deliver(self, results: Sequence[Result]) -> list[Refusal]:
        """Deliver every result that can be delivered and return the others as refusals; raise Unavailable when
        the batch must wait whole, Misconfigured when it never can."""

    async def idle(self) -> bool:
        """The stream has had nothing new for a while: finish work put off until then. True when there was some."""
        return False

    def close(self) -> None:  # noqa: B027 - only stores hold something open
        pass


class TopicDestination(Destination):
    """The next stage's topic. A result larger than `max_bytes` is refused (the broker would refuse it, and the
    stream would stop on that batch forever); the others are sent and their delivery awaited."""

    def __init__(self, topic: Any, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.topic = topic
        self.name = str(topic.get_topic_name()) if hasattr(topic, "get_topic_name") else str(topic)
        self.max_bytes = max_bytes

    async def deliver(self, results: Sequence[Result]) -> list[Refusal]:
        refusals, pending = [], []
        for result in results:
            value = result.value.model_dump_json().encode()
            if len(value) > self.max_bytes:
                refusals.append(Refusal(result.index, Oversized(
                    f"result of {len(value):,} bytes exceeds the {self.max_bytes:,}-byte message limit")))
                continue
            pending.append(await self.topic.send(key=result.key, value=value, headers=result.headers))
        await asyncio.gather(*pending)  # every send acknowledged by the broker before the batch is
        return refusals


StoreErrorKind = Literal["retryable", "configuration", "document"]
# An OS error with these numbers is the machine's state, not the document's: the batch waits until it changes.
_RETRYABLE_ERRNO = {errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.EBUSY, errno.ENOMEM, errno.EMFILE, errno.ENFILE,
                    errno.EIO}


def store_error_kind(exc: BaseException) -> StoreErrorKind | None:
    """Which of the three kinds a store error is, or None when it is not a store error we know (a bug: the worker
    exits and the batch comes back)."""
    from services.indexer.store import StoreMisconfigured, StoreUnavailable

    if isinstance(exc, StoreUnavailable):
        return "retryable"
    if isinstance(exc, StoreMisconfigured):
        return "configuration"
    if isinstance(exc, OSError):
        if exc.errno in _RETRYABLE_ERRNO:
            return "retryable"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return "configuration"
    text = str(exc)
    # tantivy reports through ValueError: another writer holds the index lock, or the disk is full.
    if isinstance(exc, ValueError) and any(w in text for w in ("LockBusy", "No space left", "Too many open files")):
        return "retryable"
    if isinstance(exc, ValueError) and ("Permission denied" in text or "Read-only file system" in text):
        return "configuration"
    return None


class StoreDestination(Destination):
    """The search store. A document the store rejects for its content is refused (to the DLQ); a store that cannot
    take writes now makes the batch wait; a store that refuses our configuration stops the worker."""

    name = "store"

    def __init__(self, open_store: Callable[[], ArticleStore],
                 write: Callable[[ArticleStore, list[Any]], WriteResult] | None = None) -> None:
        from services.indexer.placement import TIES_FOLD_EVERY_S, TIES_FOLD_QUIET_S, TiesBacklog

        self._open = open_store
        self._store: ArticleStore | None = None
        self._write_batch = write
        self._ties = TiesBacklog(every_s=TIES_FOLD_EVERY_S)  # the ties batches touched, folded every few seconds
        self._quiet_s = TIES_FOLD_QUIET_S
        self._idle_backoff, self._idle_retry_at = Backoff(), 0.0
        # One at a time: a write or a fold in the executor, and close at exit (a stop may leave a fold running)
        self._lock = threading.Lock()

    def _write(self, batch: list[Any]) -> Any:
        with self._lock:
            return self._write_locked(batch)

    def _write_locked(self, batch: list[Any]) -> Any:
        if self._store is None:
            self._store = self._open()  # opening may fail too (a held writer lock): sorted like a write
        if self._write_batch is not None:
            return self._write_batch(self._store, batch)
        # Stories placed and ties folded with the write, the store as the window (services/indexer/placement.py).
        from services.indexer.placement import index_batch

        return index_batch(self._store, batch, backlog=self._ties)

    def _fold_ties(self) -> bool:
        """Fold what the ties' backlog holds, the store's pending marks included (read at the first call, so that
        marks a crash left are folded even when no batch comes). True when it folded."""
        from services.indexer.placement import fold_ties

        with self._lock:
            if self._write_batch is not None:  # a write of the caller's own keeps no backlog
                return False
            if self._store is None:
                if self._ties.read_pending:
                    return False
                self._store = self._open()
            self._ties.take_marks(self._store)
            if self._ties.last is None:
                return False
            fold_ties(self._store, self._ties)
            return True

    async def idle(self) -> bool:
        """Fold the ties the last batches touched once none has come for TIES_FOLD_QUIET_S, and at the first idle
        moment what a crash left marked. A store that cannot take writes now is tried again after a backoff (the
        ties stay marked pending meanwhile); one that refuses our configuration stops the worker, as a write would."""
        now = time.monotonic()
        if (self._ties.read_pending and not self._ties.quiet_for(self._quiet_s)) or now < self._idle_retry_at:
            return False
        try:
            folded = await asyncio.get_running_loop().run_in_executor(None, self._fold_ties)
        except Exception as exc:
            kind = store_error_kind(exc)
            if kind == "configuration":
                raise Misconfigured(str(exc)) from exc
            if kind != "retryable":
                raise
            wait = self._idle_backoff.next()
            self._idle_retry_at = time.monotonic() + wait
            log.warning("store: the ties could not be folded yet (%s); trying again in %.1f s", exc, wait)
            return False
        self._idle_backoff.reset()
        return folded

    async def deliver(self, results: Sequence[Result]) -> list[Refusal]:
        batch = [r.value for r in results]
        try:
            written = await asyncio.get_running_loop().run_in_executor(None, self._write, batch)
        except Exception as exc:
            kind = store_error_kind(exc)
            if kind == "retryable":
                raise Unavailable(f"{type(exc).__name__}: {exc}"[:500]) from exc
            if kind == "configuration":
                raise Misconfigured(str(exc)) from exc
            raise
        by_id = {getattr(r.value, "id", None): r.index for r in results}
        return [Refusal(by_id[rejection.article_id], DocumentRejected(rejection.reason, rejection.error_type))
                for rejection in written.rejected if rejection.article_id in by_id]

    def close(self) -> None:
        try:
            if self._store is not None:  # one never opened has written nothing to fold
                self._fold_ties()  # else the next start folds them from their articles: right, and slower
        except Exception as exc:
            log.warning("store: the ties were left pending at close (%s)", exc)
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


# -- what a Stage names as its destination; the worker opens it ------------------------------------------------

@dataclass(frozen=True)
class ToTopic:
    topic: str


@dataclass(frozen=True)
class ToStore:
    pass


Target = ToTopic | ToStore
