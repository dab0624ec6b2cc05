"""Korean analysis and Kibana, on servers this machine cannot run: a production Elasticsearch 9 with the
analysis-nori plugin, and Kibana 9 (in no registry these machines reach).

Proves, when ELASTICSEARCH_URL (and KIBANA_URL) point at them, e.g. after
`docker compose -f deploy/docker-compose.yml up -d elasticsearch kibana`: the nori template keeps gazetteer names
whole and splits the rest, search finds 협력 in every seed, reindex keeps every document, and Kibana imports the
saved objects twice with the same result. Not collected at all without ELASTICSEARCH_URL (tests/conftest.py
collect_ignore), so it never counts as skipped in CI; the real node every run starts is covered by
test_elasticsearch_node.py, which does not prove nori or Kibana."""

from __future__ import annotations

import os

import pytest

from schemas import RawArticle
from services.cleaner import clean
from services.indexer.store import SearchQuery
from services.tagger import tag
from tests.conftest import read_seed, seed_ids

ES_URL = os.environ.get("ELASTICSEARCH_URL")
KIBANA_URL = os.environ.get("KIBANA_URL")
pytestmark = [pytest.mark.elasticsearch]


@pytest.fixture(scope="module")
def client():
    from elasticsearch import Elasticsearch

    from services.indexer.elastic import check_server

    c = Elasticsearch(ES_URL)
    check_server(c)
    return c


def test_setup_index_search_and_reindex_on_a_real_cluster(client):
    from services.indexer.elastic import ElasticsearchStore, reindex, setup_index

    alias = f"citydesk-it-{os.getpid()}"
    try:
        setup_index(client, alias)
        analyzed = client.indices.analyze(index=alias, analyzer="citydesk_korean", text="대구광역시와 상생협력을 강화했다")
        tokens = {t["token"] for t in analyzed["tokens"]}
        assert "대구광역시" in tokens and "협력" in tokens  # user dictionary keeps the name whole; nori splits the rest
        store = ElasticsearchStore(ES_URL, alias, client=client)
        articles = [tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in seed_ids()]
        store.write(articles)
        store.write(articles)
        assert store.count() == len(articles)
        assert store.search(SearchQuery(text="협력")).total == len(articles)
        _, new = reindex(client, alias)
        assert store.count() == len(articles) and new.endswith("-v2")
    finally:
        client.indices.delete(index=f"{alias}-v*", ignore_unavailable=True, expand_wildcards="all")


@pytest.mark.skipif(not KIBANA_URL, reason="needs a real Kibana 9 at KIBANA_URL")
def test_kibana_imports_the_dashboards_and_a_second_run_changes_nothing():
    from services.kibana import import_saved_objects, saved_objects

    first = import_saved_objects(KIBANA_URL)
    second = import_saved_objects(KIBANA_URL)
    assert first["successCount"] == second["successCount"] == len(saved_objects())
