"""What citydesk sends to Elasticsearch, checked two ways: against the API specification, and by the real node.

Specification: the official client runs unchanged with its transport recording instead of sending
(tests/es_support.py); every endpoint, query parameter, path part and body value we send is walked down to its
leaves (objects, arrays, dictionaries, tagged unions, enums, scalars) in schema.json of npm
@elastic/request-converter, pinned to the version of the server the suite runs (deploy/local/pom.xml).
Proves: no unknown name anywhere in a request, the nori template included (the only check of it here); the
checker catches `simple_query_strin`, `termz`, `termss` nested in a search and `nori_tokenizr`, `decompound_mod`,
`"type": "txt"` in a template.
Real node (tests/conftest.py `es_node`): every search body we build validates with _validate/query?explain and
runs; the standard-analyzer template simulates with indices.simulate_index_template; the standard chain analyzes
through indices.analyze; the same broken requests are refused by the node.
Does not prove: the nori analysis chain on a server (no analysis-nori in the node run here).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from schemas import RawArticle
from services.cleaner import clean
from services.indexer.elastic import (
    ElasticsearchStore,
    VersionMismatch,
    check_server,
    index_body,
    reindex,
    search_body,
    setup_index,
)
from services.indexer.store import SearchQuery
from services.tagger import tag
from tests.conftest import read_seed, require, required_seed_ids, seed_ids
from tests.es_support import SPEC_FILE, ApiSpec, Recorded, RecordingElasticsearch

KST = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    require(SPEC_FILE.exists(), f"API specification not installed at {SPEC_FILE} (scripts/bootstrap installs it "
            "with npm)")
    return ApiSpec()


@pytest.fixture(scope="module")
def articles():
    return [tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in required_seed_ids()]


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
    assert {"nodes.info", "indices.put_index_template", "indices.create", "indices.update_aliases", "bulk", "search",
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


def test_the_specification_is_the_one_of_the_server_the_suite_runs():
    from services.engines import pinned_versions

    package = json.loads((SPEC_FILE.parents[4] / "package.json").read_text(encoding="utf-8"))
    assert package["dependencies"]["@elastic/request-converter"] == pinned_versions()["elasticsearch"]


def _broken_search() -> dict:
    body = search_body(SearchQuery(text="협력", sector=["smart_city"]))
    body["query"]["bool"]["must"][0] = {"simple_query_strin": body["query"]["bool"]["must"][0]["simple_query_string"]}
    body["query"]["bool"]["filter"][0] = {"termz": body["query"]["bool"]["filter"][0]["terms"]}
    body["query"]["bool"]["filter"].append({"bool": {"should": [{"termss": {"sector": ["x"]}}]}})
    return body


def _broken_template(analyzer: str = "nori") -> dict:
    body = copy.deepcopy(index_body(analyzer))
    if analyzer == "nori":
        tokenizer = body["settings"]["analysis"]["tokenizer"]
        tokenizer["citydesk_nori"]["type"] = "nori_tokenizr"
        tokenizer["second"] = {"type": "nori_tokenizer", "decompound_mod": "mixed"}
    body["mappings"]["properties"]["title"]["type"] = "txt"
    return body


def test_the_checker_walks_down_and_catches_nested_mistakes(spec):
    search = spec.problems(Recorded("search", "POST", "/x/_search", {"index": "x"}, {}, _broken_search()))
    assert [p.rsplit(" ", 1)[-1] for p in search] == ["'simple_query_strin'", "'termz'", "'termss'"], search
    template = spec.problems(Recorded("indices.put_index_template", "PUT", "/_index_template/t", {"name": "t"}, {},
                                      {"index_patterns": ["x-*"], "template": _broken_template()}))
    assert len(template) == 3, template
    assert "unknown type 'nori_tokenizr'" in template[0] and "'decompound_mod'" in template[1]
    assert "unknown type 'txt'" in template[2]


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


# --- the same requests, judged by the real node -----------------------------------------------------------------

SEARCHES = [
    SearchQuery(),
    SearchQuery(text="협력"),
    SearchQuery(text='"스마트 시티" 포럼', country=["CN"], relation=["sister_city"]),
    SearchQuery(text="스마트시티 협력", sector=["smart_city"], place=["청두시"], country=["cn"], person=["권영진"],
                relation=["sister_city"], partner=["청두시"], korean_party=["대구광역시"], exchange_only=True,
                since=datetime(2019, 1, 1, tzinfo=KST), until=datetime(2025, 1, 1, tzinfo=KST)),
]


@pytest.fixture(scope="module")
def node_index(es):
    setup_index(es, "requests", analyzer="standard")
    return "requests"


def test_every_search_we_build_validates_and_runs_on_the_real_node(es, node_index):
    for query in SEARCHES:
        body = search_body(query)
        checked = es.indices.validate_query(index=node_index, query=body["query"], explain=True)
        assert checked["valid"], checked
        es.search(index=node_index, **body)  # aggregations, _source, track_total_hits: the whole body


def test_the_real_node_refuses_the_broken_search(es, node_index):
    from elasticsearch import BadRequestError

    checked = es.indices.validate_query(index=node_index, query=_broken_search()["query"], explain=True)
    assert not checked["valid"], checked  # "[bool] failed to parse field [must]": it stops at the first
    with pytest.raises(BadRequestError, match="simple_query_strin"):
        es.search(index=node_index, **_broken_search())


def test_the_standard_template_simulates_and_analyzes_on_the_real_node(es, node_index):
    from elasticsearch import BadRequestError

    simulated = es.indices.simulate_index_template(name=f"{node_index}-v9")
    assert simulated["template"]["mappings"]["properties"]["relations"]["type"] == "nested"
    analyzed = es.indices.analyze(index=f"{node_index}-v1", analyzer="citydesk_korean", text="대구광역시와 협력")
    assert [t["token"] for t in analyzed["tokens"]] == ["대구광역시와", "협력"]  # standard: whitespace words only
    broken = _broken_template("standard")
    with pytest.raises(BadRequestError) as refused:
        es.indices.put_index_template(name="citydesk-broken", index_patterns=["broken-*"], template=broken)
    assert "[txt]" in json.dumps(refused.value.body)  # "No handler for type [txt] declared on field [title]"
