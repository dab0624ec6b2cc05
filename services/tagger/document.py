"""One analysed article that every tagger component reads and annotates, and the resources they share.

The shape follows spaCy's pipeline: `analyse()` builds the `Document` once per article (Kiwi tokens,
sentences, offsets over "title\\nbody"); each component in `core.COMPONENTS` takes the document and the
`Resources` it needs as arguments, reads what earlier components wrote and adds its own annotations.
A test can hand a component a small gazetteer or its own rules instead of the packaged ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from schemas import CleanArticle, Named, Person, Place, Relation, Sector
from services.analysis import Token

if TYPE_CHECKING:
    from services.tagger.gazetteer import Gazetteer, Mention
    from services.tagger.rules import Rules
    from services.tagger.sectors import Taxonomy


@dataclass(frozen=True)
class Resources:
    """What the components need, handed in rather than fetched from module globals."""

    kiwi: Any  # kiwipiepy.Kiwi (no type stubs)
    gazetteer: Gazetteer
    rules: Rules
    taxonomy: Taxonomy
    # One word's best analysis, by word: names and titles recur across a stream's articles (the same mayors).
    _words: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def tokenize(self, text: str) -> list[Token]:
        return [Token(t.form, t.tag, t.start, t.start + t.len) for t in self.kiwi.tokenize(text)]

    def analyze_word(self, word: str) -> tuple[list[Any], float]:
        """Kiwi's best reading of one word: its tokens and score."""
        found = self._words.get(word)
        if found is None:
            if len(self._words) >= _WORD_CACHE_SIZE:
                self._words.clear()
            found = self._words[word] = tuple(self.kiwi.analyze(word, top_n=1)[0][:2])
        return found  # type: ignore[no-any-return]


_WORD_CACHE_SIZE = 50_000


@cache
def default_resources() -> Resources:
    """The packaged model, gazetteer, rules and taxonomy, loaded once per process."""
    from services.analysis import kiwi
    from services.tagger.gazetteer import gazetteer
    from services.tagger.rules import load_rules
    from services.tagger.sectors import taxonomy

    return Resources(kiwi=kiwi(), gazetteer=gazetteer(), rules=load_rules(), taxonomy=taxonomy())


_SENTENCE_END = re.compile(r"(?<=[다요])\.(?=[\s\"”’']|$)|(?<=[.!?])\s+(?=[가-힣A-Z\[‘“\"'])|\n+")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > pos and text[pos:m.start()].strip():
            out.append(Sentence(pos, m.start(), text[pos:m.start()]))
        pos = m.end()
    if text[pos:].strip():
        out.append(Sentence(pos, len(text), text[pos:]))
    return out


@dataclass
class Document:
    """The article's text ("title\\nbody") with its analysis, and what the components have found so far."""

    article: CleanArticle
    text: str
    title_end: int
    tokens: list[Token]
    sentences: list[Sentence]
    published_year: int | None
    # Written by the components, in pipeline order.
    people: list[Person] = field(default_factory=list)
    name_spans: list[tuple[int, int]] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    organizations: list[Named] = field(default_factory=list)
    events: list[Named] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    is_exchange: bool = False

    def sentence_at(self, pos: int) -> Sentence | None:
        return next((s for s in self.sentences if s.start <= pos < s.end), None)


def analyse(article: CleanArticle, res: Resources) -> Document:
    text = f"{article.title}\n{article.body}"
    return Document(article=article, text=text, title_end=len(article.title), tokens=res.tokenize(text),
                    sentences=split_sentences(text),
                    published_year=article.published_at.year if article.published_at else None)
