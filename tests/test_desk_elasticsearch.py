"""The desk over Elasticsearch: the session's real Elasticsearch 9 node (tests/conftest.py es_node: the engine
scripts/bootstrap fetches, standard analyzer, no nori), holding the same tagged articles as an embedded store.

Proves: the desk's aggregations have a working Elasticsearch form — articles per month (calendar months in KST)
and the map's points and ties come out the same as on the embedded store for the same articles and filters; its
search API answers what ElasticsearchStore answers; the search, article and map pages render from Elasticsearch
documents (partner marked, evidence shown).

Does not prove: nori's analysis (the node has only the standard analyzer, so text queries are compared with
Elasticsearch itself, not with the embedded store), the browser pages on Elasticsearch, or speed. Under CI=true a
node that cannot start fails the run (conftest's require_engine); elsewhere the module is skipped with the reason.
"""

from __future__ import annotations

import os

import pytest

from services.indexer.store import SearchQuery
from tests.conftest import free_port
from tests.desk_support import raw_articles, tagged, with_relation, write_store

starlette_testclient = pytest.importorskip("starlette.testclient")
ALIAS = f"citydesk-desk-test-{os.getpid()}"


@pytest.fixture(scope="module")
def articles():
    return tagged(raw_articles())


@pytest.fixture(scope="module")
def stores(es_node, es, articles, tmp_path_factory):
    """The session's Elasticsearch node (tests/conftest.py) with the articles behind an alias of this module's, and
    an embedded store of the same articles."""
    from services.indexer.elastic import ElasticsearchStore, setup_index
    from services.indexer.embedded import EmbeddedStore
    from services.settings import Settings

    es_url = es_node.url
    setup_index(es, ALIAS, "standard")
    store = ElasticsearchStore(es_url, ALIAS, client=es)
    result = store.write(articles)
    assert result.written == len(articles) and not result.rejected
    data = tmp_path_factory.mktemp("desk-es-data")
    write_store(data / "store", articles)
    cfg = Settings(data_dir=data, bootstrap_servers=f"127.0.0.1:{free_port()}", store="elasticsearch",
                   elasticsearch_url=es_url, elasticsearch_index=ALIAS)
    yield cfg, store, EmbeddedStore(data / "store")
    for index in es.indices.get_alias(name=ALIAS):
        es.indices.delete(index=index)


@pytest.fixture(scope="module")
def client(stores):
    from services.desk.app import create_app

    cfg, _es, _embedded = stores
    with starlette_testclient.TestClient(create_app(cfg), base_url="http://127.0.0.1") as c:
        yield c


FILTERS = [{}, {"relation": ["sister_city"]}, {"country": ["CN"]}, {"since": "2023-01-01", "until": "2024-06-30"},
           {"exchange_only": "1"}]


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(p) or "all")
def test_months_and_map_match_the_embedded_store(stores, params):
    from services.desk.queries import PlaceLocator, map_data, months, parse_query

    _cfg, es, embedded = stores
    query = parse_query(params)
    assert es.search(query).total == embedded.search(query).total
    assert months(es, query) == months(embedded, query)
    on_es, on_embedded = map_data(es, query, PlaceLocator()), map_data(embedded, query, PlaceLocator())
    assert on_es["points"] and sorted(on_es["points"], key=lambda p: p["name"]) == sorted(
        on_embedded["points"], key=lambda p: p["name"])
    key = lambda line: (line["korean_party"], line["partner"])  # noqa: E731
    assert sorted(on_es["lines"], key=key) == sorted(on_embedded["lines"], key=key)


@pytest.mark.parametrize("params", [{"q": "협력"}, {"q": "자매결연", "country": "JP"}, {"relation": "visit"}],
                         ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_api_search_is_the_elasticsearch_search(client, stores, params):
    from services.desk.queries import parse_query

    _cfg, es, _embedded = stores
    body = client.get("/api/search", params=params).json()
    expected = es.search(parse_query(params, limit=10, facet_size=10))
    assert body["total"] == expected.total
    assert [h["id"] for h in body["hits"]] == [h.id for h in expected.hits]
    assert sum(n for _, n in body["months"]) <= expected.total


def test_pages_render_from_elasticsearch(client, articles):
    assert "Elasticsearch" in client.get("/").text
    a = with_relation(articles)
    rel = next(r for r in a.relations if r.evidence)
    page = client.get(f"/article/{a.id}").text
    assert f'class="place partner" data-name="{rel.partner}"' in page and 'class="evidence"' in page
    assert client.get("/map").status_code == 200
    assert client.get("/api/health").json()["articles"] == len(articles)


def test_store_count_is_there(stores, articles):
    _cfg, es, _embedded = stores
    assert es.count() == len(articles) == es.search(SearchQuery(limit=1)).total
