"""Dead letters stay within one Kafka message whatever failed, and one failure is one letter.

Proves: a letter is measured as sent (JSON escaping included): 300 KB of control bytes, 2 MB of Hangul, 5 MB of
binary and a flood of huge headers all give letters under the limit, with the payload recoverable when whole;
the same message failing at another offset, or again after a replay, has the same letter id.
Does not prove: that the broker accepts them (the reliability suites send real letters through real brokers).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.deadletter import MAX_LETTER_BYTES, dead_letter, original_payload

LIMIT = 1_000_000  # Kafka's default message size (producer max.request.size, broker message.max.bytes)


def _size(letter) -> int:
    return len(letter.model_dump_json().encode())


def test_control_bytes_that_json_escapes_six_fold_still_fit():
    payload = b"\x01" * 300_000
    letter = dead_letter("cleaner", ValueError("bad"), payload, topic="articles.raw", partition=0, offset=1)
    assert _size(letter) <= MAX_LETTER_BYTES < LIMIT
    assert letter.payload_encoding == "base64"
    assert letter.payload_truncated and letter.payload_bytes == 300_000


def test_huge_text_and_binary_are_cut_to_fit_and_say_so():
    for payload in (("가" * 2_000_000).encode(), bytes(range(256)) * 20_000):
        letter = dead_letter("tagger", ValueError("too large"), payload, topic="articles.clean")
        assert _size(letter) <= MAX_LETTER_BYTES and letter.payload_truncated


def test_headers_and_error_text_are_capped():
    headers = {f"h{i}": "x" * 100_000 for i in range(1000)}
    letter = dead_letter("indexer", ValueError("e" * 1_000_000), b"{}", topic="articles.tagged", headers=headers)
    assert _size(letter) <= MAX_LETTER_BYTES
    assert len(letter.headers) <= 32 and all(len(v) <= 1024 for v in letter.headers.values())


def test_one_failing_message_is_one_letter_wherever_it_fails():
    payload = b'{"id": "a", "body": ""}'
    first = dead_letter("cleaner", ValueError("empty"), payload, topic="articles.raw", partition=0, offset=5)
    replayed = dead_letter("cleaner", ValueError("empty"), payload, topic="articles.raw", partition=1, offset=907)
    assert first.id == replayed.id
    assert dead_letter("tagger", ValueError("empty"), payload, topic="articles.clean").id != first.id


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=4096))
def test_a_whole_payload_comes_back_as_it_was(payload):
    letter = dead_letter("cleaner", ValueError("x"), payload, topic="articles.raw")
    assert not letter.payload_truncated and original_payload(letter) == payload


def test_a_deeply_nested_json_file_is_an_error_line_not_a_traceback(tmp_path):
    from services.feed import FeedError, read_articles

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"body": "ok"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    out = list(read_articles([str(deep), str(lines)]))
    errors = [x for x in out if isinstance(x, FeedError)]
    assert len(errors) == 2 and all("nested too deeply" in e.reason for e in errors)
    assert sum(not isinstance(x, FeedError) for x in out) == 1
