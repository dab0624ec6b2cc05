"""Poison through a real broker and the real workers (issue 12, fault 3), on both brokers: a message that kills its
worker with SIGSEGV, one that hangs it, and one that exhausts its memory (killed with SIGKILL, as the OOM killer
does), fed between good articles. Injected with the test faults of services/faults.py (CITYDESK_TEST_FAULTS).
Before: exit 70, a restart and the same batch again, forever; the partition stalled and /health said ok.
After: the worker dies on the batch, is restarted (`Pipeline.check_alive`), counts the failed starts in its in-flight
journal, and on the third try processes the batch message by message in a child process: each poison message is
dead-lettered with its reason (killed_by_signal, timed_out, out_of_memory) and every good article is indexed.
Does not prove behaviour under a real kernel OOM kill of the isolated child (the signal path is the same)."""

from __future__ import annotations

import json
import time

import pytest

from schemas import RawArticle, topics
from services import faults
from services.dlq import read_dead_letters
from services.feed import producer, send_raw
from services.indexer import open_store
from services.pipeline import wait_until_done
from tests.conftest import EXAMPLES, pipeline_figures, report, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
GOOD_TEXT = (EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8")
POISON = {"crash": "killed_by_signal", "hang": "timed_out", "memory": "out_of_memory"}


def test_a_message_that_kills_hangs_or_exhausts_the_cleaner_is_isolated_and_dead_lettered(tmp_path, broker,
                                                                                          monkeypatch):
    monkeypatch.setenv(faults.ENV, json.dumps({"stages": ["cleaner"]}))
    with running_pipeline(tmp_path, broker=broker, batch_size=50, message_budget_s=3.0, isolate_after=2) as pipeline:
        cfg = pipeline.cfg
        goods = [RawArticle(url=f"http://good.example/{n}", body=GOOD_TEXT) for n in range(20)]
        prod = producer(cfg)
        for raw in goods[:10]:
            send_raw(prod, raw)
        for name in POISON:  # one key: one partition, consecutive offsets, one batch
            poison = RawArticle(id=f"poison-{name}", body=f"{GOOD_TEXT}\nCITYDESK-FAULT-{name.upper()}")
            prod.send(topics.RAW, key=b"poison", value=poison.model_dump_json().encode())
        for raw in goods[10:]:
            send_raw(prod, raw)
        prod.flush()
        prod.close()
        started = time.monotonic()
        ids = [r.id for r in goods] + [f"poison-{name}" for name in POISON]
        indexed, dead = wait_until_done(pipeline, ids, timeout=300, progress=False)
        recovered_s = time.monotonic() - started
        letters = {d.article_id: d for d in read_dead_letters(cfg) if d.article_id}
        restarts = pipeline.restarts.get(("cleaner", 0), 0)
        report("poison (SIGSEGV, hang, memory at the cleaner)", broker=broker, fed=len(ids), indexed=len(indexed),
               documents=open_store(cfg).count(), dead_lettered=len(dead), cleaner_restarts=restarts,
               recovered_s=round(recovered_s, 1), **pipeline_figures(cfg, len(ids)))
        assert indexed == {r.id for r in goods}
        assert {aid: letters[aid].error_type for aid in dead} == {f"poison-{k}": v for k, v in POISON.items()}
        assert "SIGSEGV" in letters["poison-crash"].error
        assert restarts >= 2, f"the cleaner was restarted {restarts} times: the poison never killed it?"
        isolated = sum(json.loads(p.read_text())["isolated"] for p in cfg.status_dir.glob("cleaner-*.json"))
        assert isolated >= 1
