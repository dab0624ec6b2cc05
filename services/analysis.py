"""Korean morphological analysis (Kiwi), shared by the tagger and by search.

The tagger analyses each article once and passes the resulting search terms on in the tagged message;
the embedded store indexes those terms and analyses queries with the same function, so a word finds
its inflected forms (협력을, 협력하기로 → 협력) and compounds match as phrases (상생협력 → 상생 협력).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

# Morpheme tags kept as search terms: nouns, roots, verb/adjective stems, foreign words, numbers, Hanja.
_TERM_TAGS = ("NNG", "NNP", "NR", "XR", "VV", "VA", "SL", "SN", "SH", "W_HASHTAG")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Token:
    form: str
    tag: str
    start: int
    end: int


@cache
def kiwi():  # type: ignore[no-untyped-def]
    """One analyser per process: loading the model takes about a second and ~500 MB."""
    from kiwipiepy import Kiwi

    with _lock:
        return Kiwi()


def tokenize(text: str) -> list[Token]:
    return [Token(t.form, t.tag, t.start, t.start + t.len) for t in kiwi().tokenize(text)]


def terms_from_tokens(tokens: list[Token]) -> list[str]:
    out = []
    for t in tokens:
        tag = t.tag.split("-")[0]  # VV-R / VV-I: regular and irregular stems
        if tag in _TERM_TAGS:
            out.append(t.form.lower())
    return out


def search_terms(text: str) -> list[str]:
    return terms_from_tokens(tokenize(text))
