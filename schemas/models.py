"""The pydantic models every service shares: the only contract between them.

Field names of CleanArticle and TaggedArticle are read by other tools (Kibana, analysts' scripts):
keep them stable. Every message carries ``schema_version``; a reader refuses versions it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas.ids import article_id

SCHEMA_VERSION = 1

ContentType = Literal["text/plain", "text/html"]
PlaceKind = Literal["korean_local_gov", "foreign_city", "foreign_region", "country"]
RelationKind = Literal["sister_city", "friendship_city", "agreement", "visit", "event"]
RELATION_KINDS: tuple[RelationKind, ...] = ("sister_city", "friendship_city", "agreement", "visit", "event")


def _known_version(v: int) -> int:
    if v != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema_version {v}: this build reads version {SCHEMA_VERSION}; "
                         "upgrade the consumer or re-produce the message with the current schema")
    return v


SchemaVersion = Annotated[int, AfterValidator(_known_version)]


class Message(BaseModel):
    # Unknown fields are ignored so that a newer producer's additions do not break older readers.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)
    schema_version: SchemaVersion = SCHEMA_VERSION


class RawArticle(Message):
    """A scraped page as it arrives on articles.raw."""

    id: str | None = Field(default=None, description="Producer's id; derived from url or body when absent")
    url: str | None = None
    outlet: str | None = Field(default=None, description="Outlet hint from the scraper, if it knows")
    fetched_at: datetime | None = None
    content_type: ContentType = "text/plain"
    body: str = Field(description="Page text or HTML, as scraped")

    @model_validator(mode="after")
    def _identify(self) -> RawArticle:
        if not self.body.strip():
            raise ValueError("empty body: there is no article to clean")
        self.id = article_id(self.id, self.url, self.body)
        return self


class CleanArticle(Message):
    id: str
    url: str | None = None
    title: str
    subtitle: str | None = None
    body: str = Field(description="Article paragraphs joined by a blank line")
    published_at: datetime | None = Field(default=None, description="ISO 8601 with offset; +09:00 if none")
    updated_at: datetime | None = None
    outlet: str | None = None
    reporter: str | None = None
    reporter_email: str | None = None
    fetched_at: datetime | None = None
    version: int | None = Field(default=None, description="When this version of the article was fed (ms since the "
                                "epoch; the feed's citydesk-version header, else the raw message's timestamp): "
                                "stores keep the highest, so an older replay never overwrites a newer article")


class GeoPoint(BaseModel):
    lat: float
    lon: float


class Place(BaseModel):
    name: str = Field(description="Canonical Korean name")
    name_en: str | None = None
    kind: PlaceKind
    country: str = Field(description="ISO 3166-1 alpha-2")
    location: GeoPoint | None = None
    mentions: list[str] = Field(default_factory=list, description="Surface forms seen in the text")


class Person(BaseModel):
    name: str
    role: str | None = None
    affiliation: str | None = None


class Named(BaseModel):
    name: str


class Evidence(BaseModel):
    """The sentence that supports one kind of a relation (or its founding year), where it stands in the article."""

    kind: RelationKind | Literal["since"]
    sentence: str
    field: Literal["title", "body"] = "body"
    start: int = Field(description="Character offset of the sentence in the clean title or body")
    end: int


class Relation(BaseModel):
    korean_party: str
    partner: str
    partner_country: str
    kinds: list[RelationKind]
    since: int | None = Field(default=None, description="Year the tie was founded, when the text gives it")
    evidence: list[Evidence] = Field(default_factory=list,
                                     description="For each kind (and since), the first sentence that supports it")


class Sector(BaseModel):
    code: str
    score: float
    evidence: list[str] = Field(default_factory=list)


class SearchTerms(BaseModel):
    """Morphemes from the tagger's analysis, passed on so the indexer need not analyse the text again."""

    title: list[str] = Field(default_factory=list)
    body: list[str] = Field(default_factory=list)


class TaggedArticle(CleanArticle):
    places: list[Place] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    organizations: list[Named] = Field(default_factory=list)
    events: list[Named] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    sectors: list[Sector] = Field(default_factory=list)
    is_exchange: bool = False
    terms: SearchTerms = Field(default_factory=SearchTerms)
    story_id: str | None = Field(default=None, description="The event this article reports, shared by every "
                                 "outlet's article on it; set where stories are placed (the indexer)")
    duplicate_of: str | None = Field(default=None, description="The earliest near-identical copy of this article "
                                     "(a portal copy, a wire reprint), when it is one")


TieStatus = Literal["registered_active", "registered_dormant", "news_only", "registered_no_news"]


class TieKind(BaseModel):
    kind: RelationKind
    first: datetime | None = Field(default=None, description="Date of the first article that shows this kind")
    last: datetime | None = None
    stories: int = Field(0, description="Stories (events) that show it; copies and reprints count once")


class TiePerson(BaseModel):
    name: str
    role: str | None = None
    side: Literal["korean", "partner", "unknown"] = "unknown"


class TieEvidence(BaseModel):
    """One article's whole contribution to a tie: a tie is the fold of its evidence, so the indexer updates a tie
    from the articles of a batch alone, without reading the tie's other articles again."""

    article_id: str
    published_at: datetime | None = None
    outlet: str | None = None
    story_id: str | None = None
    kinds: list[RelationKind] = Field(default_factory=list)
    since: int | None = None
    sentences: list[Evidence] = Field(default_factory=list)
    partner_country: str | None = None
    sectors: list[str] = Field(default_factory=list)
    people: list[TiePerson] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    korean_location: GeoPoint | None = None
    partner_location: GeoPoint | None = None
    whole: bool = Field(False, description="False in ties stored before evidence held the whole contribution: "
                                           "such a tie is folded again from its articles")


class RegisterEntry(BaseModel):
    """One row of an office's official register of ties, resolved through the gazetteer."""

    korean_party: str
    partner: str
    country: str
    kind: RelationKind
    year: int | None = None


class Tie(BaseModel):
    """The standing relationship of one Korean government and one foreign partner: a fold over the current
    contributions of its articles, and the office's register row when there is one."""

    id: str = Field(description="korean_party|partner")
    korean_party: str
    partner: str
    partner_country: str
    korean_location: GeoPoint | None = None
    partner_location: GeoPoint | None = None
    kinds: list[TieKind] = Field(default_factory=list)
    since: int | None = None
    since_source: Literal["stated", "first_evidence", "register"] | None = None
    sectors: dict[str, int] = Field(default_factory=dict, description="sector code → stories that show it")
    people: list[TiePerson] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    articles: int = 0
    stories: int = 0
    outlets: list[str] = Field(default_factory=list)
    first_activity: datetime | None = None
    last_activity: datetime | None = None
    evidence: list[TieEvidence] = Field(default_factory=list)
    registered: RegisterEntry | None = None
    status: TieStatus = "news_only"


class DeadLetter(Message):
    """A message a stage could not process, with the reason and the original payload."""

    id: str = Field(description="Stable id: the same failing message always gets the same dead-letter id")
    stage: str
    error_type: str
    error: str
    article_id: str | None = None
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    payload: str = Field(description="The original message (or its first part, see payload_truncated)")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    payload_bytes: int = Field(0, description="Size of the original message")
    payload_sha256: str = Field("", description="Hash of the whole original message")
    payload_truncated: bool = Field(False, description="Only the first part is kept: the message was too large "
                                    "to be sent whole; it cannot be replayed from the letter")
    headers: dict[str, str] = Field(default_factory=dict)
    first_seen: datetime
    last_seen: datetime
    attempts: int = 1


MODELS: dict[str, type[BaseModel]] = {
    "RawArticle": RawArticle,
    "CleanArticle": CleanArticle,
    "TaggedArticle": TaggedArticle,
    "DeadLetter": DeadLetter,
    "Tie": Tie,
}
