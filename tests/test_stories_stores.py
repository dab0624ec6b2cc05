"""Stories and ties on both stores: the embedded store and the session's real Elasticsearch 9 node (tests/conftest.py
es_node; standard analyzer), filled by the indexer's placement with the same articles in the same batches.

Proves: the same stories (the same story ids, copies pointing to the same originals), the same register, the same
collapsed search (stories, their articles and outlets) and the same story facets on both; on Elasticsearch, where
several indexers write at once, two copies placed at the same moment by two indexers (each blind to the other before
its write) end in one story through the second look; where no date bounds the comparison (an undated copy, an
undated report), a report finds its copy among more articles of its pair than are compared (at most UNDATED_LIMIT,
those sharing the most keys first); what we send for stories and ties (setup of the ties alias, the
candidates msearch, relabels, ties, collapsed and story-faceted searches) names only what the API specification
knows, and every search body validates and runs on the real node.
Does not prove: Korean analysis on Elasticsearch (standard analyzer), several real indexer processes racing (the race
is staged in-process), nori.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from services.indexer.elastic import (
    ElasticsearchStore,
    candidates_body,
    closest_candidates_body,
    search_body,
    setup_index,
    setup_ties_index,
    story_counts_body,
    ties_alias,
)
from services.indexer.embedded import EmbeddedStore
from services.indexer.placement import index_batch
from services.indexer.store import UNDATED_LIMIT, SearchQuery
from services.stories.core import fingerprint
from tests.conftest import require
from tests.es_support import SPEC_FILE, ApiSpec, Recorded, RecordingElasticsearch
from tests.stories_support import (
    comparable,
    gold_partition,
    partition,
    seed_raws,
    story_fixture_raws,
    tagged,
    undated_crowd,
)

pytestmark = pytest.mark.elasticsearch
ALIAS = f"stories-{os.getpid()}"
BATCH = 5


@pytest.fixture(scope="module")
def articles():
    return tagged(story_fixture_raws() + seed_raws())


@pytest.fixture(scope="module")
def stores(es, es_node, articles, tmp_path_factory):
    setup_index(es, ALIAS, analyzer="standard")
    setup_ties_index(es, ties_alias(ALIAS))
    on_es = ElasticsearchStore(es_node.url, ALIAS, client=es)
    embedded = EmbeddedStore(tmp_path_factory.mktemp("stories-parity") / "store", writer=True)
    for store in (on_es, embedded):
        for i in range(0, len(articles), BATCH):
            index_batch(store, articles[i:i + BATCH])
    yield on_es, embedded
    for alias in (ALIAS, ties_alias(ALIAS)):
        for index in es.indices.get_alias(name=alias):
            es.indices.delete(index=index)


def _labels(store, articles) -> dict[str, tuple[str, str | None]]:
    return {a.id: (store.get(a.id)["story_id"], store.get(a.id)["duplicate_of"]) for a in articles}


def test_the_same_stories_on_both_stores(stores, articles):
    on_es, embedded = stores
    labels = _labels(embedded, articles)
    assert _labels(on_es, articles) == labels
    assert partition({k: s for k, (s, _) in labels.items()}) == gold_partition()
    assert "story_keys" not in on_es.get(articles[0].id)  # index-only fields are not part of an article


def test_the_same_register_on_both_stores(stores):
    on_es, embedded = stores
    got, want = comparable(on_es.read_ties()), comparable(embedded.read_ties())
    assert got == want and len(got) >= 8


@pytest.mark.parametrize("query", [SearchQuery(stories=True, limit=50), SearchQuery(stories=True, korean_party=[
    "대구광역시"], limit=50), SearchQuery(stories=True, limit=3, country=["CN"])], ids=["all", "daegu", "cn-top3"])
def test_collapsed_search_is_the_same_on_both_stores(stores, query):
    on_es, embedded = stores
    got, want = on_es.search(query), embedded.search(query)
    assert (got.total, got.stories) == (want.total, want.stories)
    if query.limit >= want.stories:  # all stories shown (below it, which tie in score comes first may differ)
        assert {(h.story_id, h.story_articles, h.story_outlets) for h in got.hits} == \
            {(h.story_id, h.story_articles, h.story_outlets) for h in want.hits}
    assert len(got.hits) == len(want.hits) == min(query.limit, want.stories)


def test_story_facets_are_the_same_on_both_stores(stores):
    on_es, embedded = stores
    query = SearchQuery(facets_by="story", facet_size=100)
    got, want = on_es.search(query), embedded.search(query)
    assert got.stories == want.stories == len(gold_partition())
    assert {n: dict(b) for n, b in got.facets.items()} == {n: dict(b) for n, b in want.facets.items()}


def test_two_indexers_placing_copies_at_the_same_moment_still_make_one_story(es, es_node, articles):
    """Indexer A places the release before indexer B's portal copy is visible, and B places the copy before A's
    release is: each first look finds nothing. The look after each write finds the other."""
    alias = f"{ALIAS}-race"
    setup_index(es, alias, analyzer="standard")
    setup_ties_index(es, ties_alias(alias))
    by_id = {a.id: a for a in articles}
    try:
        stores = [ElasticsearchStore(es_node.url, alias, client=es) for _ in range(2)]
        for store in stores:
            blind = {"first": True}
            real = store.story_candidates

            def first_look_blind(fps, days, limit=200, real=real, blind=blind):
                if blind["first"]:
                    blind["first"] = False
                    return [[] for _ in fps]
                return real(fps, days, limit)

            store.story_candidates = first_look_blind
        index_batch(stores[0], [by_id["s01_daegu_chengdu_release"]])
        index_batch(stores[1], [by_id["s03_daegu_chengdu_portal_copy"]])
        release, copy = (stores[0].get(i) for i in ("s01_daegu_chengdu_release", "s03_daegu_chengdu_portal_copy"))
        assert release["story_id"] == copy["story_id"]
        assert copy["duplicate_of"] == "s01_daegu_chengdu_release"
        assert [t.stories for t in stores[0].read_ties() if t.id == "대구광역시|청두시"] == [1]
    finally:
        for name in (alias, ties_alias(alias)):
            for index in es.indices.get_alias(name=name):
                es.indices.delete(index=index)


# --- what we send, against the API specification and the real node --------------------------------------------------

class Recording(RecordingElasticsearch):
    """Answers the few endpoints stories and ties add as a server would (empty)."""

    def _answer(self, endpoint: str, body: Any, parts: dict[str, Any]) -> Any:
        if endpoint == "msearch":
            return {"took": 1, "responses": [{"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
                                              "status": 200} for line in body[1::2]]}
        if endpoint == "indices.get_mapping":
            return {f"{self.existing_alias}-v1": {"mappings": {"properties": {}}}}
        if endpoint == "indices.get_alias":
            return {f"{parts.get('name')}-v1": {"aliases": {}}}
        return super()._answer(endpoint, body, parts)


@pytest.mark.parametrize("report_dated", [True, False], ids=["undated-copy", "undated-report"])
def test_where_no_date_bounds_the_comparison_the_closest_are_compared(es, es_node, report_dated):
    """As on the embedded store (tests/test_placement.py): at most UNDATED_LIMIT candidates where no date bounds the
    comparison, those sharing the most keys first, so a report finds its copy among more articles of its pair."""
    alias = f"{ALIAS}-closest-{report_dated}".lower()
    setup_index(es, alias, analyzer="standard")
    setup_ties_index(es, ties_alias(alias))
    try:
        store = ElasticsearchStore(es_node.url, alias, client=es)
        copy, crowd, report = undated_crowd(2 * UNDATED_LIMIT + 5, report_dated=report_dated)
        for batch in (*(crowd[s:s + 10] for s in range(0, len(crowd), 10)), [copy]):  # the copy last, its id too
            index_batch(store, batch)
        found = [c.article_id for c in store.story_candidates([fingerprint(report)], 4)[0]]
        assert len(found) == UNDATED_LIMIT and found[0] == copy.id
        index_batch(store, [report])
        assert store.get("report")["story_id"] == store.get(copy.id)["story_id"]
    finally:
        for name in (alias, ties_alias(alias)):
            for index in es.indices.get_alias(name=name):
                es.indices.delete(index=index)


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    require(SPEC_FILE.exists(), f"API specification not installed at {SPEC_FILE} (scripts/bootstrap installs it)")
    return ApiSpec()


def _bodies(articles) -> list[tuple[str, dict[str, Any]]]:
    fp = fingerprint(next(a for a in articles if a.published_at))
    undated = fingerprint(next(a for a in articles if a.published_at is None))
    return [("candidates", candidates_body(fp, 4)), ("closest to an undated article", closest_candidates_body(undated)),
            ("closest undated ones", closest_candidates_body(fp)),
            ("collapsed", search_body(SearchQuery(text="협력", stories=True, country=["CN"]))),
            ("story facets", search_body(SearchQuery(facets_by="story"))),
            ("story counts", story_counts_body(SearchQuery(text="협력"), ["s-a", "s-b"]))]


def test_every_stories_and_ties_request_is_known_to_the_specification(spec, articles):
    from services.indexer.elastic import upgrade_articles_mapping

    client = Recording()
    setup_ties_index(client, "ties")
    client.existing_alias = "articles"
    upgrade_articles_mapping(client, "articles")
    store = ElasticsearchStore("http://unused", "articles", client=client)
    store._ties_ready = True  # the recording client remembers one alias only
    index_batch(store, articles[:4])
    store.relabel({articles[0].id: ("s-x", None)})
    store.write_ties([], delete=["a|b"])
    store.read_ties()
    store.story_members(["s-x"])
    store.search(SearchQuery(stories=True, facets_by="story"))
    endpoints = {r.endpoint for r in client.requests}
    assert {"indices.put_index_template", "indices.create", "indices.update_aliases", "indices.put_mapping", "msearch",
            "bulk", "search"} <= endpoints
    problems = [p for r in client.requests for p in spec.problems(r)]
    problems += [p for name, body in _bodies(articles)
                 for p in spec.problems(Recorded("search", "POST", "/x/_search", {"index": "x"}, {}, body))]
    bulk_ops = {next(iter(line)) for r in client.requests if r.endpoint == "bulk" for line in r.body[0::2]}
    assert {"index", "update", "delete"} <= bulk_ops
    assert problems == []


def test_every_stories_search_validates_and_runs_on_the_real_node(es, stores, articles):
    for name, body in _bodies(articles):
        checked = es.indices.validate_query(index=ALIAS, query=body["query"], explain=True)
        assert checked["valid"], (name, checked)
        es.search(index=ALIAS, **body)
