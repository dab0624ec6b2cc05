"""The tagger on the seeds (scored against shared/gold) and on sentences that fooled earlier prototypes."""

import pytest

from schemas import CleanArticle, RawArticle
from services.cleaner import clean
from services.tagger import tag
from tests.conftest import read_seed, seed_ids


def _tag_seed(key):
    return tag(clean(RawArticle(id=key, body=read_seed(key))))


def _names(gold_items):
    return {n for item in gold_items for n in [item["name"], *item.get("aliases", [])]}


@pytest.mark.parametrize("key", seed_ids())
def test_seed_partners_people_and_relations(key, gold):
    g = gold[key]
    t = _tag_seed(key)
    assert {r["partner"] for r in g["relations"]} <= {r.partner for r in t.relations}
    assert {p["name"] for p in g["people"]} == {p.name for p in t.people}
    for rel in g["relations"]:
        found = next(r for r in t.relations if r.partner == rel["partner"] and r.korean_party == rel["korean"])
        assert set(rel["kinds"]) <= set(found.kinds)
    allowed_sectors = set(g["sectors"]["primary"]) | set(g["sectors"]["acceptable"])
    assert set(g["sectors"]["primary"]) <= {s.code for s in t.sectors} <= allowed_sectors
    assert t.is_exchange is g["exchange"]


def test_places_carry_kind_country_and_coordinates():
    t = _tag_seed(seed_ids()[0])
    chengdu = next(p for p in t.places if p.name == "청두시")
    assert chengdu.kind == "foreign_city" and chengdu.country == "CN"
    assert 30 < chengdu.location.lat < 31 and 103 < chengdu.location.lon < 105
    assert {"청두", "청두시"} & set(chengdu.mentions)
    daegu = next(p for p in t.places if p.kind == "korean_local_gov")
    assert daegu.name == "대구광역시" and daegu.location is not None


def _tag_text(title: str, body: str):
    return tag(CleanArticle(id="t", title=title, body=body))


@pytest.mark.parametrize("sentence", [
    "시민사회 연대를 강화하고 코로나 이후 나라 경제의 구조를 바꾸는 브랜드 전략이 필요하다고 밝혔다.",
    "양국의 연대 속에 무산된 협상이 다시 시작됐다.",
])
def test_common_words_are_not_places(sentence):
    t = _tag_text("정책 토론회 열려", sentence)
    assert [p.name for p in t.places if p.kind != "korean_local_gov"] == []


def test_a_market_is_not_a_mayor():
    t = _tag_text("한국기업 진출 확대", "충칭은 한국기업의 중국시장 진출 핵심 거점이자 해외 시장 개척의 교두보로 꼽힌다.")
    assert t.people == []


def test_a_friendship_agreement_is_friendship_not_mou():
    t = _tag_text("서울시, 충칭시와 우호협약", "서울시는 지난 2019년 5월 충칭시와 우호협약을 체결했다.")
    rel = next(r for r in t.relations if r.partner == "충칭시")
    assert "friendship_city" in rel.kinds and "agreement" not in rel.kinds
    assert rel.since == 2019


def test_article_without_exchange_is_not_exchange():
    t = _tag_text("서울시, 버스 배차 간격 단축", "서울시는 다음 달부터 출퇴근 시간대 시내버스 배차 간격을 2분 단축한다고 밝혔다.")
    assert t.is_exchange is False and t.relations == []


def test_search_terms_are_passed_on():
    t = _tag_text("상생협력 강화", "대구시는 청두시와 협력하기로 했다.")
    assert "협력" in t.terms.body and "상생" in t.terms.title
