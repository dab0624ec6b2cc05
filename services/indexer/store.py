"""The search store interface, shared by the embedded store and Elasticsearch.

Shaped after Quix Streams' sinks: one ``write(batch)`` that is idempotent (upsert by article id), called
before the worker acknowledges the batch, so offsets are committed only after the store has the articles.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field

from schemas import TaggedArticle

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
    exchange_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 10
    facet_size: int = 10

    def keyword_filters(self) -> dict[str, list[str]]:
        """Index field → accepted values (any of them), for every store alike."""
        filters = {"sector": self.sector, "place": self.place, "country": [c.upper() for c in self.country],
                   "person": self.person, "relation_kind": self.relation, "partner": self.partner,
                   "korean_party": self.korean_party}
        return {name: values for name, values in filters.items() if values}


class Hit(BaseModel):
    id: str
    score: float
    title: str
    published_at: datetime | None = None
    outlet: str | None = None
    url: str | None = None


class SearchResults(BaseModel):
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = Field(default_factory=dict)


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


class StoreUnavailable(RuntimeError):
    """The store cannot take writes now (down, overloaded): retry the same batch later."""


class StoreMisconfigured(RuntimeError):
    """The store refuses us as configured (credentials, privileges): retrying cannot help; the worker exits with a
    message that says what to fix."""


class ArticleStore(ABC):
    @abstractmethod
    def write(self, batch: list[TaggedArticle]) -> WriteResult:
        """Upsert every article by id. Raises StoreUnavailable when the batch should be retried whole."""

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

