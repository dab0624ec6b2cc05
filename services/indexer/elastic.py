"""Elasticsearch store: the production search path (official client, bulk upserts with _id = article id).

Client and server majors must match (the 9.x client gets HTTP 400 from 8.x servers).
Index settings and mappings (nori analyzer, nested relations, geo points) live in index_template.json.
The register of ties lives in an index of its own behind the alias ``ties`` (``<alias>-ties`` beside an articles
alias other than ``articles``), mapped by ties_template.json, created by ``citydesk setup`` (setup_ties_index).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas import TaggedArticle, Tie
from services.indexer.store import (
    CANDIDATE_LIMIT,
    FACET_FIELDS,
    UNDATED_LIMIT,
    ArticleStore,
    Hit,
    Rejection,
    SearchQuery,
    SearchResults,
    StoreMisconfigured,
    StoreUnavailable,
    WriteResult,
    candidate_from_source,
    index_fields,
    stored_story_id,
    story_fields,
    tie_index_fields,
)
from services.ties.office import RegisterFile, stored_with_register

if TYPE_CHECKING:
    from services.stories.core import Candidate, Fingerprint

TEMPLATE_FILE = Path(__file__).with_name("index_template.json")
TIES_TEMPLATE_FILE = Path(__file__).with_name("ties_template.json")
TIES_TEMPLATE_NAME = "citydesk-ties"
# Index-only fields: in _source (a reindex copies them) but never part of an article handed back.
STORY_ONLY_FIELDS = ("story_keys", "story_signature")
# What ties and candidates need of an article: not its text.
NOT_FOR_TIES = ["body", "subtitle", "story_keys", "story_signature", "sectors.evidence"]
CANDIDATE_SOURCE = ["id", "published_at", "story_signature", "story_id", "duplicate_of", "relations.korean_party",
                    "relations.partner", "people.name", "events.name"]
# Cardinality is exact below this many distinct values (Elasticsearch's maximum); story counts above it are
# estimates (HyperLogLog++), within a few percent.
STORY_PRECISION = 40_000


def ties_alias(articles_alias: str) -> str:
    """The ties index alias that goes with an articles alias: ``ties`` beside ``articles``, else ``<alias>-ties``."""
    return "ties" if articles_alias == "articles" else f"{articles_alias}-ties"
# Retry the whole batch on these; any other per-item error is the document's fault and goes to the DLQ.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# For one item inside a bulk answer these say "not now" (a write block: 403 cluster_block_exception; an index
# removed behind the alias: 404), never "this document is bad": retry the batch instead of dead-lettering.
RETRYABLE_ITEM_STATUS = RETRYABLE_STATUS | {401, 403, 404}


def es_document(article: TaggedArticle, fingerprints: Mapping[str, Fingerprint] | None = None) -> dict[str, Any]:
    """The document Elasticsearch indexes: the tagged article (minus search terms, nori analyses the text)
    plus the keyword fields every store shares and the story fields (keys, signature)."""
    doc = article.model_dump(mode="json", exclude={"terms"})
    for name, values in index_fields(article).items():
        doc.setdefault(name, values)  # the article's own fields (outlet: a string) stay as they are
    doc["exchange"] = article.is_exchange
    doc["story_id"] = stored_story_id(article)
    doc.update(story_fields(article, fingerprints))
    return doc


def bulk_actions(batch: list[TaggedArticle], index: str,
                 fingerprints: Mapping[str, Fingerprint] | None = None) -> list[dict[str, Any]]:
    """Bulk 'index' actions with _id = article id: writing the same article twice replaces it."""
    return [{"_op_type": "index", "_index": index, "_id": a.id, "_source": es_document(a, fingerprints)}
            for a in batch]


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
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "size": query.limit,
        "track_total_hits": True,
        "_source": ["id", "title", "published_at", "outlet", "url", "story_id"],
        "aggs": {name: {"terms": {"field": name, "size": query.facet_size}} for name in FACET_FIELDS},
    }
    stories = {"cardinality": {"field": "story_id", "precision_threshold": STORY_PRECISION}}
    if query.stories:
        body["collapse"] = {"field": "story_id"}  # one hit per story: its best-scoring article
    if query.stories or query.facets_by == "story":
        body["aggs"]["stories"] = stories
    if query.facets_by == "story":
        for name in FACET_FIELDS:
            body["aggs"][name]["terms"]["order"] = {"stories": "desc"}
            body["aggs"][name]["aggs"] = {"stories": stories}
    return body


def story_counts_body(query: SearchQuery, story_ids: list[str]) -> dict[str, Any]:
    """The second request of a collapsed search: each shown story's matching articles and their outlets."""
    return {
        "size": 0,
        "query": {"bool": {"filter": [search_body(query)["query"], {"terms": {"story_id": story_ids}}]}},
        "aggs": {"story": {"terms": {"field": "story_id", "size": len(story_ids)},
                           "aggs": {"outlets": {"cardinality": {"field": "outlet",
                                                                "precision_threshold": STORY_PRECISION}}}}},
    }


def candidates_body(fp: Fingerprint, window_days: int, limit: int = CANDIDATE_LIMIT) -> dict[str, Any]:
    """Dated stored articles sharing a key with ``fp`` (dated), within the window of its date, newest first."""
    if fp.published is None:
        raise ValueError("an undated article has no window: closest_candidates_body")
    span = timedelta(days=window_days)
    filters: list[dict[str, Any]] = [
        {"terms": {"story_keys": list(fp.keys)}},
        {"range": {"published_at": {"gte": (fp.published - span).isoformat(),
                                    "lte": (fp.published + span).isoformat()}}}]
    return {"size": limit, "query": {"bool": {"filter": filters}},
            "sort": [{"published_at": {"order": "desc"}}, {"id": {"order": "asc"}}],
            "_source": CANDIDATE_SOURCE}


def closest_candidates_body(fp: Fingerprint, limit: int = UNDATED_LIMIT) -> dict[str, Any]:
    """Stored articles no date bounds the comparison with: undated ones (for an undated ``fp``, all), those sharing
    the most keys with ``fp`` first: each shared key scores one."""
    query: dict[str, Any] = {"should": [{"constant_score": {"filter": {"term": {"story_keys": key}}, "boost": 1.0}}
                                        for key in sorted(set(fp.keys))],
                             "minimum_should_match": 1}
    if fp.published:
        query["must_not"] = [{"exists": {"field": "published_at"}}]
    return {"size": limit, "query": {"bool": query},
            "sort": [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}],
            "_source": CANDIDATE_SOURCE}


def _candidates(answer: dict[str, Any]) -> list[Candidate]:
    if "error" in answer:
        status = answer.get("status", 500)
        if status in RETRYABLE_STATUS:
            raise StoreUnavailable(f"Elasticsearch answered {status} to a story candidates search")
        raise RuntimeError(f"story candidates search refused: {json.dumps(answer['error'])[:500]}")
    return [candidate_from_source(h["_source"], h["_source"]["story_signature"])
            for h in answer["hits"]["hits"] if h["_source"].get("story_signature")]


def tie_document(tie: Tie, now: datetime | None = None) -> dict[str, Any]:
    """A tie as the ties index keeps it: the Tie, its flat keyword fields, and ``status_at``, when its ``status``
    was decided (registered and active turns dormant with time alone; the indexer, `citydesk ties import` and
    `citydesk ties rebuild` write it again)."""
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return {**tie.model_dump(mode="json"), **tie_index_fields(tie), "status_at": stamp}


def _reason(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("reason") or body["error"].get("type"))
    return str(body or exc)[:500]


@contextmanager
def _answering(what: str) -> Iterator[None]:
    """Elasticsearch's failures as the store's: not now (retry the batch), not set up, or misconfigured."""
    from elasticsearch import ApiError, TransportError

    try:
        yield
    except ApiError as exc:
        status = exc.meta.status
        if status in RETRYABLE_STATUS:
            raise StoreUnavailable(f"Elasticsearch answered {status} to {what}") from exc
        if status == 404:
            raise StoreUnavailable(f"{what}: {_reason(exc)}: run `citydesk setup`") from exc
        if status in (401, 403):
            raise StoreMisconfigured(f"Elasticsearch refused {what} with {status} ({_reason(exc)}): check the "
                                     "credentials and privileges (CITYDESK_ELASTICSEARCH_URL)") from exc
        raise
    except (TransportError, ConnectionError) as exc:
        raise StoreUnavailable(f"Elasticsearch unreachable: {exc}") from exc


def _item_problems(resp: dict[str, Any], what: str, missing_ok: bool) -> list[str]:
    """Errors inside a good bulk answer: retryable ones raise StoreUnavailable; a missing document is no error
    when ``missing_ok`` (a relabelled article deleted meanwhile, a tie already gone); the rest are returned."""
    problems = []
    for item in resp.get("items", []):
        info = next(iter(item.values()))
        status = info.get("status", 200)
        if status < 300 or (status == 404 and missing_ok):
            continue
        if status in RETRYABLE_ITEM_STATUS:
            raise StoreUnavailable(f"Elasticsearch answered {status} to {what} for {info.get('_id')}")
        problems.append(f"{info.get('_id')}: {json.dumps(info.get('error'), ensure_ascii=False)[:300]}")
    return problems


class ElasticsearchStore(ArticleStore):
    concurrent_writers = True  # any number of indexers share the index: placement takes a second look

    def __init__(self, url: str, index: str, client: Any = None, timeout_s: float = 30.0,
                 ties_index: str | None = None, register_dir: Path | None = None) -> None:
        from elasticsearch import Elasticsearch

        self.index = index
        # An office's register (`citydesk ties import`, kept in the data directory): each tie document carries its
        # status, which Kibana filters on (services.ties.office.stored_with_register).
        self.register = RegisterFile(register_dir) if register_dir is not None else None
        self.ties_index = ties_index or ties_alias(index)
        # Retries are the worker's (backoff without dropping the batch), not the transport's.
        self.client = client or Elasticsearch(url, request_timeout=timeout_s, retry_on_timeout=False, max_retries=0)
        self.timeout_s = timeout_s
        self._alias_ready = False
        self._ties_ready = False

    def write(self, batch: list[TaggedArticle], fingerprints: Mapping[str, Fingerprint] | None = None) -> WriteResult:
        from elasticsearch import TransportError

        try:
            if not self._alias_ready:
                # Writing to a missing alias would auto-create an index without our mappings.
                if not self.client.indices.exists_alias(name=self.index):
                    raise StoreUnavailable(f"index alias {self.index!r} does not exist yet: run `citydesk setup`")
                self._alias_ready = True
            return self._bulk(batch, fingerprints)
        except (TransportError, ConnectionError) as exc:
            raise StoreUnavailable(f"Elasticsearch unreachable: {exc}") from exc

    def _bulk(self, batch: list[TaggedArticle], fingerprints: Mapping[str, Fingerprint] | None = None) -> WriteResult:
        """One bulk request; a request refused whole is sorted by its status:
        408/429/5xx → retry later; 413 (larger than http.max_content_length) or 400 → split in halves until the
        documents that cause it stand alone, which are then rejected (DLQ); 401/403 → configuration error."""
        from elasticsearch import ApiError

        operations: list[dict[str, Any]] = []
        for action in bulk_actions(batch, self.index, fingerprints):
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
                    first, second = self._bulk(batch[:half], fingerprints), self._bulk(batch[half:], fingerprints)
                    return WriteResult(first.written + second.written, first.rejected + second.rejected,
                                       first.stale + second.stale)
                kind = "request_entity_too_large" if status == 413 else "bulk_request_refused"
                return WriteResult(0, [Rejection(batch[0].id, kind, f"HTTP {status}: {_reason(exc)}"[:2000])])
            raise StoreMisconfigured(f"Elasticsearch refused the bulk request with {status}: {_reason(exc)}") from exc
        rejected, stale = [], []
        for item in resp["items"]:
            info = next(iter(item.values()))
            status = info.get("status", 200)
            if status < 300:
                continue
            if status == 409:  # version conflict: a newer version of the article is stored; nothing to write
                stale.append(info.get("_id", ""))
                continue
            if status in RETRYABLE_ITEM_STATUS:
                raise StoreUnavailable(f"Elasticsearch answered {status} for {info.get('_id')}: "
                                       f"{json.dumps(info.get('error'))[:300]}")
            err = info.get("error") or {}
            kind = err.get("type", "es_error") if isinstance(err, dict) else "es_error"
            rejected.append(Rejection(info.get("_id", ""), kind, json.dumps(err, ensure_ascii=False)[:2000]))
        return WriteResult(written=len(batch) - len(rejected) - len(stale), rejected=rejected, stale=stale)

    def search(self, query: SearchQuery) -> SearchResults:
        body = search_body(query)
        resp = self.client.search(index=self.index, **body)
        hits = [Hit(id=h["_id"], score=h.get("_score") or 0.0, title=h["_source"].get("title", ""),
                    published_at=h["_source"].get("published_at"), outlet=h["_source"].get("outlet"),
                    url=h["_source"].get("url"), story_id=h["_source"].get("story_id")) for h in resp["hits"]["hits"]]
        aggs = resp.get("aggregations", {})
        by_story = query.facets_by == "story"
        facets = {name: [(b["key"], b["stories"]["value"] if by_story else b["doc_count"])
                         for b in aggs.get(name, {}).get("buckets", [])] for name in FACET_FIELDS}
        if query.stories and hits:
            ids = list(dict.fromkeys(h.story_id for h in hits if h.story_id))
            counts = self.client.search(index=self.index, **story_counts_body(query, ids))
            by_id = {b["key"]: b for b in counts.get("aggregations", {}).get("story", {}).get("buckets", [])}
            for hit in hits:
                if hit.story_id in by_id:
                    hit.story_articles = by_id[hit.story_id]["doc_count"]
                    hit.story_outlets = by_id[hit.story_id]["outlets"]["value"]
        stories = aggs["stories"]["value"] if "stories" in aggs else None
        return SearchResults(total=resp["hits"]["total"]["value"], hits=hits, facets=facets, stories=stories)

    def get(self, article_id: str) -> dict | None:
        from elasticsearch import NotFoundError

        try:
            source = dict(self.client.get(index=self.index, id=article_id)["_source"])
        except NotFoundError:
            return None
        for name in STORY_ONLY_FIELDS:
            source.pop(name, None)
        return source

    def count(self) -> int:
        return int(self.client.count(index=self.index)["count"])

    def has_ids(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        resp = self.client.mget(index=self.index, ids=ids, source=False)
        return {d["_id"] for d in resp["docs"] if d.get("found")}

    # -- stories ------------------------------------------------------------------------------------------------
    def story_candidates(self, fingerprints: list[Fingerprint], window_days: int, limit: int = CANDIDATE_LIMIT,
                         undated_limit: int = UNDATED_LIMIT) -> list[list[Candidate]]:
        """One msearch for the whole batch: for each article, its dated candidates (when it has a date), then the
        closest ones."""
        asked = [fp for fp in fingerprints if fp.keys]
        found: dict[str, list[Candidate]] = {}
        if asked:
            searches: list[dict[str, Any]] = []
            for fp in asked:
                if fp.published:
                    searches += [{}, candidates_body(fp, window_days, limit)]
                searches += [{}, closest_candidates_body(fp, undated_limit)]
            with _answering("a search for story candidates"):
                answers = iter(self.client.msearch(index=self.index, searches=searches)["responses"])
            for fp in asked:
                found[fp.article_id] = [c for _ in range(2 if fp.published else 1) for c in _candidates(next(answers))]
        return [found.get(fp.article_id, []) for fp in fingerprints]

    def _scan(self, index: str, query: dict[str, Any], source: Any) -> Iterator[dict[str, Any]]:
        from elasticsearch import helpers

        with _answering(f"a scan of {index}"):
            # helpers.scan sends request_timeout=None (no limit) unless told: a hung node would hang the indexer
            for hit in helpers.scan(self.client, index=index, query={"query": query, "_source": source},
                                    size=1000, scroll="2m", request_timeout=self.timeout_s):
                yield hit["_source"]

    def story_members(self, story_ids: list[str]) -> list[tuple[str, str, str | None]]:
        if not story_ids:
            return []
        return [(src["id"], src.get("story_id") or f"s-{src['id']}", src.get("duplicate_of"))
                for src in self._scan(self.index, {"terms": {"story_id": story_ids}},
                                      ["id", "story_id", "duplicate_of"])]

    def relabel(self, labels: Mapping[str, tuple[str, str | None]]) -> int:
        if not labels:
            return 0
        operations: list[dict[str, Any]] = []
        for article_id, (story_id, duplicate_of) in labels.items():
            operations += [{"update": {"_index": self.index, "_id": article_id}},
                           {"doc": {"story_id": story_id, "duplicate_of": duplicate_of}}]
        with _answering("relabelling stories"):
            resp = self.client.bulk(operations=operations, refresh="wait_for")
        problems = _item_problems(resp, "relabelling stories", missing_ok=True)
        if problems:
            raise RuntimeError(f"relabelling refused: {'; '.join(problems)[:1000]}")
        return sum(1 for item in resp["items"] if next(iter(item.values())).get("status", 200) < 300)

    # -- ties ---------------------------------------------------------------------------------------------------
    @staticmethod
    def _article(source: dict[str, Any]) -> TaggedArticle:
        return TaggedArticle.model_validate({**source, "body": source.get("body", "")})

    def pair_articles(self, korean_party: str, partner: str) -> list[TaggedArticle]:
        query = {"term": {"relation_pair": f"{korean_party} → {partner}"}}
        return [self._article(s) for s in self._scan(self.index, query, {"excludes": NOT_FOR_TIES})]

    def all_articles(self) -> Iterator[TaggedArticle]:
        for source in self._scan(self.index, {"match_all": {}}, {"excludes": NOT_FOR_TIES}):
            yield self._article(source)

    def write_ties(self, ties: list[Tie], delete: Iterable[str] = ()) -> None:
        if self.register is not None:
            ties, delete = stored_with_register(ties, delete, self.register.entries())
        operations: list[dict[str, Any]] = []
        for tie in ties:
            operations += [{"index": {"_index": self.ties_index, "_id": tie.id}}, tie_document(tie)]
        operations += [{"delete": {"_index": self.ties_index, "_id": tie_id}} for tie_id in delete]
        if not operations:
            return
        with _answering("writing ties"):
            if not self._ties_ready:
                if not self.client.indices.exists_alias(name=self.ties_index):
                    raise StoreUnavailable(f"ties alias {self.ties_index!r} does not exist yet: run `citydesk setup`")
                self._ties_ready = True
            resp = self.client.bulk(operations=operations, refresh="wait_for")
        problems = _item_problems(resp, "writing ties", missing_ok=True)
        if problems:
            raise RuntimeError(f"ties refused by {self.ties_index!r}: {'; '.join(problems)[:1000]}")

    def read_ties(self) -> list[Tie]:
        from elasticsearch import NotFoundError

        try:
            ties = [Tie.model_validate(s) for s in self._scan(self.ties_index, {"match_all": {}}, True)]
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, NotFoundError):
                return []  # no ties index (yet): no ties
            raise
        return sorted(ties, key=lambda t: (-t.stories, t.id))

    def ties_citing(self, article_ids: Iterable[str]) -> set[str]:
        from elasticsearch import NotFoundError

        ids = list(article_ids)
        if not ids:
            return set()
        try:
            return {s["id"] for s in self._scan(self.ties_index, {"terms": {"article_ids": ids}}, ["id"])}
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, NotFoundError):
                return set()
            raise

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
    return _put_behind_alias(client, alias)


def _put_behind_alias(client: Any, alias: str) -> str:
    """The newest `<alias>-vN` (created as `<alias>-v1` when there is none) made the alias's write index."""
    versions = index_versions(client, alias)
    index = f"{alias}-v{versions[-1] if versions else 1}"
    if not versions:
        client.indices.create(index=index)
    client.indices.update_aliases(actions=[{"add": {"index": index, "alias": alias, "is_write_index": True}}])
    return index


def setup_ties_index(client: Any, alias: str = "ties", shards: int = 1, replicas: int = 0) -> str:
    """Idempotent, like setup_index: the ties template for `<alias>-v*` and `<alias>-v1` behind the alias. On an
    existing index, the template's mappings are put again (new fields are added; nothing is removed)."""
    template = json.loads(TIES_TEMPLATE_FILE.read_text(encoding="utf-8"))
    settings = {"number_of_shards": shards, "number_of_replicas": replicas}
    client.indices.put_index_template(name=TIES_TEMPLATE_NAME, index_patterns=[f"{alias}-v*"], priority=500,
                                      template={"settings": settings, "mappings": template["mappings"]})
    if client.indices.exists_alias(name=alias):
        index = next(iter(client.indices.get_alias(name=alias)))
        client.indices.put_mapping(index=index, **template["mappings"])
        return index
    return _put_behind_alias(client, alias)


def upgrade_articles_mapping(client: Any, alias: str) -> list[str]:
    """Fields the current template has and the live articles index lacks (an index made before stories: its
    story fields), added to it in place. Returns their names."""
    template = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))["mappings"]
    index = next(iter(client.indices.get_alias(name=alias)))
    live = client.indices.get_mapping(index=index)[index]["mappings"].get("properties", {})
    missing = {name: spec for name, spec in template["properties"].items() if name not in live}
    if missing:
        client.indices.put_mapping(index=index, properties=missing)
    return sorted(missing)


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
