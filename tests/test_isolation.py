"""Poison isolation without a broker: the in-flight journal counts failed starts on the same offsets (a batch finished
while the next one runs leaves the next one's record), and an isolated
run turns the message that crashes, hangs or exhausts memory into a dead-letterable failure while its neighbours
are processed. Uses the real tagger in forked children (Kiwi loaded in the parent), and the test faults of
services/faults.py. The same through the real broker and workers: tests/test_reliability_poison.py."""

from __future__ import annotations

import json

import pytest

from schemas import RawArticle
from services import faults
from services.cleaner import clean
from services.health import WorkerStatus
from services.isolation import Failed, Journal, Poison, run_isolated
from services.stages import parse_json, tag_message
from tests.conftest import EXAMPLES

GOOD = clean(RawArticle(id="good", body=(EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8")))


def test_the_journal_counts_failed_starts_on_the_same_offsets_and_forgets_finished_batches(tmp_path):
    journal = Journal(tmp_path)
    batch = {("articles.raw", 0): [10, 11, 12], ("articles.raw", 1): [4]}
    assert journal.begin(batch) == 1
    assert journal.begin(batch) == 2  # the first try never finished (the process died)
    assert journal.begin({("articles.raw", 0): [11, 12, 13, 14]}) == 3  # redelivered, batched differently
    journal.done({("articles.raw", 0): [11, 12, 13, 14]})
    assert journal.begin({("articles.raw", 0): [15, 16]}) == 1
    assert journal.begin({("articles.raw", 1): [5]}) == 1  # not the offsets that failed


def test_a_batch_finished_while_the_next_runs_leaves_the_next_ones_record_in_flight(tmp_path):
    """A stage that delivers a batch while it runs the next finishes the first after beginning the second: the
    second's record stays, so a crash in it counts (the poison is isolated after isolate_after tries)."""
    journal = Journal(tmp_path)
    first, second = {("articles.clean", 0): [1, 2], ("articles.clean", 1): [7]}, {("articles.clean", 0): [3, 4]}
    assert journal.begin(first) == 1 and journal.begin(second) == 1
    journal.done(first)
    assert journal.begin(second) == 2  # the second never finished (the process died running it)
    assert journal.begin({("articles.clean", 1): [7]}) == 1  # the first finished on its other partition too


def test_a_batch_that_crashes_beside_the_one_before_it_is_counted_when_both_come_back(tmp_path):
    """The first batch is still on its way when the second, begun beside it, crashes the worker: the restart reads
    from the first one's offsets again. The second is counted each time it comes back, and isolated (attempt 3 past
    isolate_after 2) on its third; the first, innocent, never counts past 2."""
    journal = Journal(tmp_path)
    first, second = {("articles.clean", 0): list(range(100, 150))}, {("articles.clean", 0): list(range(150, 200))}
    attempts = []
    for _ in range(3):  # three starts, each crashing in the second batch (no done)
        attempts.append(journal.begin(first))
        attempts.append(journal.begin(second))
        journal.done(first)
    assert attempts == [1, 1, 1, 2, 1, 3]


def test_an_isolated_run_dead_letters_the_crash_the_hang_and_the_memory_hog_and_keeps_the_rest(monkeypatch):
    monkeypatch.setenv(faults.ENV, json.dumps({"stages": ["tagger"]}))
    function = faults.wrap("tagger", tag_message)
    tag_message(GOOD.model_dump_json().encode())  # Kiwi loaded in the parent, as in a worker
    good = GOOD.model_dump_json().encode()
    poison = {name: GOOD.model_copy(update={"id": name, "body": GOOD.body + f" CITYDESK-FAULT-{name.upper()}"})
              .model_dump_json().encode() for name in ("crash", "hang", "memory")}
    payloads = [good, poison["crash"], good, poison["hang"], b"{not json", poison["memory"], good]
    outcomes = run_isolated(function, payloads, budget_s=3.0, memory_mb=512)
    kinds = [getattr(o, "error_type", "ok") for o in outcomes]
    assert kinds == ["ok", "killed_by_signal", "ok", "timed_out", "StageError", "out_of_memory", "ok"]
    assert "SIGSEGV" in str(outcomes[1]) and "3 s budget" in str(outcomes[3])
    assert isinstance(outcomes[1], Poison) and isinstance(outcomes[4], Failed) and "not JSON" in str(outcomes[4])
    assert all(o.id == "good" and o.relations for o in (outcomes[0], outcomes[2], outcomes[6]))


def test_health_fails_when_one_message_runs_past_its_budget_or_messages_wait_with_no_progress():
    status = WorkerStatus("tagger", budget_s=5.0, stall_after_s=60.0, ready=True)
    now = 1_000_000.0
    status.last_progress_at = now
    assert status.problem(now) is None
    status.message_started_at = now - 6
    assert status.problem(now).startswith("hung")
    status.message_started_at = None
    status.waiting = 3
    assert status.problem(now + 30) is None  # working through them
    assert status.problem(now + 61).startswith("stalled")
    status.waiting = 0
    assert status.problem(now + 600) is None  # idle: nothing waits


@pytest.mark.parametrize("payload", [b"[" * 100_000 + b"]" * 100_000])
def test_parse_errors_stay_ordinary_failures(payload):
    with pytest.raises(Exception, match="nested"):
        parse_json(payload)
