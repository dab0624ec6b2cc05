"""The cleaner on the real seeds, scored against shared/gold; on our regression fixtures (one per failure class
of issue 10, tests/fixtures/raw/cl*); and its parsers under fuzzing."""

import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import RawArticle
from services.cleaner import CleaningError, analyze, clean
from services.cleaner.core import clean_text, normalize_line
from services.cleaner.dates import labelled_date, parse_date, standalone_datetime
from services.cleaner.metadata import copyright_outlet, masthead_outlet, parse_byline, parse_dateline
from services.cleaner.patterns import load_patterns
from tests.conftest import ROOT, read_seed, seed_ids

FIXTURES = ROOT / "tests" / "fixtures"
REGRESSIONS = {k: g for k, g in json.loads((FIXTURES / "gold.json").read_text(encoding="utf-8")).items()
               if k.startswith("cl")}


def _output(article) -> str:
    return "\n".join([article.title, article.subtitle or "", article.body])


@pytest.mark.parametrize("key", seed_ids())
def test_seed_keeps_the_article_and_drops_the_rest(key, gold):
    g = gold[key]
    article = analyze(RawArticle(id=key, body=read_seed(key))).article
    out = _output(article)
    assert [s for s in g["keep"] if s not in out] == []
    assert [s for s in g["drop"] if s in out] == []
    assert {s: out.count(s) for s in g["once"] if out.count(s) != 1} == {}


@pytest.mark.parametrize("key", seed_ids())
def test_seed_metadata(key, gold):
    g = gold[key]
    a = analyze(RawArticle(id=key, body=read_seed(key))).article
    assert a.title == g["title"]
    assert (a.published_at.isoformat()[:16] if a.published_at else None) == g["published"]
    assert a.outlet == g["outlet"]
    assert a.reporter == g["reporter"]
    assert a.reporter_email == g["reporter_email"]


@pytest.mark.parametrize("text, expected", [
    ("입력 : 2019/06/13 [14:33]", "2019-06-13T14:33:00+09:00"),
    ("등록 2024.07.30 13:34:14", "2024-07-30T13:34:14+09:00"),
    ("김범수 작성일21-03-23 20:20본문", "2021-03-23T20:20:00+09:00"),
    ("승인 2018.10.10 09:10", "2018-10-10T09:10:00+09:00"),
    ("입력 2023.11.08 16:42", "2023-11-08T16:42:00+09:00"),
    ("2023년 5월 12일 (금) 10:21", "2023-05-12T10:21:00+09:00"),
    ("기사입력 2024/02/15 [11:30]", "2024-02-15T11:30:00+09:00"),
    ("등록 2024-09-03 오후 2:17:05", "2024-09-03T14:17:05+09:00"),
    ("등록 2024-09-03 오전 12:05:00", "2024-09-03T00:05:00+09:00"),
])
def test_korean_date_formats(text, expected):
    assert parse_date(text).isoformat() == expected


@pytest.mark.parametrize("line, expected", [
    ("입력 : 2019/06/13 [14:33]", "2019-06-13T14:33:00+09:00"),
    ("2024.05.08 09:30 입력", "2024-05-08T09:30:00+09:00"),
    ("김범수 작성일21-03-23 20:20본문", "2021-03-23T20:20:00+09:00"),
    ("등록번호 : 서울 아04093", None),
    ("등록 게제일 : 2013.8.9", None),
])
def test_labelled_dates_before_or_after_their_label(line, expected):
    value = labelled_date(line, ("입력", "등록", "작성일"))
    assert (value.isoformat() if value else None) == expected


@pytest.mark.parametrize("url, expected", [
    ("https://news.example.kr/News/Read/201802061641350369", "2018-02-06"),  # date, time and a serial
    ("https://news.example.kr/2019/06/13/sister-city/", "2019-06-13"),
    ("https://news.example.kr/view.php?idxno=20210304000123", "2021-03-04"),
    ("https://news.example.kr/newsview.php?ncode=1065582235408320", None),  # a serial, no date
    ("https://news.example.kr/view/20231301", None),  # no 13th month
])
def test_a_page_without_a_date_in_its_text_takes_the_day_of_its_address(url, expected):
    c = clean(RawArticle(id="u", url=url, body="대구시, 청두시와 교류 확대\n\n대구시는 청두시와 로봇 산업 교류를 늘리기로 했다고 밝혔다."))
    assert (c.published_at.date().isoformat() if c.published_at else None) == expected


def test_a_date_in_the_text_wins_over_the_address():
    c = clean(RawArticle(id="u", url="https://news.example.kr/News/Read/201802061641350369",
                         body="대구시, 청두시와 교류 확대\n\n입력 2018.02.07 09:30\n\n대구시는 청두시와 로봇 산업 교류를 늘리기로 했다."))
    assert c.published_at.isoformat() == "2018-02-07T09:30:00+09:00"


def test_a_date_alone_counts_only_with_a_time():
    assert standalone_datetime("2023년 5월 12일 (금) 10:21").isoformat() == "2023-05-12T10:21:00+09:00"
    assert standalone_datetime("2026.01.08 (목)") is None


def test_ui_words_inside_article_sentences_are_not_ui():
    text = ("양 도시, 기술 공유 협약 체결\n"
            "[테스트신문=홍길동 기자] 두 도시는 탄소중립 섬 모델을 공유하기로 했다.\n"
            "시는 청년 창업 기업을 후원하기로 하고 관련 예산을 마련했다.\n"
            "공유하기\n후원하기")
    verdicts, _ = clean_text(text)
    kept = {v.text for v in verdicts if v.kept}
    assert any("공유하기로 했다" in k for k in kept) and any("후원하기로" in k for k in kept)
    assert {v.reason for v in verdicts if v.text in ("공유하기", "후원하기")} == {"share_ui", "support_appeal"}


@pytest.mark.parametrize("text", ["109일부터 13일까지", "2019/13/45 10:00", "20181010일부터", "전화 010-6866-9289"])
def test_text_with_lost_digits_never_yields_a_wrong_date(text):
    value = parse_date(text)
    assert value is None


def test_a_page_date_widget_is_not_the_published_date(gold):
    key = next(k for k in gold if "맑음동두천" in gold[k]["drop"])
    a = analyze(RawArticle(body=read_seed(key))).article
    assert a.published_at.year == 2024 and a.published_at.month == 7  # not the widget's 2026.01.08


def test_explain_gives_every_line_a_reason():
    verdicts, _ = clean_text("제목이 되는 한 줄의 기사 제목\n광고\n[테스트신문=홍길동 기자] 본문은 이렇게 길게 이어지는 문장으로 끝난다.\n무단전재 및 재배포 금지")
    reasons = {v.text: v.reason for v in verdicts}
    assert reasons["광고"] == "ad"
    assert reasons["무단전재 및 재배포 금지"] == "footer"
    assert reasons["제목이 되는 한 줄의 기사 제목"] == "title"
    assert sum(v.kept for v in verdicts) == 1


def test_page_of_only_boilerplate_is_refused_with_a_reason_that_names_the_lines_considered():
    with pytest.raises(CleaningError, match="no article text") as refused:
        analyze(RawArticle(body="광고\n광고\n댓글목록\n등록된 댓글이 없습니다.\n무단전재 및 재배포 금지"))
    assert "line 5 footer '무단전재 및 재배포 금지'" in str(refused.value)
    assert "line 4 comment_box" in str(refused.value)


@pytest.mark.parametrize("key", sorted(REGRESSIONS))
def test_failure_class_fixture(key):
    """Each failure class of issue 10 on a page written for it: text kept, junk dropped, metadata right."""
    g = REGRESSIONS[key]
    a = analyze(RawArticle(id=key, body=(FIXTURES / "raw" / g["file"]).read_text(encoding="utf-8"))).article
    out = _output(a)
    assert [s for s in g["keep"] if s not in out] == []
    assert [s for s in g["drop"] if s in out] == []
    assert {s: out.count(s) for s in g["once"] if out.count(s) != 1} == {}
    published = a.published_at.isoformat()[:16] if a.published_at else None
    assert (a.title, published, a.outlet, a.reporter, a.reporter_email) == \
        (g["title"], g["published"], g["outlet"], g["reporter"], g["reporter_email"])


def test_appended_article_does_not_reach_the_body(gold):
    key = next(k for k in gold if "김혜영 서울시의원" in gold[k]["drop"])
    body = analyze(RawArticle(body=read_seed(key))).article.body
    assert "기초예술" not in body and "한강버스" not in body


@given(st.text(alphabet=st.sampled_from(list("가나다라대구시청두협력다.요 \n광고[]()=기자@0123456789:/ⓒ▲|")),
               max_size=600))
def test_clean_text_never_crashes_and_keeps_only_input_text(text):
    verdicts, _ = clean_text(text)
    lines = text.splitlines()
    codes = {r.code for r in load_patterns().reasons.all()}
    assert all(v.reason in codes for v in verdicts)
    # nothing invented: every verdict is about (a piece of) the input line it names
    assert all(v.text in normalize_line(lines[v.number - 1]) for v in verdicts)


_LINE = st.text(alphabet=st.sampled_from(list("가나다라홍길동신문일보뉴스기자특파원=[]()【】<>@.,|/ ⓒ©0123456789-:사진제공")),
                max_size=80)


@given(_LINE)
def test_line_parsers_never_crash_and_stay_inside_the_line(line):
    pats = load_patterns()
    d = parse_dateline(line, pats)
    assert d is None or (0 < d.end <= len(line) and (d.reporter is None or d.reporter in line))
    b = parse_byline(line, pats)
    assert b is None or all(name in line for name in b.reporter.split("·"))
    for found in (copyright_outlet(line, pats), masthead_outlet(line, pats)):
        assert found is None or (found and all(part in line for part in found.split()))


@given(st.text(max_size=60))
def test_parse_date_is_none_or_a_real_date(text):
    value = parse_date(text)
    assert value is None or (isinstance(value, datetime) and value.tzinfo is not None)


def test_the_same_html_page_cleans_the_same_every_time():
    # trafilatura's own deduplication remembers paragraphs across documents; a re-fed page must not lose text
    from tests.conftest import ROOT

    page = (ROOT / "tests" / "fixtures" / "raw" / "f05_html_news.html").read_text(encoding="utf-8")
    bodies = {analyze(RawArticle(body=page, content_type="text/html")).article.body for _ in range(6)}
    assert len(bodies) == 1 and "랴오닝성" in bodies.pop()
