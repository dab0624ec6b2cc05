"""Stories, as pure functions: an article's fingerprint, and which story (and which earlier copy) it belongs to.

Two levels, both recorded on each article:
- `duplicate_of`: near-identical text (a portal copy, a wire reprint), pointing to the earliest copy;
- `story_id`: the same event, reworded or not.

Signals:
1. text: the Jaccard similarity of normalised character shingles (Korean word splits are unreliable, so
   characters, with spaces and punctuation removed), estimated with MinHash (datasketch);
2. entities: the same Korean party and partner, and a shared person or event;
3. time: published within `window_days` of each other.

The caller finds candidates by `Fingerprint.keys` (MinHash LSH band keys and entity keys) within the time
window, from wherever the window lives (the search store), and applies `decide`. No state here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
from datasketch import MinHash

from schemas import TaggedArticle

PARAMS_FILE = Path(__file__).with_name("params.json")
_NOT_TEXT = re.compile(r"[^0-9A-Za-z가-힣]+")


@dataclass(frozen=True)
class StoryParams:
    shingle_size: int
    num_perm: int
    lsh_bands: int
    duplicate_jaccard: float
    story_jaccard: float
    entity_story_jaccard: float
    window_days: int


@cache
def load_params(path: Path = PARAMS_FILE) -> StoryParams:
    data = json.loads(path.read_text(encoding="utf-8"))
    return StoryParams(**{k: v for k, v in data.items() if not k.startswith("_")})


@dataclass(frozen=True)
class Fingerprint:
    article_id: str
    published: datetime | None
    signature: np.ndarray  # MinHash values (uint64)
    keys: tuple[str, ...]  # LSH band keys and entity keys: what candidates are looked up by
    pairs: frozenset[str]  # "대구광역시→청두시"
    named: frozenset[str]  # people and events

    def encoded_signature(self) -> str:
        return base64.b64encode(self.signature.astype("<u8").tobytes()).decode("ascii")


@dataclass(frozen=True)
class Candidate:
    """An article already placed, as the store gives it back."""

    article_id: str
    published: datetime | None
    signature: np.ndarray
    pairs: frozenset[str]
    named: frozenset[str]
    story_id: str
    duplicate_of: str | None = None


@dataclass
class Decision:
    story_id: str
    duplicate_of: str | None
    # Articles already stored whose story or copy pointer changes: two stories found to be one, or a copy
    # that turns out to be older than the one the others point to.
    relabel: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def decode_signature(value: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(value), dtype="<u8").astype(np.uint64)


def normalised_text(article: TaggedArticle) -> str:
    return _NOT_TEXT.sub("", f"{article.title}{article.body}").lower()


def shingles(text: str, size: int) -> set[bytes]:
    if len(text) <= size:
        return {text.encode("utf-8")} if text else set()
    return {text[i:i + size].encode("utf-8") for i in range(len(text) - size + 1)}


def entity_sets(article: TaggedArticle) -> tuple[frozenset[str], frozenset[str]]:
    pairs = frozenset(f"{r.korean_party}→{r.partner}" for r in article.relations)
    named = frozenset([f"person:{p.name}" for p in article.people] + [f"event:{e.name}" for e in article.events])
    return pairs, named


@cache
def _minhash_setup(num_perm: int) -> dict:
    """MinHash's permutations for seed 1 and its scheme, drawn once per process (datasketch would draw them for
    every article): the same signatures, a fraction of the time."""
    first = MinHash(num_perm=num_perm, seed=1)
    return {"permutations": first.permutations, "scheme": first.scheme}


def _sha1_32(values: set[bytes]) -> list[int]:
    """datasketch's default hash (sha1_hash32: the first four bytes of SHA-1, little-endian), for all shingles at
    once; MinHash then takes them as they are (``_hashed``). The signature is the one datasketch gives (a test holds
    them equal), in four fifths of the time."""
    sha1 = hashlib.sha1
    return np.frombuffer(b"".join([sha1(v).digest()[:4] for v in values]), dtype="<u4").tolist()


def _hashed(value: int) -> int:
    return value


def fingerprint(article: TaggedArticle, params: StoryParams | None = None) -> Fingerprint:
    params = params or load_params()
    minhash = MinHash(num_perm=params.num_perm, seed=1, hashfunc=_hashed, **_minhash_setup(params.num_perm))
    minhash.update_batch(_sha1_32(shingles(normalised_text(article), params.shingle_size)))
    signature = minhash.hashvalues.astype(np.uint64)
    step = params.num_perm // params.lsh_bands * 8  # bytes of one band's rows (uint64)
    raw = signature.tobytes()
    bands = [f"b{i}:{hashlib.blake2b(raw[i * step:(i + 1) * step], digest_size=8).hexdigest()}"
             for i in range(params.lsh_bands)]
    pairs, named = entity_sets(article)
    return Fingerprint(article_id=article.id, published=article.published_at, signature=signature,
                       keys=tuple(bands + [f"pair:{p}" for p in sorted(pairs)] + sorted(named)), pairs=pairs,
                       named=named)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def _within(a: datetime | None, b: datetime | None, days: int) -> bool:
    # An article without a date can only be placed by its text and entities.
    return a is None or b is None or abs(a - b) <= timedelta(days=days)


def _order(published: datetime | None, article_id: str) -> tuple[float, str]:
    return (published.timestamp() if published else float("inf"), article_id)


def decide(fp: Fingerprint, candidates: list[Candidate], params: StoryParams | None = None) -> Decision:
    """The story (and earlier copy) of the article `fp`, given the articles already placed near it."""
    params = params or load_params()
    near = [c for c in candidates if c.article_id != fp.article_id
            and _within(fp.published, c.published, params.window_days)]
    scored = [(jaccard(fp.signature, c.signature), c) for c in near]
    copies = [c for j, c in scored if j >= params.duplicate_jaccard]
    def same_event(j: float, c: Candidate) -> bool:
        if j >= params.story_jaccard:
            return True
        if not fp.pairs & c.pairs:
            return False
        shared_named = bool(fp.named & c.named)
        if fp.published and c.published:
            return shared_named or j >= params.entity_story_jaccard
        # Without both dates the same city pair and people meet every year: some shared text is needed too.
        return shared_named and j >= params.entity_story_jaccard

    same_story = [c for j, c in scored if same_event(j, c)]
    if not same_story:
        return Decision(story_id=f"s-{fp.article_id}", duplicate_of=None)
    # Two stories this article joins are one: the oldest story id wins, the others are relabelled.
    story_id = min({c.story_id for c in same_story})
    decision = Decision(story_id=story_id, duplicate_of=None)
    for c in candidates:
        if c.story_id != story_id and c.story_id in {s.story_id for s in same_story}:
            decision.relabel[c.article_id] = (story_id, c.duplicate_of)
    if copies:
        # The earliest copy is the one the others point to, even when it arrives last.
        group = {c.duplicate_of or c.article_id for c in copies}
        members = [c for c in candidates if c.article_id in group or c.duplicate_of in group]
        earliest = min([(fp.published, fp.article_id), *((c.published, c.article_id) for c in members)],
                       key=lambda x: _order(*x))[1]
        decision.duplicate_of = None if earliest == fp.article_id else earliest
        for c in members:
            pointer = None if c.article_id == earliest else earliest
            if pointer != c.duplicate_of or c.story_id != story_id:
                decision.relabel[c.article_id] = (story_id, pointer)
    return decision
