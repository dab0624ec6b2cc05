"""Reading articles from files, directories or stdin, and producing them onto articles.raw."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from schemas import RawArticle, topics
from services.deadletter import describe
from services.settings import Settings

SUFFIXES = {".txt": "text/plain", ".text": "text/plain", ".html": "text/html", ".htm": "text/html",
            ".json": None, ".jsonl": None}


@dataclass
class FeedError:
    source: str
    reason: str


def content_type_for(path: Path) -> str:
    return "text/html" if path.suffix.lower() in (".html", ".htm") else "text/plain"


def expand(paths: Iterable[str]) -> Iterator[Path | str]:
    """Files as given, directories walked (sorted) for the suffixes we read, '-' for stdin."""
    for p in paths:
        if p == "-":
            yield "-"
            continue
        path = Path(p)
        if path.is_dir():
            yield from sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")


def _records(obj: object, source: str) -> Iterator[RawArticle | FeedError]:
    items = obj if isinstance(obj, list) else [obj]
    for n, item in enumerate(items, 1):
        where = f"{source}[{n}]" if isinstance(obj, list) else source
        try:
            yield RawArticle.model_validate(item)
        except ValidationError as exc:
            yield FeedError(where, describe(exc)[1])


def read_articles(paths: Iterable[str]) -> Iterator[RawArticle | FeedError]:
    """Every article of the inputs, or a FeedError naming the input and why: a malformed file never raises."""
    for item in expand(paths):
        if item == "-":
            try:
                text = sys.stdin.buffer.read().decode("utf-8")
            except UnicodeDecodeError:
                yield FeedError("<stdin>", "not UTF-8 text; convert it (e.g. iconv -f cp949 -t utf-8) and feed again")
                continue
            yield from _read_stream(text, "<stdin>")
            continue
        path = Path(item)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            yield FeedError(str(path), "not UTF-8 text; convert it (e.g. iconv -f cp949 -t utf-8) and feed again")
            continue
        except OSError as exc:
            yield FeedError(str(path), f"cannot be read: {exc.strerror or exc}")
            continue
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            yield from _read_jsonl(text, str(path))
        elif suffix == ".json":
            try:
                yield from _records(json.loads(text), str(path))
            except json.JSONDecodeError as exc:
                yield FeedError(str(path), f"not JSON: {exc.msg} at line {exc.lineno}")
            except ValueError as exc:  # e.g. an integer of more digits than Python converts
                yield FeedError(str(path), f"not JSON an article can be: {exc}"[:300])
            except RecursionError:
                yield FeedError(str(path), "JSON nested too deeply to read; an article is a flat object")
        else:
            try:
                yield RawArticle(body=text, content_type=content_type_for(path))  # type: ignore[arg-type]
            except ValidationError as exc:
                yield FeedError(str(path), describe(exc)[1])


def _read_jsonl(text: str, source: str) -> Iterator[RawArticle | FeedError]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield from _records(json.loads(line), f"{source}:{n}")
        except json.JSONDecodeError as exc:
            yield FeedError(f"{source}:{n}", f"not JSON: {exc.msg}")
        except ValueError as exc:
            yield FeedError(f"{source}:{n}", f"not JSON an article can be: {exc}"[:300])
        except RecursionError:
            yield FeedError(f"{source}:{n}", "JSON nested too deeply to read; an article is a flat object")


def _read_stream(text: str, source: str) -> Iterator[RawArticle | FeedError]:
    if text.lstrip().startswith(("{", "[")):
        yield from _read_jsonl(text, source)
    elif text.strip():
        yield RawArticle(body=text, content_type="text/html" if "<html" in text[:2000].lower() else "text/plain")


def producer(cfg: Settings):  # type: ignore[no-untyped-def]
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", linger_ms=20,
                         max_request_size=cfg.max_message_bytes + 64 * 1024, client_id="citydesk-feed",
                         retries=5, request_timeout_ms=30000)


def send_raw(prod, article: RawArticle, version: int | None = None):  # type: ignore[no-untyped-def]
    """Key = article id, so every version of an article goes to the same partition, in order; the version header
    says when this one was fed (schemas/topics.py VERSION_HEADER)."""
    version = version if version is not None else time.time_ns() // 1_000_000
    return prod.send(topics.RAW, key=(article.id or "").encode(), value=article.model_dump_json().encode(),
                     headers=[(topics.VERSION_HEADER, str(version).encode())])
