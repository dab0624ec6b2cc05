"""The gazetteer's loader, district resolution, name readings and coverage measure."""

from types import SimpleNamespace

import pytest

from services.tagger.coverage import coverage
from services.tagger.gazetteer import Entry, Mention, gazetteer, resolve_district


def _gov(name, parent=None, level="sigungu"):
    return Entry(name, "korean_local_gov", "KR", None, None, None, level=level, parent=parent)


SEOUL, BUSAN, ULSAN = _gov("서울특별시", level="sido"), _gov("부산광역시", level="sido"), _gov("울산광역시", level="sido")
DISTRICTS = {
    "중구": [_gov("서울 중구", "서울특별시"), _gov("부산 중구", "부산광역시"), _gov("울산 중구", "울산광역시")],
    "북구": [_gov("부산 북구", "부산광역시"), _gov("울산 북구", "울산광역시")],
    "강서구": [_gov("서울 강서구", "서울특별시"), _gov("부산 강서구", "부산광역시")],
    "해운대구": [_gov("부산 해운대구", "부산광역시")],
}


def _at(text, surface, entry):
    start = text.index(surface)
    return Mention(entry, surface, start, start + len(surface))


@pytest.mark.parametrize("text, city, surface, expected", [
    ("울산시 북구의회 의원단이 방문했다.", ULSAN, "울산시", "울산 북구"),
    ("부산 강서구청장은 이날", BUSAN, "부산", "부산 강서구"),
    ("중구청은 서울시와 함께", SEOUL, "서울시", "서울 중구"),  # the city after the district, same sentence
])
def test_an_ambiguous_district_takes_the_city_named_nearby(text, city, surface, expected):
    found = resolve_district(text, [_at(text, surface, city)], DISTRICTS)
    assert [m.entry.name for m in found] == [expected]


def test_another_district_of_the_same_city_resolves_it():
    text = "부산 해운대구와 중구가 참여했다."
    found = resolve_district(text, [_at(text, "부산 해운대구", DISTRICTS["해운대구"][0])], DISTRICTS)
    assert [m.entry.name for m in found] == ["부산 중구"]


@pytest.mark.parametrize("text", ["서구 문화가 들어왔다.", "중구난방으로 말했다.", "북구 유럽 국가들"])
def test_an_ambiguous_district_without_a_city_is_no_place(text):
    assert resolve_district(text, [], DISTRICTS | {"서구": DISTRICTS["중구"]}) == []


def test_a_city_in_another_sentence_does_not_resolve():
    text = "울산시가 발표했다. 북구 지역은"
    assert resolve_district(text, [_at(text, "울산시", ULSAN)], DISTRICTS) == []


def test_districts_carry_their_parent_and_unique_ones_keep_their_bare_name():
    g = gazetteer()
    mapo = g.by_surface["마포구"][0]
    assert (mapo.name, mapo.parent, mapo.level) == ("서울 마포구", "서울특별시", "sigungu")
    assert g.by_surface["인천 남구"][0].name == "인천 미추홀구"  # renamed in 2018
    assert g.by_surface["장안구"][0].parent == "수원시"
    assert "중구" not in g.by_surface and len(g.districts["중구"]) == 6
    assert {e.name for e in g.districts["남구"]} >= {"인천 미추홀구", "포항시 남구"}


@pytest.mark.parametrize("surface, name_en, country", [
    ("아라카와구", "Arakawa", "JP"), ("카츠시카구", "Katsushika", "JP"), ("신주쿠구", "Shinjuku", "JP"),
    ("남통시", "Nantong", "CN"), ("난퉁", "Nantong", "CN"), ("연태", "Yantai", "CN"), ("심양", "Shenyang", "CN"),
    ("난하이구", "南海区", "CN"), ("북해도", "Hokkaidō", "JP"), ("키이우", "Kyiv", "UA"),
    ("이타푸아주", "Itapúa", "PY"), ("할리스코주", "Jalisco", "MX"),
])
def test_foreign_places_known_by_their_korean_names(surface, name_en, country):
    entries = [e for e in gazetteer().by_surface.get(surface, []) if e.kind != "korean_local_gov"]
    assert any(e.country == country and e.name_en == name_en for e in entries), entries


@pytest.mark.parametrize("word", ["침양", "장사", "광주", "청도", "여수", "강북구", "남양", "아시아"])
def test_readings_that_are_korean_places_or_words_are_no_foreign_place(word):
    assert not [e for e in gazetteer().by_surface.get(word, []) if e.kind in ("foreign_city", "foreign_region")]


def test_readings_follow_the_loanword_tables():
    from services.tagger.exonyms import mandarin, romaji_to_hangul, sino_korean, spanish_to_hangul

    assert [mandarin(x) for x in ["南通", "烟台", "沈阳", "秦皇岛", "厦门"]] == ["난퉁", "옌타이", "선양", "친황다오", "샤먼"]
    assert sino_korean("沈阳") == ["심양"] and set(sino_korean("烟台")) == {"연대", "연태"}
    assert [romaji_to_hangul(x) for x in ["Arakawa", "Hokkaidō", "Tōkyō", "Niigata"]] == ["아라카와", "홋카이도", "도쿄", "니가타"]
    assert romaji_to_hangul("Katsushika", press=True) == "카츠시카"
    assert [spanish_to_hangul(x) for x in ["Cerro Navia", "Estación Central", "Guadalajara", "Ñuñoa"]] == [
        "세로나비아", "에스타시온센트랄", "과달라하라", "뉴뇨아"]


def test_coverage_counts_names_suffixes_and_words():
    e = Entry("리옹", "foreign_city", "FR", "Lyon", None, None)
    g = SimpleNamespace(by_surface={"리옹": [e], "프랑스": [Entry("프랑스", "country", "FR", None, None, None)]})
    gold = {"a": {"partners": [{"name": "리옹시", "aliases": ["리옹", "프랑스 리옹", "Lyon", "보르도"],
                                "country": "FR"}], "partners_optional": ["리옹 시"]}}
    c = coverage(gold, g, suffixes=("시",))
    assert (c.known, c.total, c.unknown) == (4, 5, [("보르도", "FR")])
