"""The Elasticsearch path end to end with the unchanged official client against noida-db (PyPI), a single binary
that speaks the Elasticsearch 8 REST API. A smoke test of OUR code path (setup, bulk upserts, search with filters
and facets, get/mget/count, reindex with the alias swap, and the indexer worker writing through the real broker);
it is NOT Elasticsearch: no nori (the standard analyzer is used), its own scoring, slow past a few thousand
documents. Real-cluster behaviour is the subject of tests/test_elasticsearch_cluster.py (ELASTICSEARCH_URL)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
from elasticsearch import Elasticsearch

from schemas import RawArticle
from services.cleaner import clean
from services.indexer.elastic import ElasticsearchStore, reindex, setup_index
from services.indexer.store import SearchQuery
from services.pipeline import feed_paths, wait_until_done
from services.tagger import tag
from tests.conftest import SEEDS, free_port, read_seed, running_pipeline, seed_ids

pytestmark = pytest.mark.integration


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


@pytest.fixture(scope="module")
def noida(tmp_path_factory):
    exe = shutil.which("noida-db")
    if exe is None:
        pytest.skip("noida-db not installed (it is in the dev extra)")
    port = free_port()
    data = tmp_path_factory.mktemp("noida")
    proc = subprocess.Popen([exe, "start", "--only", "elasticsearch", "--elasticsearch-port", str(port),
                             "--data-dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its Python wrapper runs the server as a child: stop the group
    url = f"http://127.0.0.1:{port}"
    client = Elasticsearch(url)
    for _ in range(100):
        try:
            client.info()
            break
        except Exception:
            time.sleep(0.1)
    yield url, client
    _stop(proc)


@pytest.fixture(scope="module")
def articles():
    return [tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in seed_ids()]


def test_setup_write_search_and_reindex(noida, articles):
    _, client = noida
    assert setup_index(client, "smoke", analyzer="standard") == "smoke-v1"
    assert setup_index(client, "smoke", analyzer="standard") == "smoke-v1"  # idempotent
    store = ElasticsearchStore("", "smoke", client=client)
    assert store.write(articles).written == len(articles)
    store.write(articles)  # the same ids again: upserts, not duplicates
    assert store.count() == len(articles)
    cn = store.search(SearchQuery(country=["CN"], limit=20))
    assert {h.id for h in cn.hits} == {a.id for a in articles if any(p.country == "CN" for p in a.places)}
    sister = store.search(SearchQuery(relation=["sister_city"], limit=20))
    assert dict(sister.facets["relation_kind"])["sister_city"] == sister.total > 0
    assert store.has_ids([articles[0].id, "missing"]) == {articles[0].id}
    assert store.get(articles[0].id)["title"] == articles[0].title
    assert reindex(client, "smoke", analyzer="standard") == ("smoke-v1", "smoke-v2")
    assert store.count() == len(articles)


def test_the_indexer_worker_writes_to_elasticsearch_through_the_broker(noida, tmp_path):
    url, client = noida
    setup_index(client, "piped", analyzer="standard")
    with running_pipeline(tmp_path, store="elasticsearch", elasticsearch_url=url, elasticsearch_index="piped",
                          elasticsearch_analyzer="standard") as pipeline:
        ids, _ = feed_paths(pipeline.cfg, [str(SEEDS)], progress=False)
        indexed, dead = wait_until_done(pipeline, ids, timeout=180, progress=False)
        assert indexed == set(ids) and dead == set()
    assert ElasticsearchStore(url, "piped", client=client).count() == len(ids)
