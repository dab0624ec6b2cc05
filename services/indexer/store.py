"""The search store interface, shared by the embedded store and Elasticsearch.

Shaped after Quix Streams' sinks: one ``write(batch)`` that is idempotent (upsert by article id), called
before the worker acknowledges the batch, so offsets are committed only after the store has the articles.

The store is also the stories' window and the ties' home (services/indexer/placement.py): each article carries
index-only ``story_keys`` (its fingerprint's LSH band and entity keys, indexed) and ``story_signature`` (its MinHash,
stored, not indexed), so placed articles can be found again by key; ``story_id``/``duplicate_of`` are keywords; the
ties of the register are a collection of their own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from schemas import TaggedArticle, Tie

if TYPE_CHECKING:
    from services.stories.core import Candidate, Fingerprint

FACET_FIELDS = ("sector", "country", "partner", "korean_party", "relation_kind", "outlet")


class SearchQuery(BaseModel):
    text: str = ""
    sector: list[str] = Field(default_factory=list)
    place: list[str] = Field(default_factory=list)
    country: list[str] = Field(default_factory=list)
    person: list[str] = Field(default_factory=list)
    relation: list[str] = Field(default_factory=list, description="relation kinds")
    partner: list[str] = Field(default_factory=list)
    korean_party: list[str] = Field(default_factory=list)
    story: list[str] = Field(default_factory=list, description="story ids: the articles of these stories")
    exchange_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 10
    facet_size: int = 10
    stories: bool = Field(False, description="one hit per story (the best-scoring article), with its counts")
    facets_by: Literal["article", "story"] = Field("article", description="what facet counts count")

    def keyword_filters(self) -> dict[str, list[str]]:
        """Index field → accepted values (any of them), for every store alike."""
        filters = {"sector": self.sector, "place": self.place, "country": [c.upper() for c in self.country],
                   "person": self.person, "relation_kind": self.relation, "partner": self.partner,
                   "korean_party": self.korean_party, "story_id": self.story}
        return {name: values for name, values in filters.items() if values}


class Hit(BaseModel):
    id: str
    score: float
    title: str
    published_at: datetime | None = None
    outlet: str | None = None
    url: str | None = None
    story_id: str | None = None
    story_articles: int | None = Field(None, description="with --stories: the story's articles matching the query")
    story_outlets: int | None = Field(None, description="with --stories: their distinct outlets")


class SearchResults(BaseModel):
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = Field(default_factory=dict)
    stories: int | None = Field(None, description="distinct stories among the matches (with --stories or "
                                "story facets)")


@dataclass
class Rejection:
    """A document the store refused for its content (not for being unavailable): it goes to the DLQ."""

    article_id: str
    error_type: str
    reason: str


@dataclass
class WriteResult:
    written: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    # Ids not written because the store holds a newer version (a replay): not an error, and not the article now
    stale: list[str] = field(default_factory=list)


class StoreUnavailable(RuntimeError):
    """The store cannot take writes now (down, overloaded): retry the same batch later."""


class StoreMisconfigured(RuntimeError):
    """The store refuses us as configured (credentials, privileges): retrying cannot help; the worker exits with a
    message that says what to fix."""


# Stored articles a new article is compared with, at most: the newest dated ones within the window. An event
# reported more than this many times within the window is placed by its newest reports, which is enough to join it.
CANDIDATE_LIMIT = 200
# And, where no date bounds the comparison (undated stored articles; for an undated article, every stored one), at
# most this many, those sharing the most keys with it first (the most similar: keys are LSH bands and entity keys).
# An undated article is near every date: under the one limit, every new article was compared with every undated
# stored article sharing a key, and an undated one with the 200 newest sharing its pair, and a backfill slowed as its
# archive grew (README, "A backfill").
UNDATED_LIMIT = 20


class ArticleStore(ABC):
    # Several indexers write this store at once (Elasticsearch): placement looks at the store once more after its
    # write, so two copies placed at the same moment by two indexers still meet (services/indexer/placement.py).
    concurrent_writers: bool = False

    @abstractmethod
    def write(self, batch: list[TaggedArticle], fingerprints: Mapping[str, Fingerprint] | None = None) -> WriteResult:
        """Upsert every article by id, with its story fields (``fingerprints`` by article id, computed here when
        not given). Raises StoreUnavailable when the batch should be retried whole."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResults: ...

    @abstractmethod
    def get(self, article_id: str) -> dict | None: ...

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def has_ids(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` are in the store."""

    def close(self) -> None:  # noqa: B027 - optional for stores that hold nothing open
        pass

    @contextmanager
    def one_commit(self) -> Iterator[None]:
        """Writes and relabels inside are committed together at the end, where the store can (the embedded store:
        one commit, so one new segment, per batch); elsewhere each is its own request."""
        yield

    # -- stories: the store is the window (services/indexer/placement.py) -----------------------------------------
    def story_candidates(self, fingerprints: list[Fingerprint], window_days: int, limit: int = CANDIDATE_LIMIT,
                         undated_limit: int = UNDATED_LIMIT) -> list[list[Candidate]]:
        """For each fingerprint, stored articles that share one of its keys: those published within ``window_days``
        of it, newest first, at most ``limit`` (none when it has no date); then, at most ``undated_limit``, those no
        date bounds the comparison with (undated ones; for an undated fingerprint, any), the ones sharing the most
        keys first (among equals, any)."""
        raise NotImplementedError

    def story_members(self, story_ids: list[str]) -> list[tuple[str, str, str | None]]:
        """(article id, story id, duplicate_of) of every stored article of these stories."""
        raise NotImplementedError

    def relabel(self, labels: Mapping[str, tuple[str, str | None]]) -> int:
        """Set (story_id, duplicate_of) on stored articles; returns how many were found and changed."""
        raise NotImplementedError

    # -- ties ------------------------------------------------------------------------------------------------------
    def pair_articles(self, korean_party: str, partner: str) -> list[TaggedArticle]:
        """The current articles naming this (Korean government, partner) relation (``relation_pair``). Their bodies
        may be left out (empty): ties do not read them."""
        raise NotImplementedError

    def all_articles(self) -> Iterator[TaggedArticle]:
        """Every stored article, bodies possibly left out: what the register is rebuilt from."""
        raise NotImplementedError

    def write_ties(self, ties: list[Tie], delete: Iterable[str] = ()) -> None:
        """Upsert ties by id and delete the ties ``delete`` names (none of their articles name them any more)."""
        raise NotImplementedError

    def read_ties(self) -> list[Tie]:
        raise NotImplementedError

    def ties_citing(self, article_ids: Iterable[str]) -> set[str]:
        """Ids of the stored ties whose evidence names one of these articles."""
        raise NotImplementedError

    def get_ties(self, tie_ids: Iterable[str]) -> dict[str, Tie]:
        """The stored ties among these ids, by id."""
        wanted = set(tie_ids)
        return {t.id: t for t in self.read_ties() if t.id in wanted}

    def ties_pending(self) -> set[str]:
        """Ties whose articles a batch changed before the indexer could update them (it stopped in between): the
        next batch folds them again from their articles. Only a store with one writer keeps them."""
        return set()

    def mark_ties_pending(self, tie_ids: Iterable[str]) -> None:  # noqa: B027 - kept only by one-writer stores
        """Record ``ties_pending`` durably (none: clear it); the batch's commit must not land before it."""

    def replace_ties(self, ties: list[Tie]) -> int:
        """The whole register replaced by ``ties`` (``citydesk ties rebuild``); returns how many were deleted."""
        stale = {t.id for t in self.read_ties()} - {t.id for t in ties}
        self.write_ties(ties, delete=sorted(stale))
        return len(stale)


def stored_story_id(article: TaggedArticle) -> str:
    """The story an article is stored under: its own (``s-<id>``) until placement puts it in another."""
    return article.story_id or f"s-{article.id}"


def story_fields(article: TaggedArticle, fingerprints: Mapping[str, Fingerprint] | None) -> dict[str, Any]:
    """The index-only story fields of an article: its fingerprint's keys and its MinHash signature (base64)."""
    from services.stories.core import fingerprint

    fp = (fingerprints or {}).get(article.id) or fingerprint(article)
    return {"story_keys": list(fp.keys), "story_signature": fp.encoded_signature()}


def candidate_from_source(source: Mapping[str, Any], signature: str) -> Candidate:
    """A placed article as a story candidate, from its stored document. The entity sets are built as
    ``services.stories.core.entity_sets`` builds them from the article (a test holds the two equal)."""
    from services.stories.core import Candidate, decode_signature

    published = source.get("published_at")
    pairs = frozenset(f"{r['korean_party']}→{r['partner']}" for r in source.get("relations") or [])
    named = frozenset([f"person:{p['name']}" for p in source.get("people") or []]
                      + [f"event:{e['name']}" for e in source.get("events") or []])
    return Candidate(article_id=source["id"],
                     published=datetime.fromisoformat(published) if isinstance(published, str) else published,
                     signature=decode_signature(signature), pairs=pairs, named=named,
                     story_id=source.get("story_id") or f"s-{source['id']}", duplicate_of=source.get("duplicate_of"))


def tie_index_fields(tie: Tie) -> dict[str, list[str]]:
    """Flat keyword fields of a tie, for filters and tables that cannot read its nested parts."""
    return {"article_ids": sorted({e.article_id for e in tie.evidence}),
            "kind_names": [k.kind for k in tie.kinds],
            "sector_codes": list(tie.sectors)}


def index_fields(article: TaggedArticle) -> dict[str, list[str]]:
    """The keyword fields every store indexes for filters and facets, computed in one place."""
    return {
        "sector": [s.code for s in article.sectors],
        "place": [p.name for p in article.places],
        "country": sorted({p.country for p in article.places if p.country != "KR"}),
        "person": [p.name for p in article.people],
        "relation_kind": sorted({k for r in article.relations for k in r.kinds}),
        "partner": sorted({r.partner for r in article.relations}),
        "korean_party": sorted({r.korean_party for r in article.relations}
                               or {p.name for p in article.places if p.kind == "korean_local_gov"}),
        "outlet": [article.outlet] if article.outlet else [],
        # "대구광역시 → 청두시": one value per pair, for tables that cannot read nested relations (Kibana)
        "relation_pair": sorted({f"{r.korean_party} → {r.partner}" for r in article.relations}),
    }

