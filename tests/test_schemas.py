import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import CleanArticle, RawArticle, TaggedArticle, article_id, normalize_url
from schemas.export import JSON_DIR, render


def test_same_url_in_other_spellings_gets_one_id():
    a = article_id(url="https://www.Example.com/news/1?utm_source=x&b=2&a=1#top")
    b = article_id(url="http://example.com/news/1/?a=1&b=2")
    assert a == b
    assert article_id(url="http://example.com/news/2") != a


def test_id_given_wins_then_url_then_body():
    assert article_id("abc", "http://x/1", "본문") == "abc"
    assert article_id(None, "http://x/1", "본문") == article_id(url="http://x/1")
    assert article_id(None, None, "본문  내용") == article_id(None, None, "본문 내용")


def test_raw_article_without_id_is_identified_by_its_body():
    raw = RawArticle(body="대구시는 청두시와 교류했다.")
    assert raw.id == article_id(body="대구시는 청두시와 교류했다.")


@pytest.mark.parametrize("payload, reason", [
    ({"body": "   "}, "empty body"),
    ({"body": "x", "schema_version": 7}, "unsupported schema_version 7"),
    ({"body": "x", "content_type": "application/pdf"}, "content_type"),
    ({}, "body"),
])
def test_bad_raw_messages_are_refused_with_a_reason(payload, reason):
    with pytest.raises(ValidationError) as err:
        RawArticle.model_validate(payload)
    assert reason in str(err.value)


def test_tagged_article_keeps_the_clean_fields_other_tools_read():
    fields = set(TaggedArticle.model_fields)
    assert {"id", "url", "title", "subtitle", "body", "published_at", "outlet", "reporter",
            "reporter_email"} <= set(CleanArticle.model_fields) <= fields
    assert {"places", "people", "organizations", "events", "relations", "sectors", "is_exchange"} <= fields


def test_exported_json_schemas_are_current():
    for filename, text in render().items():
        path = JSON_DIR / filename
        assert path.exists() and path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `python -m schemas.export`")
        json.loads(text)


@given(st.text(max_size=200))
def test_normalize_url_never_crashes_and_is_idempotent(url):
    try:
        once = normalize_url(url)
    except ValueError:
        return  # urllib refuses some inputs (bad ports, brackets): a clear error, not a crash
    assert normalize_url(once) == once
