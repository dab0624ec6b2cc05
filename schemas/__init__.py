"""citydesk's shared contract: message models, topic names and article ids."""

from schemas import topics
from schemas.ids import article_id, normalize_url
from schemas.models import (
    MODELS,
    RELATION_KINDS,
    SCHEMA_VERSION,
    CleanArticle,
    DeadLetter,
    Evidence,
    GeoPoint,
    Named,
    Person,
    Place,
    RawArticle,
    RegisterEntry,
    Relation,
    SearchTerms,
    Sector,
    TaggedArticle,
    Tie,
    TieEvidence,
    TieKind,
    TiePerson,
)

__all__ = [
    "MODELS", "RELATION_KINDS", "SCHEMA_VERSION", "CleanArticle", "DeadLetter", "Evidence", "GeoPoint", "Named",
    "Person", "Place", "RawArticle", "RegisterEntry", "Relation", "SearchTerms", "Sector", "TaggedArticle",
    "Tie", "TieEvidence", "TieKind", "TiePerson",
    "article_id", "normalize_url", "topics",
]
