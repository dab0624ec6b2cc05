"""The embedded search store: tantivy on disk, indexing the morphemes the tagger computed.

Why tantivy over Kiwi morphemes: plain word tokenizers (SQLite FTS5, tantivy default) miss inflected
Korean forms (협력을, 협력하기로), trigram tokenizers cannot find two-syllable words (포럼, 인재).
Morphemes with positions give real term and phrase queries; queries go through the same analysis.

One process writes (the indexer; tantivy holds a writer lock), any number read.

Stories and ties (format 2): each document also carries ``story_keys`` (indexed), ``story_id`` and ``duplicate_of``
(keywords), ``story_signature`` and the search ``terms`` (stored only: a relabelled article is written again
without analysing its text again). The ties are a small tantivy index of their own in ``<store>/ties``.
A store written by an earlier citydesk (format 1: no story fields, no stored terms) is migrated when it is first
opened: every stored article is read back, its terms computed again with Kiwi, and the whole archive placed in
stories and folded into ties in a new directory that then takes the old one's place (``migrate``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import tantivy

from schemas import SearchTerms, TaggedArticle, Tie
from services.analysis import search_terms
from services.indexer.store import (
    CANDIDATE_LIMIT,
    FACET_FIELDS,
    UNDATED_LIMIT,
    ArticleStore,
    Hit,
    SearchQuery,
    SearchResults,
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

log = logging.getLogger("citydesk.store")
KEYWORD_FIELDS = ("sector", "place", "country", "person", "relation_kind", "partner", "korean_party", "relation_pair",
                  "outlet",
                  "exchange")
TERMS_TOKENIZER = "citydesk_terms"
STORE_FORMAT = 2  # 1: before stories and ties (no story fields, no stored terms)
FORMAT_FILE = "citydesk-store.json"
TIES_DIR = "ties"
PENDING_TIES_FILE = "ties-pending.json"  # ties a batch touched and the indexer has not updated yet (a crash)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("title_terms", stored=False, tokenizer_name=TERMS_TOKENIZER)
    sb.add_text_field("body_terms", stored=False, tokenizer_name=TERMS_TOKENIZER)
    for name in KEYWORD_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    sb.add_date_field("published_at", stored=False, indexed=True, fast=True)
    sb.add_bytes_field("source", stored=True, indexed=False)
    # Stories: the keys a later article finds this one by, its labels, its MinHash (base64); the search terms,
    # kept so that relabelling rewrites the document without Kiwi.
    sb.add_text_field("story_keys", stored=True, tokenizer_name="raw")
    sb.add_text_field("story_id", stored=False, tokenizer_name="raw", fast=True)
    sb.add_text_field("duplicate_of", stored=False, tokenizer_name="raw", fast=True)
    sb.add_bytes_field("story_signature", stored=True, indexed=False)
    sb.add_bytes_field("terms", stored=True, indexed=False)
    return sb.build()


def _ties_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in ("korean_party", "partner", "partner_country", "article_ids", "kind_names", "sector_codes"):
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    sb.add_bytes_field("source", stored=True, indexed=False)
    return sb.build()


def _analyzer() -> tantivy.TextAnalyzer:
    # Terms arrive already analysed (Kiwi morphemes joined by spaces): split on spaces, lower-case.
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).filter(tantivy.Filter.lowercase()).build()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def store_format(directory: Path) -> int | None:
    """The format of the store in ``directory``: None when there is none, 1 for one made before stories and ties."""
    if not (directory.is_dir() and tantivy.Index.exists(str(directory))):
        return None
    marker = directory / FORMAT_FILE
    if marker.exists():
        return int(json.loads(marker.read_text(encoding="utf-8"))["format"])
    index = tantivy.Index.open(str(directory))
    try:
        tantivy.Query.term_query(index.schema, "story_keys", "")
    except ValueError:
        return 1
    return STORE_FORMAT


class EmbeddedStore(ArticleStore):
    def __init__(self, directory: Path, *, writer: bool = False, register_dir: Path | None = None) -> None:
        self.directory = Path(directory)
        # An office's register (`citydesk ties import`, kept in the data directory): each written tie carries its
        # status, as the Elasticsearch store's do (services.ties.office.stored_with_register).
        self.register = RegisterFile(register_dir) if register_dir is not None else None
        self.schema = _schema()
        self.directory.mkdir(parents=True, exist_ok=True)
        found = store_format(self.directory)
        if found is not None and found < STORE_FORMAT:
            migrate(self.directory)
            found = STORE_FORMAT
        if found is None and writer:
            _write_format(self.directory)
        if found is None and not writer:
            self.index = None
        else:
            self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
            self.index.register_tokenizer(TERMS_TOKENIZER, _analyzer())
        self._writer = _writer(self.index, 50_000_000) if writer and self.index else None
        self._writable = writer
        self._deferred = False
        self._ties: tantivy.Index | None = None
        self._ties_writer: tantivy.IndexWriter | None = None
        # The ties this store's writer last wrote, most recently written last: while it holds the ties index's one
        # writer (from its first write to close) nobody else writes them, so these are what the index holds, and
        # get_ties need not parse them again (a tie keeps every article's evidence: at 12,000 copies, parsing the
        # ties a batch touched was 0.56 s of its 1.44 s). At most TIES_KEPT_EVIDENCE evidence entries in all.
        self._ties_kept: OrderedDict[str, Tie] = OrderedDict()
        self._ties_kept_evidence = 0
        # Story candidates as read, by article id, while this store holds the index's one writer: a story's copies
        # are each other's candidates, and each new copy reads every earlier one; loading the stored document was most
        # of a read (in the pipeline, a sixth of the indexer's CPU). A search's ids come from the id column (_read),
        # so a kept candidate costs no document. An article this store writes or relabels is forgotten then and
        # again at the commit (reads in between see the commit before). At most CANDIDATES_KEPT, the least recent out.
        self._candidates_read: OrderedDict[str, _Kept] = OrderedDict()
        self._unsettled: set[str] = set()  # written or relabelled since the last commit
        self.ties_schema = _ties_schema()

    # -- writing --------------------------------------------------------------------------------------
    def write(self, batch: list[TaggedArticle], fingerprints: Mapping[str, Fingerprint] | None = None) -> WriteResult:
        if self._writer is None:
            raise RuntimeError("this store was opened read-only")
        stale = self._stale(batch)
        for article in batch:
            if article.id in stale:
                continue  # a newer version is stored: an older replay never overwrites it
            fields = story_fields(article, fingerprints)
            self._forget(article.id)
            self._writer.delete_documents_by_term("id", article.id)
            self._writer.add_document(self._document(article, fields["story_keys"], fields["story_signature"]))
        self._commit()
        return WriteResult(written=len(batch) - len(stale), stale=sorted(stale))

    @contextmanager
    def one_commit(self) -> Iterator[None]:
        """Writes and relabels inside are one commit: one segment per batch rather than two (fewer segments, fewer
        term lookups for every later candidate search), and the batch and its relabels land together or not at all.
        Inside, searches see the last commit: placement asks only for articles stored before the batch."""
        outer = self._deferred
        self._deferred = True
        try:
            yield
        except BaseException:
            if not outer and self._writer is not None:
                try:
                    self._writer.rollback()  # nothing of a failed batch stays pending for the next commit
                finally:
                    self._settle()
            raise
        finally:
            self._deferred = outer
        if not outer and self._writer is not None:
            self._writer.commit()
            self._settle()

    def _commit(self) -> None:
        if not self._deferred:
            # A commit that fails may leave its operations pending for the next: its articles stay unsettled (not
            # kept) until a commit lands or a rollback drops them.
            self._writer.commit()
            self._settle()

    def _forget(self, article_id: str) -> None:
        """A kept candidate of this article is no longer what the index will hold (it is being written)."""
        self._candidates_read.pop(article_id, None)
        self._unsettled.add(article_id)

    def _settle(self) -> None:
        """After a commit or a rollback: what was read of the articles written meanwhile may be either version."""
        for article_id in self._unsettled:
            self._candidates_read.pop(article_id, None)
        self._unsettled.clear()

    def _stale(self, batch: list[TaggedArticle]) -> set[str]:
        """Ids in the batch whose stored version is newer (CleanArticle.version): the same rule as Elasticsearch's
        external versions, exact here because one process writes this store."""
        stale = set()
        for article in batch:
            if article.version is None:
                continue
            stored = self.get(article.id)
            if stored and (stored.get("version") or 0) > article.version:
                stale.add(article.id)
        return stale

    def _document(self, article: TaggedArticle, story_keys: Iterable[str], signature: str) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", article.id)
        doc.add_text("title_terms", " ".join(article.terms.title))
        doc.add_text("body_terms", " ".join(article.terms.body))
        for name, values in index_fields(article).items():
            for value in values:
                doc.add_text(name, value)
        doc.add_text("exchange", "true" if article.is_exchange else "false")
        if article.published_at:
            doc.add_date("published_at", _utc(article.published_at))
        story_id = stored_story_id(article)
        for key in story_keys:
            doc.add_text("story_keys", key)
        doc.add_text("story_id", story_id)
        if article.duplicate_of:
            doc.add_text("duplicate_of", article.duplicate_of)
        doc.add_bytes("story_signature", signature.encode("ascii"))
        doc.add_bytes("terms", article.terms.model_dump_json().encode("utf-8"))
        source = article.model_dump(mode="json", exclude={"terms"})
        source["story_id"] = story_id
        doc.add_bytes("source", json.dumps(source, ensure_ascii=False).encode("utf-8"))
        return doc

    # -- reading --------------------------------------------------------------------------------------
    def _searcher(self) -> tantivy.Searcher | None:
        """A searcher on the latest commit. The indexer, another process, may commit or merge meanwhile and delete
        the segment files the commit we were opening named: open again on the newer commit (a few times)."""
        import time

        for attempt in range(6):
            try:
                return self._open_searcher()
            except ValueError as exc:
                if attempt == 5 or not any(w in str(exc) for w in ("FileDoesNotExist", "does not exist", "NotFound")):
                    raise
                time.sleep(0.02 * 2 ** attempt)
        return None

    def _open_searcher(self) -> tantivy.Searcher | None:
        if self.index is None:
            if not tantivy.Index.exists(str(self.directory)):
                return None
            self.index = tantivy.Index.open(str(self.directory))
            self.index.register_tokenizer(TERMS_TOKENIZER, _analyzer())
        self.index.reload()
        return self.index.searcher()

    def count(self) -> int:
        searcher = self._searcher()
        return searcher.num_docs if searcher else 0

    def has_ids(self, ids: list[str]) -> set[str]:
        searcher = self._searcher()
        if searcher is None:
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), IDS_AT_ONCE):  # one search a chunk: a poll for 2,400 ids, 7 ms one by one
            chunk = ids[start:start + IDS_AT_ONCE]
            found.update(_ids(searcher, tantivy.Query.term_set_query(self.schema, "id", chunk), len(chunk)))
        return found

    def get(self, article_id: str) -> dict | None:
        searcher = self._searcher()
        if searcher is None:
            return None
        result = searcher.search(tantivy.Query.term_query(self.schema, "id", article_id), 1)
        if not result.hits:
            return None
        return self._source(searcher, result.hits[0][1])

    @staticmethod
    def _source(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> dict:
        return json.loads(bytes(searcher.doc(address)["source"][0]).decode("utf-8"))

    def _all(self, searcher: tantivy.Searcher, query: tantivy.Query) -> list[tantivy.DocAddress]:
        """Every document the query matches (no scoring order promised)."""
        if searcher.num_docs == 0:
            return []
        return [address for _, address in searcher.search(query, searcher.num_docs, count=False).hits]

    def build_query(self, query: SearchQuery) -> tantivy.Query:
        must: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for word in _words(query.text):
            variants = query_variants(word)
            if not variants:
                continue
            should = [(tantivy.Occur.Should, self._terms_query(field, terms))
                      for terms in variants for field in ("title_terms", "body_terms")]
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(should)))
        filters = query.keyword_filters()
        if query.exchange_only:
            filters["exchange"] = ["true"]
        for name, values in filters.items():
            any_of = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, name, v)) for v in values]
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(any_of)))
        if query.since or query.until:
            low = _utc(query.since) if query.since else datetime(1900, 1, 1)
            high = _utc(query.until) if query.until else datetime(2200, 1, 1)
            must.append((tantivy.Occur.Must, tantivy.Query.range_query(
                self.schema, "published_at", tantivy.FieldType.Date, low, high)))
        return tantivy.Query.boolean_query(must) if must else tantivy.Query.all_query()

    def _terms_query(self, field: str, terms: list[str]) -> tantivy.Query:
        if len(terms) == 1:
            return tantivy.Query.term_query(self.schema, field, terms[0])
        return tantivy.Query.phrase_query(self.schema, field, terms)

    def search(self, query: SearchQuery) -> SearchResults:
        searcher = self._searcher()
        if searcher is None:
            return SearchResults(total=0, hits=[])
        q = self.build_query(query)
        if query.stories:
            total, hits = self._story_hits(searcher, q, query)
        else:
            result = searcher.search(q, query.limit, count=True)
            total, hits = result.count or 0, []
            for score, address in result.hits:
                src = self._source(searcher, address)
                hits.append(Hit(id=src["id"], score=round(score, 3), title=src["title"],
                                published_at=src.get("published_at"), outlet=src.get("outlet"), url=src.get("url"),
                                story_id=src.get("story_id")))
        facets: dict[str, list[tuple[str, int]]] = {}
        stories = None
        if total:
            by_story = query.facets_by == "story"
            stories_agg = {"cardinality": {"field": "story_id"}}
            aggs: dict = {name: {"terms": {"field": name, "size": query.facet_size}} for name in FACET_FIELDS}
            if by_story:
                for spec in aggs.values():
                    spec["terms"]["order"] = {"stories": "desc"}
                    spec["aggs"] = {"stories": stories_agg}
            if query.stories or by_story:
                aggs["stories"] = stories_agg
            raw = searcher.aggregate(q, aggs)
            for name in FACET_FIELDS:
                buckets = raw.get(name, {}).get("buckets", [])
                facets[name] = [(b["key"], round(b["stories"]["value"]) if by_story else b["doc_count"])
                                for b in buckets]
            if "stories" in raw:
                stories = round(raw["stories"]["value"])
        elif query.stories or query.facets_by == "story":
            stories = 0
        return SearchResults(total=total, hits=hits, facets=facets, stories=stories)

    def _story_hits(self, searcher: tantivy.Searcher, q: tantivy.Query, query: SearchQuery) -> tuple[int, list[Hit]]:
        """One hit per story, its best-scoring article, in score order (what Elasticsearch's collapse does), with
        the story's matching articles and their outlets counted."""
        fetch = max(4 * query.limit, 50)
        while True:
            result = searcher.search(q, fetch, count=True)
            best: dict[str, Hit] = {}
            for score, address in result.hits:
                src = self._source(searcher, address)
                story = src.get("story_id") or f"s-{src['id']}"
                if story not in best:
                    best[story] = Hit(id=src["id"], score=round(score, 3), title=src["title"],
                                      published_at=src.get("published_at"), outlet=src.get("outlet"),
                                      url=src.get("url"), story_id=story)
                    if len(best) == query.limit:
                        break
            if len(best) >= query.limit or len(result.hits) < fetch:
                break
            fetch *= 4
        if best:
            of_these = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, q),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "story_id", list(best)))])
            counts = searcher.aggregate(of_these, {"story": {
                "terms": {"field": "story_id", "size": len(best)},
                "aggs": {"outlets": {"cardinality": {"field": "outlet"}}}}})
            for bucket in counts["story"]["buckets"]:
                hit = best[bucket["key"]]
                hit.story_articles, hit.story_outlets = bucket["doc_count"], round(bucket["outlets"]["value"])
        return result.count or 0, list(best.values())

    # -- stories ------------------------------------------------------------------------------------------------
    def story_candidates(self, fingerprints: list[Fingerprint], window_days: int, limit: int = CANDIDATE_LIMIT,
                         undated_limit: int = UNDATED_LIMIT) -> list[list[Candidate]]:
        """Few searches for the whole batch, each stored article read once, then shared out as one search per article
        would give (ArticleStore.story_candidates). A live batch (its dates days apart) is one search, when it finds
        at most READ_AT_ONCE stored articles per article and READ_AT_ONCE_MAX in all. Else (a backfill's batch, its
        dates years apart) the dated candidates are read in groups close in time, and the closest ones where no date
        bounds the comparison apart; should one of those searches find more than its limit times its articles, each
        of them is asked alone."""
        searcher = self._searcher()
        out: list[list[Candidate]] = [[] for _ in fingerprints]
        if min(limit, undated_limit) < 1:
            raise ValueError(f"candidate limits must be at least 1, not {limit} and {undated_limit}")
        if searcher is None or searcher.num_docs == 0 or not any(fp.keys for fp in fingerprints):
            return out
        span = timedelta(days=window_days)
        at_once = self._at_once(searcher, fingerprints, span, limit, undated_limit)
        if at_once is not None:
            return at_once
        dated = [n for n, fp in enumerate(fingerprints) if fp.keys and fp.published]
        undated = [n for n, fp in enumerate(fingerprints) if fp.keys and not fp.published]
        group = [fingerprints[n] for n in dated]
        for positions in _close_in_time([fp.published for fp in group], span):
            close = [group[n] for n in positions]
            got = self._dated_candidates(searcher, close, span, limit, limit * len(close))
            if got is None:
                got = [self._dated_of(searcher, fp, span, limit) for fp in close]
            for n, candidates in zip(positions, got, strict=True):
                out[dated[n]] += candidates
        for positions, stored_dated in ((dated, False), (undated, None)):
            group = [fingerprints[n] for n in positions]
            for n, found in zip(positions, self._closest_candidates(searcher, group, stored_dated, undated_limit),
                                strict=True):
                out[n] += found
        return out

    def _at_once(self, searcher: tantivy.Searcher, fingerprints: list[Fingerprint], span: timedelta, limit: int,
                 undated_limit: int) -> list[list[Candidate]] | None:
        """Every article's candidates from one search: every stored article sharing a key with the batch, within the
        window of its dates or undated (any date when the batch has an undated article); None when that search
        finds more than READ_AT_ONCE per article of the batch, or READ_AT_ONCE_MAX."""
        asked = [fp for fp in fingerprints if fp.keys]
        query = self._keys_query((k for fp in asked for k in fp.keys), dated=None)
        dates = [fp.published for fp in asked if fp.published]
        if len(dates) == len(asked):
            window = self._within(tantivy.Query.all_query(), min(dates) - span, max(dates) + span)
            undated = tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.all_query()), (
                tantivy.Occur.MustNot, tantivy.Query.exists_query("published_at"))])  # the keys once: most of the cost
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.
                                                 boolean_query([(tantivy.Occur.Should, window),
                                                                (tantivy.Occur.Should, undated)]))])
        read = self._read(searcher, query, min(READ_AT_ONCE * len(asked), READ_AT_ONCE_MAX))
        if read is None:
            return None
        found, out = read.candidates, []
        for fp in fingerprints:
            shared = read.sharing(fp.keys)
            near = [found[n] for n in sorted(shared) if fp.published and found[n].published
                    and abs(found[n].published - fp.published) <= span]  # newest first
            unbounded = Counter({n: k for n, k in shared.items() if not (fp.published and found[n].published)})
            out.append(near[:limit] + _closest(unbounded, found, undated_limit))
        return out

    def _keys_query(self, keys: Iterable[str], *, dated: bool | None) -> tantivy.Query:
        """Articles with any of these keys: dated ones, undated ones, or (None) either."""
        query = tantivy.Query.term_set_query(self.schema, "story_keys", sorted(set(keys)))
        if dated is None:
            return query
        published = tantivy.Query.exists_query("published_at")
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                            (tantivy.Occur.Must if dated else tantivy.Occur.MustNot, published)])

    def _dated_candidates(self, searcher: tantivy.Searcher, group: list[Fingerprint], span: timedelta, limit: int,
                          cap: int) -> list[list[Candidate]] | None:
        """Dated articles within the window of each of ``group`` (dated), newest first, from one search that reads
        each at most once; None when that search finds more than ``cap``."""
        low = min(fp.published for fp in group if fp.published) - span
        high = max(fp.published for fp in group if fp.published) + span
        keys = {k for fp in group for k in fp.keys}
        read = self._read(searcher, self._within(self._keys_query(keys, dated=True), low, high), cap)
        if read is None:
            return None
        out = []
        for fp in group:
            assert fp.published is not None
            near = (read.candidates[n] for n in sorted(read.sharing(fp.keys)))  # newest first
            out.append([c for c in near if c.published and abs(c.published - fp.published) <= span][:limit])
        return out

    def _within(self, query: tantivy.Query, low: datetime, high: datetime) -> tantivy.Query:
        window = tantivy.Query.range_query(self.schema, "published_at", tantivy.FieldType.Date, _utc(low), _utc(high))
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, window)])

    def _dated_of(self, searcher: tantivy.Searcher, fp: Fingerprint, span: timedelta,
                  limit: int) -> list[Candidate]:
        assert fp.published is not None
        query = self._within(self._keys_query(fp.keys, dated=True), fp.published - span, fp.published + span)
        hits = searcher.search(query, limit, count=False, order_by_field="published_at").hits  # newest first
        return [self._candidate(searcher, address).candidate for _, address in hits]

    def _closest_candidates(self, searcher: tantivy.Searcher, group: list[Fingerprint], dated: bool | None,
                            limit: int) -> list[list[Candidate]]:
        """For each of ``group``, the stored articles (undated ones, or with ``dated`` None any) sharing the most of
        its keys, at most ``limit``."""
        if not group:
            return []
        cap = limit * len(group)
        keys = {k for fp in group for k in fp.keys}
        read = self._read(searcher, self._keys_query(keys, dated=dated), cap)
        if read is None:
            return [self._closest_of(searcher, fp, dated, limit) for fp in group]
        return [_closest(Counter(read.sharing(fp.keys)), read.candidates, limit) for fp in group]

    def _closest_of(self, searcher: tantivy.Searcher, fp: Fingerprint, dated: bool | None,
                    limit: int) -> list[Candidate]:
        """Each shared key scores one."""
        shares = [(tantivy.Occur.Should, tantivy.Query.const_score_query(
            tantivy.Query.term_query(self.schema, "story_keys", key), 1.0)) for key in sorted(set(fp.keys))]
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, self._keys_query(fp.keys, dated=dated)), *shares])
        return [self._candidate(searcher, address).candidate for _, address in searcher.search(query, limit).hits]

    def _read(self, searcher: tantivy.Searcher, query: tantivy.Query, cap: int) -> _Found | None:
        """Every stored article the query finds, as candidates, each read once; None when there are more than cap.
        The query's ids come from the id column (an aggregation: ordering the hits by id cost 14 µs a hit, three
        times the search), so a candidate this store keeps costs no document; the others are found by id."""
        cap = min(cap, BUCKETS_MAX - 1)  # past it, the caller's searches per article give the same candidates
        ids = _ids(searcher, query, cap + 1)
        if len(ids) > cap:
            return None
        kept = self._candidates_read if self._writer is not None else None
        read = []
        if kept is not None:
            for article_id in ids:
                if (entry := kept.get(article_id)) is not None:
                    kept.move_to_end(article_id)
                    read.append(entry)
        if len(read) < len(ids):
            missing = tantivy.Query.term_set_query(self.schema, "id", [i for i in ids if kept is None or i not in kept])
            read += [self._candidate(searcher, address) for _, address in
                     searcher.search(missing, len(ids) - len(read), count=False).hits]
        return _Found.of(read)

    def _candidate(self, searcher: tantivy.Searcher, address: tantivy.DocAddress) -> _Kept:
        """The stored article at ``address`` as a candidate, with its keys; kept by id while this store writes."""
        doc = searcher.doc(address)
        source = json.loads(bytes(doc["source"][0]))
        candidate = candidate_from_source(source, bytes(doc["story_signature"][0]).decode("ascii"))
        read = _Kept(frozenset(doc.get_all("story_keys")), candidate, _newest_first(candidate))
        kept = self._candidates_read if self._writer is not None else None
        if kept is not None and source["id"] not in self._unsettled:
            kept[source["id"]] = read
            if len(kept) > CANDIDATES_KEPT:
                kept.popitem(last=False)
        return read

    def story_members(self, story_ids: list[str]) -> list[tuple[str, str, str | None]]:
        searcher = self._searcher()
        if searcher is None or not story_ids:
            return []
        out = []
        for address in self._all(searcher, tantivy.Query.term_set_query(self.schema, "story_id", list(story_ids))):
            src = self._source(searcher, address)
            out.append((src["id"], src.get("story_id") or f"s-{src['id']}", src.get("duplicate_of")))
        return out

    def relabel(self, labels: Mapping[str, tuple[str, str | None]]) -> int:
        if self._writer is None:
            raise RuntimeError("this store was opened read-only")
        searcher = self._searcher()
        if searcher is None or not labels:
            return 0
        changed = 0
        for article_id, (story_id, duplicate_of) in labels.items():
            hits = searcher.search(tantivy.Query.term_query(self.schema, "id", article_id), 1).hits
            if not hits:
                continue
            doc = searcher.doc(hits[0][1])
            source = json.loads(bytes(doc["source"][0]))
            terms = SearchTerms.model_validate_json(bytes(doc["terms"][0]))
            article = TaggedArticle.model_validate({**source, "terms": terms, "story_id": story_id,
                                                    "duplicate_of": duplicate_of})
            self._forget(article_id)
            self._writer.delete_documents_by_term("id", article_id)
            self._writer.add_document(self._document(article, doc.to_dict().get("story_keys", []),
                                                     bytes(doc["story_signature"][0]).decode("ascii")))
            changed += 1
        self._commit()
        return changed

    # -- ties ---------------------------------------------------------------------------------------------------
    def pair_articles(self, korean_party: str, partner: str) -> list[TaggedArticle]:
        searcher = self._searcher()
        if searcher is None:
            return []
        query = tantivy.Query.term_query(self.schema, "relation_pair", f"{korean_party} → {partner}")
        return [self._article(searcher, a) for a in self._all(searcher, query)]

    @staticmethod
    def _article(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> TaggedArticle:
        """A stored article without its search terms, parsed and validated in one pass (pydantic's JSON mode)."""
        return TaggedArticle.model_validate_json(bytes(searcher.doc(address)["source"][0]))

    def all_articles(self) -> Iterator[TaggedArticle]:
        searcher = self._searcher()
        if searcher is None:
            return
        for address in self._all(searcher, tantivy.Query.all_query()):
            yield self._article(searcher, address)

    def _ties_index(self, create: bool) -> tantivy.Index | None:
        if self._ties is None:
            path = self.directory / TIES_DIR
            if not (path.is_dir() and tantivy.Index.exists(str(path))):
                if not create:
                    return None
                path.mkdir(parents=True, exist_ok=True)
            self._ties = tantivy.Index(self.ties_schema, path=str(path), reuse=True)
        return self._ties

    def _ties_searcher(self) -> tantivy.Searcher | None:
        index = self._ties_index(create=False)
        if index is None:
            return None
        index.reload()
        return index.searcher()

    def write_ties(self, ties: list[Tie], delete: Iterable[str] = ()) -> None:
        if not self._writable:
            raise RuntimeError("this store was opened read-only")
        if self._ties_writer is None:
            index = self._ties_index(create=True)
            assert index is not None
            self._ties_writer = _writer(index, 15_000_000)
        if self.register is not None:
            ties, delete = stored_with_register(ties, delete, self.register.entries())
        for tie in ties:
            doc = tantivy.Document()
            doc.add_text("id", tie.id)
            doc.add_text("korean_party", tie.korean_party)
            doc.add_text("partner", tie.partner)
            doc.add_text("partner_country", tie.partner_country)
            for name, values in tie_index_fields(tie).items():
                for value in values:
                    doc.add_text(name, value)
            doc.add_bytes("source", tie.model_dump_json().encode("utf-8"))
            self._ties_writer.delete_documents_by_term("id", tie.id)
            self._ties_writer.add_document(doc)
        for tie_id in delete:
            self._ties_writer.delete_documents_by_term("id", tie_id)
        self._ties_writer.commit()
        for tie_id in [*delete, *(t.id for t in ties)]:
            if (gone := self._ties_kept.pop(tie_id, None)) is not None:
                self._ties_kept_evidence -= len(gone.evidence)
        for tie in ties:
            self._ties_kept[tie.id] = tie
            self._ties_kept_evidence += len(tie.evidence)
        while self._ties_kept_evidence > TIES_KEPT_EVIDENCE:
            self._ties_kept_evidence -= len(self._ties_kept.popitem(last=False)[1].evidence)

    def read_ties(self) -> list[Tie]:
        searcher = self._ties_searcher()
        if searcher is None:
            return []
        return sorted((self._tie(searcher, a) for a in self._all(searcher, tantivy.Query.all_query())),
                      key=lambda t: (-t.stories, t.id))

    @staticmethod
    def _tie(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> Tie:
        return Tie.model_validate_json(bytes(searcher.doc(address)["source"][0]))

    def ties_citing(self, article_ids: Iterable[str]) -> set[str]:
        searcher = self._ties_searcher()
        ids = list(article_ids)
        if searcher is None or not ids:
            return set()
        query = tantivy.Query.term_set_query(self.ties_schema, "article_ids", ids)
        return {searcher.doc(a)["id"][0] for a in self._all(searcher, query)}

    def get_ties(self, tie_ids: Iterable[str]) -> dict[str, Tie]:
        ids = list(tie_ids)
        kept = {i: self._ties_kept[i] for i in ids if i in self._ties_kept}  # written by us: the index holds them
        rest = [i for i in ids if i not in kept]
        searcher = self._ties_searcher() if rest else None
        if searcher is None:
            return kept
        query = tantivy.Query.term_set_query(self.ties_schema, "id", rest)
        return {**kept, **{t.id: t for t in (self._tie(searcher, a) for a in self._all(searcher, query))}}

    def ties_pending(self) -> set[str]:
        path = self.directory / PENDING_TIES_FILE
        if not path.exists():
            return set()
        return set(json.loads(path.read_text(encoding="utf-8"))["ties"])

    def mark_ties_pending(self, tie_ids: Iterable[str]) -> None:
        path = self.directory / PENDING_TIES_FILE
        ids = sorted(set(tie_ids))
        if not ids:
            path.unlink(missing_ok=True)
            return
        scratch = path.with_name(path.name + ".new")
        with scratch.open("w", encoding="utf-8") as out:
            json.dump({"ties": ids}, out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power loss, as tantivy's commit does
        finally:
            os.close(directory)

    def close(self) -> None:
        for name in ("_writer", "_ties_writer"):
            writer = getattr(self, name)
            if writer is not None:
                writer.wait_merging_threads()
                setattr(self, name, None)
        self._ties_kept.clear()  # without the writer, others may write the ties
        self._candidates_read.clear()  # and the articles
        self._ties_kept_evidence = 0


# The buckets one aggregation may return (tantivy refuses more): the ids a search reads at once (_read, has_ids).
BUCKETS_MAX = 65_000
IDS_AT_ONCE = 10_000  # ids asked about in one search (has_ids)
# Evidence entries, at most, of the ties a writing store keeps as it wrote them (EmbeddedStore._ties_kept). Keeping
# them costs no extra peak memory in the in-process harness (16,000 copies: 802 MB kept, 856 MB parsed each batch).
TIES_KEPT_EVIDENCE = 200_000
# Story candidates a store keeps as it read them (EmbeddedStore._candidates_read): about 9 KB each (measured with
# tracemalloc: the keys, the 128 hashes, the entity sets), 45 MB at most.
CANDIDATES_KEPT = 5_000

# Stored articles the one search for a whole batch's candidates may read: per article of the batch, and in all
# (one kept by the writing store costs its id, about 1 µs; one read from the index about 25 µs; each is shared out to
# every article it shares a key with). Past it (a backfill's batch, its dates years apart, or a store with many
# undated articles of the batch's pairs), the dated candidates are read in groups close in time, the closest apart.
# Measured on the bench's copies (1,200 articles fed three times, batches of 100, in one process): at 20 and 2,000
# the second and third feeds cost 3.61 and 4.81 CPU-s; at 50 and 5,000, 2.95 and 3.62.
READ_AT_ONCE, READ_AT_ONCE_MAX = 50, 5000


def _ids(searcher: tantivy.Searcher, query: tantivy.Query, at_most: int) -> list[str]:
    """The ids of the articles the query finds, at most ``at_most`` (BUCKETS_MAX): from the id column, no document."""
    return [b["key"] for b in searcher.aggregate(query, {"ids": {"terms": {"field": "id", "size": at_most}}})
            ["ids"]["buckets"]]


def _newest_first(c: Candidate) -> tuple[bool, float, str]:
    return c.published is None, -c.published.timestamp() if c.published else 0.0, c.article_id


class _Kept(NamedTuple):
    """A stored article as placement reads it: its story keys, the candidate, and its place newest first."""

    keys: frozenset[str]
    candidate: Candidate
    order: tuple[bool, float, str]


@dataclass
class _Found:
    """The candidates one search read, newest first and undated last. Those with the same keys (a story's exact
    copies: dozens, in a backfill of wire copies) are one group, so that finding which share keys with an article
    costs its keys times the groups, not times the copies."""

    candidates: list[Candidate]
    groups: list[list[int]]  # positions in candidates
    by_key: dict[str, list[int]]  # key → the groups that have it

    @classmethod
    def of(cls, read: list[_Kept]) -> _Found:
        read.sort(key=lambda r: r.order)
        group_of: dict[frozenset[str], int] = {}
        groups: list[list[int]] = []
        by_key: dict[str, list[int]] = defaultdict(list)
        for position, r in enumerate(read):
            group = group_of.get(r.keys)
            if group is None:
                group = group_of[r.keys] = len(groups)
                groups.append([])
                for key in r.keys:
                    by_key[key].append(group)
            groups[group].append(position)
        return cls([r.candidate for r in read], groups, by_key)

    def sharing(self, keys: Iterable[str]) -> dict[int, int]:
        """Position → how many of these keys it shares, for every candidate sharing one."""
        per_group = Counter(g for key in set(keys) for g in self.by_key.get(key, ()))
        return {n: shared for g, shared in per_group.items() for n in self.groups[g]}


def _closest(shared: Counter[int], found: list[Candidate], limit: int) -> list[Candidate]:
    """The ``limit`` candidates sharing the most keys (``shared``: position in ``found`` → keys shared), then by id."""
    return [found[n] for n in sorted(shared, key=lambda n: (-shared[n], found[n].article_id))[:limit]]


def _close_in_time(dates: list[datetime | None], span: timedelta) -> list[list[int]]:
    """Positions of these dates in groups spanning at most two windows each, so that a group's one search reads only
    what its own dates can meet: a backfill's batch spans years, and one search from its first date to its last read
    every stored article of those years sharing a key with any of it."""
    groups: list[list[int]] = []
    start = datetime.min
    for n in sorted(range(len(dates)), key=lambda n: dates[n] or datetime.min):
        date = dates[n] or datetime.min
        if groups and date - start <= 2 * span:
            groups[-1].append(n)
        else:
            groups.append([n])
            start = date
    return groups


def _writer(index: tantivy.Index, heap_size: int) -> tantivy.IndexWriter:
    """The index's one writer, after removing what a writer killed mid-commit left behind: its files are not in any
    committed meta, and the redelivered batch, replaying the same operations, would otherwise meet a delete file of
    the same name (tantivy: FileAlreadyExists on commit) at every restart."""
    writer = index.writer(heap_size=heap_size, num_threads=1)
    writer.garbage_collect_files()
    return writer


def _write_format(directory: Path) -> None:
    (directory / FORMAT_FILE).write_text(json.dumps({"format": STORE_FORMAT}) + "\n", encoding="utf-8")


def migrate(directory: Path, batch: int = 200) -> int:
    """Bring a store of an earlier format to the current one, in place: every stored article is read back (the
    source is all a format-1 store keeps), its search terms computed again with Kiwi, and the archive written to
    a new directory in date order through the indexer's own placement (stories, ties), which then replaces the old
    directory. Several processes may open the old store at once: a lock file lets one migrate, the others wait.
    Returns the number of articles migrated."""
    import fcntl

    from services.indexer.placement import index_batch

    directory = Path(directory)
    lock_path = directory.parent / f".{directory.name}.migrate.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = store_format(directory)
        if found is None or found >= STORE_FORMAT:
            return 0  # another process migrated it meanwhile
        started = time.monotonic()
        old = tantivy.Index.open(str(directory))
        old.reload()
        searcher = old.searcher()
        log.warning("the store in %s was written by an earlier citydesk (format %d): migrating its %d articles to "
                    "format %d (once; stories and ties are placed and folded on the way)", directory, found,
                    searcher.num_docs, STORE_FORMAT)
        articles = []
        addresses = [a for _, a in searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1),
                                                   count=False).hits] if searcher.num_docs else []
        for address in addresses:
            source = json.loads(bytes(searcher.doc(address)["source"][0]).decode("utf-8"))
            article = TaggedArticle.model_validate(source)
            article.terms = SearchTerms(title=search_terms(article.title), body=search_terms(article.body))
            articles.append(article)
        articles.sort(key=lambda a: (a.published_at is None, a.published_at or datetime.min.replace(tzinfo=UTC),
                                     a.id))
        fresh = directory.with_name(f"{directory.name}.migrating")
        shutil.rmtree(fresh, ignore_errors=True)
        store = EmbeddedStore(fresh, writer=True)
        try:
            for i in range(0, len(articles), batch):
                index_batch(store, articles[i:i + batch])
        finally:
            store.close()
        retired = directory.with_name(f"{directory.name}.format{found}")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(directory, retired)
        os.replace(fresh, directory)
        shutil.rmtree(retired, ignore_errors=True)
        log.warning("migrated %d articles in %.1f s", len(articles), time.monotonic() - started)
        return len(articles)


def query_variants(word: str) -> list[list[str]]:
    """The ways Kiwi may have split ``word`` in a document. Its reading of a compound depends on context
    (자매결연 alone → 자매 + 결연; 자매결연을 → 자매결연), so a query word matches any of them."""
    variants: dict[tuple[str, ...], None] = {}
    for probe in (word, f"{word}을", f"{word}를", f"{word}이다"):
        # Only morphemes of the word itself: the probe's particle may be misread as a noun.
        terms = [t for t in search_terms(probe) if t in word.lower()]
        if terms:
            variants[tuple(terms)] = None
    return [list(v) for v in variants]


def _words(text: str) -> list[str]:
    """Whitespace words, except that a "quoted phrase" stays one unit (its morphemes become a phrase)."""
    import shlex

    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
