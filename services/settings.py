"""Configuration: environment variables prefixed CITYDESK_ (or a .env file), one table in the README."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYDESK_", env_file=".env", extra="ignore")

    broker: Literal["tansu", "kafka", "external"] = Field(
        "tansu", description="tansu: embedded, in memory; kafka: a local Apache Kafka with its log on disk in the "
        "data directory; external: a broker already running at bootstrap_servers")
    bootstrap_servers: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers, comma-separated")
    data_dir: Path = Field(Path(".citydesk"), description="Embedded store, logs and worker state live here")
    engines_dir: Path | None = Field(
        None, description="Where the local Apache Kafka and Elasticsearch are fetched (default <data_dir>/engines)")
    partitions: int = Field(6, description="Partitions per topic: the unit of parallelism for workers")
    replication_factor: int = Field(1, description="Topic replication factor (1 on one broker)")
    retention_ms: int = Field(7 * 24 * 3600 * 1000, description="Topic retention")
    embedded_broker_max_mb: int = Field(
        1024, description="Memory the embedded broker (tansu, which keeps every record) may hold: `feed` and `run` "
        "recommend --broker kafka past it (services/retention.py)")
    session_timeout_s: float = Field(
        6.0, description="Consumer group session timeout; short so a group join on the embedded broker is quick")
    batch_size: int = Field(500, description="Messages a worker takes per batch (the indexer; the cleaner and the "
                            "tagger take at most 25 and 100, services/stages.py)")
    batch_within_s: float = Field(0.5, description="Longest wait to fill a batch")
    store: Literal["embedded", "elasticsearch"] = Field("embedded", description="Where the indexer writes")
    elasticsearch_url: str = Field("http://localhost:9200", description="Elasticsearch URL (store=elasticsearch)")
    elasticsearch_username: str | None = Field(None, description="Basic auth user, when security is on")
    elasticsearch_password: str | None = Field(None, description="Basic auth password, when security is on")
    elasticsearch_index: str = Field("articles", description="Index alias the indexer writes to and search reads")
    elasticsearch_analyzer: Literal["nori", "standard"] = Field(
        "nori", description="Korean analysis in Elasticsearch; 'standard' only for clusters without analysis-nori")
    elasticsearch_timeout_s: float = Field(
        30.0, description="Longest wait for one Elasticsearch request; past it the indexer backs off and retries")
    elasticsearch_shards: int = Field(1, description="Primary shards of a new index version")
    elasticsearch_replicas: int = Field(0, description="Replicas of a new index version (0 on one node)")
    kibana_url: str | None = Field(None, description="Kibana URL; when set, `citydesk setup` imports the dashboards")
    health_host: str = Field("127.0.0.1", description="Address a worker's /health and /ready listen on")
    health_port: int = Field(0, description="Port of a worker's /health and /ready (0: any free port)")
    max_message_bytes: int = Field(
        16 * 1024 * 1024, description="Largest message `feed` sends (checked before sending; the local brokers take "
        "16 MB): set it to an external broker's message.max.bytes")
    message_budget_s: float | None = Field(
        None, description="Longest a worker may spend on one message (default: the stage's own, 5-20 s); past it "
        "/health fails and the worker exits so the batch is retried, isolated")
    isolate_after: int = Field(
        2, description="Failed starts on the same batch before it is processed message by message in a child "
        "process, where the message that kills or hangs it is dead-lettered")
    isolation_memory_mb: int = Field(2048, description="Memory an isolated child may add before its message is "
                                     "dead-lettered as out_of_memory")
    stall_after_s: float = Field(
        60.0, description="/health fails when messages wait and no batch has finished for this long")
    cpu_placement: Literal["auto", "off"] = Field(
        "auto", description="auto: `run` gives each tagger a core of its own while one is left for the other "
        "processes (services/cores.py); off: the scheduler shares them")
    log_level: str = Field("INFO", description="Log level of workers and CLI")
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per log line")

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def kafka_dir(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def status_dir(self) -> Path:
        return self.data_dir / "status"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


@cache
def settings() -> Settings:
    return Settings()
