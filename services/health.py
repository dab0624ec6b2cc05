"""A worker's health, readiness and counters: served over HTTP (GET /health, GET /ready) and written to a status
file under <data_dir>/status/ that `citydesk status` reads.

/health is 200 while the worker is starting or working and 503 while something is wrong: degraded (its store
unavailable, retrying), hung (one message has run past the stage's per-message budget) or stalled (messages wait on
its partitions and no batch has finished for stall_after_s). /ready is 200 once its models are loaded and its stream
runs.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class WorkerStatus:
    stage: str
    pid: int = field(default_factory=os.getpid)
    state: str = "starting"  # starting | ok | degraded
    ready: bool = False
    received: int = 0  # messages taken into processing, counted before it (a killed batch counts here only)
    consumed: int = 0
    produced: int = 0
    dead_lettered: int = 0
    retried: int = 0
    last_batch_at: float | None = None
    # Work put off to an idle moment (the indexer's ties): when the last ended and what it took, so that the bench's
    # end to end counts it as if it had followed the last batch
    idle_work_at: float | None = None
    idle_work_s: float = 0.0
    last_error: str | None = None
    health_url: str | None = None
    started_at: float = field(default_factory=time.time)
    attempt: int = 0  # of the batch in progress: > 1 when an earlier try never finished (services/isolation.py)
    isolated: int = 0  # batches processed message by message in a child process
    waiting: int = 0  # messages on this worker's partitions not yet processed, as last seen
    budget_s: float = 10.0  # per message
    stall_after_s: float = 60.0
    message_started_at: float | None = None  # the message being processed now, outside isolation
    last_progress_at: float = field(default_factory=time.time)
    status_dir: Path | None = None

    def problem(self, now: float | None = None) -> str | None:
        """Why /health fails now, or None."""
        now = now or time.time()
        if self.state == "degraded":
            return "degraded: " + (self.last_error or "its destination is unavailable")
        if self.message_started_at is not None and now - self.message_started_at > self.budget_s:
            return f"hung: one message has taken {now - self.message_started_at:.0f} s, over its {self.budget_s:g} s"
        if self.ready and self.waiting > 0 and now - self.last_progress_at > self.stall_after_s:
            return (f"stalled: {self.waiting} messages wait and no batch has finished for "
                    f"{now - self.last_progress_at:.0f} s")
        return None

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("status_dir")
        data["problem"] = self.problem()
        return data

    def save(self) -> None:
        """Atomically, so `citydesk status` never reads half a file."""
        if self.status_dir is None:
            return
        self.status_dir.mkdir(parents=True, exist_ok=True)
        path = self.status_dir / f"{self.stage}-{self.pid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot()), encoding="utf-8")
        tmp.replace(path)

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.save()


def serve(status: WorkerStatus, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                code = 503 if status.problem() else 200
            elif self.path.startswith("/ready"):
                code = 200 if status.ready else 503
            else:
                code = 404
            body = json.dumps(status.snapshot()).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # probes every few seconds would flood the worker's log
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    status.update(health_url=f"http://{host}:{server.server_address[1]}")
    return server


def read_statuses(status_dir: Path, include_exited: bool = False) -> list[dict[str, Any]]:
    """Status of every worker that wrote one and still runs (files of dead processes are skipped unless
    include_exited: then a killed worker's last saved counters are there too)."""
    out = []
    for path in sorted(status_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not include_exited:
            try:
                os.kill(int(data["pid"]), 0)
            except (OSError, KeyError, ValueError):
                continue
        out.append(data)
    return out
