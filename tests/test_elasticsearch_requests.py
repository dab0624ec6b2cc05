"""What citydesk sends to Elasticsearch, checked against the Elasticsearch API specification.

The official client runs unchanged; only its transport records instead of sending (tests/es_support.py).
Proves: every endpoint, query parameter, path part and body property we send exists in the specification the
9.x client and server are built from. Does not prove how a server answers; the noida-db smoke test and the
real-cluster suite (ELASTICSEARCH_URL) cover that.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from schemas import RawArticle
from services.cleaner import clean
from services.indexer.elastic import ElasticsearchStore, VersionMismatch, check_server, reindex, setup_index
from services.indexer.store import SearchQuery
from services.tagger import tag
from tests.conftest import read_seed, seed_ids
from tests.es_support import SPEC_FILE, ApiSpec, Recorded, RecordingElasticsearch

pytestmark = pytest.mark.skipif(not SPEC_FILE.exists(), reason=f"API specification not installed at {SPEC_FILE} "
                                "(scripts/bootstrap installs it with npm)")

KST = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return ApiSpec()


@pytest.fixture(scope="module")
def articles():
    return [tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in seed_ids()]


def _every_request(articles) -> list[Recorded]:
    client = RecordingElasticsearch()
    check_server(client)
    setup_index(client, "articles")
    reindex(RecordingElasticsearch(existing_alias="articles"), "articles")
    store = ElasticsearchStore("http://unused", "articles", client=client)
    store.write(articles)
    store.search(SearchQuery(text="스마트시티 협력", sector=["smart_city"], place=["청두시"], country=["cn"],
                             person=["권영진"], relation=["sister_city"], partner=["청두시"],
                             korean_party=["대구광역시"], exchange_only=True,
                             since=datetime(2019, 1, 1, tzinfo=KST), until=datetime(2025, 1, 1, tzinfo=KST)))
    store.get("abc")
    store.count()
    store.has_ids(["a", "b"])
    return client.requests


def test_every_request_is_known_to_the_specification(spec, articles):
    requests = _every_request(articles)
    endpoints = {r.endpoint for r in requests}
    assert {"info", "indices.put_index_template", "indices.create", "indices.update_aliases", "bulk", "search",
            "get", "count", "mget"} <= endpoints
    problems = [p for r in requests for p in spec.problems(r)]
    assert problems == []


def test_bulk_actions_use_known_operations_and_meta(spec, articles):
    client = RecordingElasticsearch(existing_alias="articles")
    ElasticsearchStore("http://unused", "articles", client=client).write(articles)
    bulk = next(r for r in client.requests if r.endpoint == "bulk")
    meta_props = spec._properties(spec.types[("_global.bulk", "IndexOperation")])
    actions = bulk.body[0::2]
    assert [next(iter(a)) for a in actions] == ["index"] * len(articles)
    assert all(set(a["index"]) <= set(meta_props) for a in actions)
    assert [a["index"]["_id"] for a in actions] == [a.id for a in articles]  # _id = article id: upserts


def test_the_checker_catches_what_the_specification_lacks(spec):
    bad = [
        Recorded("indices.creat", "PUT", "/x", {"index": "x"}, {}, None),
        Recorded("search", "POST", "/x/_search", {"index": "x"}, {"no_such_param": "1"}, None),
        Recorded("search", "POST", "/x/_search", {"index": "x"}, {}, {"query": {}, "sizee": 10}),
        Recorded("indices.put_index_template", "PUT", "/_index_template/t", {"name": "t"}, {},
                 {"index_patterns": ["x"], "template": {"setings": {}}}),
    ]
    assert [len(spec.problems(r)) for r in bad] == [1, 1, 1, 1]


def test_writing_before_setup_is_retried_with_the_fix_in_the_message(articles):
    from services.indexer.store import StoreUnavailable

    with pytest.raises(StoreUnavailable, match="run `citydesk setup`"):
        ElasticsearchStore("http://unused", "articles", client=RecordingElasticsearch()).write(articles)


def test_a_server_of_another_major_is_refused_with_a_clear_error():
    with pytest.raises(VersionMismatch, match="majors must match"):
        check_server(RecordingElasticsearch(server_version="8.15.0"))


def test_the_index_keeps_gazetteer_names_whole_and_relations_nested():
    client = RecordingElasticsearch()
    setup_index(client, "articles")
    template = next(r for r in client.requests if r.endpoint == "indices.put_index_template").body["template"]
    rules = template["settings"]["analysis"]["tokenizer"]["citydesk_nori"]["user_dictionary_rules"]
    assert {"대구광역시", "타이베이시", "빈증성"} <= set(rules)
    assert template["settings"]["analysis"]["tokenizer"]["citydesk_nori"]["decompound_mode"] == "mixed"
    props = template["mappings"]["properties"]
    assert props["relations"]["type"] == "nested" and props["places"]["properties"]["location"]["type"] == "geo_point"
    aliases = next(r for r in client.requests if r.endpoint == "indices.update_aliases").body["actions"]
    assert aliases == [{"add": {"index": "articles-v1", "alias": "articles", "is_write_index": True}}]


def test_reindex_swaps_the_alias_in_one_step():
    client = RecordingElasticsearch(existing_alias="articles")
    old, new = reindex(client, "articles")
    assert (old, new) == ("articles-v1", "articles-v2")
    swap = [r for r in client.requests if r.endpoint == "indices.update_aliases"][-1].body["actions"]
    assert swap == [{"remove": {"index": "articles-v1", "alias": "articles"}},
                    {"add": {"index": "articles-v2", "alias": "articles", "is_write_index": True}}]


@pytest.mark.reliability
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_an_overloaded_or_failing_server_means_retry_the_whole_batch(articles, status):
    from services.indexer.store import StoreUnavailable

    client = RecordingElasticsearch(existing_alias="articles", bulk_status=status)
    with pytest.raises(StoreUnavailable, match=str(status)):
        ElasticsearchStore("http://unused", "articles", client=client).write(articles)


@pytest.mark.reliability
def test_a_document_the_server_rejects_goes_to_the_dlq_and_the_rest_are_written(articles):
    client = RecordingElasticsearch(existing_alias="articles", item_errors={1: (400, "document_parsing_exception")})
    result = ElasticsearchStore("http://unused", "articles", client=client).write(articles)
    assert result.written == len(articles) - 1
    assert [(r.article_id, r.error_type) for r in result.rejected] == [(articles[1].id, "document_parsing_exception")]
    assert "document_parsing_exception for document" in result.rejected[0].reason


@pytest.mark.reliability
def test_an_item_throttled_inside_a_good_answer_retries_the_batch(articles):
    from services.indexer.store import StoreUnavailable

    client = RecordingElasticsearch(existing_alias="articles", item_errors={0: (429, "es_rejected_execution_exception")})
    with pytest.raises(StoreUnavailable):
        ElasticsearchStore("http://unused", "articles", client=client).write(articles)


@pytest.mark.reliability
def test_an_unreachable_server_means_retry():
    from services.indexer.store import StoreUnavailable

    store = ElasticsearchStore("http://127.0.0.1:9", "articles")  # nothing listens on the discard port
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.write([tag(clean(RawArticle(id="x", body=read_seed(seed_ids()[0]))))])
