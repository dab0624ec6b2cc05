"""Store outage and DLQ replay through the real broker (issue 6).

Outage: the indexer writes to an Elasticsearch-API store (noida-db, a local double, not Elasticsearch) that is
stopped for 20 s mid-stream and started again on the same data: the indexer backs off, retries the same batch
(one batch in flight), then catches up with nothing lost and nothing doubled.
Replay: a dead letter whose payload is good again is replayed twice; the article is indexed once."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from schemas import DeadLetter, RawArticle, topics
from services.bench import synthetic_articles
from services.dlq import read_dead_letters, replay
from services.feed import producer, send_raw
from services.health import read_statuses
from services.indexer.elastic import ElasticsearchStore, setup_index
from services.pipeline import wait_until_done
from tests.conftest import EXAMPLES, free_port, running_pipeline


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


pytestmark = [pytest.mark.integration, pytest.mark.reliability]


def _start_noida(port: int, data) -> subprocess.Popen:
    proc = subprocess.Popen([shutil.which("noida-db"), "start", "--only", "elasticsearch", "--elasticsearch-port",
                             str(port), "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its Python wrapper runs the server as a child: stop the group
    client = Elasticsearch(f"http://127.0.0.1:{port}")
    for _ in range(100):
        try:
            client.info()
            return proc
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("noida-db did not start")


@pytest.mark.skipif(shutil.which("noida-db") is None, reason="noida-db not installed (it is in the dev extra)")
def test_a_20_second_store_outage_mid_stream_loses_nothing(tmp_path):
    port = free_port()
    servers = [_start_noida(port, tmp_path / "noida")]  # the one running now is last; stopped whatever happens
    try:
        url = f"http://127.0.0.1:{port}"
        client = Elasticsearch(url)
        setup_index(client, "outage", analyzer="standard")
        with running_pipeline(tmp_path / "run", batch_size=20, store="elasticsearch", elasticsearch_url=url,
                              elasticsearch_index="outage", elasticsearch_analyzer="standard") as pipeline:
            cfg = pipeline.cfg
            raws = synthetic_articles(200)
            ids = [r.id for r in raws]
            prod = producer(cfg)
            for raw in raws[:40]:
                send_raw(prod, raw)
            prod.flush()
            store = ElasticsearchStore(url, "outage", client=client)
            deadline = time.monotonic() + 120
            while store.count() < 20 and time.monotonic() < deadline:
                time.sleep(0.2)
            _stop(servers[-1])
            at_outage = time.monotonic()
            for raw in raws[40:]:  # the stream goes on while the store is away
                send_raw(prod, raw)
            prod.flush()
            prod.close()
            states = set()
            while time.monotonic() - at_outage < 20:  # the indexer reports itself degraded while the store is away
                states |= {st["state"] for st in read_statuses(cfg.status_dir) if st["stage"] == "indexer"}
                time.sleep(0.5)
            servers.append(_start_noida(port, tmp_path / "noida"))
            indexed, dead = wait_until_done(pipeline, ids, timeout=300, progress=False)
            caught_up = time.monotonic() - at_outage
            retries = sum(p.read_text(errors="replace").count("store unavailable")
                          for p in cfg.log_dir.glob("indexer*.log"))
            print(f"\noutage: fed {len(ids)}, indexed {len(indexed)}, documents {store.count()}, dead-lettered "
                  f"{len(dead)}, retries logged {retries}, caught up {caught_up:.1f} s after the store went away")
            assert indexed == set(ids) and dead == set() and store.count() == len(ids)
            assert retries >= 1  # the indexer did meet the outage and backed off
            assert "degraded" in states
            assert {st["state"] for st in read_statuses(cfg.status_dir) if st["stage"] == "indexer"} == {"ok"}
    finally:
        if servers[-1].poll() is None:
            _stop(servers[-1])


def test_replaying_a_dead_letter_twice_indexes_the_article_once(tmp_path):
    with running_pipeline(tmp_path) as pipeline:
        cfg = pipeline.cfg
        article = RawArticle(id="replayed", body=(EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8"))
        now = datetime.now(UTC)
        letter = DeadLetter(id="letter-1", stage="cleaner", error_type="StoreUnavailable", error="was down",
                            article_id="replayed", source_topic=topics.RAW, partition=0, offset=0,
                            payload=base64.b64encode(article.model_dump_json().encode()).decode(),
                            payload_encoding="base64", first_seen=now, last_seen=now)
        prod = producer(cfg)
        prod.send(topics.DLQ, key=b"replayed", value=letter.model_dump_json().encode())
        prod.flush()
        prod.close()
        letters = [d for d in read_dead_letters(cfg) if d.id == "letter-1"]
        assert replay(cfg, letters) == 1 and replay(cfg, letters) == 1
        from services.indexer.store import open_store

        store = open_store(cfg)
        deadline = time.monotonic() + 120
        while not store.has_ids(["replayed"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # the second replay is behind the first on the same partition
        assert store.has_ids(["replayed"]) == {"replayed"} and store.count() == 1
