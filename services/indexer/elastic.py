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
    StoreMisconfigured,
    StoreUnavailable,
    WriteResult,
    index_fields,
)

TEMPLATE_FILE = Path(__file__).with_name("index_template.json")
# Retry the whole batch on these; any other per-item error is the document's fault and goes to the DLQ.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# For one item inside a bulk answer these say "not now" (a write block: 403 cluster_block_exception; an index
# removed behind the alias: 404), never "this document is bad": retry the batch instead of dead-lettering.
RETRYABLE_ITEM_STATUS = RETRYABLE_STATUS | {401, 403, 404}


def es_document(article: TaggedArticle) -> dict[str, Any]:
    """The document Elasticsearch indexes: the tagged article (minus search terms, nori analyses the text)
    plus the keyword fields every store shares."""
    doc = article.model_dump(mode="json", exclude={"terms"})
    for name, values in index_fields(article).items():
        doc.setdefault(name, values)  # the article's own fields (outlet: a string) stay as they are
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


def _reason(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("reason") or body["error"].get("type"))
    return str(body or exc)[:500]


class ElasticsearchStore(ArticleStore):
    def __init__(self, url: str, index: str, client: Any = None, timeout_s: float = 30.0) -> None:
        from elasticsearch import Elasticsearch

        self.index = index
        # Retries are the worker's (backoff without dropping the batch), not the transport's.
        self.client = client or Elasticsearch(url, request_timeout=timeout_s, retry_on_timeout=False, max_retries=0)
        self._alias_ready = False

    def write(self, batch: list[TaggedArticle]) -> WriteResult:
        from elasticsearch import TransportError

        try:
            if not self._alias_ready:
                # Writing to a missing alias would auto-create an index without our mappings.
                if not self.client.indices.exists_alias(name=self.index):
                    raise StoreUnavailable(f"index alias {self.index!r} does not exist yet: run `citydesk setup`")
                self._alias_ready = True
            return self._bulk(batch)
        except (TransportError, ConnectionError) as exc:
            raise StoreUnavailable(f"Elasticsearch unreachable: {exc}") from exc

    def _bulk(self, batch: list[TaggedArticle]) -> WriteResult:
        """One bulk request; a request refused whole is sorted by its status:
        408/429/5xx → retry later; 413 (larger than http.max_content_length) or 400 → split in halves until the
        documents that cause it stand alone, which are then rejected (DLQ); 401/403 → configuration error."""
        from elasticsearch import ApiError

        operations: list[dict[str, Any]] = []
        for action in bulk_actions(batch, self.index):
            meta = {"_index": action["_index"], "_id": action["_id"]}
            if action["_source"].get("version") is not None:  # when it was fed: an older version never wins
                meta.update(version=action["_source"]["version"], version_type="external_gte")
            operations += [{"index": meta}, action["_source"]]
        try:
            resp = self.client.bulk(operations=operations, refresh="wait_for")
        except ApiError as exc:
            status = exc.meta.status
            if status in RETRYABLE_STATUS:
                raise StoreUnavailable(f"Elasticsearch answered {status}") from exc
            if status in (401, 403):
                raise StoreMisconfigured(
                    f"Elasticsearch refused the bulk request with {status} ({_reason(exc)}): check the credentials "
                    f"and the write privilege on {self.index!r} (CITYDESK_ELASTICSEARCH_URL)") from exc
            if status in (400, 413):
                if len(batch) > 1:
                    half = len(batch) // 2
                    first, second = self._bulk(batch[:half]), self._bulk(batch[half:])
                    return WriteResult(first.written + second.written, first.rejected + second.rejected)
                kind = "request_entity_too_large" if status == 413 else "bulk_request_refused"
                return WriteResult(0, [Rejection(batch[0].id, kind, f"HTTP {status}: {_reason(exc)}"[:2000])])
            raise StoreMisconfigured(f"Elasticsearch refused the bulk request with {status}: {_reason(exc)}") from exc
        rejected = []
        for item in resp["items"]:
            info = next(iter(item.values()))
            status = info.get("status", 200)
            if status < 300:
                continue
            if status == 409:  # version conflict: a newer version of the article is stored; nothing to write
                continue
            if status in RETRYABLE_ITEM_STATUS:
                raise StoreUnavailable(f"Elasticsearch answered {status} for {info.get('_id')}: "
                                       f"{json.dumps(info.get('error'))[:300]}")
            err = info.get("error") or {}
            kind = err.get("type", "es_error") if isinstance(err, dict) else "es_error"
            rejected.append(Rejection(info.get("_id", ""), kind, json.dumps(err, ensure_ascii=False)[:2000]))
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


# --- setup: template, versioned index behind an alias, reindex --------------------------------------

TEMPLATE_NAME = "citydesk-articles"


class VersionMismatch(RuntimeError):
    pass


def es_client(cfg: Any) -> Any:
    from elasticsearch import Elasticsearch

    # Retries are the worker's (backoff without dropping the batch), not the transport's.
    auth = {"basic_auth": (cfg.elasticsearch_username, cfg.elasticsearch_password or "")} \
        if cfg.elasticsearch_username else {}
    return Elasticsearch(cfg.elasticsearch_url, request_timeout=cfg.elasticsearch_timeout_s, retry_on_timeout=False,
                         max_retries=0, **auth)


def wait_for_elasticsearch(client: Any, timeout: float) -> None:
    import time

    from elasticsearch import ConnectionError as EsConnectionError
    from elasticsearch import TransportError

    deadline = time.monotonic() + timeout
    while True:
        try:
            client.cluster.health(wait_for_status="yellow", timeout="5s")
            return
        except (EsConnectionError, TransportError, ConnectionError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Elasticsearch not reachable after {timeout:.0f} s ({exc}); check "
                                   "CITYDESK_ELASTICSEARCH_URL") from exc
            time.sleep(2)


def check_server(client: Any) -> str:
    """The server's version; a clear error when its major differs from the client's (9.x → 8.x is HTTP 400).
    Read from the nodes info API, which every distribution serves (`GET /` needs the rest-root module, which the
    integ-test distribution run here does not have)."""
    from elasticsearch import __versionstr__ as client_version

    nodes = client.nodes.info(node_id="_local", metric="_none", filter_path="nodes.*.version")["nodes"]
    server_version = next(iter(nodes.values()))["version"]
    if server_version.split(".")[0] != client_version.split(".")[0]:
        raise VersionMismatch(f"Elasticsearch {server_version} at the server, client {client_version}: majors must "
                              f"match; install elasticsearch=={server_version.split('.')[0]}.* or upgrade the server")
    return str(server_version)


def user_dictionary() -> list[str]:
    """Gazetteer names nori should keep whole (대구광역시, 타이베이시), one rule per line."""
    from services.tagger.gazetteer import gazetteer

    names = {e.name for e in gazetteer().by_name.values() if e.kind != "country"}
    return sorted(n for n in names if len(n) >= 3 and n.replace(" ", "") == n and n.isalnum())


def index_body(analyzer: str = "nori", shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Settings and mappings for a new index. analyzer="standard" is for clusters without analysis-nori
    (test doubles); Korean search quality then drops to whitespace words."""
    template = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    settings = template["settings"]
    if analyzer == "nori":
        settings["analysis"]["tokenizer"]["citydesk_nori"]["user_dictionary_rules"] = user_dictionary()
    else:
        settings = {"analysis": {"analyzer": {"citydesk_korean": {"type": "standard"}}}}
    settings = {**settings, "number_of_shards": shards, "number_of_replicas": replicas}
    return {"settings": settings, "mappings": template["mappings"]}


def index_versions(client: Any, alias: str) -> list[int]:
    found = client.indices.get(index=f"{alias}-v*", allow_no_indices=True, expand_wildcards="open")
    return sorted(int(name.rsplit("-v", 1)[1]) for name in found if name.rsplit("-v", 1)[1].isdigit())


def setup_index(client: Any, alias: str, analyzer: str = "nori", shards: int = 1, replicas: int = 0) -> str:
    """Idempotent: the index template for `<alias>-v*`, and `<alias>-v1` behind the alias if no version exists.
    Returns the index the alias points to."""
    body = index_body(analyzer, shards, replicas)
    client.indices.put_index_template(name=TEMPLATE_NAME, index_patterns=[f"{alias}-v*"], priority=500,
                                      template={"settings": body["settings"], "mappings": body["mappings"]})
    if client.indices.exists_alias(name=alias):
        return next(iter(client.indices.get_alias(name=alias)))
    versions = index_versions(client, alias)
    index = f"{alias}-v{versions[-1] if versions else 1}"
    if not versions:
        client.indices.create(index=index)
    client.indices.update_aliases(actions=[{"add": {"index": index, "alias": alias, "is_write_index": True}}])
    return index


def reindex(client: Any, alias: str, analyzer: str = "nori", shards: int = 1, replicas: int = 0) -> tuple[str, str]:
    """Build the next index version from the current one and move the alias in one atomic step.
    Searches keep reading the old index until the swap. A second pass copies what the indexer wrote to the old
    index during the first (op_type create: a newer document in the new index is never overwritten).
    The copy runs through the client (scroll + bulk), not the server's _reindex: one code path that works on every
    distribution, the integ-test node run here included (it has no reindex module)."""
    current = setup_index(client, alias, analyzer, shards, replicas)
    new = f"{alias}-v{int(current.rsplit('-v', 1)[1]) + 1}"
    client.indices.create(index=new)  # takes the (possibly updated) template's settings and mappings
    _copy(client, current, new, op_type="index")
    client.indices.update_aliases(actions=[
        {"remove": {"index": current, "alias": alias}},
        {"add": {"index": new, "alias": alias, "is_write_index": True}},
    ])
    _copy(client, current, new, op_type="create")
    return current, new


def _copy(client: Any, source: str, dest: str, op_type: str) -> int:
    """Every document of source into dest; with op_type create, documents already in dest are kept (409s)."""
    from elasticsearch import helpers

    client.indices.refresh(index=source)
    actions = ({"_op_type": op_type, "_index": dest, "_id": hit["_id"], "_source": hit["_source"]}
               for hit in helpers.scan(client, index=source, query={"query": {"match_all": {}}}, size=500,
                                       scroll="2m"))
    copied = 0
    for ok, item in helpers.streaming_bulk(client, actions, chunk_size=500, max_chunk_bytes=1 << 20,
                                           raise_on_error=False, raise_on_exception=True):
        info = next(iter(item.values()))
        if ok:
            copied += 1
        elif not (op_type == "create" and info.get("status") == 409):
            raise RuntimeError(f"reindex {source} → {dest}: {json.dumps(info.get('error'))[:500]}")
    client.indices.refresh(index=dest)
    return copied
