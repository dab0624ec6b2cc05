"""The real thing on this machine, on both brokers: the embedded tansu broker and a local Apache Kafka 4 (KRaft,
one node, its log on disk), each with the three worker processes and the embedded store.

Proves, on each broker: the seeds flow raw → clean → tagged → store and are searchable by id; feeding them again
leaves one document each; a malformed message is dead-lettered with its reason while a good message behind it is
still indexed; waiting on a run returns the dead-lettered articles, reading the DLQ only when a worker has counted
a letter (at most twice for 121 articles, against 15 times when it read at every poll that found nothing new); the workers report health and counters; on a machine of two cores or more, every thread of the
tagger runs on a core of its own and every thread of the others (broker included) on the cores left. On Kafka only: messages fed while no worker runs survive a
stop and restart of the broker and are indexed afterwards (the durable choice of `citydesk run --broker kafka`).
Does not prove: anything about Elasticsearch (tests/test_elasticsearch_node.py), a multi-broker Kafka cluster,
replication or TLS/SASL.
"""

from __future__ import annotations

import pytest

from schemas import topics
from services.dlq import read_dead_letters
from services.feed import producer
from services.indexer import open_store
from services.indexer.store import SearchQuery
from services.pipeline import feed_paths, wait_until_done
from tests.conftest import EXAMPLES, SEEDS, free_port, report, require_engine, running_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, broker):
    with running_pipeline(tmp_path_factory.mktemp(f"citydesk-{broker}"), broker=broker) as p:
        yield p


def test_seeds_become_searchable_once_even_when_fed_twice(pipeline):
    ids, errors = feed_paths(pipeline.cfg, [str(SEEDS)], progress=False)
    assert errors == [] and len(ids) == 5
    indexed, dead = wait_until_done(pipeline, ids, timeout=180, progress=False)
    assert indexed == set(ids) and dead == set()
    store = open_store(pipeline.cfg)
    assert store.count() == 5
    for article_id in ids:
        assert store.get(article_id)["id"] == article_id

    again, _ = feed_paths(pipeline.cfg, [str(SEEDS)], progress=False)
    assert again == ids
    # A marker article fed after the repeats: once it is searchable, the repeats have been indexed too
    # (each partition is processed in order, and the marker is checked after all of them).
    marker, _ = feed_paths(pipeline.cfg, [str(EXAMPLES / "01_busan_fukuoka.txt")], progress=False)
    wait_until_done(pipeline, marker, timeout=120, progress=False)
    wait_until_done(pipeline, ids, timeout=60, progress=False)
    assert store.count() == 6
    assert store.search(SearchQuery(text="청두")).total >= 1
    report("seeds fed twice", broker=pipeline.cfg.broker, fed=len(ids) * 2 + 1, indexed=len(indexed) + 1,
           documents=store.count(), dead_lettered=len(dead))


def test_malformed_message_is_dead_lettered_and_the_next_one_flows(pipeline):
    prod = producer(pipeline.cfg)
    prod.send(topics.RAW, key=b"broken-1", value=b"{this is not json")
    prod.flush()
    prod.close()
    good, _ = feed_paths(pipeline.cfg, [str(EXAMPLES / "06_gwangju_two_articles.txt")], progress=False)
    indexed, _ = wait_until_done(pipeline, good, timeout=120, progress=False)
    assert indexed == set(good)
    letters = [d for d in read_dead_letters(pipeline.cfg) if d.payload == "{this is not json"]
    assert len(letters) == 1
    assert letters[0].stage == "cleaner" and "not JSON" in letters[0].error
    assert letters[0].source_topic == topics.RAW and letters[0].offset is not None


def test_waiting_reads_the_dlq_when_a_worker_counts_a_dead_letter_not_at_every_poll(pipeline, monkeypatch):
    """120 good articles and one the cleaner refuses: the wait returns the refused one as dead, having read the DLQ
    at its first poll and once the cleaner counted the letter (before, at every poll that found nothing new)."""
    from schemas import RawArticle
    from services import bench, dlq
    from services.feed import send_raw

    reads = []
    real_read = dlq.read_dead_letters

    def counted_read(*args, **kwargs):
        reads.append(1)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(dlq, "read_dead_letters", counted_read)
    good = [RawArticle(url=f"https://wait.citydesk.invalid/{n}", body=r.body, content_type=r.content_type)
            for n, r in enumerate(bench.synthetic_articles(120))]
    refused = RawArticle(id="refused-nul", body="제목\n본문에 \u0000 바이너리")
    prod = producer(pipeline.cfg)
    for raw in [*good, refused]:
        send_raw(prod, raw)
    prod.flush()
    prod.close()
    indexed, dead = wait_until_done(pipeline, [*(r.id for r in good), "refused-nul"], timeout=180, progress=False)
    assert indexed == {r.id for r in good} and dead == {"refused-nul"}
    assert len(reads) <= 2, f"the DLQ was read {len(reads)} times"


def test_workers_report_health_readiness_and_counters(pipeline):
    import json
    import urllib.request

    from services.health import read_statuses

    statuses = {s["stage"]: s for s in read_statuses(pipeline.cfg.status_dir)}
    assert set(statuses) == {"cleaner", "tagger", "indexer"}
    for stage, s in statuses.items():
        assert s["ready"] and s["state"] == "ok" and s["consumed"] >= 5, (stage, s)
        for path in ("/health", "/ready"):
            with urllib.request.urlopen(s["health_url"] + path, timeout=5) as resp:
                assert resp.status == 200 and json.loads(resp.read())["stage"] == stage
    assert statuses["cleaner"]["dead_lettered"] >= 1  # the malformed message of the test before
    assert statuses["indexer"]["produced"] == statuses["indexer"]["consumed"]


def _cores_of_every_thread(pid: int) -> set[frozenset[int]]:
    import os

    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}


def test_the_tagger_has_a_core_of_its_own_and_the_other_processes_share_the_rest(pipeline):
    """After the tests above, so the workers have started every thread they run (Kiwi's, faust's, the executor's)."""
    import os

    cores = frozenset(os.sched_getaffinity(0))
    if len(cores) < 2:  # nothing to place: everything may run everywhere
        expected = {"tagger": cores, "cleaner": cores, "indexer": cores, "broker": cores}
    else:
        tagger_core = frozenset([max(cores)])
        expected = {"tagger": tagger_core, "cleaner": cores - tagger_core, "indexer": cores - tagger_core,
                    "broker": cores - tagger_core}
    pids = {stage: procs[0].pid for stage, procs in pipeline.workers.items()} | {"broker": pipeline.broker_process.pid}
    assert {name: _cores_of_every_thread(pid) for name, pid in pids.items()} == {
        name: {cpus} for name, cpus in expected.items()}


def test_kafka_keeps_what_was_fed_across_a_broker_restart(tmp_path):
    """Fed while no worker runs, the broker stopped and started again on the same data directory: all indexed."""
    from services.pipeline import Pipeline
    from services.settings import Settings

    require_engine("kafka")
    cfg = Settings(broker="kafka", bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=tmp_path, partitions=2,
                   batch_within_s=0.2)
    first = Pipeline(cfg)
    try:
        first.start(stages=())  # the broker and the topics, no worker: nothing is consumed
        ids, errors = feed_paths(cfg, [str(SEEDS)], progress=False)
        assert errors == [] and len(ids) == 5
    finally:
        first.stop()
    assert first.kafka is not None and first.kafka.proc is not None and first.kafka.proc.poll() is not None
    second = Pipeline(cfg)
    try:
        second.start()  # the same log directory: the five messages are still on articles.raw
        indexed, dead = wait_until_done(second, ids, timeout=180, progress=False)
        assert indexed == set(ids) and dead == set()
        report("kafka restart keeps messages", broker="kafka", fed=len(ids), indexed=len(indexed),
               documents=open_store(cfg).count(), dead_lettered=len(dead))
    finally:
        second.stop()
