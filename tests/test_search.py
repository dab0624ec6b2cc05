"""Search as a user notices it, on the real seeds through clean and tag.

Proves, on the embedded store: a word finds its inflected forms, two-syllable words and compounds are found,
phrases are phrases (Kiwi morphemes); idempotent writes and persistence. Proves on both the embedded store and the
real Elasticsearch 9 node of the session (search parity): filters, facets and date ranges give the same articles.
Does not prove Korean text search on Elasticsearch: the node run here has no analysis-nori (standard analyzer),
so the morphology tests run on the embedded store only."""

import pytest

from schemas import RawArticle
from services.cleaner import clean
from services.indexer.embedded import EmbeddedStore
from services.indexer.store import SearchQuery
from services.tagger import tag
from tests.conftest import read_seed, required_seed_ids


@pytest.fixture(scope="module")
def articles():
    return {k: tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in required_seed_ids()}


@pytest.fixture(scope="module")
def embedded(articles, tmp_path_factory):
    directory = tmp_path_factory.mktemp("store")
    writer = EmbeddedStore(directory, writer=True)
    writer.write(list(articles.values()))
    writer.close()
    return EmbeddedStore(directory)


@pytest.fixture(scope="module", params=["embedded", "elasticsearch"])
def store(request, articles, embedded):
    """The same filter, facet and date tests on both stores: parity."""
    if request.param == "embedded":
        yield embedded
        return
    from services.indexer.elastic import ElasticsearchStore, check_server, setup_index

    node, client = request.getfixturevalue("es_node"), request.getfixturevalue("es")
    check_server(client)
    setup_index(client, "parity", analyzer="standard")
    es = ElasticsearchStore(node.url, "parity", client=client)
    es.write(list(articles.values()))
    yield es
    client.indices.delete(index="parity-v1")


def ids(store, **kw):
    return {h.id for h in store.search(SearchQuery(limit=50, **kw)).hits}


def test_a_word_finds_its_inflected_forms(embedded, articles):
    # 협력 appears as 협력을, 협력하기로, 협력할, 상생협력 … in every seed
    with_word = {k for k, a in articles.items() if "협력" in a.body}
    assert ids(embedded, text="협력") == with_word


def test_two_syllable_words_are_found(embedded, articles):
    for word in ("포럼", "인재", "방역"):
        expected = {k for k, a in articles.items() if word in a.title + a.body}
        assert expected and ids(embedded, text=word) == expected


def test_phrases_are_phrases(embedded, articles):
    assert ids(embedded, text='"상생 협력"') == {k for k, a in articles.items() if "상생협력" in a.title + a.body}
    assert ids(embedded, text='"협력 상생"') == set()


def test_compound_matches_however_kiwi_split_it(embedded, articles):
    assert ids(embedded, text="자매결연") == {k for k, a in articles.items() if "자매결연" in a.title + a.body}


def test_filters_and_facets(store, articles):
    cn = ids(store, country=["CN"])
    assert cn == {k for k, a in articles.items() if any(p.country == "CN" for p in a.places)}
    res = store.search(SearchQuery(relation=["sister_city"], limit=50))
    assert {h.id for h in res.hits} == {k for k, a in articles.items()
                                          if any("sister_city" in r.kinds for r in a.relations)}
    assert dict(res.facets["relation_kind"])["sister_city"] == res.total
    assert ids(store, sector=["smart_city"], text="스마트시티")


def test_date_range(store, articles):
    from datetime import datetime, timedelta, timezone

    kst = timezone(timedelta(hours=9))
    got = ids(store, since=datetime(2020, 1, 1, tzinfo=kst), until=datetime(2022, 1, 1, tzinfo=kst))
    assert got == {k for k, a in articles.items()
                   if a.published_at and datetime(2020, 1, 1, tzinfo=kst) <= a.published_at <= datetime(2022, 1, 1, tzinfo=kst)}


def test_writing_the_same_articles_again_changes_nothing(articles, tmp_path):
    s = EmbeddedStore(tmp_path, writer=True)
    batch = list(articles.values())
    s.write(batch)
    s.write(batch)
    s.write(batch[:2] + batch[:2])
    assert s.count() == len(batch)
    s.close()
    reopened = EmbeddedStore(tmp_path)
    assert reopened.count() == len(batch)
    assert reopened.get(batch[0].id)["title"] == batch[0].title


def test_an_empty_store_answers_empty(tmp_path):
    s = EmbeddedStore(tmp_path / "nothing")
    assert s.count() == 0 and s.search(SearchQuery(text="협력")).total == 0


def test_facets_are_the_same_on_both_stores(store, embedded):
    query = SearchQuery(limit=50, facet_size=200)
    got, want = store.search(query), embedded.search(query)
    assert got.total == want.total
    assert {name: dict(buckets) for name, buckets in got.facets.items()} == \
        {name: dict(buckets) for name, buckets in want.facets.items()}
