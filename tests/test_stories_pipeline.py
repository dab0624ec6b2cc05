"""Stories and ties through the real pipeline, on both brokers (tansu, and a local Apache Kafka): the broker, the
cleaner, tagger and indexer worker processes, the embedded store as the stories' window and the ties' home.

Proves, on each broker:
- the five seeds fed as `citydesk feed` sends them: seeds 001 and 003 (one meeting, two outlets) share a story_id and
  the other three are alone; the register holds 대구광역시–청두시 (sister_city), 서울특별시–충칭시 (friendship_city
  since 2019 as stated, 2 articles, 1 story), 대구광역시–타이베이시 (sister_city since 2010), 대전광역시–빈증성 and
  대전광역시–탕그랑셀라탄, each kind with its evidence sentence; `citydesk ties` prints them;
- feeding the seeds again changes no story and no tie (waited for by the indexer's own counters);
- the indexer killed with SIGKILL while a batch is in flight (its own counters show one taken and not finished:
  being placed, written, relabelled or folded into ties) and restarted: the batch comes back (the indexers received
  every new article plus that batch again), our story fixtures and the seeds come out exactly in their gold stories,
  and the whole register (53 articles: fixtures, seeds, examples, cleaner fixtures) equals the one the same articles
  give in-process without a kill.
Does not prove: Elasticsearch in the stream (tests/test_stories_stores.py covers that store in-process), several
indexers at once, a kill at every step of a batch (tests/test_placement.py injects those in-process).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable

import pytest

from schemas import RawArticle
from services.cli import build_parser
from services.feed import producer, read_articles, send_raw
from services.health import read_statuses
from services.indexer import open_store
from services.indexer.embedded import EmbeddedStore
from services.indexer.placement import index_batch
from services.pipeline import feed_paths, wait_until_done
from tests.conftest import EXAMPLES, ROOT, SEEDS, report, running_pipeline
from tests.stories_support import (
    SEEDS_ONE_STORY,
    comparable,
    gold_partition,
    partition,
    seed_names,
    seed_raws,
    story_fixture_raws,
)

pytestmark = pytest.mark.integration
FILLER = (EXAMPLES, ROOT / "tests" / "fixtures" / "raw", ROOT / "tests" / "fixtures" / "heldout" / "raw")
SEED_TIES = {  # tie → (a kind it shows, since as stated or derived, or None)
    "대구광역시|청두시": ("sister_city", None),
    "서울특별시|충칭시": ("friendship_city", 2019),
    "대구광역시|타이베이시": ("sister_city", 2010),
    "대전광역시|빈증성": ("sister_city", None),
    "대전광역시|탕그랑셀라탄": ("friendship_city", 2016),
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, broker):
    with running_pipeline(tmp_path_factory.mktemp(f"stories-{broker}"), broker=broker, batch_size=4) as p:
        yield p


def wait_for(what: str, condition: Callable[[], bool], pipeline, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f} s"
        pipeline.check_alive()
        time.sleep(0.2)


def indexer_counted(cfg, counter: str = "consumed") -> int:
    """Messages every indexer process of this pipeline received (taken, before processing) or consumed (finished),
    killed ones included."""
    return sum(s[counter] for s in read_statuses(cfg.status_dir, include_exited=True) if s["stage"] == "indexer")


def own_status(pipeline) -> dict:
    """The running indexer's own counters (services/health.py)."""
    path = pipeline.cfg.status_dir / f"indexer-{pipeline.workers['indexer'][0].pid}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"received": 0, "consumed": 0}


def labels(store, ids) -> dict[str, str]:
    return {i: store.get(i)["story_id"] for i in ids}


def test_the_seeds_stories_and_register_and_feeding_them_again_changes_nothing(pipeline, capsys):
    cfg = pipeline.cfg
    ids, errors = feed_paths(cfg, [str(SEEDS)], progress=False)
    assert errors == [] and len(ids) == 5
    indexed, dead = wait_until_done(pipeline, ids, timeout=300, progress=False)
    assert indexed == set(ids) and dead == set()
    # Searchable is not yet done: the indexer folds the ties after writing the articles, and acknowledges after both.
    wait_for("the indexer acknowledged the seeds (their ties written)",
             lambda: indexer_counted(cfg) >= max(5, indexer_counted(cfg, "received")), pipeline)
    store = open_store(cfg)
    names = seed_names()
    by_seed = {names[i]: story for i, story in labels(store, ids).items()}
    assert by_seed[SEEDS_ONE_STORY[0]] == by_seed[SEEDS_ONE_STORY[1]]
    assert len(set(by_seed.values())) == 4

    ties = {t.id: t for t in store.read_ties()}
    for key, (kind, since) in SEED_TIES.items():
        tie = ties[key]
        assert kind in {k.kind for k in tie.kinds}, key
        if since:
            assert tie.since == since and tie.since_source == "stated", key
        assert [s for e in tie.evidence for s in e.sentences if s.kind == kind], f"{key}: no {kind} sentence"
    seoul = ties["서울특별시|충칭시"]
    assert (seoul.articles, seoul.stories) == (2, 1)

    args = build_parser().parse_args(["ties"])
    assert args.func(args, cfg) == 0
    printed = capsys.readouterr().out
    assert all(key.split("|")[1] in printed for key in SEED_TIES)

    before, register = labels(store, ids), comparable(store.read_ties())
    consumed = indexer_counted(cfg)
    again, _ = feed_paths(cfg, [str(SEEDS)], progress=False)
    assert again == ids
    wait_for("the indexer consumed the seeds fed again", lambda: indexer_counted(cfg) >= consumed + 5, pipeline)
    assert labels(store, ids) == before and comparable(store.read_ties()) == register
    assert store.count() == 5
    report("stories: seeds fed twice", broker=cfg.broker, stories=len(set(before.values())), ties=len(register))


def _filler() -> list[RawArticle]:
    return [a for a in read_articles([str(d) for d in FILLER]) if isinstance(a, RawArticle)]


def _reference(raws: list[RawArticle], tmp_path) -> EmbeddedStore:
    """The same articles placed in-process, in batches of four, with no kill."""
    from services.cleaner import CleaningError, clean
    from services.tagger import tag

    articles = []
    for raw in raws:
        try:
            articles.append(tag(clean(raw)))
        except CleaningError:
            continue
    store = EmbeddedStore(tmp_path / "reference", writer=True)
    for i in range(0, len(articles), 4):
        index_batch(store, articles[i:i + 4])
    return store


def test_killing_the_indexer_while_it_places_stories_gives_the_same_stories_and_register(pipeline, tmp_path):
    cfg = pipeline.cfg
    store = open_store(cfg)
    fixtures, filler = story_fixture_raws(), _filler()
    new = fixtures + filler
    received_before, own_before = indexer_counted(cfg, "received"), own_status(pipeline)["consumed"]
    prod = producer(cfg)
    for raw in new:
        send_raw(prod, raw)
    prod.flush()
    prod.close()
    # Kill while a batch is in flight (taken, not finished: placing its stories, writing, folding ties), once a few
    # batches of the new articles are done. The indexer's own counters say when (polled every 10 ms).
    deadline = time.monotonic() + 180
    while True:
        st = own_status(pipeline)
        if st["consumed"] >= own_before + 8 and st["received"] > st["consumed"]:
            break
        assert st["consumed"] < own_before + len(new), f"the indexer finished before a batch was seen in flight: {st}"
        assert time.monotonic() < deadline, f"no batch of the indexer seen in flight within 180 s: {st}"
        time.sleep(0.01)
    proc = pipeline.workers["indexer"][0]
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    killed_at, in_flight = store.count(), st["received"] - st["consumed"]
    pipeline.start_worker("indexer", 0)

    ids = [r.id for r in new]
    indexed, dead = wait_until_done(pipeline, ids, timeout=300, progress=False)
    all_ids = sorted(indexed | {r.id for r in seed_raws()})
    reference = _reference(seed_raws() + new, tmp_path)
    assert killed_at < len(all_ids), f"the kill came after the stream had finished ({killed_at} documents)"
    assert dead == {r.id for r in new if not reference.get(r.id)}  # what the cleaner refuses, in both
    wanted = received_before + len(indexed) + in_flight  # every new article, and the batch in flight once more
    wait_for("the indexers' counters", lambda: indexer_counted(cfg, "received") >= wanted, pipeline, timeout=30)
    # ... and the running indexer has finished what it took, and folded the ties it put off (once idle for 1 s)
    wait_for("the indexer finished every batch it took and folded its ties",
             lambda: (st := own_status(pipeline))["consumed"] >= st["received"] > 0 and not store.ties_pending(),
             pipeline, timeout=60)
    got = partition(labels(store, all_ids))
    gold_ids = set().union(*gold_partition())
    assert {frozenset(s & gold_ids) for s in got if s & gold_ids} == gold_partition()  # one story per event
    assert got == partition(labels(reference, all_ids))
    assert comparable(store.read_ties()) == comparable(reference.read_ties())
    report("stories: indexer SIGKILL mid-stream", broker=cfg.broker, fed=len(new), documents=store.count(),
           killed_at_documents=killed_at, stories=len(got), ties=len(reference.read_ties()),
           in_flight_at_kill=in_flight, received=indexer_counted(cfg, "received") - received_before)
