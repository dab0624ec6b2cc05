"""`citydesk bench --backfill` (issue 16, item 2): the archive it makes and its run through a real pipeline.

Proves: the archive's copies have their own ids, URLs and dates (the cleaner reads the rewritten date, in each page's
own format, and the dates advance), and are made one at a time; the backfill runs through a real pipeline (tansu,
three worker processes) and reports each step, the broker's growth, the store's size and the searches (in-process
and through `citydesk search`, with and without a desk) with the shape `--json` prints; a budget stops it early and
says where.
Does not prove any figure: speeds are `citydesk bench`'s, never a test's (README "A backfill" has the measured ones).
"""

from __future__ import annotations

import inspect
from datetime import datetime
from pathlib import Path

import pytest

from services.backfill import archive, redate, run_backfill
from services.cleaner import clean
from services.settings import Settings
from tests.conftest import free_port


def test_redate_keeps_each_pages_format() -> None:
    when = datetime(2019, 3, 7)
    assert redate("입력 2024.05.21 10:00", when) == "입력 2019.03.07 10:00"
    assert redate("2024-05-21 / 2024/02/15", when) == "2019-03-07 / 2019/03/07"
    assert redate("2024년 5월 21일 오전", when) == "2019년 3월 7일 오전"
    assert redate("전화 02-2024-0521, 20240521", when) == "전화 02-2024-0521, 20240521"  # not dates


def test_archive_copies_have_their_own_ids_urls_and_advancing_dates() -> None:
    assert inspect.isgenerator(archive(3))  # made one at a time, never held whole
    articles = list(archive(200))
    assert len({a.id for a in articles}) == 200 and len({a.url for a in articles}) == 200
    dates = [clean(a).published_at for a in articles]
    dated = [d for d in dates if d is not None]
    assert len(dated) >= 150, f"the cleaner found a date in {len(dated)} of 200 copies only"
    assert len({d.date() for d in dated}) >= 100, "copies of one text should not share their dates"
    assert min(dated).year == 2015 and max(dated).year >= 2024
    first, last = articles[0], articles[46]  # the same source text, 46 texts apart
    assert first.body != last.body


@pytest.mark.integration
def test_backfill_through_a_real_pipeline_reports_steps_memory_store_and_searches(tmp_path: Path) -> None:
    cfg = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=tmp_path / "bf", partitions=2,
                   batch_within_s=0.2)
    report = run_backfill(cfg, 200, every=100, search_at=(), cli_queries=1)
    assert [s["articles"] >= m for s, m in zip(report["steps"], (100, 200), strict=True)] == [True, True]
    assert report["stopped_at"] is None
    assert report["broker_rss_end_mb"] > report["broker_rss_start_mb"] > 0
    assert report["broker_mb_per_1k"] > 0 and report["store_mb"] > 0
    search = report["search"]["200"]
    assert search["documents"] == 201  # the archive and the warm-up article
    assert set(search) >= {"in_process", "cli_no_desk", "cli_with_desk"}
    assert search["in_process"]["queries"] == 30 and search["cli_with_desk"]["queries"] == 1


@pytest.mark.integration
def test_a_budget_stops_the_backfill_at_the_step_it_passes(tmp_path: Path) -> None:
    cfg = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=tmp_path / "bf", partitions=2,
                   batch_within_s=0.2)
    # The feed runs up to two steps ahead of the store, and the stop drains what was fed: with 400, a pipeline that
    # indexed 200 within one 0.5 s poll had all 400 fed by the first step, so the stop came too late to be seen.
    # With 2,000 the stop is well short of the archive however fast the pipeline is here.
    report = run_backfill(cfg, 2000, every=100, search_at=(), cli_queries=1, budget_s=0.0)
    assert report["stopped_at"] is not None and 100 <= report["stopped_at"] < 2000
    assert len(report["steps"]) == 1
    assert list(report["search"]) == ["100"]
