"""Where placed articles are looked up: the protocol a story window offers, and the in-memory window.

The stream keeps its window in the search store (every indexer sees the same window, it survives restarts
and the store already evicts nothing it should not: candidates are looked up within `window_days` of the
article's date). `MemoryWindow` is the same thing in one process, for evaluation and for the articles of one
batch, which must see each other before the store has them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Protocol

from services.stories.core import Candidate, Decision, Fingerprint, StoryParams, decide, load_params


class StoryWindow(Protocol):
    def candidates(self, fp: Fingerprint, days: int) -> list[Candidate]: ...

    def apply(self, article_id: str, story_id: str, duplicate_of: str | None) -> None: ...


class MemoryWindow:
    """Placed articles by key, evicted once older than the window behind the newest date seen."""

    def __init__(self, params: StoryParams | None = None) -> None:
        self.params = params or load_params()
        self.by_key: dict[str, set[str]] = defaultdict(set)
        self.placed: dict[str, tuple[Fingerprint, Candidate]] = {}
        self.newest: datetime | None = None

    def candidates(self, fp: Fingerprint, days: int) -> list[Candidate]:
        ids = set().union(*(self.by_key.get(k, set()) for k in fp.keys)) if fp.keys else set()
        return [self.placed[i][1] for i in sorted(ids) if i in self.placed]

    def add(self, fp: Fingerprint, decision: Decision) -> None:
        self.remove(fp.article_id)
        self.placed[fp.article_id] = (fp, Candidate(fp.article_id, fp.published, fp.signature, fp.pairs, fp.named,
                                                    decision.story_id, decision.duplicate_of))
        for k in fp.keys:
            self.by_key[k].add(fp.article_id)
        if fp.published and (self.newest is None or fp.published > self.newest):
            self.newest = fp.published
            self._evict()

    def apply(self, article_id: str, story_id: str, duplicate_of: str | None) -> None:
        if article_id in self.placed:
            fp, c = self.placed[article_id]
            self.placed[article_id] = (fp, Candidate(c.article_id, c.published, c.signature, c.pairs, c.named,
                                                     story_id, duplicate_of))

    def remove(self, article_id: str) -> None:
        old = self.placed.pop(article_id, None)
        if old:
            for k in old[0].keys:
                ids = self.by_key.get(k)
                if ids is not None:
                    ids.discard(article_id)
                    if not ids:
                        del self.by_key[k]  # a key no placed article has any more: memory stays flat

    def _evict(self) -> None:
        assert self.newest is not None
        horizon = self.newest - timedelta(days=2 * self.params.window_days)
        for article_id in [i for i, (fp, _) in self.placed.items() if fp.published and fp.published < horizon]:
            self.remove(article_id)

    def __len__(self) -> int:
        return len(self.placed)


def place(fp: Fingerprint, window: StoryWindow, params: StoryParams | None = None) -> Decision:
    """Decide the article's story from the window's candidates and apply every relabelling to the window."""
    params = params or load_params()
    decision = decide(fp, window.candidates(fp, params.window_days), params)
    for article_id, (story_id, duplicate_of) in decision.relabel.items():
        window.apply(article_id, story_id, duplicate_of)
    return decision
