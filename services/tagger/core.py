"""The tagger's pure core: a clean article → places, people, organizations, events, relations, sectors.

No Kafka here. `tag()` analyses the article once into a `Document` (Kiwi tokens, sentences) and runs the
components below over it in this order; each reads what the ones before it wrote:

1. people        names with roles, and their spans (a name is never a place)
2. mentions      gazetteer names in the text, outside those spans
3. relations     Korean government × foreign partner, kinds and `since`, from cue words per sentence
4. places        the mentions worth keeping, with coordinates
5. named         organizations and events
6. sectors       the fixed taxonomy's scores
7. exchange      whether the article reports an exchange

The morphemes computed in the analysis are passed on as search terms, so nothing analyses the text twice.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas import CleanArticle, SearchTerms, TaggedArticle
from services.analysis import terms_from_tokens
from services.tagger import named, people, places, relations
from services.tagger.document import Document, Resources, analyse, default_resources
from services.tagger.sectors import score_sectors


def score_sector_evidence(doc: Document, res: Resources) -> None:
    doc.sectors = score_sectors(doc.article.title, doc.article.body, res.taxonomy)


def decide_exchange(doc: Document, res: Resources) -> None:
    """An exchange: a relation; or, where the partner is a place the gazetteer lacks, one sentence naming a Korean
    government, a foreign place or country and a tie, agreement or visit cue. A domestic tie, or a country named
    apart from it (a festival's theme, an export market, 중국 관광객), is not."""
    def in_one_sentence(start: int, end: int) -> bool:
        here = [m for m in doc.mentions if start <= m.start < end]
        cues = [m for m in res.rules.cue_pattern.finditer(doc.text, start, end)
                if res.rules.cue_kind[m.group(0)] != "event"]
        return (bool(cues) and any(m.entry.kind == "korean_local_gov" for m in here)
                and any(m.entry.kind != "korean_local_gov" for m in here))

    doc.is_exchange = bool(doc.relations) or any(in_one_sentence(s.start, s.end) for s in doc.sentences)


Component = Callable[[Document, Resources], None]
COMPONENTS: tuple[Component, ...] = (
    people.annotate,
    places.find_mentions,
    relations.annotate,
    places.keep_places,
    named.annotate,
    score_sector_evidence,
    decide_exchange,
)


def tag(article: CleanArticle, resources: Resources | None = None) -> TaggedArticle:
    res = resources or default_resources()
    doc = analyse(article, res)
    for component in COMPONENTS:
        component(doc, res)
    title_tokens = [t for t in doc.tokens if t.end <= doc.title_end]
    body_tokens = [t for t in doc.tokens if t.start > doc.title_end]
    return TaggedArticle(
        **article.model_dump(),
        places=doc.places,
        people=doc.people,
        organizations=doc.organizations,
        events=doc.events,
        relations=doc.relations,
        sectors=doc.sectors,
        is_exchange=doc.is_exchange,
        terms=SearchTerms(title=terms_from_tokens(title_tokens), body=terms_from_tokens(body_tokens)),
    )
