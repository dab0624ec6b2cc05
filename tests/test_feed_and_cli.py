import json
import subprocess
import sys

from services.deadletter import dead_letter, original_payload
from services.feed import FeedError, read_articles
from services.stages import StageError, clean_message, parse_json
from tests.conftest import EXAMPLES, ROOT, SEEDS


def test_directories_files_json_and_jsonl_are_read(tmp_path):
    (tmp_path / "a.txt").write_text("제목\n본문입니다.", encoding="utf-8")
    (tmp_path / "b.html").write_text("<html><body><p>본문</p></body></html>", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"id": "x1", "body": "본문"}) + "\n{broken\n" + json.dumps({"body": ""}) + "\n", encoding="utf-8")
    (tmp_path / "d.json").write_text(json.dumps([{"url": "http://e.com/1", "body": "본문"}]), encoding="utf-8")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")
    items = list(read_articles([str(tmp_path)]))
    good = [i for i in items if not isinstance(i, FeedError)]
    bad = [i for i in items if isinstance(i, FeedError)]
    assert [g.content_type for g in good] == ["text/plain", "text/html", "text/plain", "text/plain"]
    assert "x1" in {g.id for g in good}
    assert {b.source.rsplit(":", 1)[-1] for b in bad} == {"2", "3"}
    assert any("empty body" in b.reason for b in bad)


def test_feeding_the_same_file_twice_gives_the_same_id():
    first = [a.id for a in read_articles([str(SEEDS)])]
    assert first == [a.id for a in read_articles([str(SEEDS)])]
    assert len(set(first)) == len(first)


def test_stage_errors_say_what_is_wrong():
    for payload, words in [(b"not json", "not JSON"), (b'{"body": "x", "schema_version": 9}', "schema_version"),
                           (b"\x00\x01", "NUL"), (b"[" * 100000, "nested")]:
        try:
            clean_message(payload)
        except (StageError, ValueError) as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{payload[:20]!r} was accepted")
    assert parse_json(b'{"a": 1}') == {"a": 1}


def test_dead_letter_keeps_binary_payloads_recoverable():
    payload = b"\xff\xfe garbage"
    letter = dead_letter("cleaner", ValueError("x"), payload, topic="articles.raw", partition=0, offset=5)
    assert letter.payload_encoding == "base64" and original_payload(letter) == payload
    again = dead_letter("cleaner", ValueError("x"), payload, topic="articles.raw", partition=0, offset=5)
    assert again.id == letter.id


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, input=stdin, timeout=120)


def test_help_explains_every_command():
    out = _cli("--help").stdout
    for command in ("run", "worker", "feed", "clean", "tag", "search", "eval", "dlq", "setup"):
        assert command in out


def test_clean_and_tag_print_one_json_object_per_file_in_order():
    files = sorted(str(p) for p in EXAMPLES.iterdir())[:3]
    out = _cli("tag", *files)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3 and all(r["title"] for r in rows)
    explain = _cli("clean", "--explain", files[0]).stdout
    assert "KEEP" in explain and "drop" in explain


def test_a_dead_letter_of_a_huge_message_fits_in_a_message():
    from services.deadletter import MAX_PAYLOAD_BYTES

    payload = ('{"body": "' + "가" * 2_000_000 + '"}').encode()
    letter = dead_letter("cleaner", ValueError("too large"), payload, topic="articles.raw", partition=0, offset=1)
    assert letter.payload_truncated and letter.payload_bytes == len(payload)
    assert len(letter.model_dump_json().encode()) < MAX_PAYLOAD_BYTES + 10_000 < 1_000_000
    assert letter.payload_encoding == "utf-8" and letter.payload.startswith('{"body": "가')
