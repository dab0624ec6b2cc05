"""Feed reports what was delivered (issue 12, fault 8).
- Malformed inputs of every kind we know give an error line that names the file, never a traceback (no broker).
- Through `citydesk feed` on both brokers: a record over the configured limit is named and not sent, the good ones
  are delivered, and the command exits 1. On Apache Kafka, with the limit set above what the broker takes (16 MB), a
  17 MB record is sent, refused by the broker, named, and the command exits 1: before, it was reported as fed and
  only kafka-python's (silenced) logger knew."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from services.feed import FeedError, read_articles
from tests.conftest import EXAMPLES, ROOT, running_pipeline

GOOD = (EXAMPLES / "01_busan_fukuoka.txt").read_text(encoding="utf-8")


def test_every_malformed_input_is_an_error_line_not_a_traceback(tmp_path):
    files = {
        "cp949.txt": "부산시 기사".encode("cp949"),
        "empty.txt": b"",
        "blank.html": b"   \n ",
        "broken.json": b'{"body": ',
        "number.json": b"5",
        "huge_int.json": b"1" * 5000,
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "wrong_type.json": json.dumps({"id": 5, "body": 7}).encode(),
        "bad_content_type.json": json.dumps({"body": "본문", "content_type": "application/pdf"}).encode(),
        "lines.jsonl": b'{"body": "\xed\x95\x9c"}\n{oops\n' + b"9" * 5000 + b"\n[[[[\n",
        "unreadable.txt": GOOD.encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "unreadable.txt").chmod(0)
    items = list(read_articles([str(tmp_path)]))
    errors = [i for i in items if isinstance(i, FeedError)]
    named = {os.path.basename(e.source.split(":")[0].split("[")[0]) for e in errors}
    expected = set(files)
    if os.geteuid() == 0:  # root reads a file whatever its mode
        expected.discard("unreadable.txt")
    assert named == expected, f"no error line for {expected - named}; articles: {[i for i in items if i not in errors]}"
    assert sum(e.source.startswith(str(tmp_path / "lines.jsonl")) for e in errors) == 3
    assert all(e.reason for e in errors)


def _feed(cfg, paths, **env) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CITYDESK_BOOTSTRAP_SERVERS": cfg.bootstrap_servers, "CITYDESK_DATA_DIR":
                   str(cfg.data_dir), **env}
    return subprocess.run([sys.executable, "-m", "services.cli", "feed", "--quiet", *map(str, paths)], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


@pytest.mark.integration
def test_feed_names_what_was_not_delivered_and_exits_1(tmp_path, broker):
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"id": "big", "body": "가" * 400_000}) + "\n", encoding="utf-8")  # 1.2 MB
    with running_pipeline(tmp_path / "data", broker=broker, stages=()) as pipeline:
        result = _feed(pipeline.cfg, [good, big], CITYDESK_MAX_MESSAGE_BYTES="1000000")
        assert result.returncode == 1, result.stderr
        assert "fed 1 articles" in result.stdout and "1 not fed" in result.stdout
        assert "article big" in result.stderr and "exceeds the 1,000,000-byte message limit" in result.stderr
        assert "Traceback" not in result.stderr
        if broker == "kafka":  # the broker's own limit (16 MB here) refuses what our limit let through
            huge = tmp_path / "huge.jsonl"
            huge.write_text(json.dumps({"id": "huge", "body": "a" * (17 * 1024 * 1024)}) + "\n", encoding="utf-8")
            result = _feed(pipeline.cfg, [good, huge], CITYDESK_MAX_MESSAGE_BYTES=str(32 * 1024 * 1024))
            assert result.returncode == 1, result.stdout + result.stderr
            assert "article huge" in result.stderr and "the broker did not take it" in result.stderr, result.stderr
            assert "fed 1 articles" in result.stdout
