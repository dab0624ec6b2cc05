"""Bad input through a real broker and the three real workers (issue 6), on both brokers (tansu and a local Apache
Kafka 4): each kind of bad message gets a clear reason in articles.dlq or a defined outcome, and the good messages
before and after it are indexed; the same id twice keeps the last version.
Proves this with the embedded store; does not prove: bad input entering at articles.clean or articles.tagged
(all of it enters at the cleaner), nor Elasticsearch's own rejections (tests/test_elasticsearch_node.py)."""

from __future__ import annotations

import json
import time

import pytest

from schemas import RawArticle, topics
from services.dlq import read_dead_letters
from services.feed import producer
from services.indexer import open_store
from services.pipeline import wait_until_done
from tests.conftest import EXAMPLES, pipeline_figures, report, running_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

GOOD_TEXT = (EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8")
BOILERPLATE = "광고\n광고\n댓글목록\n등록된 댓글이 없습니다.\n무단전재 및 재배포 금지\n"


def _raw(**fields) -> bytes:
    return json.dumps({"schema_version": 1, **fields}, ensure_ascii=False).encode()


# name → (payload, expected error words in the dead letter)
BAD = {
    "not_json": (b"{this is not json", "not JSON"),
    "invalid_utf8": (b'{"body": "\xff\xfe\xfd"}', "not UTF-8"),
    "missing_fields": (_raw(url="http://example.com/x"), "body"),
    "unknown_schema_version": (_raw(id="v9", body=GOOD_TEXT, schema_version=9), "unsupported schema_version 9"),
    "empty_body": (_raw(id="empty", body="   \n  "), "empty body"),
    "only_boilerplate": (_raw(id="boiler", body=BOILERPLATE), "no article text"),
    "html_without_article": (_raw(id="nohtml", content_type="text/html",
                                  body="<html><body><nav>홈 | 정치</nav><footer>Copyright</footer></body></html>"),
                             "no article text"),
    "five_mb_body": (_raw(id="huge", body="가" * (5 * 1024 * 1024 // 3)), "exceeds"),
    "binary_garbage": (bytes(range(256)) * 64, "not UTF-8"),
    "nul_bytes": (_raw(id="nul", body="본문\x00\x00바이너리"), "NUL"),
    "one_megabyte_line": (_raw(id="longline", body="다" * (1024 * 1024 // 3)), "no article text"),  # overlong_line
    "deeply_nested": (b"[" * 100_000 + b"]" * 100_000, "nested"),
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, broker):
    with running_pipeline(tmp_path_factory.mktemp(f"reliability-{broker}"), broker=broker) as p:
        yield p


def test_every_bad_message_is_dead_lettered_with_its_reason_and_good_ones_flow(pipeline):
    prod = producer(pipeline.cfg)
    good_ids = []
    for n, (name, (payload, _)) in enumerate(BAD.items()):
        before = RawArticle(url=f"http://good.example/{n}/before", body=GOOD_TEXT)
        after = RawArticle(url=f"http://good.example/{n}/after", body=GOOD_TEXT)
        for article in (before, after):
            good_ids.append(article.id)
        prod.send(topics.RAW, key=before.id.encode(), value=before.model_dump_json().encode())
        prod.send(topics.RAW, key=name.encode(), value=payload)
        prod.send(topics.RAW, key=after.id.encode(), value=after.model_dump_json().encode())
    prod.flush()
    prod.close()
    indexed, _ = wait_until_done(pipeline, good_ids, timeout=300, progress=False)
    assert indexed == set(good_ids)
    letters = list(read_dead_letters(pipeline.cfg))
    missing = {name: words for name, (_, words) in BAD.items()
               if not any(words in d.error for d in letters)}
    assert missing == {}, f"no dead letter with these reasons: {missing}"
    assert all(d.stage == "cleaner" and d.source_topic == topics.RAW and d.offset is not None for d in letters)
    assert len(letters) == len(BAD)
    report("bad input", broker=pipeline.cfg.broker, fed=len(good_ids) + len(BAD), indexed=len(indexed),
           documents=open_store(pipeline.cfg).count(), dead_lettered=len(letters),
           **pipeline_figures(pipeline.cfg, len(good_ids) + len(BAD)))


def test_the_same_id_twice_with_different_content_keeps_the_last_one(pipeline):
    first = RawArticle(id="same-id", body=GOOD_TEXT)
    second = RawArticle(id="same-id", body=GOOD_TEXT.replace("박형준 부산시장", "박형준 부산시장(수정)"))
    prod = producer(pipeline.cfg)
    for article in (first, second):  # same key → same partition → processed in this order
        prod.send(topics.RAW, key=b"same-id", value=article.model_dump_json().encode())
    prod.flush()
    prod.close()
    marker = RawArticle(id="same-id-marker", body=GOOD_TEXT)
    prod = producer(pipeline.cfg)
    prod.send(topics.RAW, key=b"same-id", value=marker.model_dump_json().encode())  # behind them, same partition
    prod.flush()
    prod.close()
    wait_until_done(pipeline, ["same-id", "same-id-marker"], timeout=120, progress=False)
    assert "(수정)" in open_store(pipeline.cfg).get("same-id")["body"]


def _indexer_consumed(cfg) -> int:
    from services.health import read_statuses

    return sum(st["consumed"] for st in read_statuses(cfg.status_dir, include_exited=True) if st["stage"] == "indexer")


def test_an_old_version_replayed_after_a_newer_one_never_overwrites_it(pipeline):
    """Issue 12, fault 9: the letter of an old version (fed at t=1000 ms, dead-lettered while the store was down) is
    replayed after a newer version was indexed; the store keeps the newer one. Before: the replay overwrote it."""
    from datetime import UTC, datetime

    from schemas import DeadLetter
    from services.dlq import replay
    from services.feed import send_raw

    cfg = pipeline.cfg
    old = RawArticle(id="versioned", body=GOOD_TEXT)
    new = RawArticle(id="versioned", body=GOOD_TEXT.replace("박형준 부산시장", "박형준 부산시장(최신)"))
    prod = producer(cfg)
    send_raw(prod, new)
    prod.flush()
    prod.close()
    wait_until_done(pipeline, [new.id], timeout=120, progress=False)
    now = datetime.now(UTC)
    letter = DeadLetter(id="old-version", stage="indexer", error_type="StoreUnavailable", error="the store was down",
                        article_id=old.id, source_topic=topics.RAW, partition=0, offset=0,
                        payload=old.model_dump_json(), headers={topics.VERSION_HEADER: "1000"},
                        first_seen=now, last_seen=now)
    before = _indexer_consumed(cfg)
    assert replay(cfg, [letter]) == 1
    deadline = time.monotonic() + 120
    while _indexer_consumed(cfg) <= before:  # the indexer's own counter: the replayed version reached the store
        assert time.monotonic() < deadline, f"the indexer consumed nothing in 120 s after the replay ({before})"
        time.sleep(0.2)
    stored = open_store(pipeline.cfg).get("versioned")
    assert "(최신)" in stored["body"], "the replayed old version overwrote the newer article"
    assert stored["version"] > 1000
