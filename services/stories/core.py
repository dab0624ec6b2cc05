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
# Stored signatures carry the scheme of their shingle hash (see shingle_hashes): "h2:" is the array hash.
SIGNATURE_SCHEME = "h2:"
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
        return SIGNATURE_SCHEME + base64.b64encode(self.signature.astype("<u8").tobytes()).decode("ascii")


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
    """A stored signature. One stored before the shingle hash changed (no scheme prefix) was computed from other hash
    values and cannot be compared: it comes back as zeros, which compare as unrelated text, so such an article joins
    a new one only by the entity rules until it is fed again."""
    if not value.startswith(SIGNATURE_SCHEME):
        return np.zeros(len(base64.b64decode(value)) // 8, dtype=np.uint64)
    return np.frombuffer(base64.b64decode(value[len(SIGNATURE_SCHEME):]), dtype="<u8").astype(np.uint64)


def normalised_text(article: TaggedArticle) -> str:
    return _NOT_TEXT.sub("", f"{article.title}{article.body}").lower()


def shingles(text: str, size: int) -> set[str]:
    """The text's distinct character shingles (what the signature estimates the Jaccard similarity of)."""
    if len(text) <= size:
        return {text} if text else set()
    return {text[i:i + size] for i in range(len(text) - size + 1)}


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, on a whole array (uint64 arithmetic wraps, as the finaliser wants)."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: every character position stays in the product


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """32-bit hashes of the text's distinct shingles, computed for all shingles at once: the characters' code points
    combined position by position (one array operation per character of a shingle, not one hash call per shingle),
    mixed by MurmurHash3's finaliser and cut to the upper 32 bits, the width MinHash's permutations take. Equal
    shingles hash equal, so the distinct hashes stand for the shingle set (a test checks the estimate against the
    exact Jaccard similarity of the sets)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    if len(codes) == 0:
        return codes
    count = max(len(codes) - size + 1, 1)
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(min(size, len(codes))):
        combined = combined * _SHINGLE_MULTIPLIER + codes[offset:offset + count]
    return np.unique(_fmix64(combined) >> np.uint64(32))


def entity_sets(article: TaggedArticle) -> tuple[frozenset[str], frozenset[str]]:
    pairs = frozenset(f"{r.korean_party}→{r.partner}" for r in article.relations)
    named = frozenset([f"person:{p.name}" for p in article.people] + [f"event:{e.name}" for e in article.events])
    return pairs, named


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's MinHash permutations for seed 1 (its default scheme, affine32: h → a·h + b mod 2³²), drawn once
    per process (datasketch draws them for every MinHash)."""
    first = MinHash(num_perm=num_perm, seed=1)
    assert first.scheme == "affine32", f"datasketch's default scheme changed to {first.scheme}: see minhash_signature"
    a, b = first.permutations
    return a.astype(np.uint32).reshape(1, -1), b.astype(np.uint32).reshape(1, -1)


_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def minhash_signature(hashes: np.ndarray, num_perm: int) -> np.ndarray:
    """The MinHash signature of these 32-bit hash values, as datasketch's ``MinHash.update_batch`` computes it in its
    affine32 scheme (MurmurHash3's 32-bit finaliser, then each permutation, then the minimum; a test holds the two
    equal), without its Python loop over the values."""
    if len(hashes) == 0:
        return np.full(num_perm, (1 << 32) - 1, dtype=np.uint64)
    s1, m1, s2, m2, s3 = _FMIX32
    h = hashes.astype(np.uint32).reshape(-1, 1)
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    h = h ^ (h >> s3)
    a, b = _permutations(num_perm)
    return (h * a + b).min(axis=0).astype(np.uint64)


def band_keys(signature: np.ndarray, bands: int) -> list[str]:
    """LSH band keys: each band's rows folded into one 64-bit value and mixed, all bands at once."""
    rows = signature.reshape(bands, -1)
    folded = rows[:, 0].copy()
    for column in range(1, rows.shape[1]):
        folded = folded * _SHINGLE_MULTIPLIER + rows[:, column]
    return [f"b{i}:{value:016x}" for i, value in enumerate(_fmix64(folded).tolist())]


def fingerprint(article: TaggedArticle, params: StoryParams | None = None) -> Fingerprint:
    params = params or load_params()
    signature = minhash_signature(shingle_hashes(normalised_text(article), params.shingle_size), params.num_perm)
    pairs, named = entity_sets(article)
    return Fingerprint(article_id=article.id, published=article.published_at, signature=signature,
                       keys=tuple(band_keys(signature, params.lsh_bands) + [f"pair:{p}" for p in sorted(pairs)]
                                  + sorted(named)),
                       pairs=pairs, named=named)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def _within(a: datetime | None, b: datetime | None, days: int) -> bool:
    # An article without a date can only be placed by its text and entities.
    return a is None or b is None or abs(a - b) <= timedelta(days=days)


def _order(published: datetime | None, article_id: str) -> tuple[float, str]:
    return (published.timestamp() if published else float("inf"), article_id)


def _unseen_original(fp: Fingerprint, members: list[Candidate]) -> str | None:
    """The original of these copies when this article cannot see it (outside its window, or past the store's
    candidate limit) and it is surely the earliest: every copy seen points to it, and it is older than each dated one
    of them (it was the earliest when they were placed), at least one of which is no later than this article. Else
    None, and the earliest seen is the original, as when an older copy arrives late."""
    originals = {c.duplicate_of for c in members}
    dated = [c.published for c in members if c.published]
    if len(originals) != 1 or None in originals or not dated:
        return None
    if fp.published is not None and fp.published < min(dated):
        return None
    return originals.pop()


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
        earliest = _unseen_original(fp, members) or min(
            [(fp.published, fp.article_id), *((c.published, c.article_id) for c in members)],
            key=lambda x: _order(*x))[1]
        decision.duplicate_of = None if earliest == fp.article_id else earliest
        for c in members:
            pointer = None if c.article_id == earliest else earliest
            if pointer != c.duplicate_of or c.story_id != story_id:
                decision.relabel[c.article_id] = (story_id, pointer)
    return decision
