"""Our Elasticsearch code against a real Elasticsearch 9 node started here (tests/conftest.py `es_node`: the
integ-test distribution from Maven Central, pinned in deploy/local/pom.xml, security off, 127.0.0.1).

Proves, on the real server: `setup` twice is idempotent and checks the version; bulk upserts by id (twice the same
articles is still one document each); reindex builds the next version and swaps the alias while new articles keep
being written, none lost; a document the mapping rejects goes to articles.dlq through the real indexer worker and
the next one is indexed; a bulk request the node refuses whole with 413 (over its http.max_content_length) is split
until only the too-large document is rejected; a node with security on refuses a wrong password (401) and a
read-only user (403) and the indexer worker exits with a configuration error instead of dead-lettering; an
item-level 403 (a write block) is retried, not dead-lettered, and everything lands once the block is lifted.

Does not prove: Korean analysis (the distribution has no analysis-nori, nor analysis-common: the standard analyzer
is used, so the nori template is checked only against the API specification in test_elasticsearch_requests.py);
that an update to an existing id written during the first copy pass of a reindex survives (the second pass only
adds ids the new index lacks); a whole-request 400 from a real node (no request of ours provokes one; it is
checked at the request level in test_elasticsearch_requests.py); Kibana.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
from elasticsearch import Elasticsearch

from schemas import RawArticle, TaggedArticle, topics
from services.cleaner import clean
from services.dlq import read_dead_letters
from services.indexer.elastic import (
    ElasticsearchStore,
    check_server,
    reindex,
    setup_index,
    setup_ties_index,
    ties_alias,
)
from services.indexer.store import StoreMisconfigured, StoreUnavailable
from services.pipeline import wait_until_done
from services.tagger import tag
from tests.conftest import (
    EXAMPLES,
    node_directory,
    read_seed,
    report,
    require_engine,
    required_seed_ids,
    running_pipeline,
)

pytestmark = [pytest.mark.integration, pytest.mark.elasticsearch]


@pytest.fixture(scope="module")
def articles() -> list[TaggedArticle]:
    return [tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in required_seed_ids()]


@pytest.fixture(scope="module")
def example() -> TaggedArticle:
    return tag(clean(RawArticle(id="example", body=(EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8"))))


def _copies(article: TaggedArticle, n: int, prefix: str, **changes) -> list[TaggedArticle]:
    return [article.model_copy(update={"id": f"{prefix}-{i}", **changes}) for i in range(n)]


def test_setup_twice_is_idempotent_and_the_version_is_checked(es, es_node):
    assert check_server(es) == es_node.version
    assert setup_index(es, "idem", analyzer="standard") == "idem-v1"
    assert setup_index(es, "idem", analyzer="standard") == "idem-v1"
    assert list(es.indices.get_alias(name="idem")) == ["idem-v1"]
    mapping = es.indices.get_mapping(index="idem-v1")["idem-v1"]["mappings"]
    assert mapping["dynamic"] == "strict" and mapping["properties"]["relations"]["type"] == "nested"
    assert mapping["properties"]["places"]["properties"]["location"]["type"] == "geo_point"


def test_bulk_upserts_leave_one_document_per_id(es, es_node, articles):
    setup_index(es, "upserts", analyzer="standard")
    store = ElasticsearchStore(es_node.url, "upserts", client=es)
    assert store.write(articles).written == len(articles)
    changed = [a.model_copy(update={"title": a.title + " (수정)"}) for a in articles]
    assert store.write(changed).written == len(articles)  # the same ids again: replaced, not added
    assert store.count() == len(articles)
    assert store.get(articles[0].id)["title"].endswith("(수정)")
    assert store.has_ids([articles[0].id, "missing"]) == {articles[0].id}
    versions = {d["_id"]: d["_version"] for d in es.mget(index="upserts", ids=[a.id for a in articles])["docs"]}
    assert set(versions.values()) == {2}  # each document written exactly twice, in place


def test_reindex_swaps_the_alias_while_writes_continue(es, es_node, example):
    setup_index(es, "live", analyzer="standard")
    store = ElasticsearchStore(es_node.url, "live", client=Elasticsearch(es_node.url, request_timeout=60))
    first = _copies(example, 300, "before")
    for i in range(0, len(first), 100):
        store.write(first[i:i + 100])
    during: list[str] = []
    stop = threading.Event()

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            batch = _copies(example, 5, f"during-{n}")
            store.write(batch)  # through the alias: the old index until the swap, the new one after
            during.extend(a.id for a in batch)
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        time.sleep(0.5)
        old, new = reindex(es, "live", analyzer="standard")
        time.sleep(0.5)
    finally:
        stop.set()
        writer.join(60)
    assert (old, new) == ("live-v1", "live-v2")
    assert list(es.indices.get_alias(name="live")) == ["live-v2"]
    es.indices.refresh(index="live-v2")
    expected = {a.id for a in first} | set(during)
    assert len(during) >= 10, "the writer wrote almost nothing while the reindex ran"
    assert store.has_ids(sorted(expected)) == expected
    assert store.count() == len(expected)
    report("reindex while writing", store="elasticsearch", written_before=len(first), written_during=len(during),
           documents=store.count())


def test_a_document_the_mapping_rejects_goes_to_the_dlq_through_the_worker(es, es_node, example, tmp_path, broker):
    alias = f"rejects-{broker}"
    setup_index(es, alias, analyzer="standard")
    setup_ties_index(es, ties_alias(alias))  # the indexer folds ties into their own index with every batch
    bad = example.model_copy(deep=True, update={"id": "bad-location"})
    place = next(p for p in bad.places if p.location is not None)
    place.location.lat = 123.0  # type: ignore[union-attr]  # geo_point refuses a latitude outside [-90, 90]
    good = example.model_copy(update={"id": "after-bad"})
    with running_pipeline(tmp_path, broker=broker, stages=("indexer",), store="elasticsearch",
                          elasticsearch_url=es_node.url, elasticsearch_index=alias,
                          elasticsearch_analyzer="standard") as pipeline:
        from services.feed import producer

        prod = producer(pipeline.cfg)
        for article in (bad, good):  # same key: same partition, in this order
            prod.send(topics.TAGGED, key=b"k", value=article.model_dump_json().encode()).get(30)
        prod.close()
        indexed, dead = wait_until_done(pipeline, ["bad-location", "after-bad"], timeout=120, progress=False)
        letters = [d for d in read_dead_letters(pipeline.cfg) if d.article_id == "bad-location"]
    assert indexed == {"after-bad"} and dead == {"bad-location"}
    assert len(letters) == 1 and letters[0].stage == "indexer" and letters[0].source_topic == topics.TAGGED
    assert "location" in letters[0].error and "store rejected the document" in letters[0].error
    report("mapping rejection through the worker", broker=broker, store="elasticsearch", fed=2,
           indexed=len(indexed), documents=ElasticsearchStore(es_node.url, alias, client=es).count(),
           dead_lettered=len(dead))


def test_a_bulk_request_refused_with_413_is_split_and_only_the_oversized_document_rejected(es, es_node, example):
    setup_index(es, "big", analyzer="standard")
    store = ElasticsearchStore(es_node.url, "big", client=es)
    body = example.body
    # 40 documents of ~100 KB: 4 MB in one request, twice the node's http.max_content_length (2 MB)
    many = _copies(example, 40, "many", body=(body * (100_000 // len(body.encode()) + 1))[:33_000])
    huge = example.model_copy(update={"id": "huge", "body": body * (3_000_000 // len(body.encode()) + 1)})
    result = store.write([*many[:20], huge, *many[20:]])
    assert [(r.article_id, r.error_type) for r in result.rejected] == [("huge", "request_entity_too_large")]
    assert "413" in result.rejected[0].reason
    assert result.written == len(many) and store.count() == len(many)


def test_an_item_level_403_from_a_write_block_is_retried_not_dead_lettered(es, es_node, example):
    setup_index(es, "blocked", analyzer="standard")
    store = ElasticsearchStore(es_node.url, "blocked", client=es)
    es.indices.put_settings(index="blocked-v1", settings={"index.blocks.write": True})
    try:
        with pytest.raises(StoreUnavailable, match="403"):
            store.write(_copies(example, 3, "blocked"))
    finally:
        es.indices.put_settings(index="blocked-v1", settings={"index.blocks.write": False})
    assert store.write(_copies(example, 3, "blocked")).written == 3 and store.count() == 3


@pytest.fixture(scope="module")
def secured_node():
    """A second real node with security on: a superuser, a read-only user, and nobody else."""
    from services.engines import ElasticsearchNode, free_port

    require_engine("elasticsearch")
    with node_directory("es-secured") as directory:
        node = ElasticsearchNode(directory, port=free_port(), heap_mb=512, settings={
            "xpack.security.enabled": "true", "xpack.security.http.ssl.enabled": "false",
            "xpack.security.transport.ssl.enabled": "false"}, auth=("admin", "admin-password"))
        yield from _secured(node)


def _secured(node):
    conf = node._configure(_home())
    (conf / "roles.yml").write_text("citydesk_reader:\n  indices:\n    - names: ['*']\n      privileges: ['read', "
                                    "'view_index_metadata']\n", encoding="utf-8")
    users = str(_home() / "bin" / "elasticsearch-users")
    env = {**os.environ, "ES_PATH_CONF": str(conf), "ES_JAVA_HOME": str(_java21())}
    for user, role in (("admin", "superuser"), ("reader", "citydesk_reader")):
        subprocess.run([users, "useradd", user, "-p", f"{user}-password", "-r", role], env=env, check=True,
                       capture_output=True, timeout=120)
    node.start()
    try:
        yield node
    finally:
        node.stop()


def _home():
    from services.engines import fetch

    return fetch().elasticsearch_home


def _java21():
    from services.engines import find_java

    return find_java(21)


def test_a_secured_node_refuses_bad_credentials_and_read_only_users_as_configuration_errors(secured_node, example):
    admin = Elasticsearch(secured_node.url, basic_auth=("admin", "admin-password"), request_timeout=60)
    setup_index(admin, "secured", analyzer="standard")
    written = ElasticsearchStore(secured_node.url, "secured", client=admin).write([example])
    assert written.written == 1
    for user, password, status in (("admin", "wrong", 401), ("reader", "reader-password", 403)):
        client = Elasticsearch(secured_node.url, basic_auth=(user, password), request_timeout=60)
        store = ElasticsearchStore(secured_node.url, "secured", client=client)
        store._alias_ready = True  # the alias check itself would be refused first with 401: test the bulk
        with pytest.raises(StoreMisconfigured, match=f"{status}.*credentials and the write privilege"):
            store.write([example.model_copy(update={"id": f"as-{user}"})])
    assert ElasticsearchStore(secured_node.url, "secured", client=admin).count() == 1


def test_the_indexer_worker_exits_with_a_configuration_error_on_403(secured_node, example, tmp_path):
    admin = Elasticsearch(secured_node.url, basic_auth=("admin", "admin-password"), request_timeout=60)
    setup_index(admin, "secured-worker", analyzer="standard")
    with running_pipeline(tmp_path, stages=("indexer",), store="elasticsearch", elasticsearch_url=secured_node.url,
                          elasticsearch_index="secured-worker", elasticsearch_analyzer="standard",
                          elasticsearch_username="reader", elasticsearch_password="reader-password") as pipeline:
        from services.feed import producer

        prod = producer(pipeline.cfg)
        prod.send(topics.TAGGED, key=b"k", value=example.model_dump_json().encode()).get(30)
        prod.close()
        proc = pipeline.workers["indexer"][0]
        try:
            code = proc.wait(120)
        except subprocess.TimeoutExpired:
            code = None
        log = (pipeline.cfg.log_dir / "indexer.log").read_text(errors="replace")
        letters = list(read_dead_letters(pipeline.cfg))
    assert code == 78, f"the indexer did not exit with EX_CONFIG (78) within 120 s: {code}; log:\n{log[-2000:]}"
    assert "configuration error" in log and "403" in log
    assert letters == []  # nothing dead-lettered: the document was not at fault
    assert json.loads(json.dumps(admin.count(index="secured-worker").body))["count"] == 0
