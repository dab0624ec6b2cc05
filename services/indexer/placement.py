"""Stories and ties in the stream, at the indexer: the search store is the stories' window and the ties' home.

``index_batch(store, batch)`` is what the indexer does with a batch instead of a bare ``store.write``:

1. each article, in batch order: its fingerprint (services/stories/core.py); candidates from the store by the
   fingerprint's keys (at most CANDIDATE_LIMIT, newest first, within ``window_days`` of its date, and at most
   UNDATED_LIMIT where no date bounds the comparison, the closest first: ArticleStore.story_candidates) and from the
   articles earlier in the same batch (a MemoryWindow: the store does not have them yet); ``decide``; the article
   gets its ``story_id`` and ``duplicate_of``;
2. the batch is written, with its story fields (keys, signature);
3. relabels: every stored article of a story found to be the same as another (all its members, found by
   ``story_id``, not only those that met the new article) and every copy that finds an older original;
4. every tie the batch touched is brought up to date and written, or deleted when no article names it any more: the
   ties its articles name now, the ties the stored register lists them in (an updated article may have left one),
   and the ties of relabelled articles. With one indexer (the embedded store) a tie is updated from the batch alone
   (``services.ties.updated``: each article's contribution replaced, the relabelled articles' stories changed); with
   several (Elasticsearch) two indexers updating one tie at once would each drop the other's articles, so the tie is
   folded again from all its stored articles. A tie is rewritten whole, with every article's evidence, so the one
   indexer's worker folds the ties its batches touch at most every TIES_FOLD_EVERY_S while batches keep coming (less
   often once a fold takes more than TIES_FOLD_SHARE of that: a large register), and what is left once no batch has
   come for TIES_FOLD_QUIET_S (``TiesBacklog``; `citydesk run` waits for that fold).

Why the register and the stories survive crashes and redelivery: every step is recomputed from the store. A batch
redelivered after a crash at any step is placed again against what the store holds (an article's own stored
version is never its candidate), relabels still needed are found again (the stories are still apart in the store),
and the same ties are updated again, including one an updated article left (the stored tie still cites it). A
crash after the relabels landed and before the ties were written is the one case a redelivery cannot see: the
relabels are done. So the touched ties, and those a backlog still holds, are marked pending in the same commit
(``mark_ties_pending``), and the next indexer to start folds pending ties from their articles, at its first batch
or its first idle moment. The
window is the store, so every indexer sees the same one, it survives restarts on either broker, and an indexer holds
one batch in memory whatever the archive's size.

Several indexers at once (Elasticsearch): two copies placed at the same moment by two indexers may not see each
other before either is written. So on such a store each article is placed once more after the write (the second
look): of two concurrent writes, the later look sees the earlier one, and the stories merge there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from schemas import TaggedArticle, Tie
from services.indexer.store import CANDIDATE_LIMIT, ArticleStore, WriteResult, stored_story_id
from services.stories.core import Candidate, Decision, Fingerprint, StoryParams, decide, fingerprint, load_params
from services.stories.window import MemoryWindow
from services.ties import build, fold, story_of, ties_of, updated

log = logging.getLogger("citydesk.indexer")
Labels = tuple[str, str | None]  # (story_id, duplicate_of)


class _BatchWindow(MemoryWindow):
    """The articles earlier in this batch. It never evicts: a batch may span years (a backfill), and its articles
    are held for one batch only."""

    def _evict(self) -> None:
        pass


@dataclass
class _Plan:
    """Labels decided in this batch, and stories merged into others (a story id → the one it joined)."""

    labels: dict[str, Labels] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)
    stored: dict[str, Labels] = field(default_factory=dict)  # labels as the store has them now

    def root(self, story_id: str) -> str:
        while story_id in self.merged:
            story_id = self.merged[story_id]
        return story_id

    def merge(self, a: str, b: str) -> str:
        a, b = self.root(a), self.root(b)
        if a != b:
            keep, gone = min(a, b), max(a, b)  # the rule of `decide`: the smallest story id wins
            self.merged[gone] = keep
        return self.root(a)

    def resolve(self, c: Candidate) -> Candidate:
        story_id, duplicate_of = self.labels.get(c.article_id, (c.story_id, c.duplicate_of))
        story_id = self.root(story_id)
        if (story_id, duplicate_of) == (c.story_id, c.duplicate_of):
            return c
        return replace(c, story_id=story_id, duplicate_of=duplicate_of)

    def final(self, article_id: str) -> Labels:
        story_id, duplicate_of = self.labels[article_id]
        return self.root(story_id), duplicate_of

    def apply(self, decision: Decision, candidates: dict[str, Candidate]) -> None:
        for article_id, (story_id, duplicate_of) in decision.relabel.items():
            before = candidates.get(article_id)
            if before is not None and before.story_id != story_id:
                self.merge(before.story_id, story_id)
            self.labels[article_id] = (story_id, duplicate_of)


def _last_versions(batch: list[TaggedArticle]) -> list[TaggedArticle]:
    """One version per article id, the last one given (the same id twice in a batch: the later one wins)."""
    latest = {a.id: a for a in batch}
    return [a for a in batch if latest[a.id] is a]


def _place(plan: _Plan, fps: list[Fingerprint], stored: list[list[Candidate]], params: StoryParams,
           window: MemoryWindow | None) -> None:
    for fp, from_store in zip(fps, stored, strict=True):
        for c in from_store:
            plan.stored.setdefault(c.article_id, (c.story_id, c.duplicate_of))
        candidates = {c.article_id: plan.resolve(c) for c in from_store}
        if window is not None:
            candidates.update({c.article_id: plan.resolve(c) for c in window.candidates(fp, params.window_days)})
        candidates.pop(fp.article_id, None)  # its own stored version, when this is a re-feed or an update
        decision = decide(fp, list(candidates.values()), params)
        plan.apply(decision, candidates)
        if window is None:
            # The second look: the article is stored already, in a story; the story it joins now absorbs that one.
            own_story, _ = plan.final(fp.article_id)
            joined = decision.story_id in {c.story_id for c in candidates.values()}
            story = plan.merge(own_story, decision.story_id) if joined else own_story
            plan.labels[fp.article_id] = (story, decision.duplicate_of)
            continue
        plan.labels[fp.article_id] = (decision.story_id, decision.duplicate_of)
        window.add(fp, decision)
        for article_id, (story_id, duplicate_of) in decision.relabel.items():
            window.apply(article_id, story_id, duplicate_of)


def place_batch(store: ArticleStore, batch: list[TaggedArticle], params: StoryParams
                ) -> tuple[list[Fingerprint], _Plan, list[TaggedArticle]]:
    """Step 1 alone (what `citydesk bench` times as the stories' cost): fingerprints, candidates, decisions; the
    batch's articles with their labels. Nothing is written."""
    fps = [fingerprint(a, params) for a in batch]
    plan = _Plan()
    _place(plan, fps, store.story_candidates(fps, params.window_days, CANDIDATE_LIMIT), params, _BatchWindow(params))
    labelled = [a.model_copy(update=dict(zip(("story_id", "duplicate_of"), plan.final(a.id), strict=True)))
                for a in batch]
    return fps, plan, labelled


# With one indexer, how long the ties a batch touched may wait to be folded while batches keep coming: a tie is
# rewritten whole (every article's evidence), so folding it once for several batches costs about what one batch did.
# Under a steady stream (the bench's 1,200 copies fed four times) folding every 10 s rather than at every batch cost
# the in-process indexer 1.5-2.4 CPU-s a pass instead of 1.7-3.0.
TIES_FOLD_EVERY_S = 10.0
# A fold's cost grows with its ties (in one process, the backfill's copies: 0.1 s at 5,000, 0.6 s at 25,000, 1.2 s
# at 60,000): while batches keep coming, the next waits until the last one took at most this share of the wall time
# since, so the fold's part stays bounded as the register grows (the ties then lag by twenty times a fold's time:
# about 25 s at 60,000 copies). Folds after a quiet moment are not held back: nothing else waits for the core then.
TIES_FOLD_SHARE = 0.05
# The longest the ties wait while batches keep coming, however long the last fold took: one slow fold (a crash's
# marks folded from all their articles, a stalled disk) must not put the register a quarter of an hour behind.
TIES_FOLD_MAX_S = 60.0
# The worker folds what is left once no batch has come for this long (TiesBacklog.quiet_for, services/workers.py):
# longer than the gaps between a busy tagger's batches (about 0.4 s for its 100), or it would fold after most batches.
TIES_FOLD_QUIET_S = 1.0


@dataclass
class TiesBacklog:
    """The ties batches touched since they were last folded, and what to fold them with: the batches' written
    articles (the last version of each) and the stories of relabelled articles. Its ties are marked pending with
    every batch (a crash before the fold leaves them to be folded from their articles), and ``fold_ties`` folds
    them as one batch's would be (``update_ties``): the articles' contributions replace their earlier ones, then
    the relabels change stories, a relabel older than an article's later version giving way to that version."""

    every_s: float = 0.0  # 0: fold at every batch
    ties: set[str] = field(default_factory=set)
    refold: set[str] = field(default_factory=set)  # left pending by a crash: folded from their articles
    articles: dict[str, TaggedArticle] = field(default_factory=dict)
    relabelled: dict[str, str] = field(default_factory=dict)
    since: float | None = None  # when the oldest batch not folded was added (time.monotonic)
    last: float | None = None  # when the newest was
    fold_s: float = 0.0  # how long the last fold took (kept when a fold finds nothing to do)
    read_pending: bool = False  # the store's marks are read once: after that, they are this backlog's own

    def __bool__(self) -> bool:
        return bool(self.ties or self.refold)

    def add(self, ties: set[str], articles: list[TaggedArticle], relabelled: dict[str, str]) -> None:
        for article in articles:  # one that names no tie may have left one: its stored evidence goes
            self.articles[article.id] = article
            self.relabelled.pop(article.id, None)
        self.relabelled.update(relabelled)
        self.ties |= ties
        if self or self.articles or self.relabelled:
            self._touched()

    def take_marks(self, store: ArticleStore) -> None:
        """The store's pending marks, once (a crash left them): after that, the marks are this backlog's own."""
        if not self.read_pending:
            self.refold |= store.ties_pending()
            self.read_pending = True
            if self.refold:
                self._touched()

    def _touched(self) -> None:
        self.last = time.monotonic()
        self.since = self.since or self.last

    def clear(self) -> None:
        """Folded: nothing waits any more (the marks stay read)."""
        self.ties, self.refold, self.articles, self.relabelled = set(), set(), {}, {}
        self.since = self.last = None

    def due(self) -> bool:
        """Fold now: every_s has passed since the oldest batch waiting, and long enough for the last fold to have
        taken at most TIES_FOLD_SHARE of the time, up to TIES_FOLD_MAX_S (every_s 0: at every batch)."""
        if self.since is None:
            return False
        if not self.every_s:
            return True
        wait = max(self.every_s, min(self.fold_s / TIES_FOLD_SHARE, TIES_FOLD_MAX_S))
        return time.monotonic() - self.since >= wait

    def quiet_for(self, seconds: float) -> bool:
        """Something waits to be folded, and no batch has added to it for ``seconds``."""
        return self.last is not None and time.monotonic() - self.last >= seconds


def index_batch(store: ArticleStore, batch: list[TaggedArticle], params: StoryParams | None = None,
                backlog: TiesBacklog | None = None) -> WriteResult:
    """Place the batch's articles in stories, write them, relabel their stored neighbours and fold the ties they
    touched (see the module's docstring), or with a ``backlog`` leave them there until it is due (one indexer).
    Raises what ``store`` raises (StoreUnavailable: retry the batch)."""
    params = params or load_params()
    started = time.perf_counter()
    batch = _last_versions(batch)
    if not batch:
        return WriteResult()
    backlog = backlog if backlog is not None else TiesBacklog()
    backlog.take_marks(store)
    fps, plan, labelled = place_batch(store, batch, params)
    with store.one_commit():  # the batch and its relabels land together (embedded: one commit)
        result = store.write(labelled, fingerprints={fp.article_id: fp for fp in fps})
        # Refused, or older than the stored version (a replay): the store keeps what it had, and so do the ties
        rejected = {r.article_id for r in result.rejected} | set(result.stale)
        written = {a.id for a in labelled if a.id not in rejected}
        for a in labelled:
            if a.id in written:
                plan.stored[a.id] = (stored_story_id(a), a.duplicate_of)
        if store.concurrent_writers and written:
            look = [fp for fp in fps if fp.article_id in written]
            _place(plan, look, store.story_candidates(look, params.window_days, CANDIDATE_LIMIT), params, None)

        # Relabels: whole stories merged into others, and copies pointed at an older original.
        if plan.merged:
            for article_id, story_id, duplicate_of in store.story_members(sorted(plan.merged)):
                plan.stored.setdefault(article_id, (story_id, duplicate_of))
                plan.labels.setdefault(article_id, (story_id, duplicate_of))
        relabel = {}
        for article_id, now in plan.stored.items():
            if article_id in plan.labels and article_id not in rejected and plan.final(article_id) != now:
                relabel[article_id] = plan.final(article_id)
        touched = {t for a in labelled if a.id in written for t in ties_of(a)}
        touched |= store.ties_citing(sorted({a.id for a in batch} | set(relabel)))
        if not store.concurrent_writers:
            # Lands with the batch: a crash before the ties are folded leaves them marked, and the next start
            # folds them again from their articles (a redelivered batch no longer needs the relabels).
            store.mark_ties_pending(touched | backlog.ties | backlog.refold)
        if relabel:
            store.relabel(relabel)

    if store.concurrent_writers:
        refresh_ties(store, touched)  # several indexers: only a fold from the articles is safe (module docstring)
    else:
        backlog.add(touched, [a for a in labelled if a.id in written],
                    {article_id: story_of(*labels, article_id) for article_id, labels in relabel.items()})
        if backlog.due():
            fold_ties(store, backlog)
    log.debug("placed %d articles (%d relabelled, %d ties) in %.3f s", len(batch), len(relabel), len(touched),
              time.perf_counter() - started)
    return result


def fold_ties(store: ArticleStore, backlog: TiesBacklog) -> None:
    """Fold the backlog's ties (one indexer), clear their marks and empty it."""
    if backlog:
        started = time.perf_counter()
        update_ties(store, backlog.ties, backlog.refold, list(backlog.articles.values()), backlog.relabelled)
        store.mark_ties_pending(())
        backlog.fold_s = time.perf_counter() - started
    backlog.clear()


def refresh_ties(store: ArticleStore, tie_ids: Iterable[str]) -> tuple[list[Tie], list[str]]:
    """Fold these ties again from the store's current articles; write them, delete those no article names."""
    return _write_folded(store, ((tie_id, _from_articles(store, tie_id)) for tie_id in sorted(set(tie_ids))))


def _from_articles(store: ArticleStore, tie_id: str) -> Tie | None:
    korean_party, partner = tie_id.split("|", 1)
    return fold((korean_party, partner), store.pair_articles(korean_party, partner))


def update_ties(store: ArticleStore, tie_ids: set[str], pending: set[str], articles: list[TaggedArticle],
                relabelled: dict[str, str]) -> tuple[list[Tie], list[str]]:
    """The touched ties updated from the batch's written articles and the relabelled articles' stories alone
    (services.ties.updated), where one indexer writes the store. A tie is folded from all its articles instead when
    it is new to the register (its articles are the batch's), was stored before ties kept whole contributions or
    without evidence (registered, no news), or was left pending by a crash."""
    stored = store.get_ties(sorted(tie_ids - pending))
    # Each tie is given only its own articles: those naming it now and those its evidence cites (one may have left
    # it). A backlog holds several batches' articles, and asking every one about every tie cost a fold of the
    # bench's 1,200 about 45,000 questions for its 38 ties.
    by_id = {a.id: a for a in articles}
    naming: dict[str, list[TaggedArticle]] = {}
    for a in articles:
        for t in ties_of(a):
            naming.setdefault(t, []).append(a)

    def current(tie_id: str) -> Tie | None:
        tie = stored.get(tie_id)
        if tie is not None and tie.evidence and all(e.whole for e in tie.evidence):
            own = naming.get(tie_id, [])
            named = {a.id for a in own}
            left = [by_id[e.article_id] for e in tie.evidence if e.article_id in by_id and e.article_id not in named]
            return updated(tie, own + left, relabelled)
        return _from_articles(store, tie_id)

    return _write_folded(store, ((tie_id, current(tie_id)) for tie_id in sorted(tie_ids | pending)))


def _write_folded(store: ArticleStore, folded: Iterable[tuple[str, Tie | None]]) -> tuple[list[Tie], list[str]]:
    """Write the ties folded, delete those that came out empty (no article names them any more)."""
    ties, gone = [], []
    for tie_id, tie in folded:
        if tie is None:
            gone.append(tie_id)
        else:
            ties.append(tie)
    if ties or gone:
        store.write_ties(ties, delete=gone)
    return ties, gone


def rebuild_ties(store: ArticleStore) -> tuple[int, int, int]:
    """The whole register folded again from every stored article (``citydesk ties rebuild``).
    Returns (articles read, ties written, stale ties deleted)."""
    articles = list(store.all_articles())
    ties = build(articles)
    deleted = store.replace_ties(ties)
    return len(articles), len(ties), deleted
