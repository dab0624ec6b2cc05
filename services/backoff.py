"""The one backoff helper: how long to wait before trying again, doubling up to a cap.

Used for a destination that is unavailable (the batch waits, nothing is acknowledged), for a worker restarted after a
configuration error, and for `citydesk run` restarting a worker that died.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    first_s: float = 0.5
    cap_s: float = 30.0
    _next: float = 0.0

    def next(self) -> float:
        """The wait before the next try: first_s, then twice the last, never more than cap_s."""
        self._next = self.first_s if self._next == 0 else min(self._next * 2, self.cap_s)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


def delay_after(failures: int, first_s: float = 0.5, cap_s: float = 30.0) -> float:
    """The wait after `failures` consecutive failures (0: none), for callers that count them across processes."""
    return 0.0 if failures <= 0 else min(first_s * 2 ** (failures - 1), cap_s)
