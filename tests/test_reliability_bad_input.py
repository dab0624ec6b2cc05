"""Bad input through a real broker and the three real workers (issue 6), on both brokers (tansu and a local Apache
Kafka 4): each kind of bad message gets a clear reason in articles.dlq or a defined outcome, and the good messages
before and after it are indexed; the same id twice keeps the last version.
Each bad message is asserted one by one (issue 12): its own letter, found by the hash of its bytes, names the stage,
the topic, the reason, how the payload is kept (UTF-8 text or base64) and whether it was truncated; some enter at
articles.clean and articles.tagged. Proves this with the embedded store; does not prove Elasticsearch's own
rejections (tests/test_elasticsearch_node.py)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

import pytest

from schemas import RawArticle, topics
from services.deadletter import original_payload
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


@dataclass(frozen=True)
class Bad:
    payload: bytes
    words: str  # in the letter's reason
    topic: str = topics.RAW  # where it enters
    encoding: str = "utf-8"  # how the letter keeps the payload
    truncated: bool = False  # whether the letter keeps only its first part

    @property
    def stage(self) -> str:
        return {topics.RAW: "cleaner", topics.CLEAN: "tagger", topics.TAGGED: "indexer"}[self.topic]


BAD = {
    "not_json": Bad(b"{this is not json", "not JSON"),
    "invalid_utf8": Bad(b'{"body": "\xff\xfe\xfd"}', "not UTF-8", encoding="base64"),
    "missing_fields": Bad(_raw(url="http://example.com/x"), "body"),
    "unknown_schema_version": Bad(_raw(id="v9", body=GOOD_TEXT, schema_version=9), "unsupported schema_version 9"),
    "empty_body": Bad(_raw(id="empty", body="   \n  "), "empty body"),
    "only_boilerplate": Bad(_raw(id="boiler", body=BOILERPLATE), "no article text"),
    "html_without_article": Bad(_raw(id="nohtml", content_type="text/html",
                                     body="<html><body><nav>홈 | 정치</nav><footer>Copyright</footer></body></html>"),
                                "no article text"),
    "five_mb_body": Bad(_raw(id="huge", body="가" * (5 * 1024 * 1024 // 3)), "exceeds", truncated=True),
    "binary_garbage": Bad(bytes(range(256)) * 64, "not UTF-8", encoding="base64"),
    "nul_bytes": Bad(_raw(id="nul", body="본문\x00\x00바이너리"), "NUL"),
    "one_megabyte_line": Bad(_raw(id="longline", body="다" * (1024 * 1024 // 3)), "no article text", truncated=True),
    "deeply_nested": Bad(b"[" * 100_000 + b"]" * 100_000, "nested"),
    # entering later stages: what a buggy or foreign producer could put on articles.clean and articles.tagged
    "clean_not_json": Bad(b"<html>not a clean article</html>", "not JSON", topic=topics.CLEAN),
    "clean_without_title": Bad(_raw(id="notitle", body="본문"), "title", topic=topics.CLEAN),
    "clean_control_bytes": Bad(b'{"id": "ctl", "title": "\x01\x02", "body": "\x03"}', "Invalid control character",
                               topic=topics.CLEAN, encoding="base64"),
    "tagged_wrong_type": Bad(_raw(id="wrongtype", title="제목", body="본문", places="서울"), "places",
                             topic=topics.TAGGED),
    "tagged_nul": Bad(b'{"id": "tnul", "title": "\x00", "body": "x"}', "NUL", topic=topics.TAGGED, encoding="base64"),
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, broker):
    with running_pipeline(tmp_path_factory.mktemp(f"reliability-{broker}"), broker=broker, log_format="json") as p:
        yield p


def test_every_bad_message_is_dead_lettered_with_its_reason_and_good_ones_flow(pipeline):
    prod = producer(pipeline.cfg)
    good_ids = []
    for n, (name, bad) in enumerate(BAD.items()):
        before = RawArticle(url=f"http://good.example/{n}/before", body=GOOD_TEXT)
        after = RawArticle(url=f"http://good.example/{n}/after", body=GOOD_TEXT)
        for article in (before, after):
            good_ids.append(article.id)
        prod.send(topics.RAW, key=before.id.encode(), value=before.model_dump_json().encode())
        prod.send(bad.topic, key=name.encode(), value=bad.payload)
        prod.send(topics.RAW, key=after.id.encode(), value=after.model_dump_json().encode())
    prod.flush()
    prod.close()
    indexed, _ = wait_until_done(pipeline, good_ids, timeout=300, progress=False)
    assert indexed == set(good_ids)
    by_hash = {}
    deadline = time.monotonic() + 60
    while len(by_hash) < len(BAD):  # every letter is sent before its batch is acknowledged; reading may lag
        by_hash = {d.payload_sha256: d for d in read_dead_letters(pipeline.cfg)}
        assert time.monotonic() < deadline, f"{len(by_hash)} dead letters after 60 s for {len(BAD)} bad messages"
    assert len(by_hash) == len(BAD)
    for name, bad in BAD.items():  # one by one: the letter of exactly this message, and what it says
        letter = by_hash.get(hashlib.sha256(bad.payload).hexdigest())
        assert letter is not None, f"{name}: no dead letter for it"
        seen = (letter.stage, letter.source_topic, letter.payload_encoding, letter.payload_truncated)
        assert seen == (bad.stage, bad.topic, bad.encoding, bad.truncated), f"{name}: {seen}"
        assert bad.words in letter.error, f"{name}: {letter.error_type}: {letter.error[:300]}"
        assert letter.offset is not None and letter.payload_bytes == len(bad.payload), name
        if not bad.truncated:  # whole, and the very bytes: replay sends them again
            assert original_payload(letter) == bad.payload, name
    report("bad input", broker=pipeline.cfg.broker, fed=len(good_ids) + len(BAD), indexed=len(indexed),
           documents=open_store(pipeline.cfg).count(), dead_lettered=len(by_hash),
           **pipeline_figures(pipeline.cfg, len(good_ids) + len(BAD) - 5))


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


def test_worker_logs_stay_json_after_faust_starts(pipeline):
    """Issue 12, item 11: with CITYDESK_LOG_FORMAT=json, faust replaced the workers' log handler with its own text
    one when it started; every line our workers log is now one JSON object, the dead-letter lines with their fields."""
    lines = [line for line in (pipeline.cfg.log_dir / "cleaner.log").read_text(errors="replace").splitlines()
             if line.strip()]
    records, other = [], []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            other.append(line)
    assert not other, f"{len(other)} of {len(lines)} lines are not JSON, e.g. {other[:3]}"
    dead = [r for r in records if "dead-lettered articles.raw" in r["message"]]
    assert dead and all(r["stage"] == "cleaner" and r["level"] == "WARNING" for r in dead)
    assert any(r.get("article_id") == "v9" for r in dead)
    assert any(" in, " in r["message"] and "duration_s" in r for r in records)  # the loop's line, after faust's setup
