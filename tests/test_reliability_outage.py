"""Store outages and DLQ replay through a real broker (issue 6), on both brokers (tansu and a local Apache Kafka 4).

Outage: the indexer writes to the real Elasticsearch 9 node of the session (tests/conftest.py `es_node`), whose
process is stopped for 20 s mid-stream and started again on the same data: the indexer reports itself degraded,
backs off, retries the same batch (one batch in flight), then catches up with nothing lost and nothing doubled.
Hung node: the node's processes are frozen with SIGSTOP for longer than the indexer's request timeout (3 s) and
then continued: the requests time out, the indexer retries, and everything arrives once.
Replay: a dead letter whose payload is good again is replayed twice; the article is indexed once (embedded store).
Does not prove: a partial network partition, a node that answers slowly without hanging, or a cluster of more than
one node (shard relocation, a lost primary)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from schemas import DeadLetter, RawArticle, topics
from services.bench import synthetic_articles
from services.dlq import read_dead_letters, replay
from services.feed import producer, send_raw
from services.health import read_statuses
from services.indexer.elastic import ElasticsearchStore, es_client, setup_index, setup_ties_index, ties_alias
from services.pipeline import wait_until_done
from tests.conftest import EXAMPLES, pipeline_figures, report, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
N = 200


def _indexer_states(cfg) -> set[str]:
    return {st["state"] for st in read_statuses(cfg.status_dir) if st["stage"] == "indexer"}


def _store_fault(tmp_path, broker, es_node, es, *, fault: str) -> None:
    alias = f"{fault}-{broker}"
    setup_index(es, alias, analyzer="standard")
    setup_ties_index(es, ties_alias(alias))  # the indexer folds ties into their own index with every batch
    with running_pipeline(tmp_path, broker=broker, batch_size=20, store="elasticsearch", elasticsearch_url=es_node.url,
                          elasticsearch_index=alias, elasticsearch_analyzer="standard",
                          elasticsearch_timeout_s=3) as pipeline:
        cfg = pipeline.cfg
        store = ElasticsearchStore(es_node.url, alias, client=es_client(cfg))
        raws = synthetic_articles(N)
        ids = [r.id for r in raws]
        prod = producer(cfg)
        for raw in raws[:40]:
            send_raw(prod, raw)
        prod.flush()
        deadline = time.monotonic() + 120
        while store.count() < 20:
            assert time.monotonic() < deadline, f"fewer than 20 documents after 120 s: {store.count()}"
            time.sleep(0.2)
        at_fault = time.monotonic()
        if fault == "outage":
            es_node.stop()
        else:
            es_node.pause()
        try:
            for raw in raws[40:]:  # the stream goes on while the store is away
                send_raw(prod, raw)
            prod.flush()
            prod.close()
            states: set[str] = set()
            while time.monotonic() - at_fault < (20 if fault == "outage" else 12):
                states |= _indexer_states(cfg)  # degraded while the store is away
                time.sleep(0.5)
        finally:
            if fault == "outage":
                es_node.start()
            else:
                es_node.resume()
        back = time.monotonic()
        indexed, dead = wait_until_done(pipeline, ids, timeout=300, progress=False)
        caught_up = time.monotonic() - back
        retries = sum(p.read_text(errors="replace").count("store unavailable") for p in cfg.log_dir.glob("indexer*.log"))
        es.indices.refresh(index=alias)  # count is a search: what the last writes made visible, all of it now
        documents = store.count()
        report(f"store {fault} ({'20 s stop and restart' if fault == 'outage' else 'SIGSTOP 12 s'})", broker=broker,
               store="elasticsearch", fed=N, indexed=len(indexed), documents=documents, dead_lettered=len(dead),
               retries_logged=retries, recovered_s=round(caught_up, 1), **pipeline_figures(cfg, N))
        assert indexed == set(ids) and dead == set() and documents == N
        assert retries >= 1  # the indexer did meet the fault and backed off
        assert "degraded" in states
        deadline = time.monotonic() + 30
        while _indexer_states(cfg) != {"ok"}:
            assert time.monotonic() < deadline, f"the indexer still reports {_indexer_states(cfg)} 30 s after catching up"
            time.sleep(0.5)


def test_a_20_second_store_outage_mid_stream_loses_nothing(tmp_path, broker, es_node, es):
    _store_fault(tmp_path, broker, es_node, es, fault="outage")


def test_a_hung_store_past_the_request_timeout_loses_nothing(tmp_path, broker, es_node, es):
    _store_fault(tmp_path, broker, es_node, es, fault="hung")


def test_replaying_a_dead_letter_twice_indexes_the_article_once(tmp_path, broker):
    with running_pipeline(tmp_path, broker=broker) as pipeline:
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
        from services.indexer import open_store

        store = open_store(cfg)
        deadline = time.monotonic() + 120
        while not store.has_ids(["replayed"]):
            assert time.monotonic() < deadline, "the replayed article was not indexed within 120 s"
            time.sleep(0.2)
        time.sleep(3)  # the second replay is behind the first on the same partition
        assert store.has_ids(["replayed"]) == {"replayed"} and store.count() == 1
        report("DLQ replay twice", broker=broker, fed=2, indexed=1, documents=store.count(), dead_lettered=0,
               **pipeline_figures(cfg, 2))
