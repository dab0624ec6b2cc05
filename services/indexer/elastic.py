"""Elasticsearch store: the production search path (official client, bulk upserts with _id = article id).

Client and server majors must match (the 9.x client gets HTTP 400 from 8.x servers).
Index settings and mappings (nori analyzer, nested relations, geo points) live in index_template.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import TaggedArticle
from services.indexer.store import (
    FACET_FIELDS,
    ArticleStore,
    Hit,
    Rejection,
    SearchQuery,
    SearchResults,
    StoreUnavailable,
    WriteResult,
    index_fields,
)

TEMPLATE_FILE = Path(__file__).with_name("index_template.json")
# Retry the whole batch on these; any other per-item error is the document's fault and goes to the DLQ.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def es_document(article: TaggedArticle) -> dict[str, Any]:
    """The document Elasticsearch indexes: the tagged article (minus search terms, nori analyses the text)
    plus the keyword fields every store shares."""
    doc = article.model_dump(mode="json", exclude={"terms"})
    doc.update(index_fields(article))
    doc["exchange"] = article.is_exchange
    return doc


def bulk_actions(batch: list[TaggedArticle], index: str) -> list[dict[str, Any]]:
    """Bulk 'index' actions with _id = article id: writing the same article twice replaces it."""
    return [{"_op_type": "index", "_index": index, "_id": a.id, "_source": es_document(a)} for a in batch]


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body of a search, with the same semantics as the embedded store."""
    must: list[dict[str, Any]] = []
    if query.text.strip():
        must.append({"simple_query_string": {"query": query.text, "fields": ["title^2", "subtitle", "body"],
                                             "default_operator": "and"}})
    filters: list[dict[str, Any]] = [{"terms": {name: values}} for name, values in query.keyword_filters().items()]
    if query.exchange_only:
        filters.append({"term": {"exchange": True}})
    if query.since or query.until:
        rng: dict[str, str] = {}
        if query.since:
            rng["gte"] = query.since.isoformat()
        if query.until:
            rng["lte"] = query.until.isoformat()
        filters.append({"range": {"published_at": rng}})
    return {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "size": query.limit,
        "track_total_hits": True,
        "_source": ["id", "title", "published_at", "outlet", "url"],
        "aggs": {name: {"terms": {"field": name, "size": query.facet_size}} for name in FACET_FIELDS},
    }


class ElasticsearchStore(ArticleStore):
    def __init__(self, url: str, index: str) -> None:
        from elasticsearch import Elasticsearch

        self.index = index
        self.client = Elasticsearch(url, request_timeout=30, retry_on_timeout=False, max_retries=0)

    def write(self, batch: list[TaggedArticle]) -> WriteResult:
        from elasticsearch import ApiError, TransportError, helpers

        try:
            _, errors = helpers.bulk(self.client, bulk_actions(batch, self.index), raise_on_error=False,
                                     raise_on_exception=False, refresh="wait_for")
        except (TransportError, ConnectionError) as exc:
            raise StoreUnavailable(f"Elasticsearch unreachable: {exc}") from exc
        except ApiError as exc:
            if exc.meta.status in RETRYABLE_STATUS:
                raise StoreUnavailable(f"Elasticsearch answered {exc.meta.status}") from exc
            raise
        rejected = []
        for item in errors:  # type: ignore[union-attr]
            info = next(iter(item.values()))
            if info.get("status") in RETRYABLE_STATUS:
                raise StoreUnavailable(f"Elasticsearch answered {info.get('status')} for {info.get('_id')}")
            err = info.get("error", {})
            rejected.append(Rejection(info.get("_id", ""), err.get("type", "es_error"), json.dumps(err)[:2000]))
        return WriteResult(written=len(batch) - len(rejected), rejected=rejected)

    def search(self, query: SearchQuery) -> SearchResults:
        body = search_body(query)
        resp = self.client.search(index=self.index, **body)
        hits = [Hit(id=h["_id"], score=h.get("_score") or 0.0, title=h["_source"].get("title", ""),
                    published_at=h["_source"].get("published_at"), outlet=h["_source"].get("outlet"),
                    url=h["_source"].get("url")) for h in resp["hits"]["hits"]]
        facets = {name: [(b["key"], b["doc_count"]) for b in resp.get("aggregations", {}).get(name, {})
                         .get("buckets", [])] for name in FACET_FIELDS}
        return SearchResults(total=resp["hits"]["total"]["value"], hits=hits, facets=facets)

    def get(self, article_id: str) -> dict | None:
        from elasticsearch import NotFoundError

        try:
            return dict(self.client.get(index=self.index, id=article_id)["_source"])
        except NotFoundError:
            return None

    def count(self) -> int:
        return int(self.client.count(index=self.index)["count"])

    def has_ids(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        resp = self.client.mget(index=self.index, ids=ids, source=False)
        return {d["_id"] for d in resp["docs"] if d.get("found")}

    def close(self) -> None:
        self.client.close()
