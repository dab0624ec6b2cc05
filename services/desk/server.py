"""Running the desk: `citydesk serve` (uvicorn in this process), the discovery file that tells `citydesk search`
where a running desk answers, and the background process `citydesk run --keep` starts.

The discovery file ``<data_dir>/desk.json`` holds the desk's URL, its pid and the store it reads. It is written once
the server accepts connections and removed when it stops; a reader also checks that the pid still runs and that the
store is its own, so a stale or foreign file is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.settings import Settings

DISCOVERY_FILE = "desk.json"


def discovery_path(cfg: Settings) -> Path:
    return cfg.data_dir / DISCOVERY_FILE


def store_identity(cfg: Settings) -> str:
    """Which store a desk reads: a CLI uses a running desk only when it would read the same one."""
    if cfg.store == "elasticsearch":
        return f"elasticsearch {cfg.elasticsearch_url} {cfg.elasticsearch_index}"
    return f"embedded {cfg.store_dir.resolve()}"


def write_discovery(cfg: Settings, url: str) -> None:
    path = discovery_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "store": store_identity(cfg),
                               "started_at": time.time()}), encoding="utf-8")
    tmp.replace(path)


def remove_discovery(cfg: Settings) -> None:
    path = discovery_path(cfg)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def read_discovery(cfg: Settings) -> dict[str, Any] | None:
    """The running desk for this data directory and store, or None."""
    try:
        info = json.loads(discovery_path(cfg).read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.get("store") != store_identity(cfg) or not str(info.get("url", "")).startswith("http://"):
        return None
    return info


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it every
    # answer on a kept-alive connection waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_for(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(cfg: Settings, host: str = "127.0.0.1", port: int = 8765) -> int:  # 8765: DEFAULT_PORT
    """Run the desk until SIGINT/SIGTERM. Prints its address on stdout once it accepts connections."""
    import uvicorn

    from services.desk.app import create_app

    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"citydesk serve: cannot listen on {host}:{port}: {exc.strerror} (try --port 0 for any free port)",
              file=sys.stderr)
        return 2
    url = url_for(sock)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"citydesk serve: listening on {host}, not only this machine: anyone who reaches it can read the store",
              file=sys.stderr)
    app = create_app(cfg, bind_host=host)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                write_discovery(cfg, url)
                print(f"citydesk desk: {url}  (store: {store_identity(cfg)})", flush=True)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            remove_discovery(cfg)  # here: uvicorn re-raises SIGTERM after shutting down, past any finally
            await super().shutdown(sockets)

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3)
    server = Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        remove_discovery(cfg)
        sock.close()
    return 0


@dataclass
class DeskProcess:
    """A desk in a child process (`citydesk run --keep`): its URL once it answers, and a stop()."""

    proc: subprocess.Popen[bytes]
    url: str
    log_file: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def child_env(cfg: Settings) -> dict[str, str]:
    """The pipeline's whole configuration for a child process (as the pipeline gives its workers)."""
    env = dict(os.environ)
    for name, value in cfg.model_dump().items():
        if value is not None:
            env[f"CITYDESK_{name.upper()}"] = str(value)
    env["CITYDESK_DATA_DIR"] = str(cfg.data_dir.resolve())
    return env


DEFAULT_PORT = 8765


def _free(port: int) -> bool:
    try:
        bind("127.0.0.1", port).close()
        return True
    except OSError:
        return False


def start_background(cfg: Settings, port: int | None = None, timeout: float = 60.0) -> DeskProcess:
    """Start `citydesk serve` as a child and wait until it has written its discovery file. The default port when
    it is free (a stable address to bookmark), else any free one."""
    if port is None:
        port = DEFAULT_PORT if _free(DEFAULT_PORT) else 0
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    log_file = cfg.log_dir / "desk.log"
    from services.supervise import die_with_parent

    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "--port", str(port)],
                            stdout=log_file.open("ab"), stderr=subprocess.STDOUT, env=child_env(cfg),
                            start_new_session=True, preexec_fn=die_with_parent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the desk exited with code {proc.returncode}; see {log_file}")
        info = read_discovery(cfg)
        if info and info.get("pid") == proc.pid:
            return DeskProcess(proc, info["url"], log_file)
        time.sleep(0.1)
    DeskProcess(proc, "", log_file).stop()
    raise TimeoutError(f"the desk did not start within {timeout:.0f} s; see {log_file}")
