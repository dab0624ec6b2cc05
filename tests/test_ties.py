"""The register of ties on the five seeds: a fold over the articles' current contributions.

Proves: the seeds give the five ties the product was specified with (kinds, since as stated or derived from
an anniversary and the article's date, two articles of one story counted once), each with its evidence
sentences; re-feeding an article changes nothing and an update replaces its contribution; an office's
register gives each tie its status; a tie updated article by article from its own evidence (what the indexer
does) equals the tie folded from the final articles, whatever the order of additions, updates and relabels.
Does not prove: the live register kept by the stream, nor its stores.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Named, Person, RawArticle, RegisterEntry
from services.cleaner import clean
from services.stories.evaluation import assign
from services.tagger import tag
from services.ties import build, fold, updated
from tests.conftest import read_seed, seed_ids


@pytest.fixture(scope="module")
def seed_articles():
    articles = [tag(clean(RawArticle(id=key, body=read_seed(key)))) for key in seed_ids()]
    placed = assign(articles)
    return [a.model_copy(update={"story_id": placed[a.id][0], "duplicate_of": placed[a.id][1]}) for a in articles]


def test_the_seeds_register(seed_articles):
    ties = {t.id: t for t in build(seed_articles)}
    expected = {
        "대구광역시|청두시": ("sister_city", None),
        "서울특별시|충칭시": ("friendship_city", 2019),
        "대구광역시|타이베이시": ("sister_city", 2010),  # "지난해 … 자매결연 10주년" in a 2021 article
        "대전광역시|빈증성": ("sister_city", None),
        "대전광역시|탕그랑셀라탄": ("friendship_city", 2016),
    }
    for key, (kind, since) in expected.items():
        tie = ties[key]
        assert kind in {k.kind for k in tie.kinds}, key
        if since:
            assert (tie.since, tie.since_source) == (since, "stated"), key
        sentences = [s for e in tie.evidence for s in e.sentences if s.kind == kind]
        assert sentences and all(tie.partner[:2] in s.sentence or "양" in s.sentence for s in sentences[:1]), key
    seoul = ties["서울특별시|충칭시"]
    assert (seoul.articles, seoul.stories) == (2, 1)  # two outlets, one meeting
    assert seoul.partner_location is not None and seoul.korean_location is not None


def test_refeeding_changes_nothing_and_an_update_replaces_its_contribution(seed_articles):
    before = build(seed_articles)
    assert build(seed_articles + seed_articles[:2]) == before
    first = seed_articles[0]
    updated = first.model_copy(update={"relations": []})
    after = {t.id: t for t in build([*seed_articles, updated][1:])}
    assert "대구광역시|청두시" not in after


def test_an_offices_register_gives_each_tie_its_status(seed_articles):
    latest = max(a.published_at for a in seed_articles if a.published_at)
    register = [
        RegisterEntry(korean_party="대구광역시", partner="타이베이시", country="TW", kind="sister_city", year=2010),
        RegisterEntry(korean_party="대전광역시", partner="빈증성", country="VN", kind="sister_city", year=2005),
        RegisterEntry(korean_party="부산광역시", partner="후쿠오카시", country="JP", kind="sister_city", year=2007),
    ]
    ties = {t.id: t for t in build(seed_articles, register, now=latest + timedelta(days=30))}
    assert ties["부산광역시|후쿠오카시"].status == "registered_no_news"
    assert ties["서울특별시|충칭시"].status == "news_only"
    statuses = {ties["대구광역시|타이베이시"].status, ties["대전광역시|빈증성"].status}
    assert statuses <= {"registered_active", "registered_dormant"}
    far = {t.id: t for t in build(seed_articles, register, now=datetime(2035, 1, 1, tzinfo=latest.tzinfo))}
    assert far["대구광역시|타이베이시"].status == "registered_dormant"


def test_an_offices_register_is_resolved_through_the_gazetteer_and_bad_rows_are_named():
    from pathlib import Path

    from services.tagger.gazetteer import gazetteer
    from services.ties.office import read_register

    sample = Path(__file__).parents[1] / "services" / "ties" / "sample_register.csv"
    entries, unresolved = read_register(sample.read_text(encoding="utf-8"), gazetteer())
    pairs = {(e.korean_party, e.partner) for e in entries}
    assert {("대구광역시", "청두시"), ("서울특별시", "충칭시"), ("부산광역시", "후쿠오카시")} <= pairs
    assert next(e for e in entries if e.partner == "애틀랜타").country == "US"  # '미국' as the country
    assert [u.line for u in unresolved] == [12] and "청뚜시" in unresolved[0].reason
    korean, _ = read_register("지자체,상대도시,국가,유형,연도\n대전광역시,빈증성,베트남,자매,2005\n", gazetteer())
    assert korean[0].kind == "sister_city" and korean[0].year == 2005
    with pytest.raises(ValueError, match="no column for"):
        read_register("city,partner\n대구,청두\n", gazetteer())


def test_tie_level_scores_count_each_tie_once_and_since_only_when_stated():
    """The tie-level evaluation (citydesk eval, 'ties'): two articles on one tie are one tie; a kind found in either
    counts for the tie; `since` counts only when the register has it from a stated year, not a first-seen date."""
    from schemas import CleanArticle
    from services.ties.evaluation import GoldTies, score_ties

    day = "2024-05-01T09:00:00+09:00"
    stated = tag(CleanArticle(id="a", title="대구시, 청두시와 교류", body="대구시와 청두시는 2015년 자매결연을 맺었다.",
                              published_at=day))  # type: ignore[arg-type]
    visit = tag(CleanArticle(id="b", title="대구시장, 청두시 방문", body="대구시장은 청두시를 방문해 협력을 논의했다.",
                             published_at=day))  # type: ignore[arg-type]
    extra = tag(CleanArticle(id="c", title="대구시, 오사카시 방문", body="대구시 대표단이 오사카시를 방문했다.",
                             published_at=day))  # type: ignore[arg-type]
    gold = GoldTies()
    gold.add([{"korean": "대구광역시", "partner": "청두시", "kinds": ["sister_city", "visit"], "since": 2015}])
    result = score_ties([stated, visit, extra], gold)
    assert (result["pairs"]["tp"], result["pairs"]["fp"], result["pairs"]["fn"]) == (1, 1, 0)
    assert (result["kinds"]["tp"], result["kinds"]["fn"]) == (2, 0)
    assert result["since_accuracy"] == 1.0
    # The same tie with only a first-seen date does not count as a stated year.
    assert score_ties([visit], gold)["since_accuracy"] == 0.0
    # An optional pair counts neither way.
    gold.add([], optional=[("대구광역시", "오사카시")])
    assert score_ties([stated, visit, extra], gold)["pairs"]["fp"] == 0


# One step on the tie of 대구광역시–청두시: an article (by index) stored with its relation or, updated, without
# it; or an article's story relabelled to one of three.
_STEP = st.one_of(st.tuples(st.just("store"), st.integers(0, 5), st.booleans()),
                  st.tuples(st.just("relabel"), st.integers(0, 5), st.sampled_from(["s-a", "s-b", "s-c"])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=25))
def test_a_tie_updated_step_by_step_equals_the_fold_of_its_final_articles(seed_articles, steps):
    key = ("대구광역시", "청두시")
    source = next(a for a in seed_articles if any((r.korean_party, r.partner) == key for r in a.relations))
    day = timedelta(days=1)
    versions = {}  # article id → its current version: what the store holds
    tie = None
    for step in steps:
        article_id = f"a{step[1]}"
        if step[0] == "store":
            names_it = step[2]
            # Articles that differ in date (not in id order, two on one day), outlet, people and events, so that
            # the fold's orders (people and events first seen, outlets, latest coordinates) are exercised.
            i = step[1]
            article = source.model_copy(update={
                "id": article_id, "published_at": source.published_at + (i * 3 % 4) * day, "story_id": f"s-{article_id}",
                "outlet": f"outlet-{i % 3}",
                "people": [*source.people[i % 2:], Person(name=f"인물{i}", role="시장", affiliation=key[i % 2])],
                "events": [*source.events, Named(name=f"행사{i % 3}")],
                "relations": source.relations if names_it else [r for r in source.relations
                                                               if (r.korean_party, r.partner) != key]})
            versions[article_id] = article
            changed, relabelled = [article], {}
        else:
            if article_id not in versions:
                continue
            versions[article_id] = versions[article_id].model_copy(update={"story_id": step[2]})
            changed, relabelled = [], {article_id: step[2]}
        # A tie not stored yet is folded from the articles, as the indexer does; a stored one is updated
        tie = fold(key, list(versions.values())) if tie is None else updated(tie, changed, relabelled)
        expected = fold(key, list(versions.values()))
        assert (tie.model_dump() if tie else None) == (expected.model_dump() if expected else None)
