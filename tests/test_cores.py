"""Where `citydesk run` places its processes (services/cores.py), as a plan: each tagger a core of its own when a
core is left for the others, else no placement at all.
Proves the plan for one to four cores and one or two taggers, and that the setting turns it off. Does not prove that
the processes run where planned (tests/test_pipeline_integration.py reads every thread's cores on both brokers) nor
the throughput it buys (`citydesk bench`)."""

from __future__ import annotations

from services.cores import SHARED, plan


def test_on_two_cores_the_tagger_has_the_last_one_and_the_others_share_the_first():
    assert plan({"cleaner": 1, "tagger": 1, "indexer": 1}, [0, 1]) == {"tagger": {1}, SHARED: {0}}


def test_on_four_cores_two_taggers_have_one_each_and_the_others_share_two():
    assert plan({"cleaner": 1, "tagger": 2, "indexer": 1}, [0, 1, 2, 3]) == {
        "tagger": {3}, "tagger-1": {2}, SHARED: {0, 1}}


def test_without_a_core_left_for_the_others_nothing_is_placed():
    assert plan({"tagger": 2}, [0, 1]) == {}  # one tagger would share a core the other has alone
    assert plan({"cleaner": 1, "tagger": 1, "indexer": 1}, [0]) == {}


def test_without_a_tagger_or_with_the_placement_off_nothing_is_placed():
    assert plan({"cleaner": 1, "indexer": 1}, [0, 1]) == {}
    assert plan({"cleaner": 1, "tagger": 1, "indexer": 1}, [0, 1], placement="off") == {}


def test_the_cores_are_the_ones_this_process_may_use_not_zero_to_n():
    assert plan({"tagger": 1}, [4, 6, 5]) == {"tagger": {6}, SHARED: {4, 5}}
