"""Helpers shared by the desk's tests: the project's own articles cleaned and tagged in-process, a store of them,
the desk's settings for a temporary data directory."""

from __future__ import annotations

from pathlib import Path

from schemas import RawArticle, TaggedArticle
from tests.conftest import EXAMPLES, SEEDS

SOURCES = (EXAMPLES, SEEDS)


def raw_articles() -> list[RawArticle]:
    """The examples and the shared seeds as the feeder would send them (ids from their text)."""
    from services.feed import read_articles

    paths = [str(d) for d in SOURCES if d.is_dir()]
    return [a for a in read_articles(paths) if isinstance(a, RawArticle)]


def tagged(raws: list[RawArticle]) -> list[TaggedArticle]:
    from services.cleaner import CleaningError, clean
    from services.tagger import tag

    out = []
    for raw in raws:
        try:
            out.append(tag(clean(raw)))
        except CleaningError:
            continue
    return out


def write_store(directory: Path, articles: list[TaggedArticle]) -> None:
    from services.indexer.embedded import EmbeddedStore

    store = EmbeddedStore(directory, writer=True)
    store.write(articles)
    store.close()


def with_relation(articles: list[TaggedArticle]) -> TaggedArticle:
    """An article whose first relation has evidence and whose partner the body names: the one the article
    tests open."""
    for a in articles:
        for r in a.relations:
            if r.evidence and any(p.name == r.partner and any(m in a.body for m in p.mentions) for p in a.places):
                return a
    raise AssertionError("no example article has a relation with evidence and its partner in the body")
