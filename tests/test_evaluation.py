"""`citydesk eval` on the shared seeds: the figures the cleaner and tagger issues are judged by.
Thresholds are the issues' targets, so a regression in any rule fails here."""

from services.evaluation import evaluate, format_report
from tests.conftest import GOLD_FILE, SEEDS


def test_seed_figures_meet_the_targets(gold):
    report = evaluate(GOLD_FILE, SEEDS)
    c, t = report["cleaner"], report["tagger"]
    assert (c["keep_recall"], c["drop_rate"], c["once_rate"]) == (1.0, 1.0, 1.0)
    assert c["metadata_accuracy"] >= 0.95
    for name in ("partners", "countries", "people", "relations"):
        assert t[name]["f1"] >= 0.95, (name, t[name])
    assert t["relation_kinds"]["f1"] >= 0.90
    assert t["sector_primary_recall"] >= 0.95 and t["sector_precision"] >= 0.90
    assert t["exchange_accuracy"] == 1.0
    assert "keep recall" in format_report(report)
