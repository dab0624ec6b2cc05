"""Versioned writes (issue 12, fault 9): an article carries when it was fed (CleanArticle.version, from the feed's
citydesk-version header), and both stores keep the highest version: an older version written later (a replay of an
old dead letter, a redelivery from before a newer feed) never overwrites a newer article; the same version again
(a redelivery) is written again. On the embedded store and on the session's real Elasticsearch node (external_gte
versions). Through the real pipeline: tests/test_reliability_bad_input.py replays an old letter after a newer feed.
Before: both stores upserted whatever came last."""

from __future__ import annotations

import pytest

from schemas import TaggedArticle
from services.indexer.elastic import ElasticsearchStore, setup_index
from services.indexer.embedded import EmbeddedStore
from services.workers import _version, _versioned


def _article(version: int | None, body: str) -> TaggedArticle:
    return TaggedArticle(id="versioned", title="제목", body=body, version=version)


def _check(store) -> None:
    assert not store.write([_article(2_000, "새 기사")]).rejected
    assert not store.write([_article(1_000, "옛 기사")]).rejected  # an old replay after the newer version: skipped
    assert store.get("versioned")["body"] == "새 기사"
    store.write([_article(2_000, "새 기사, 다시")])  # the same version again: a redelivery is written
    assert store.get("versioned")["body"] == "새 기사, 다시"
    store.write([_article(3_000, "더 새 기사")])
    assert store.get("versioned")["body"] == "더 새 기사" and store.get("versioned")["version"] == 3_000
    assert store.count() == 1


def test_the_embedded_store_keeps_the_newest_version(tmp_path):
    store = EmbeddedStore(tmp_path, writer=True)
    try:
        _check(store)
    finally:
        store.close()


@pytest.mark.elasticsearch
def test_elasticsearch_keeps_the_newest_version(es_node, es):
    setup_index(es, "versions", analyzer="standard")
    _check(ElasticsearchStore(es_node.url, "versions", client=es))


def test_a_message_is_versioned_by_its_header_else_its_timestamp_and_later_stages_keep_it():
    assert _version("1700000000123", 1.5) == 1700000000123
    assert _version(None, 1700000000.5) == 1700000000500
    assert _version("garbage", None) is None
    assert _versioned(_article(None, "본문"), 42).version == 42
    assert _versioned(_article(7, "본문"), 42).version == 7  # the tagger keeps the version the cleaner set
