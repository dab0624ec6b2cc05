"""Poison isolation: a message that kills, hangs or exhausts its worker cannot stall its partition.

1. Before a batch is processed, its in-flight offsets are written to <data_dir>/inflight/<stage>/<topic>-<p>.json
   with an attempt count: the same offsets found there at the next start mean the last try never finished (the
   process died: a segfault, the OOM killer, a hang the watchdog ended). A batch that finishes, or a graceful stop,
   removes the record.
2. After `isolate_after` failed starts on the same offsets, the batch runs message by message in a child process
   (forked: the models are already loaded) with a time limit per message and a memory limit. The message during
   which the child dies, hangs or runs out of memory becomes a failure of its own, dead-lettered with the reason
   (killed_by_signal, timed_out, out_of_memory); the rest go on in a new child.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import pickle
import resource
import select
import signal
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from services.deadletter import describe


class Poison(RuntimeError):
    """A message the isolated child could not survive; error_type says how (killed_by_signal, timed_out,
    out_of_memory)."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type


class Failed(RuntimeError):
    """A stage failure that happened in the child, carried back as its kind and text."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type


class Journal:
    """In-flight offsets and attempt counts, one small file per source partition (one owner at a time). A partition
    may have two batches in flight (services/workers.py delivers one while the next runs), so its file holds a list
    of records, each batch's own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, topic: str, partition: int) -> Path:
        return self.directory / f"{topic}-{partition}.json"

    def begin(self, offsets: dict[tuple[str, int], list[int]]) -> int:
        """Record the batch as in flight; returns its attempt number: one more than the most any record of its
        offsets counts (1 when every earlier try of them finished). Those records give way to the batch's own; the
        others stay, so a batch that crashed beside the one before it is still counted when it comes back."""
        attempt = 1
        others: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for (topic, partition), offs in offsets.items():
            first, last = min(offs), max(offs)
            records = self._read(topic, partition)
            overlapping = [r for r in records if r["first"] <= last and first <= r["last"]]
            attempt = max(attempt, 1 + max((r["attempts"] for r in overlapping), default=0))
            others[(topic, partition)] = [r for r in records if r not in overlapping][-(RECORDS_KEPT - 1):]
        for (topic, partition), offs in offsets.items():
            # the batch is retried whole: every partition of it shares the count
            record = {"first": min(offs), "last": max(offs), "attempts": attempt, "pid": os.getpid(),
                      "started_at": time.time()}
            self._write(topic, partition, [*others[(topic, partition)], record])
        return attempt

    def done(self, offsets: dict[tuple[str, int], list[int]]) -> None:
        """Forget the batch's own records, not those of a batch begun beside it."""
        for (topic, partition), offs in offsets.items():
            records = self._read(topic, partition)
            left = [r for r in records if (r["first"], r["last"]) != (min(offs), max(offs))]
            if len(left) != len(records):
                self._write(topic, partition, left)

    def _read(self, topic: str, partition: int) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._path(topic, partition).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [dict(r) for r in (data if isinstance(data, list) else [data])]  # one record: an earlier citydesk

    def _write(self, topic: str, partition: int, records: list[dict[str, Any]]) -> None:
        path = self._path(topic, partition)
        if not records:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(records), encoding="utf-8")
        tmp.replace(path)


# In-flight records kept per partition: two batches in flight at most, and the records of batches that crashed
# until they come back; the oldest go first past this.
RECORDS_KEPT = 8


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(function: Callable[[bytes], BaseModel], payloads: Sequence[bytes], out: int, memory_mb: int) -> None:
    """Runs in the forked child: each message's outcome, one pickled frame at a time, then exit."""
    try:
        faulthandler.disable()  # a crash here is the expected outcome, reported by the parent: no dump
        if memory_mb > 0:
            limit = _vm_size() + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        for payload in payloads:
            try:
                frame: tuple[str, Any] = ("ok", function(payload))
            except MemoryError:
                frame = ("memory", None)
            except Exception as exc:
                frame = ("error", describe(exc))
            try:
                data = pickle.dumps(frame)
            except Exception as exc:  # an unpicklable result: say so rather than die
                data = pickle.dumps(("error", ("unpicklable_result", str(exc))))
            os.write(out, struct.pack(">Q", len(data)))
            view = memoryview(data)
            while view:
                view = view[os.write(out, view):]
    finally:
        os._exit(0)


def _read_exact(fd: int, n: int, deadline: float) -> bytes | None:
    """n bytes from fd before the deadline; None on timeout, b'' on end of file."""
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return b""
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def run_isolated(function: Callable[[bytes], BaseModel], payloads: Sequence[bytes], budget_s: float,
                 memory_mb: int = 2048) -> list[BaseModel | BaseException]:
    """Each payload's outcome, computed in forked children: a result, the stage's failure (Failed), or Poison for the
    message during which a child died, passed `budget_s`, or ran out of memory."""
    outcomes: list[BaseModel | BaseException] = []
    while len(outcomes) < len(payloads):
        start = len(outcomes)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_end)
            _child(function, payloads[start:], write_end, memory_mb)
        os.close(write_end)
        try:
            while len(outcomes) < len(payloads):
                deadline = time.monotonic() + budget_s
                header = _read_exact(read_end, 8, deadline)
                body = _read_exact(read_end, struct.unpack(">Q", header)[0], deadline + 5) if header else header
                if not body:  # the child hung (None) or died (b"") on this message
                    outcomes.append(_poison(pid, timed_out=body is None, budget_s=budget_s))
                    break
                kind, value = pickle.loads(body)
                if kind == "ok":
                    outcomes.append(value)
                elif kind == "memory":
                    outcomes.append(Poison("out_of_memory", f"the message exhausted the {memory_mb} MB memory "
                                                            "limit of an isolated run"))
                else:
                    outcomes.append(Failed(*value))
        finally:
            os.close(read_end)
            _reap(pid)
    return outcomes


def _poison(pid: int, *, timed_out: bool, budget_s: float) -> Poison:
    if timed_out:
        os.kill(pid, signal.SIGKILL)
        return Poison("timed_out", f"processing this message took longer than its {budget_s:g} s budget "
                                   "(an isolated run was stopped)")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status))
        hint = " (the kernel's OOM killer sends it when memory runs out)" if sig == signal.SIGKILL else ""
        return Poison("killed_by_signal", f"processing this message killed the process with {sig.name}{hint}")
    return Poison("killed_by_signal", f"the isolated run exited with code {os.WEXITSTATUS(status)} on this message")


def _reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
