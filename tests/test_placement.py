"""Stories and ties as the indexer keeps them, in-process, on the embedded store (services/indexer/placement.py).

Proves: the seeds and our story fixtures, written batch by batch through `index_batch`, come out in their gold stories
(seeds 001 and 003 one story; the fixtures' three stories of several articles, the portal copy pointing to the
press release) whatever the order and the batch size, and with the register the pure `build` gives; re-feeding changes
nothing; an update moves an article to another story and leaves a tie it no longer names; two stories first seen
apart are merged whole, members that never met the bridging article included; an older copy arriving late becomes
the one the others point to, and a reprint past the window, or past the candidate limit, still points to the first
report, and an older report is never made a copy of a newer one it cannot see; where no date bounds the comparison (an undated
copy, an undated report), a report finds its copy among more articles of its pair than are compared; a batch spanning years finds each
article's copy in its own window; the ties the writing store keeps are the ones its index holds; a crash between the write and the
relabels/ties is repaired by the batch's redelivery; ties put off over several batches (the worker's TiesBacklog) fold
to the register folded at every batch, stay marked pending until then (a crash leaves them to the next start), and a
relabel gives way to a later version of its article; the indexer's destination folds them once idle, and folds what a crash
left at its first idle moment with no batch to come; while batches keep coming, a fold that took long puts the next off
until it is at most TIES_FOLD_SHARE of the time since, and never past TIES_FOLD_MAX_S (on a clock moved by hand)
(the ties left pending by a crash after the relabels are folded from their articles); an older version replayed
changes neither the store nor the register;
`citydesk ties rebuild` gives the same register; the candidates read back from the store carry the fingerprint's
entity sets; a store written by the previous citydesk (format 1) is migrated when opened and keeps answering; the candidates the
writing store keeps as it read them are what a store opened afresh reads, relabels included, and one read between a write
and its commit, or after a commit that failed, is not kept; a search finding more ids than one aggregation may return
reads none at once.
Does not prove: the stream (tests/test_stories_pipeline.py), Elasticsearch (tests/test_stories_stores.py), speed (the
fold's share of a real backfill is measured by `citydesk bench --backfill`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta

import pytest

from schemas import CleanArticle, Person, Relation
from services.destinations import Result, StoreDestination
from services.indexer import placement
from services.indexer.embedded import READ_AT_ONCE, STORE_FORMAT, EmbeddedStore, store_format
from services.indexer.placement import (
    TIES_FOLD_EVERY_S,
    TIES_FOLD_MAX_S,
    TIES_FOLD_SHARE,
    TiesBacklog,
    fold_ties,
    index_batch,
    rebuild_ties,
)
from services.indexer.store import CANDIDATE_LIMIT, UNDATED_LIMIT, SearchQuery
from services.stories.core import entity_sets, fingerprint
from services.tagger import tag
from services.ties import build
from tests.stories_support import (
    comparable,
    gold_partition,
    partition,
    seed_names,
    seed_raws,
    story_fixture_raws,
    tagged,
    undated_crowd,
)


@pytest.fixture(scope="module")
def articles():
    return tagged(story_fixture_raws() + seed_raws())


def _labels(store: EmbeddedStore, ids) -> dict[str, str]:
    return {i: store.get(i)["story_id"] for i in ids}


def _fill(tmp_path, articles, batch: int) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "store", writer=True)
    for i in range(0, len(articles), batch):
        index_batch(store, articles[i:i + batch])
    return store


@pytest.mark.parametrize(("order", "batch"), [("listed", 1), ("reversed", 1), ("listed", 5), ("reversed", 100)])
def test_gold_stories_and_the_register_whatever_the_order_and_batch(tmp_path, articles, order, batch):
    seq = articles if order == "listed" else list(reversed(articles))
    store = _fill(tmp_path, seq, batch)
    ids = [a.id for a in articles]
    assert partition(_labels(store, ids)) == gold_partition()
    assert store.get("s03_daegu_chengdu_portal_copy")["duplicate_of"] == "s01_daegu_chengdu_release"
    assert store.get("s01_daegu_chengdu_release")["duplicate_of"] is None
    placed = [a.model_copy(update={"story_id": store.get(a.id)["story_id"],
                                   "duplicate_of": store.get(a.id)["duplicate_of"]}) for a in articles]
    assert comparable(store.read_ties()) == comparable(build(placed))
    names = {v: k for k, v in seed_names().items()}
    seoul = next(t for t in store.read_ties() if t.id == "서울특별시|충칭시")
    assert (seoul.articles, seoul.stories, seoul.since, seoul.since_source) == (2, 1, 2019, "stated")
    assert {e.article_id for e in seoul.evidence} == {names["001_6a51c42110a45834"], names["003_f7f4b121435f6b6b"]}


def test_refeeding_changes_nothing_and_rebuild_gives_the_same_register(tmp_path, articles):
    store = _fill(tmp_path, articles, 4)
    ids = [a.id for a in articles]
    labels, ties = _labels(store, ids), comparable(store.read_ties())
    index_batch(store, articles[3:9])
    index_batch(store, list(reversed(articles)))
    assert _labels(store, ids) == labels and comparable(store.read_ties()) == ties
    assert store.count() == len(articles)
    assert rebuild_ties(store)[:2] == (len(articles), len(ties))
    assert comparable(store.read_ties()) == ties


def _article(article_id: str, body: str, day: int, pair: tuple[str, str] | None = None, people=()):
    t = tag(CleanArticle(id=article_id, title=body[:20], body=body,
                         published_at=datetime(2025, 5, 1, tzinfo=None) + timedelta(days=day)))
    relations = [Relation(korean_party=pair[0], partner=pair[1], partner_country="CN", kinds=["visit"])] if pair else []
    return t.model_copy(update={"relations": relations, "people": [Person(name=p) for p in people], "events": []})


TEXT_A = "대구시는 청두시와 로봇 산업 공동 연구를 시작한다고 밝혔다. 두 도시는 연구소 세 곳을 함께 세우기로 했다."
TEXT_B = "수원시는 하노이시와 교통 신호 체계 개선 사업을 함께 추진하기로 했다. 수원 기업 다섯 곳이 참여한다."
TEXT_C = "부산시는 후쿠오카시와 해협 관광 상품을 함께 팔기로 했다. 두 도시는 여객선 운항을 늘린다."


def _two_stories_and_their_bridge():
    """x and y: one pair's event told twice without shared text; z shares y's text and both their people."""
    return (_article("x", TEXT_A, 0, ("대구광역시", "청두시"), ("홍준표",)),
            _article("y", TEXT_B, 0, ("대구광역시", "청두시"), ("왕펑",)),
            _article("z", TEXT_B + " 청두", 0, ("대구광역시", "청두시"), ("홍준표", "왕펑")))


def test_an_update_moves_an_article_and_leaves_the_tie_it_no_longer_names(tmp_path):
    store = EmbeddedStore(tmp_path / "s", writer=True)
    a = _article("a", TEXT_A, 0, ("대구광역시", "청두시"), ("홍준표",))
    b = _article("b", TEXT_A.replace("세 곳", "네 곳"), 0, ("대구광역시", "청두시"), ("홍준표",))
    c = _article("c", TEXT_B, 0, ("수원시", "하노이시"), ("이재준",))
    index_batch(store, [a, b, c])
    assert store.get("a")["story_id"] == store.get("b")["story_id"] != store.get("c")["story_id"]
    moved = _article("b", TEXT_B + " 추가 소식", 0, ("수원시", "하노이시"), ("이재준",))
    index_batch(store, [moved])
    assert store.get("b")["story_id"] == store.get("c")["story_id"] != store.get("a")["story_id"]
    ties = {t.id: t for t in store.read_ties()}
    assert ties["대구광역시|청두시"].articles == 1 and ties["수원시|하노이시"].articles == 2
    gone = _article("a", TEXT_C, 0, ("부산광역시", "후쿠오카시"))
    index_batch(store, [gone])
    assert "대구광역시|청두시" not in {t.id for t in store.read_ties()}  # no article names it any more


def test_an_older_version_replayed_changes_neither_the_store_nor_the_register(tmp_path):
    store = EmbeddedStore(tmp_path / "s", writer=True)
    newer = _article("a", TEXT_B, 0, ("수원시", "하노이시")).model_copy(update={"version": 2})
    older = _article("a", TEXT_A, 0, ("대구광역시", "청두시")).model_copy(update={"version": 1})
    index_batch(store, [newer])
    result = index_batch(store, [older])  # a replay of what was fed before the update
    assert result.stale == ["a"] and store.get("a")["version"] == 2
    assert {t.id for t in store.read_ties()} == {"수원시|하노이시"}
    assert comparable(store.read_ties()) == comparable(build(store.all_articles()))


def test_two_stories_seen_apart_are_merged_whole(tmp_path):
    """x and y are one event told twice without shared text; w is a reprint of x that shares no key with the
    bridging article z. z joins x's and y's stories: every member of both, w included, ends in one story."""
    store = EmbeddedStore(tmp_path / "s", writer=True)
    x = _article("x", TEXT_A, 0, ("대구광역시", "청두시"), ("홍준표",))
    w = _article("w", TEXT_A + " 사진=대구시", 0, None)  # a copy of x's text: joins x by text alone, no entities
    y = _article("y", TEXT_B, 0, ("대구광역시", "청두시"), ("왕펑",))
    for article in (x, w, y):
        index_batch(store, [article])
    assert store.get("x")["story_id"] == store.get("w")["story_id"] != store.get("y")["story_id"]
    z = _article("z", TEXT_B + " 청두", 0, ("대구광역시", "청두시"), ("홍준표", "왕펑"))
    assert not set(fingerprint(z).keys) & set(fingerprint(w).keys)  # z never meets w
    index_batch(store, [z])
    assert len({store.get(i)["story_id"] for i in "xwyz"}) == 1


def test_a_crash_between_a_merge_and_the_ties_leaves_them_pending_until_the_redelivery(tmp_path):
    """The merge relabels y into x's story, then the indexer stops before the ties are updated. The redelivered z
    finds the stories merged already (no relabel to make), so only the pending mark brings y's story in the tie up
    to date: one story, as the register rebuilt from the store says."""
    store = EmbeddedStore(tmp_path / "s", writer=True)
    x, y, z = _two_stories_and_their_bridge()
    for article in (x, y):
        index_batch(store, [article])
    assert store.read_ties()[0].stories == 2

    def stop(*args, **kwargs):
        raise SystemExit("indexer stopped")

    store.get_ties = stop  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        index_batch(store, [z])
    del store.get_ties
    assert store.get("y")["story_id"] == store.get("x")["story_id"]  # the merge landed
    assert store.ties_pending() == {"대구광역시|청두시"}
    index_batch(store, [z])  # the redelivery
    assert store.ties_pending() == set()
    (tie,) = store.read_ties()
    assert (tie.articles, tie.stories) == (3, 1)
    assert comparable([tie]) == comparable(build(store.all_articles()))


def test_ties_put_off_over_batches_are_folded_as_at_every_batch_and_marked_pending_meanwhile(tmp_path, articles):
    """The indexer folds the ties its batches touch every few seconds (TiesBacklog): reversed, three by three (copies
    before their originals, so stored articles are relabelled), then re-fed in part, the register folded once at
    the end is the one folded at every batch; until then, every tie touched is marked pending (a crash leaves them
    to be folded from their articles), and the store's register is what it was."""
    seq = list(reversed(articles))
    reference = _fill(tmp_path / "ref", seq + seq[4:10], 3)
    store = EmbeddedStore(tmp_path / "s", writer=True)
    backlog = TiesBacklog(every_s=float("inf"))
    batches = [seq[i:i + 3] for i in range(0, len(seq), 3)] + [seq[4:10]]
    for batch in batches:
        index_batch(store, batch, backlog=backlog)
    assert store.read_ties() == [] and backlog
    assert store.ties_pending() == {t.id for t in reference.read_ties()} == backlog.ties
    fold_ties(store, backlog)
    assert not backlog and store.ties_pending() == set()
    assert comparable(store.read_ties()) == comparable(reference.read_ties())


class _Clock:
    """time.monotonic and time.perf_counter for placement, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    perf_counter = monotonic


def test_a_fold_that_takes_long_puts_the_next_one_off_for_longer(tmp_path, articles, monkeypatch):
    """While batches keep coming, the ties wait TIES_FOLD_EVERY_S for their fold; once a fold takes longer than
    TIES_FOLD_SHARE of that (a register grown large: here 2 s), the next waits until that fold is no more than the
    share of the time since, so the fold's part of the indexer's time stays bounded; never longer than
    TIES_FOLD_MAX_S (here after a fold of 10 s). The waiting ties stay marked pending."""
    clock = _Clock()
    monkeypatch.setattr(placement, "time", clock)
    fold_takes_s = [2.0]
    assert TIES_FOLD_EVERY_S < 2.0 / TIES_FOLD_SHARE < TIES_FOLD_MAX_S < 10.0 / TIES_FOLD_SHARE
    update = placement.update_ties

    def slow_update(*args, **kwargs):
        clock.now += fold_takes_s[0]
        return update(*args, **kwargs)

    monkeypatch.setattr(placement, "update_ties", slow_update)
    naming = iter([a for a in articles if build([a])] * 2)
    store = EmbeddedStore(tmp_path / "s", writer=True)
    backlog = TiesBacklog(every_s=TIES_FOLD_EVERY_S)
    nearly = 1e-3  # either side of the moment it becomes due

    def batch_at(offset_s: float) -> bool:
        """One batch ``offset_s`` after the oldest one waiting; whether it was folded."""
        clock.now = (backlog.since or clock.now) + offset_s
        index_batch(store, [next(naming)], backlog=backlog)
        return not backlog

    assert not batch_at(0) and store.read_ties() == []
    assert batch_at(TIES_FOLD_EVERY_S) and store.read_ties()
    assert backlog.fold_s == 2.0
    assert not batch_at(0)
    assert not batch_at(2.0 / TIES_FOLD_SHARE - nearly)
    assert store.ties_pending() == backlog.ties != set()
    fold_takes_s[0] = 10.0
    assert batch_at(2.0 / TIES_FOLD_SHARE + nearly)
    assert store.ties_pending() == set() and backlog.fold_s == 10.0
    assert not batch_at(0)
    assert not batch_at(TIES_FOLD_MAX_S - nearly)
    assert batch_at(TIES_FOLD_MAX_S + nearly)


def test_a_relabel_then_a_new_version_of_the_same_article_both_wait_for_one_fold(tmp_path):
    """x and y folded into the register; then the bridge z relabels y into x's story, and y comes again, rewritten
    into a story of its own (same pair): folded once, the register counts y's new version in its new story, not the
    relabel of its old one. A crash before that fold leaves the ties to a fresh indexer, which folds them from their
    articles."""
    x, y, z = _two_stories_and_their_bridge()
    rewritten = _article("y", TEXT_C, 1, ("대구광역시", "청두시"), ("박형준",))
    for crash in (False, True):
        store = EmbeddedStore(tmp_path / f"crash-{crash}", writer=True)
        index_batch(store, [x, y])
        backlog = TiesBacklog(every_s=float("inf"))
        for batch in ([z], [rewritten]):
            index_batch(store, batch, backlog=backlog)
        assert store.get("y")["story_id"] != store.get("x")["story_id"] == store.get("z")["story_id"]
        if crash:
            store.close()
            store = EmbeddedStore(tmp_path / f"crash-{crash}", writer=True)
            index_batch(store, [rewritten])  # the redelivered last batch
        else:
            fold_ties(store, backlog)
        assert store.ties_pending() == set()
        (tie,) = store.read_ties()
        assert (tie.articles, tie.stories) == (3, 2)
        assert comparable([tie]) == comparable(build(store.all_articles()))


def test_the_indexer_folds_its_ties_when_idle_and_what_a_crash_left_with_no_batch_to_come(tmp_path):
    """The worker's store destination: batches leave their ties to the backlog (marked pending, the register not yet
    written); the first idle moment after TIES_FOLD_QUIET_S folds them. An indexer that died before that fold leaves
    the marks: the next one folds them at its first idle moment, though no batch comes (else `citydesk run` would
    wait for them until its timeout)."""
    x, y, z = _two_stories_and_their_bridge()

    def open_store():
        return EmbeddedStore(tmp_path / "s", writer=True)

    first = StoreDestination(open_store)
    first._quiet_s = 3600.0  # not idle long enough yet
    for batch in ([x, y], [z]):
        assert asyncio.run(first.deliver([Result(n, a.id.encode(), a) for n, a in enumerate(batch)])) == []
    assert asyncio.run(first.idle()) is False
    assert EmbeddedStore(tmp_path / "s").ties_pending() == {"대구광역시|청두시"}
    assert EmbeddedStore(tmp_path / "s").read_ties() == []
    first._quiet_s = 0.0
    assert asyncio.run(first.idle()) is True
    assert EmbeddedStore(tmp_path / "s").ties_pending() == set()
    (tie,) = EmbeddedStore(tmp_path / "s").read_ties()
    assert (tie.articles, tie.stories) == (3, 1)

    index_batch(first._store, [_article("y", TEXT_C, 1, ("대구광역시", "청두시"), ("박형준",))],
                backlog=TiesBacklog(every_s=float("inf")))  # a batch whose ties the indexer never folded
    first._store.close()
    assert EmbeddedStore(tmp_path / "s").ties_pending() == {"대구광역시|청두시"}
    second = StoreDestination(open_store)
    assert asyncio.run(second.idle()) is True
    assert asyncio.run(second.idle()) is False  # nothing left
    second.close()
    reader = EmbeddedStore(tmp_path / "s")
    assert reader.ties_pending() == set()
    assert comparable(reader.read_ties()) == comparable(build(reader.all_articles()))
    assert reader.read_ties()[0].stories == 2


def test_an_older_copy_arriving_late_becomes_the_original(tmp_path, articles):
    by_id = {a.id: a for a in articles}
    store = EmbeddedStore(tmp_path / "s", writer=True)
    index_batch(store, [by_id["s03_daegu_chengdu_portal_copy"]])
    index_batch(store, [by_id["s01_daegu_chengdu_release"]])
    assert store.get("s03_daegu_chengdu_portal_copy")["duplicate_of"] == "s01_daegu_chengdu_release"
    assert store.get("s01_daegu_chengdu_release")["story_id"] == store.get("s03_daegu_chengdu_portal_copy")["story_id"]


def test_a_reprint_past_the_window_points_to_the_first_report_and_leaves_the_others_pointing_there(tmp_path):
    """Days 0, 3 and 6: the day-6 reprint sees only the day-3 one (window 4 days), which points to day 0's."""
    store = EmbeddedStore(tmp_path / "s", writer=True)
    first = _article("first", TEXT_A, 0, ("대구광역시", "청두시"))
    index_batch(store, [first])
    for n, day in ((1, 3), (2, 6)):
        index_batch(store, [first.model_copy(update={"id": f"reprint-{n}", "published_at": first.published_at
                                                     + timedelta(days=day)})])  # type: ignore[operator]
    assert [store.get(i)["duplicate_of"] for i in ("first", "reprint-1", "reprint-2")] == [None, "first", "first"]
    assert len(set(_labels(store, ["first", "reprint-1", "reprint-2"]).values())) == 1


def test_an_older_report_is_never_made_a_copy_of_a_newer_one_it_cannot_see(tmp_path):
    """Day 5, an undated copy of it, then day 0's report: day 0 sees only the undated copy (day 5 is past its window)
    and stays an original. Then, fed newest first (days 6, 3, 0), the oldest stays the original too."""
    store = EmbeddedStore(tmp_path / "s", writer=True)
    first = _article("x-day5", TEXT_A, 5, ("대구광역시", "청두시"))
    index_batch(store, [first])
    index_batch(store, [first.model_copy(update={"id": "x-undated", "published_at": None})])
    index_batch(store, [first.model_copy(update={"id": "x-day0", "published_at": first.published_at
                                                 - timedelta(days=5)})])  # type: ignore[operator]
    assert store.get("x-day0")["duplicate_of"] is None
    for day in (6, 3, 0):
        index_batch(store, [_article(f"y-day{day}", TEXT_B, day, ("수원시", "하노이시"))])
    assert [store.get(f"y-day{d}")["duplicate_of"] for d in (0, 3)] == [None, "y-day0"]


def test_more_copies_than_the_candidate_limit_still_make_one_story_with_one_original(tmp_path):
    """A new copy sees only the newest CANDIDATE_LIMIT stored ones (dated, then undated): it still joins their story
    and points to the first report, which it no longer sees, through their duplicate_of."""
    store = EmbeddedStore(tmp_path / "s", writer=True)
    first = _article("first", TEXT_A, 0, ("대구광역시", "청두시"))
    index_batch(store, [first])
    copies = [first.model_copy(update={"id": f"copy-{n:03d}", "published_at": None if n % 3 == 0 else
                                       first.published_at + timedelta(minutes=1 + n)})  # type: ignore[operator]
              for n in range(2 * CANDIDATE_LIMIT + 5)]
    for start in range(0, len(copies), 10):
        index_batch(store, copies[start:start + 10])
    late = first.model_copy(update={"id": "late", "published_at": first.published_at + timedelta(days=3)})
    index_batch(store, [late])
    ids = ["first", "late", *(c.id for c in copies)]
    assert set(_labels(store, ids).values()) == {store.get("first")["story_id"]}
    assert {store.get(i)["duplicate_of"] for i in ids if i != "first"} == {"first"}
    assert [t.articles for t in store.read_ties()] == [len(ids)]


@pytest.mark.parametrize(("report_dated", "companions"), [(True, 0), (True, 2), (False, 0), (False, 2)],
                         ids=["undated-copy-alone", "undated-copy-in-a-batch", "undated-report-alone",
                              "undated-report-in-a-batch"])
def test_where_no_date_bounds_the_comparison_the_closest_are_compared(tmp_path, report_dated, companions):
    """An undated article is near every date, so where no date bounds a comparison (an undated stored article; for an
    undated new one, any), at most UNDATED_LIMIT are compared, those sharing the most keys first. A report still
    finds its copy among more articles of its pair than that: its undated copy written after the crowd, or, undated
    itself, its dated copy older than the whole crowd; and joins its story. (Alone, the store asks for the article's
    own candidates; in a batch, it reads the batch's once and shares them out.)"""
    copy, crowd, report = undated_crowd(2 * UNDATED_LIMIT + 5, report_dated=report_dated)
    store = EmbeddedStore(tmp_path / "s", writer=True)
    for batch in (*(crowd[s:s + 10] for s in range(0, len(crowd), 10)), [copy]):
        index_batch(store, batch)
    batch = [report, _article("b", TEXT_B, 0, ("수원시", "하노이시")), _article("c", TEXT_C, 0, ("부산광역시", "후쿠오카시"))]
    found = [c.article_id for c in store.story_candidates([fingerprint(a) for a in batch[:1 + companions]], 4)[0]]
    assert len(found) == UNDATED_LIMIT and found[0] == copy.id
    index_batch(store, batch[:1 + companions])
    assert store.get("report")["story_id"] == store.get(copy.id)["story_id"]
    assert store.get("report")["story_id"] not in {store.get(a.id)["story_id"] for a in crowd}


def test_a_batch_spanning_years_finds_each_articles_copy_in_its_own_window(tmp_path, monkeypatch):
    """A backfill's batch: its dates years apart, more stored articles of its pair within them than one search for the
    batch may read, so its dated candidates are read in groups close in time (asserted). Each report finds its own
    copy, a day older, and no candidate outside its window."""
    pair = ("대구광역시", "청두시")
    store = EmbeddedStore(tmp_path / "s", writer=True)
    texts = {0: TEXT_A, 700: TEXT_B, 1400: TEXT_C}
    crowded = READ_AT_ONCE * len(texts) + 1  # one more than the one search may read for the three reports
    crowd = [_article(f"crowd-{n:03d}", f"대구시와 청두시는 {n + 1}차 교류 회의에서 과제 {n + 3}건을 다뤘다.",
                      1400 * n // crowded, pair) for n in range(crowded)]  # all within the batch's dates
    copies = [_article(f"copy-{day}", text, day - 1, pair) for day, text in texts.items()]
    for start in range(0, len(crowd), 10):
        index_batch(store, crowd[start:start + 10])
    index_batch(store, copies)
    reports = [_article(f"report-{day}", text, day, pair) for day, text in texts.items()]
    one_search = store._at_once
    answered_at_once = []
    monkeypatch.setattr(store, "_at_once", lambda *a: answered_at_once.append(one_search(*a)) or answered_at_once[-1])
    found = store.story_candidates([fingerprint(a) for a in reports], 4)
    assert answered_at_once == [None]  # the one search would read too many: the groups answered
    for report, candidates in zip(reports, found, strict=True):
        assert f"copy-{report.id.split('-')[1]}" in {c.article_id for c in candidates}
        assert all(abs(c.published - report.published_at) <= timedelta(days=4) for c in candidates)
    index_batch(store, reports)
    assert all(store.get(f"report-{day}")["story_id"] == store.get(f"copy-{day}")["story_id"] for day in texts)


def test_the_ties_a_writing_store_keeps_are_the_ones_its_index_holds(tmp_path, articles):
    """The indexer's store keeps the ties it wrote rather than parse them again (EmbeddedStore._ties_kept): what it
    hands placement is what another process reads from the index, batch after batch, and nothing once it closes."""
    store = EmbeddedStore(tmp_path / "store", writer=True)
    for i in range(0, len(articles), 3):
        index_batch(store, articles[i:i + 3])
        ids = [t.id for t in EmbeddedStore(tmp_path / "store").read_ties()]
        assert store._ties_kept, "the writing store kept none of the ties it wrote"
        assert comparable(store.get_ties(ids).values()) == comparable(EmbeddedStore(tmp_path / "store").get_ties(ids)
                                                                       .values())
    store.close()
    assert not store._ties_kept


def test_a_crash_after_the_write_is_repaired_by_the_redelivered_batch(tmp_path, articles):
    """Reversed, two by two: copies arrive before their originals, so stored articles are relabelled."""
    seq = list(reversed(articles))
    reference = _fill(tmp_path / "ref", seq, 2)
    ids = [a.id for a in articles]
    store = EmbeddedStore(tmp_path / "crash" / "store", writer=True)

    class Crash(Exception):
        pass

    def crash(*args, **kwargs):
        raise Crash

    crashed = []
    for i in range(0, len(seq), 2):
        batch = seq[i:i + 2]
        # After the write: before the relabels (on this store the write and its relabels are one commit, so the
        # write is undone); after both, before the ties are read back for their update, and as they are written.
        # The redelivered batch no longer needs the relabels: the ties left pending are folded from their articles.
        for step in ("relabel", "get_ties", "write_ties"):
            original = getattr(store, step)
            setattr(store, step, crash)
            try:
                index_batch(store, batch)
            except Crash:
                crashed.append(step)
            finally:
                setattr(store, step, original)
        index_batch(store, batch)  # the redelivery
    assert crashed.count("get_ties") == len(range(0, len(seq), 2)) and {"relabel", "write_ties"} <= set(crashed)
    assert partition(_labels(store, ids)) == partition(_labels(reference, ids)) == gold_partition()
    assert comparable(store.read_ties()) == comparable(reference.read_ties())


def test_candidates_read_back_carry_the_fingerprints_entity_sets(tmp_path, articles):
    store = _fill(tmp_path, articles, 100)
    for article in articles:
        fp = fingerprint(article)
        found = {c.article_id: c for c in store.story_candidates([fp], 4)[0]}
        assert article.id in found
        pairs, named = entity_sets(article)
        c = found[article.id]
        assert (c.pairs, c.named, list(c.signature)) == (pairs, named, list(fp.signature))


def _as_read(candidates) -> list[tuple]:
    return [(c.article_id, c.story_id, c.duplicate_of, c.published, c.pairs, c.named, list(c.signature))
            for c in candidates]


@pytest.mark.parametrize("kept", [5_000, 2])
def test_the_candidates_a_writing_store_keeps_are_the_ones_its_index_holds(tmp_path, articles, monkeypatch, kept):
    """The indexer's store keeps candidates as it read them rather than parse them again (EmbeddedStore.
    _candidates_read): what it hands placement is what a store opened afresh reads from the index, batch after batch
    of the fixtures, and after two stories it has read are merged by an article that bridges them (their members
    relabelled); with room for two, as with room for all."""
    monkeypatch.setattr("services.indexer.embedded.CANDIDATES_KEPT", kept)

    def same_as_afresh(store: EmbeddedStore, fps) -> None:
        kept_then = [_as_read(found) for found in store.story_candidates(fps, 4)]
        assert 0 < len(store._candidates_read) <= kept
        assert kept_then == [_as_read(found) for found in EmbeddedStore(store.directory).story_candidates(fps, 4)]

    store = EmbeddedStore(tmp_path / "fixtures", writer=True)
    for i in range(0, len(articles), 3):
        index_batch(store, articles[i:i + 3])
        same_as_afresh(store, [fingerprint(a) for a in articles])
    store = EmbeddedStore(tmp_path / "merged", writer=True)
    x, y, z = _two_stories_and_their_bridge()
    for article in (x, y):
        index_batch(store, [article])
    assert store.get("x")["story_id"] != store.get("y")["story_id"]
    same_as_afresh(store, [fingerprint(x), fingerprint(y)])  # read while apart
    index_batch(store, [z])
    assert store.get("x")["story_id"] == store.get("y")["story_id"]
    same_as_afresh(store, [fingerprint(x), fingerprint(y)])


@pytest.mark.parametrize("outcome", ["committed", "rolled back"])
def test_a_candidate_read_between_its_write_and_the_commit_is_not_kept(tmp_path, articles, outcome):
    """Inside one commit, searches see the commit before: a stored article read there, after this batch wrote its
    new version, is the old one. Kept, it would be stale once the commit lands; after a rollback, the old one is
    right again. Either way the next read is what a store opened afresh reads."""
    store = _fill(tmp_path, articles, 100)
    article = articles[0]
    fps = [fingerprint(article)]
    before = {c.article_id: c for c in store.story_candidates(fps, 4)[0]}[article.id]
    moved = article.model_copy(update={"story_id": "s-moved", "published_at": article.published_at
                                       and article.published_at + timedelta(days=1)})

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned) if outcome == "rolled back" else contextlib.nullcontext(), store.one_commit():
        store.write([moved])
        inside = {c.article_id: c for c in store.story_candidates(fps, 4)[0]}[article.id]
        assert _as_read([inside]) == _as_read([before])  # the commit before
        if outcome == "rolled back":
            raise Abandoned
    after = {c.article_id: c for c in store.story_candidates(fps, 4)[0]}[article.id]
    assert after.story_id == ("s-moved" if outcome == "committed" else before.story_id)
    assert _as_read(store.story_candidates(fps, 4)[0]) == _as_read(
        EmbeddedStore(store.directory).story_candidates(fps, 4)[0])


def test_search_collapses_stories_and_counts_them_in_facets(tmp_path, articles):
    store = _fill(tmp_path, articles, 100)
    stories = store.search(SearchQuery(stories=True, limit=50))
    assert stories.total == len(articles) and stories.stories == len(gold_partition()) == len(stories.hits)
    daegu = next(h for h in stories.hits if h.story_id == store.get("s01_daegu_chengdu_release")["story_id"])
    assert (daegu.story_articles, daegu.story_outlets) == (3, 2)  # 대구일보 twice (release and portal copy), 영남신문
    by_story = store.search(SearchQuery(facets_by="story", facet_size=50))
    by_article = store.search(SearchQuery(facet_size=50))
    # 청두시: the three-outlet event, the one a month later, seed 000: three stories in five articles
    assert (dict(by_story.facets["partner"])["청두시"], dict(by_article.facets["partner"])["청두시"]) == (3, 5)


# The schema citydesk wrote before stories and ties (format 1), and its documents: the migration's input.
def _format1_store(directory, articles) -> None:
    import tantivy

    from services.indexer.embedded import KEYWORD_FIELDS, TERMS_TOKENIZER, _analyzer, _utc
    from services.indexer.store import index_fields

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("title_terms", stored=False, tokenizer_name=TERMS_TOKENIZER)
    sb.add_text_field("body_terms", stored=False, tokenizer_name=TERMS_TOKENIZER)
    for name in KEYWORD_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    sb.add_date_field("published_at", stored=False, indexed=True, fast=True)
    sb.add_bytes_field("source", stored=True, indexed=False)
    directory.mkdir(parents=True)
    index = tantivy.Index(sb.build(), path=str(directory))
    index.register_tokenizer(TERMS_TOKENIZER, _analyzer())
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for article in articles:
        doc = tantivy.Document()
        doc.add_text("id", article.id)
        doc.add_text("title_terms", " ".join(article.terms.title))
        doc.add_text("body_terms", " ".join(article.terms.body))
        for name, values in index_fields(article).items():
            for value in values:
                doc.add_text(name, value)
        doc.add_text("exchange", "true" if article.is_exchange else "false")
        if article.published_at:
            doc.add_date("published_at", _utc(article.published_at))
        doc.add_bytes("source", json.dumps(article.model_dump(mode="json", exclude={"terms"}),
                                           ensure_ascii=False).encode("utf-8"))
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()


def test_a_store_of_the_previous_format_is_migrated_when_opened(tmp_path, articles):
    directory = tmp_path / "store"
    _format1_store(directory, articles)
    assert store_format(directory) == 1
    before = {a.id for a in articles if a.relations}
    reader = EmbeddedStore(directory)  # a reader (citydesk search) opens it first: it is migrated then
    assert store_format(directory) == STORE_FORMAT and reader.count() == len(articles)
    assert {h.id for h in reader.search(SearchQuery(text="자매결연", limit=50)).hits} >= {"s01_daegu_chengdu_release"}
    assert partition(_labels(reader, [a.id for a in articles])) == gold_partition()
    assert {e.article_id for t in reader.read_ties() for e in t.evidence} == before
    writer = EmbeddedStore(directory, writer=True)  # and the indexer finds it current, and writes on
    index_batch(writer, articles[:2])
    assert writer.count() == len(articles)
    assert not list(tmp_path.glob("store.*"))  # no half-migrated or retired copy left beside it


def test_a_writer_killed_mid_commit_does_not_stop_the_next_one(tmp_path, articles):
    """A commit writes its delete files, then meta.json; killed in between, the files stay (listed as managed) and
    meta.json does not name them. The redelivered batch replays the same operations, which name the same delete
    files: without clearing what the dead writer left, every restart fails on them (tantivy's FileAlreadyExists) and
    the stream stops. Staged here: the state before the commit, plus the delete files the commit wrote."""
    import shutil
    from pathlib import Path

    directory, before, after = tmp_path / "store", tmp_path / "before", tmp_path / "after"
    first = articles[:3]
    store = EmbeddedStore(directory, writer=True)
    index_batch(store, articles)
    store.close()
    shutil.copytree(directory, before)
    store = EmbeddedStore(directory, writer=True)
    index_batch(store, first)  # three again: deleted from the first segment (a delete file) and added
    store.close()
    shutil.copytree(directory, after)
    orphans = {p.relative_to(after) for p in after.rglob("*.del")} - {p.relative_to(before) for p in before.rglob("*.del")}
    assert orphans  # the commit did write delete files
    shutil.rmtree(directory)
    shutil.copytree(before, directory)  # killed after writing them, before meta.json:
    for rel in [*orphans, Path(".managed.json"), Path("ties/.managed.json")]:
        shutil.copy(after / rel, directory / rel)
    store = EmbeddedStore(directory, writer=True)
    index_batch(store, first)  # the redelivery
    assert store.count() == len(articles) and len(store.read_ties()) >= 1


def test_a_search_finding_more_ids_than_an_aggregation_may_return_reads_none_at_once(tmp_path):
    """A backfill's batch close in time asks one search for up to CANDIDATE_LIMIT candidates per article: at 500
    articles, 100,000. Where a search finds more than one aggregation may return (tantivy refuses past 65,000
    buckets), it reads none at once, and the caller's searches article by article find the candidates instead."""
    import tantivy

    from services.indexer.embedded import BUCKETS_MAX

    store = EmbeddedStore(tmp_path / "s", writer=True)
    for n in range(BUCKETS_MAX + 1):  # bare documents sharing one key: enough to pass the limit, quick to write
        doc = tantivy.Document()
        doc.add_text("id", f"a{n}")
        doc.add_text("story_keys", "pair:대구광역시→청두시")
        store._writer.add_document(doc)
    store._writer.commit()
    query = store._keys_query(["pair:대구광역시→청두시"], dated=None)
    assert store._read(store._searcher(), query, cap=500 * 200) is None


def test_a_candidate_read_after_a_failed_commit_is_not_kept(tmp_path, articles):
    """A commit that fails may leave its operations pending, and the next commit publishes them: what was read in
    between (the version before) must not be what the store hands placement after that commit."""
    store = _fill(tmp_path, articles, 100)
    article = articles[0]
    fps = [fingerprint(article)]
    real = store._writer

    class FailsOnce:
        failed = False

        def commit(self):
            if not self.failed:
                self.failed = True
                raise OSError("No space left on device")
            return real.commit()

        def __getattr__(self, name):
            return getattr(real, name)

    store._writer = FailsOnce()
    with pytest.raises(OSError):
        store.write([article.model_copy(update={"story_id": "s-moved"})])
    before = {c.article_id: c for c in store.story_candidates(fps, 4)[0]}[article.id]
    assert before.story_id != "s-moved"  # the failed commit's write is not visible yet
    store._commit()  # the next commit publishes what the failed one left pending
    assert _as_read(store.story_candidates(fps, 4)[0]) == _as_read(
        EmbeddedStore(store.directory).story_candidates(fps, 4)[0])
