"""`citydesk run` as one unit with its children: they die with it, and one pipeline per data directory.

- `die_with_parent`, the preexec function of every child `run` starts (workers, the tansu broker, the local Apache
  Kafka, the desk): Linux's PR_SET_PDEATHSIG sends the child SIGKILL when the process that started it dies, however
  it dies (SIGKILL included). Each child runs in its own session, so a terminal's Ctrl-C reaches `run` only and
  `run` stops them in order; this is what remains when `run` cannot.
- `stopping_on_signals`: SIGTERM and SIGHUP (what `timeout`, `kill` and a closed terminal send) become `Stopped`, a
  KeyboardInterrupt, so `run` stops its workers gracefully and then its broker, as on Ctrl-C.
- `DataDirLock`: an exclusive lock on <data_dir>/run.lock for the life of `run`. A second pipeline on the same data
  directory is refused with the first one's pid, instead of two indexers fighting over one store.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, between fork and exec: SIGKILL me when my parent dies."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: run's own stop is all there is
        return
    if os.getppid() != parent:  # the parent died before the line above: nobody will stop us
        os._exit(1)


class Stopped(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class DataDirBusy(RuntimeError):
    """Another pipeline runs on this data directory."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirBusy(f"another citydesk pipeline (pid {holder}) is running on {self.path.parent.resolve()}; "
                              "stop it first, or give this one its own CITYDESK_DATA_DIR") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock; the file stays (removing it would race a new holder)
            self._fd = None
