"""What each stage does to one message's bytes: parse with the shared schema, run the pure function.

Kept apart from the faust wiring (services/workers.py) so the same code serves `citydesk clean/tag`,
the tests and the workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from schemas import CleanArticle, RawArticle, TaggedArticle, topics
from services.destinations import Target, ToStore, ToTopic

# Bodies larger than this are refused: no news article is that long, and Kiwi's time grows with length.
MAX_BODY_BYTES = 2_000_000


class StageError(ValueError):
    """The message cannot be processed by this stage; the text says why and what to do."""


def parse_json(payload: bytes) -> object:
    if len(payload) > MAX_BODY_BYTES * 2:
        raise StageError(f"message of {len(payload):,} bytes exceeds the {MAX_BODY_BYTES * 2:,}-byte limit")
    text = payload.decode("utf-8")
    if "\x00" in text:
        raise StageError("message contains NUL characters; strip binary data before feeding")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise StageError("JSON nested too deeply to be an article") from exc
    except json.JSONDecodeError as exc:
        raise StageError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def clean_message(payload: bytes) -> CleanArticle:
    from services.cleaner import clean

    raw = RawArticle.model_validate(parse_json(payload))
    if "\x00" in raw.body:  # JSON may carry it escaped (\u0000), past the check on the raw bytes
        raise StageError("body contains NUL characters: binary data, not text; strip it before feeding")
    if len(raw.body.encode("utf-8")) > MAX_BODY_BYTES:
        raise StageError(f"body of {len(raw.body.encode('utf-8')):,} bytes exceeds {MAX_BODY_BYTES:,}: "
                         "not a news article; split or trim it before feeding")
    return clean(raw)


def tag_message(payload: bytes) -> TaggedArticle:
    from services.tagger import tag

    return tag(CleanArticle.model_validate(parse_json(payload)))


def parse_tagged(payload: bytes) -> TaggedArticle:
    return TaggedArticle.model_validate(parse_json(payload))


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline as a value: what it reads, the pure function it applies to each message's bytes,
    where the results go, what it loads before joining its group, and how long one message may take.
    Adding a stage (stories, ties) is one more entry in STAGES; services/workers.py runs any of them alike."""

    name: str
    source: str  # the topic it consumes
    function: Callable[[bytes], BaseModel]
    destination: Target  # ToTopic(name) or ToStore()
    warm_up: Callable[[], None] | None = None
    budget_s: float = 10.0  # per message: a batch running past budget × its size is hung (/health fails)
    # At most this many per batch, below the configured batch_size: a stage that only sends to a topic pays little
    # per batch (one round of acknowledgements), and the next stage can start on its output only when the batch is
    # done. The tagger's batches are also the indexer's: the indexer takes what the broker has, i.e. the tagger's
    # last batch, and pays its commits, its stories' search and its ties' update per batch (see idle_s). Measured
    # on the bench's 400 articles (tansu, one worker per stage): tagger batches of 25 → the indexer spent 1.0–1.3
    # CPU-s, end to end 186–208 articles/s; of 100 → 0.56–0.6 CPU-s, 219–227/s; of 200 → 0.59 CPU-s but 210/s (the
    # last batch holds the end back).
    # The cleaner keeps 25, so the tagger starts soon. The indexer keeps batch_size (500: in a backfill it is behind
    # and takes full batches; live, a batch goes once the broker has had no more for its idle_s).
    max_batch: int | None = None
    # A batch is handed over once no further message has come for this long (or batch_within_s after its first, or
    # full), rather than waiting out batch_within_s. The indexer waits longer: a batch costs it about 60 ms of CPU
    # whatever its size (two commits, its stories' search over every key of the batch) against about 1.5 ms an
    # article, and a tagger's batch of 100 reaches it over several fetches. Measured in one process on the bench's
    # 1,200 articles: batches of 25 cost 4.3 CPU-s, of 100, 1.9. At 5 ms, its batches in the pipeline were mostly of
    # 20–60; at 100 ms, mostly the tagger's whole batch.
    idle_s: float = 0.005

    @property
    def output_topic(self) -> str | None:
        return self.destination.topic if isinstance(self.destination, ToTopic) else None


_WARM_UP_RAW = RawArticle(id="warm-up", body="대구시, 청두시와 자매결연 교류 확대\n" + "\n".join(
    # A few paragraphs, not one line: Kiwi keeps warming up over its first few thousand characters.
    ["[시험신문=홍길동 기자] 대구시는 권영진 대구시장이 중국 청두시를 방문해 스마트시티와 물산업 분야 "
     "업무협약(MOU)을 체결하고 국제 포럼에 참석했다고 밝혔다."] * 3
    + [f"양 도시는 {year}년 자매결연을 맺은 뒤 문화, 관광, 교육 분야에서 활발히 교류해 왔으며 "
       f"청년 인재 교류와 기업 진출을 함께 추진하기로 했다." for year in range(1990, 2010)]))


# A short page: trafilatura compares its extraction with justext's on pages with little text, and justext's
# stoplists load on the first such page (measured: 0.1–0.2 s, paid by the first real batch when not warmed here).
_WARM_UP_HTML = RawArticle(
    id="warm-up-html", url="https://warm-up.citydesk.invalid/1", content_type="text/html",
    body="<html lang='ko'><head><meta charset='utf-8'><title>{0}</title></head><body><article><h1>{0}</h1>"
         "<p>{1}</p></article></body></html>".format(*_WARM_UP_RAW.body.split("\n")[:2]))


def _warm_cleaner() -> None:
    """The cleaner's patterns, trafilatura, justext and htmldate, loaded before the worker joins its group."""
    clean_message(_WARM_UP_RAW.model_dump_json().encode())
    clean_message(_WARM_UP_HTML.model_dump_json().encode())


def _warm_tagger() -> None:
    """Kiwi's model and the gazetteers: seconds of loading that would otherwise hold up the first real article."""
    from services.cleaner import clean

    tag_message(clean(_WARM_UP_RAW).model_dump_json().encode())


def _warm_indexer() -> None:
    """Placement's modules (datasketch, numpy: a quarter of a second to import), before the first batch needs them."""
    import services.indexer.placement  # noqa: F401


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("cleaner", topics.RAW, clean_message, ToTopic(topics.CLEAN), _warm_cleaner, budget_s=10.0, max_batch=25),
    Stage("tagger", topics.CLEAN, tag_message, ToTopic(topics.TAGGED), _warm_tagger, budget_s=20.0, max_batch=100),
    Stage("indexer", topics.TAGGED, parse_tagged, ToStore(), _warm_indexer, budget_s=5.0, idle_s=0.1),
)}


def warm_up(stage: str) -> None:
    """Load what a stage needs before the worker joins its group."""
    load = STAGES[stage].warm_up
    if load is not None:
        load()


def article_id_of(payload: bytes) -> str | None:
    """Best-effort article id of a message that failed, for the dead letter."""
    try:
        data = json.loads(payload.decode("utf-8"))
        return str(data["id"]) if isinstance(data, dict) and data.get("id") else None
    except Exception:
        return None
