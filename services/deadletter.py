"""Dead letters: what a stage could not process, with the reason and the original payload."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

from pydantic import ValidationError

from schemas import DeadLetter

# A letter must itself fit in one Kafka message (1 MB by default, producer and broker): what is measured is the
# letter as sent, JSON escaping included (a control byte becomes six characters), with room to spare.
MAX_LETTER_BYTES = 900 * 1024
# Kept of the original message at most; less when the letter would not fit otherwise.
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_HEADERS = 32
MAX_HEADER_CHARS = 1024
MAX_ERROR_CHARS = 4096
REPLAY_HEADER = "citydesk-replay"  # on a message sent again from its letter: the letter's id


def describe(exc: BaseException) -> tuple[str, str]:
    """(error_type, human reason) for an exception, short enough to read in `citydesk dlq list`."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "message"
            parts.append(f"{where}: {err['msg']}")
        return "invalid_message", "; ".join(parts)
    if isinstance(exc, UnicodeDecodeError):
        return "invalid_utf8", f"payload is not UTF-8 text ({exc.reason} at byte {exc.start})"
    kind = getattr(exc, "error_type", None)  # a refusal or a failure that names its own kind (destinations, isolation)
    if isinstance(kind, str):
        return kind, str(exc)
    return type(exc).__name__, str(exc) or repr(exc)


def dead_letter(stage: str, exc: BaseException, payload: bytes, *, article_id: str | None = None,
                topic: str | None = None, partition: int | None = None, offset: int | None = None,
                headers: dict[str, str] | None = None) -> DeadLetter:
    error_type, reason = describe(exc)
    # The same failing message always gets the same id, wherever and however often it fails: a replayed message
    # that fails again is the same letter (counted), not a new one.
    dl_id = hashlib.sha256(f"{stage}|{topic}|".encode() + hashlib.sha256(payload).digest()).hexdigest()[:16]
    now = datetime.now(UTC)
    kept_headers = dict(list((headers or {}).items())[:MAX_HEADERS])
    letter = DeadLetter(id=dl_id, stage=stage, error_type=error_type, error=reason[:MAX_ERROR_CHARS],
                        article_id=article_id, source_topic=topic, partition=partition, offset=offset, payload="",
                        payload_bytes=len(payload), payload_sha256=hashlib.sha256(payload).hexdigest(),
                        headers={k[:MAX_HEADER_CHARS]: v[:MAX_HEADER_CHARS] for k, v in kept_headers.items()},
                        first_seen=now, last_seen=now)
    try:
        payload.decode("utf-8")
        is_text = True
    except UnicodeDecodeError:
        is_text = False
    limit = MAX_PAYLOAD_BYTES
    while True:
        text, encoding = _encoded(payload[:limit], is_text)
        candidate = letter.model_copy(update={"payload": text, "payload_encoding": encoding,
                                              "payload_truncated": len(payload) > limit})
        if len(candidate.model_dump_json().encode()) <= MAX_LETTER_BYTES or limit == 0:
            return candidate
        limit //= 2


def _encoded(kept: bytes, is_text: bool) -> tuple[str, str]:
    """The kept bytes as text: UTF-8 when the message is text and JSON does not blow it up, else base64 (4/3)."""
    if is_text:
        text = kept.decode("utf-8", errors="ignore")  # cutting may split only the last character, dropped
        if len(json.dumps(text, ensure_ascii=False).encode()) <= len(kept) * 4 // 3 + 4:
            return text, "utf-8"
    return base64.b64encode(kept).decode("ascii"), "base64"  # binary, or control characters escaped six-fold


def original_payload(letter: DeadLetter) -> bytes:
    if letter.payload_encoding == "base64":
        return base64.b64decode(letter.payload)
    return letter.payload.encode("utf-8")
