"""Articles the stories and ties tests share: the story fixtures (tests/fixtures/stories) as a feeder would send them,
each with its gold date written into its text where the text gives none (the pipeline has no other way to carry it),
and the seeds; their gold clusters; helpers that compare stories and registers whatever the story ids are called."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from schemas import RawArticle, TaggedArticle, Tie
from tests.conftest import ROOT, SEEDS, read_seed, required_seed_ids

STORY_FIXTURES = ROOT / "tests" / "fixtures" / "stories"
SEEDS_ONE_STORY = ("001_6a51c42110a45834", "003_f7f4b121435f6b6b")  # one meeting, two outlets


def story_gold() -> dict[str, Any]:
    return json.loads((STORY_FIXTURES / "gold.json").read_text(encoding="utf-8"))


def story_fixture_raws() -> list[RawArticle]:
    """The fixtures with their own names as ids; a text without a date the cleaner reads gets its gold date as a
    dateline (입력 YYYY-MM-DD HH:MM) under its headline."""
    from services.cleaner import clean

    gold = story_gold()["published"]
    out = []
    for path in sorted(STORY_FIXTURES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if clean(RawArticle(id=path.stem, body=text)).published_at is None:
            title, rest = text.split("\n", 1)
            text = f"{title}\n\n입력 {datetime.fromisoformat(gold[path.stem]):%Y-%m-%d %H:%M}\n{rest}"
        raw = RawArticle(id=path.stem, body=text)
        assert clean(raw).published_at == datetime.fromisoformat(gold[path.stem]), path.stem
        out.append(raw)
    return out


def seed_raws() -> list[RawArticle]:
    """The seeds as `citydesk feed` sends them: ids from their text."""
    from services.feed import read_articles

    raws = [a for a in read_articles([str(SEEDS)]) if isinstance(a, RawArticle)]
    assert len(raws) == len(required_seed_ids())
    return raws


def seed_names() -> dict[str, str]:
    """Article id (as fed) → seed key."""
    keys = {read_seed(k): k for k in required_seed_ids()}
    return {raw.id: keys[raw.body] for raw in seed_raws()}


def tagged(raws: Iterable[RawArticle]) -> list[TaggedArticle]:
    from services.cleaner import clean
    from services.tagger import tag

    return [tag(clean(raw)) for raw in raws]


CROWD_PAIR = ("대구광역시", "청두시")
_COPY_TEXT = "대구시는 청두시와 로봇 산업 공동 연구를 시작한다고 밝혔다. 두 도시는 연구소 세 곳을 함께 세우기로 했다."
_CROWD_TOPICS = ("관광", "교육", "의료", "물류", "농업", "문화", "환경", "체육", "청년", "항공", "수산", "소방")


def undated_crowd(size: int, *, report_dated: bool = True
                  ) -> tuple[TaggedArticle, list[TaggedArticle], TaggedArticle]:
    """(copy, crowd, report): ``size`` articles naming one pair in other words, so that they share the pair's key with
    the report and few or none of its text's keys; a copy of the report; the report. With ``report_dated``, the copy
    and the crowd are undated and the report dated; else the report is undated, and the copy and the crowd dated
    (the copy the day before the crowd's first, the crowd a day apart)."""
    from datetime import timedelta

    from schemas import CleanArticle, Relation
    from services.tagger import tag

    relation = Relation(korean_party=CROWD_PAIR[0], partner=CROWD_PAIR[1], partner_country="CN", kinds=["visit"])
    day = datetime(2025, 5, 1)

    def article(article_id: str, body: str, published: datetime | None) -> TaggedArticle:
        t = tag(CleanArticle(id=article_id, title=body[:20], body=body, published_at=published))
        return t.model_copy(update={"relations": [relation], "people": [], "events": []})

    crowd = [article(f"crowd-{n:03d}", f"대구시와 청두시는 {_CROWD_TOPICS[n % len(_CROWD_TOPICS)]} 분야 {n + 1}차 실무 "
                     f"협의에서 과제 {n + 4}건을 검토했다고 {n % 7 + 1}일 전했다.",
                     None if report_dated else day + timedelta(days=n + 1)) for n in range(size)]
    # Its id sorts after the crowd's, and the tests write it after them: neither order favours it, only its keys
    copy = article("the-copy", _COPY_TEXT, None if report_dated else day)
    return copy, crowd, article("report", _COPY_TEXT, day if report_dated else None)


def partition(labels: dict[str, str]) -> set[frozenset[str]]:
    """article id → story id, as the set of stories (each a set of article ids): names do not matter."""
    groups: dict[str, set[str]] = defaultdict(set)
    for article_id, story in labels.items():
        groups[story].add(article_id)
    return {frozenset(g) for g in groups.values()}


def gold_partition() -> set[frozenset[str]]:
    """The fixtures' gold stories and the seeds' (001 and 003 one story, the others alone)."""
    ids = {key: article_id for article_id, key in seed_names().items()}
    stories = {frozenset(s) for s in story_gold()["stories"]}
    stories.add(frozenset(ids[k] for k in SEEDS_ONE_STORY))
    stories |= {frozenset([ids[k]]) for k in ids if k not in SEEDS_ONE_STORY}
    return stories


def comparable(ties: Iterable[Tie]) -> dict[str, dict[str, Any]]:
    """The register without story names: each tie's evidence keeps which articles share a story, not its id."""
    out = {}
    for tie in ties:
        data = tie.model_dump(mode="json")
        members: dict[str | None, list[str]] = defaultdict(list)
        for e in data["evidence"]:
            members[e.pop("story_id")].append(e["article_id"])
        data["story_groups"] = sorted(sorted(m) for m in members.values())
        out[tie.id] = data
    return out
