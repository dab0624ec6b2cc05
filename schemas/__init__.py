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
    Relation,
    SearchTerms,
    Sector,
    TaggedArticle,
)

__all__ = [
    "MODELS", "RELATION_KINDS", "SCHEMA_VERSION", "CleanArticle", "DeadLetter", "Evidence", "GeoPoint", "Named",
    "Person", "Place", "RawArticle", "Relation", "SearchTerms", "Sector", "TaggedArticle",
    "article_id", "normalize_url", "topics",
]
