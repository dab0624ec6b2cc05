"""A rebalance mid-stream (issue 12), on both brokers: two taggers share articles.clean; one is killed with a batch
in flight (seen in its own status file) and started again, so the group rebalances twice while 300 articles and two
versions of one article flow. The store ends with every article once, and the later version of the twice-fed article
(its citydesk-version is higher; both versions share a key, so one partition and one order) is the one kept.
Does not prove a rebalance of the indexer with Elasticsearch as the store (one indexer writes here)."""

from __future__ import annotations

import json
import signal
import time

import pytest

from schemas import RawArticle
from services import faults
from services.bench import synthetic_articles
from services.feed import producer, send_raw
from services.indexer import open_store
from services.pipeline import wait_until_done
from tests.conftest import EXAMPLES, pipeline_figures, report, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
N = 300
GOOD_TEXT = (EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8")


def _status(pipeline, n: int) -> dict:
    path = pipeline.cfg.status_dir / f"tagger-{pipeline.workers['tagger'][n].pid}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"received": 0, "consumed": 0}


def test_a_tagger_restarted_mid_stream_loses_nothing_and_the_last_version_wins(tmp_path, broker, monkeypatch):
    monkeypatch.setenv(faults.ENV, json.dumps({"stages": ["tagger"], "slow_s": 0.02}))
    with running_pipeline(tmp_path, broker=broker, batch_size=20, stages=("cleaner", "indexer")) as pipeline:
        cfg = pipeline.cfg
        pipeline.start_worker("tagger", 0)
        pipeline.start_worker("tagger", 1)
        raws = synthetic_articles(N)
        first = RawArticle(id="two-versions", body=GOOD_TEXT)
        second = RawArticle(id="two-versions", body=GOOD_TEXT.replace("박형준 부산시장", "박형준 부산시장(둘째 판)"))
        prod = producer(cfg)
        send_raw(prod, first)
        for raw in raws:
            send_raw(prod, raw)
        prod.flush()
        deadline = time.monotonic() + 180
        while True:  # both taggers at work, and tagger 0 with a batch taken and not finished
            zero, one = _status(pipeline, 0), _status(pipeline, 1)
            if zero["consumed"] >= 20 and zero["received"] > zero["consumed"] and one["received"] > 0:
                break
            assert zero["consumed"] + one["consumed"] < N, f"the taggers finished before the restart: {zero}, {one}"
            assert time.monotonic() < deadline, f"no batch of tagger 0 in flight within 180 s: {zero}, {one}"
            time.sleep(0.02)
        victim = pipeline.workers["tagger"][0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        killed_at = time.monotonic()
        send_raw(prod, second)  # fed while the group rebalances
        prod.flush()
        prod.close()
        pipeline.start_worker("tagger", 0)
        ids = [r.id for r in raws] + ["two-versions"]
        indexed, dead = wait_until_done(pipeline, ids, timeout=600, progress=False)
        recovered_s = time.monotonic() - killed_at
        store = open_store(cfg)
        deadline = time.monotonic() + 60
        while "(둘째 판)" not in store.get("two-versions")["body"]:
            assert time.monotonic() < deadline, "the second version was not in the store 60 s after the rest"
            time.sleep(0.2)
        report("rebalance (two taggers, one SIGKILLed mid-batch and restarted)", broker=broker, fed=N + 2,
               indexed=len(indexed), documents=store.count(), dead_lettered=len(dead),
               in_flight_at_kill=zero["received"] - zero["consumed"], recovered_s=round(recovered_s, 1),
               **pipeline_figures(cfg, N + 2))
        assert dead == set() and indexed == set(ids)
        assert store.count() == N + 1
        time.sleep(3)  # nothing older arrives later and overwrites it
        assert "(둘째 판)" in store.get("two-versions")["body"]
