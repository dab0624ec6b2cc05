"""The embedded search store: tantivy on disk, indexing the morphemes the tagger computed.

Why tantivy over Kiwi morphemes: plain word tokenizers (SQLite FTS5, tantivy default) miss inflected
Korean forms (협력을, 협력하기로), trigram tokenizers cannot find two-syllable words (포럼, 인재).
Morphemes with positions give real term and phrase queries; queries go through the same analysis.

One process writes (the indexer; tantivy holds a writer lock), any number read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import tantivy

from schemas import TaggedArticle
from services.analysis import search_terms
from services.indexer.store import (
    FACET_FIELDS,
    ArticleStore,
    Hit,
    SearchQuery,
    SearchResults,
    WriteResult,
    index_fields,
)

KEYWORD_FIELDS = ("sector", "place", "country", "person", "relation_kind", "partner", "korean_party", "relation_pair",
                  "outlet",
                  "exchange")
TERMS_TOKENIZER = "citydesk_terms"


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("title_terms", stored=False, tokenizer_name=TERMS_TOKENIZER)
    sb.add_text_field("body_terms", stored=False, tokenizer_name=TERMS_TOKENIZER)
    for name in KEYWORD_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    sb.add_date_field("published_at", stored=False, indexed=True, fast=True)
    sb.add_bytes_field("source", stored=True, indexed=False)
    return sb.build()


def _analyzer() -> tantivy.TextAnalyzer:
    # Terms arrive already analysed (Kiwi morphemes joined by spaces): split on spaces, lower-case.
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).filter(tantivy.Filter.lowercase()).build()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class EmbeddedStore(ArticleStore):
    def __init__(self, directory: Path, *, writer: bool = False) -> None:
        self.directory = Path(directory)
        self.schema = _schema()
        self.directory.mkdir(parents=True, exist_ok=True)
        exists = tantivy.Index.exists(str(self.directory))
        if not exists and not writer:
            self.index = None
        else:
            self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
            self.index.register_tokenizer(TERMS_TOKENIZER, _analyzer())
        self._writer = self.index.writer(heap_size=50_000_000, num_threads=1) if writer and self.index else None

    # -- writing --------------------------------------------------------------------------------------
    def write(self, batch: list[TaggedArticle]) -> WriteResult:
        if self._writer is None:
            raise RuntimeError("this store was opened read-only")
        stale = self._stale(batch)
        for article in batch:
            if article.id in stale:
                continue  # a newer version is stored: an older replay never overwrites it
            self._writer.delete_documents_by_term("id", article.id)
            self._writer.add_document(self._document(article))
        self._writer.commit()
        return WriteResult(written=len(batch) - len(stale))

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

    def _document(self, article: TaggedArticle) -> tantivy.Document:
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
        source = article.model_dump(mode="json", exclude={"terms"})
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
        found = set()
        for article_id in ids:
            if searcher.search(tantivy.Query.term_query(self.schema, "id", article_id), 1).count:
                found.add(article_id)
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
        result = searcher.search(q, query.limit, count=True)
        hits = []
        for score, address in result.hits:
            src = self._source(searcher, address)
            hits.append(Hit(id=src["id"], score=round(score, 3), title=src["title"],
                            published_at=src.get("published_at"), outlet=src.get("outlet"), url=src.get("url")))
        facets: dict[str, list[tuple[str, int]]] = {}
        if result.count:
            aggs = {name: {"terms": {"field": name, "size": query.facet_size}} for name in FACET_FIELDS}
            raw = searcher.aggregate(q, aggs)
            for name in FACET_FIELDS:
                facets[name] = [(b["key"], b["doc_count"]) for b in raw.get(name, {}).get("buckets", [])]
        return SearchResults(total=result.count or 0, hits=hits, facets=facets)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None


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
