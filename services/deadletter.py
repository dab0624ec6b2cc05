"""Dead letters: what a stage could not process, with the reason and the original payload."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from pydantic import ValidationError

from schemas import DeadLetter

# Kept of the original message in a letter: well under the 1 MB a Kafka message may be by default.
MAX_PAYLOAD_BYTES = 256 * 1024


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
    return type(exc).__name__, str(exc) or repr(exc)


def dead_letter(stage: str, exc: BaseException, payload: bytes, *, article_id: str | None = None,
                topic: str | None = None, partition: int | None = None, offset: int | None = None,
                headers: dict[str, str] | None = None) -> DeadLetter:
    error_type, reason = describe(exc)
    kept = payload[:MAX_PAYLOAD_BYTES]  # a letter must itself fit in a message, or the DLQ would refuse it
    try:
        payload.decode("utf-8")
        # Valid UTF-8 throughout: cutting may split only the last character, which is dropped.
        text, encoding = kept.decode("utf-8", errors="ignore"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
    # The same failing message always gets the same id, so replays and retries do not multiply it.
    where = f"{stage}|{topic}|{partition}|{offset}" if offset is not None else f"{stage}|{article_id}"
    dl_id = hashlib.sha256(where.encode() + b"|" + hashlib.sha256(payload).digest()).hexdigest()[:16]
    now = datetime.now(UTC)
    return DeadLetter(id=dl_id, stage=stage, error_type=error_type, error=reason, article_id=article_id,
                      source_topic=topic, partition=partition, offset=offset, payload=text,
                      payload_encoding=encoding, payload_bytes=len(payload),
                      payload_sha256=hashlib.sha256(payload).hexdigest(),
                      payload_truncated=len(payload) > MAX_PAYLOAD_BYTES, headers=headers or {},
                      first_seen=now, last_seen=now)


def original_payload(letter: DeadLetter) -> bytes:
    if letter.payload_encoding == "base64":
        return base64.b64decode(letter.payload)
    return letter.payload.encode("utf-8")
