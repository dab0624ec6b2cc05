"""Each pass of the cleaner on its own (services/cleaner/passes.py), on short pages written for these tests.

Proves: what each numbered pass decides from what the passes before it wrote, and that the order in the
module docstring is the order ``run`` applies. Does not prove: behaviour on real pages (test_cleaner.py and
`citydesk eval` do that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from services.cleaner import passes
from services.cleaner.page import Page
from services.cleaner.patterns import load_patterns

PATS = load_patterns()
R = PATS.reasons

LEAD = "한빛시는 체코 올로모우츠시와 관광 교류 협약을 맺었다고 3일 밝혔다."
SECOND = "두 도시는 내년부터 청소년 교류와 공무원 연수를 함께 이어가기로 했다."
THIRD = "한빛시장은 \"작은 도시끼리의 교류가 오래 가는 힘이 된다\"고 말했다."


def run_until(text: str, last: Callable[[Page], None] | None = None, title_hint: str | None = None) -> Page:
    """The page after the passes up to and including ``last`` (all of them when None)."""
    page = passes.build_page(text, PATS, title_hint)
    for step in passes.PASSES:
        step(page)
        if step is last:
            break
    return page


def reasons(page: Page) -> dict[str, str]:
    return {line.text: line.reason for line in page.lines if line.text}


def test_the_docstring_numbers_the_passes_in_the_order_run_applies_them():
    doc = passes.__doc__ or ""
    numbered = re.findall(r"^\s*(\d+)\. (\w+)", doc, re.MULTILINE)
    assert [int(n) for n, _ in numbered] == list(range(1, len(passes.PASSES) + 2))
    source = Path(passes.__file__).read_text(encoding="utf-8")
    comments = re.findall(r"^\s+(\w+),\s+# (\d+)$", source, re.MULTILINE)
    assert [f.__name__ for f in passes.PASSES] == [name for name, _ in comments]
    assert [int(n) for _, n in comments] == list(range(2, len(passes.PASSES) + 2))


# 1. lines

def test_literal_br_tags_are_line_breaks():
    page = passes.build_page(f"제목 줄입니다<br />{LEAD}<br/>{SECOND}&lt;br /&gt;{THIRD}", PATS)
    assert [line.text for line in page.lines] == ["제목 줄입니다", LEAD, SECOND, THIRD]
    assert {line.number for line in page.lines} == {1}


def test_a_glued_line_is_split_at_sentence_ends_and_joined_again_in_the_body():
    from services.cleaner.core import paragraphs

    glued = " ".join([LEAD, SECOND, THIRD] * 15)
    page = run_until(f"한빛시, 체코 올로모우츠와 관광 교류\n{glued}")
    pieces = [line for line in page.lines if line.number == 2]
    assert len(pieces) == 45 and all(p.joined for p in pieces[1:]) and not pieces[0].joined
    body = paragraphs(page)
    assert body[0].startswith(LEAD) and f"{LEAD} {SECOND}" in body[0]


# 2. boilerplate

@pytest.mark.parametrize("line, reason", [
    ("주메뉴 바로가기 본문 바로가기", "skip_link"),
    ("본문 바로가기", "skip_link"),
    ("최종편집 2024-05-03 14:22 (금)", "edit_stamp"),
    ("사진 확대", "photo_label"),
    ("관광 교류 협약식 모습. 사진/한빛시", "photo_caption"),
    ("#한빛시 #올로모우츠 #관광", "hashtags"),
    ("AI 요약", "summary_label"),
    ("[한빛일보 독자 제보] 카카오톡 hanbit / 이메일 jebo@hanbit.example.kr", "tip_line"),
    ("ⓒ 한빛일보 무단전재 및 재배포 금지", "footer"),
])
def test_boilerplate_rules(line, reason):
    assert reasons(run_until(line, passes.mark_boilerplate))[line] == reason


def test_a_footer_glued_to_a_paragraph_takes_only_its_own_sentences():
    page = run_until(f"{LEAD} {SECOND} 좋아요0 화나요0 ⓒ 한빛일보. 무단전재 금지", passes.mark_boilerplate)
    assert [(line.text, line.reason) for line in page.lines] == [
        (LEAD, ""), (SECOND, ""), ("좋아요0 화나요0 ⓒ 한빛일보.", "footer"), ("무단전재 금지", "footer")]
    assert all(line.piece for line in page.lines) and [line.joined for line in page.lines] == [False, True, True, True]


def test_a_sign_off_glued_to_a_paragraph_is_split_off_and_never_takes_the_paragraph():
    page = run_until(f"{LEAD} {SECOND} 누리=홍길동 기자 hong@hanbit.example.kr")
    assert [(line.article_text, line.reason) for line in page.lines] == [
        (LEAD, "body"), (SECOND, "body"), ("누리=홍길동 기자 hong@hanbit.example.kr", "byline")]
    assert (page.meta.reporter, page.meta.reporter_email) == ("홍길동", "hong@hanbit.example.kr")


def test_a_leading_photo_credit_does_not_make_a_body_line_a_caption():
    line = f"(사진=한빛시 제공) {LEAD}"
    page = run_until(line, passes.read_features)
    assert page.lines[0].reason == "" and page.lines[0].article_text == LEAD


def test_the_line_cap(monkeypatch):
    monkeypatch.setattr(passes, "MAX_LINES", 3)
    page = run_until("\n".join(f"{k}번째 줄 {LEAD}" for k in range(5)), passes.mark_boilerplate)
    assert [line.reason for line in page.lines] == ["", "", "", "beyond_line_cap", "beyond_line_cap"]


# 3. features

@pytest.mark.parametrize("line, outlet, reporter", [
    ("[한빛일보=홍길동 기자] " + LEAD, "한빛일보", "홍길동"),
    ("(한빛=한빛뉴스) 홍길동 기자 = " + LEAD, "한빛뉴스", "홍길동"),
    ("[한빛일보] " + LEAD, "한빛일보", None),
    ("[한빛일보 홍길동기자]", "한빛일보", "홍길동"),
    ("[한빛뉴스24 홍길동 기자]" + LEAD, "한빛뉴스24", "홍길동"),
    ("한빛경제 홍길동 기자 = " + LEAD, "한빛경제", "홍길동"),
    ("(누리 한빛일보) " + LEAD, "한빛일보", None),
    ("【한빛뉴스 누리 】홍길동 기자= " + LEAD, "한빛뉴스", "홍길동"),
    ("[누리=홍길동 기자] " + LEAD, None, "홍길동"),
    ("[ 홍길동 기자 / hong@hanbit.example.kr ]", None, "홍길동"),
])
def test_datelines(line, outlet, reporter):
    d = run_until(line, passes.read_features).lines[0].dateline
    assert d is not None and (d.outlet, d.reporter) == (outlet, reporter)


@pytest.mark.parametrize("line", ["(사진=한빛시 제공) " + LEAD, "[사진] " + LEAD, "[단독] " + LEAD,
                                  "(자료사진=한빛시) " + LEAD])
def test_photo_credits_and_labels_are_not_datelines(line):
    assert run_until(line, passes.read_features).lines[0].dateline is None


@pytest.mark.parametrize("line, reporter", [
    ("홍길동 기자", "홍길동"), ("지방행정 / 홍길동 기자 / 2024-05-03 09:10", "홍길동"),
    ("한빛=홍길동 기자 hong@hanbit.example.kr", "홍길동"), ("한빛일보, 홍길동 기자, 2024-05-03 09:10", "홍길동"),
    ("홍길동 (hong@hanbit.example.kr)", "홍길동"), ("한빛 홍길동 객원기자", "홍길동"),
])
def test_bylines(line, reporter):
    b = run_until(line, passes.read_features).lines[0].byline
    assert b is not None and b.reporter == reporter


def test_a_sentence_naming_a_reporter_is_not_a_byline():
    assert run_until("행사에는 홍길동 기자 등 20여명이 참석했다.", passes.read_features).lines[0].byline is None


# 4. repeats_seen

def test_a_summary_whose_sentences_the_body_prints_again_is_seen_as_repeated():
    page = run_until(f"{LEAD} {SECOND}\n{LEAD}\n{SECOND}\n{THIRD}", passes.mark_repeats_seen)
    assert [line.repeated for line in page.lines] == [True, True, True, False]


# 5. dates

def test_a_date_with_a_time_wins_over_a_date_alone():
    page = run_until(f"date 2024-05-03 제목 한 줄입니다\n편집부 (2024-05-03 16:45:10)\n{LEAD}", passes.find_dates)
    assert page.meta.published_at.isoformat() == "2024-05-03T16:45:10+09:00"
    page = run_until(f"2024-05-03   한빛신문\n{LEAD}", passes.find_dates)
    assert page.meta.published_at.isoformat() == "2024-05-03T00:00:00+09:00"


def test_dates_from_labels_a_byline_or_a_date_alone_but_never_an_edit_stamp():
    page = run_until(f"최종편집 2025-01-02 08:00 (목)\n제목 한 줄입니다\n{LEAD}", passes.find_dates)
    assert page.meta.published_at is None
    page = run_until(f"최종편집 2025-01-02 08:00 (목)\n홍길동 기자 | 입력 2024.05.03 09:10\n{LEAD}", passes.find_dates)
    assert page.meta.published_at.isoformat() == "2024-05-03T09:10:00+09:00"
    page = run_until(f"한빛일보, 홍길동 기자, 2024-05-03 16:45\n{LEAD}", passes.find_dates)
    assert page.meta.published_at.isoformat() == "2024-05-03T16:45:00+09:00"


# 6. title

@pytest.mark.parametrize("top", ["주메뉴 바로가기 본문 바로가기", "최종편집 2024-05-03 14:22 (금)", "사진 확대",
                                 "관광 교류 협약식 모습. 사진/한빛시", "date 2024-05-03 메뉴",
                                 "한빛人 머니 산업 IT·과학 정치&정책 생활경제 사회 오피니언 라이프 플러스"])
def test_labels_and_stamps_are_never_the_title(top):
    page = run_until(f"{top}\n한빛시, 체코 올로모우츠와 관광 교류\n{LEAD}", passes.find_title)
    assert page.meta.title == "한빛시, 체코 올로모우츠와 관광 교류"


def test_a_short_headline_may_end_in_da_and_an_outlet_name_is_no_headline():
    page = run_until(f"한빛신문\n한빛시 자매도시들 한자리에 모였다\n{LEAD}", passes.find_title)
    assert page.meta.title == "한빛시 자매도시들 한자리에 모였다"


def test_a_page_that_opens_with_prose_has_no_title():
    page = run_until(f"{LEAD}\n{SECOND}\n홍길동 기자", passes.find_title)
    assert page.meta.title is None and page.title_index is None


def test_the_html_title_finds_its_line_and_what_is_above_it_goes():
    page = run_until(f"많이 본 뉴스 한 줄 제목\n한빛시, 관광 교류\n{LEAD}", passes.find_title, title_hint="한빛시, 관광 교류")
    assert reasons(page)["많이 본 뉴스 한 줄 제목"] == "before_title" and page.title_index == 1


def test_a_date_stamped_before_the_headline_is_not_part_of_it():
    page = run_until(f"date 2024-05-03 한빛시, 관광 교류\n{LEAD}")
    assert page.meta.title == "한빛시, 관광 교류" and page.meta.published_at.isoformat()[:10] == "2024-05-03"


# 7. summary_box

def test_a_summary_box_goes_even_when_it_paraphrases_the_lead():
    page = run_until(f"한빛시, 관광 교류\nAI 요약\n한빛시가 체코 도시와 손잡고 관광객을 서로 보낸다\n두 도시 청소년도 오간다\n\n"
                     f"[한빛일보=홍길동 기자] {LEAD}\n{SECOND}\n{THIRD}", passes.mark_summary_box)
    assert [line.reason for line in page.lines[2:4]] == ["summary_box", "summary_box"]


def test_a_summary_label_never_takes_the_article_with_it():
    page = run_until(f"한빛시, 관광 교류\n요약\n{LEAD}\n{SECOND}", passes.mark_summary_box)
    assert [line.reason for line in page.lines[2:]] == ["", ""]


# 8. body_start

def test_the_body_starts_at_the_dateline_when_the_prose_above_it_is_a_summary():
    page = run_until(f"한빛시, 관광 교류\n{LEAD}\n양 도시 청소년 교류도\n[한빛일보=홍길동 기자] {LEAD}\n{SECOND}",
                     passes.find_body_start)
    assert page.body_start == 3


def test_the_body_starts_at_the_first_prose_when_the_prose_above_the_dateline_is_original():
    page = run_until(f"한빛시, 관광 교류\n{SECOND}\n[한빛일보=홍길동 기자] {LEAD}", passes.find_body_start)
    assert page.body_start == 1


def test_a_long_line_cut_off_mid_sentence_is_prose():
    cut = (LEAD + " " + SECOND + " 시는 이번 협약으로 관광객 상호 방문을 늘리고 축제 기간에 맞춰 공연단을 보내는 방안도 함께 논의할 계")
    page = run_until(f"▲ 협약식 모습\n▲ 기념 촬영 모습 (사진=한빛시 제공)\n{cut}", passes.find_body_start)
    assert page.body_start == 2


# 8. header

def test_header_lines_between_title_and_body():
    page = run_until(f"한빛시, 관광 교류\n한빛시, 관광 교류\n청소년 교류도 이어가\n홍길동 기자\n{LEAD}",
                     passes.mark_header)
    r = reasons(page)
    assert (r["청소년 교류도 이어가"], r["홍길동 기자"]) == ("subtitle", "byline")
    assert [line.reason for line in page.lines][:2] == ["title", "duplicate_title"]
    assert page.meta.subtitle == "청소년 교류도 이어가"


def test_a_bare_name_beside_the_date_line_is_the_byline_and_a_short_sentence_is_text():
    page = run_until(f"한빛시, 관광 교류\n홍길동\n승인 2024.05.03 09:10\n두 도시가 손을 잡았다.\n{LEAD}", passes.mark_header)
    r = reasons(page)
    assert (r["홍길동"], r["두 도시가 손을 잡았다."]) == ("byline", "body")
    assert run_until(f"한빛시, 관광 교류\n홍길동\n승인 2024.05.03 09:10\n{LEAD}").meta.reporter == "홍길동"


def test_a_headline_glued_before_a_paragraph_is_cut_off_it():
    page = run_until(f"한빛시, 관광 교류\n한빛시, 관광 교류 {LEAD} {SECOND}\n[한빛일보=홍길동 기자] {LEAD}\n{SECOND}")
    kept = [line.article_text for line in page.lines if line.reason == "body"]
    assert kept == [LEAD, SECOND]


# 9. appended

APPENDED = f"""한빛시, 관광 교류
[한빛일보=홍길동 기자] {LEAD}
{SECOND}
홍길동 기자 hong@hanbit.example.kr

누리군, 새 도서관 개관
[한빛일보=김철수 기자] 누리군은 군청 옆에 새 도서관을 열었다고 5일 밝혔다. 도서관에는 책 3만 권이 있다."""


def test_a_second_headline_with_its_dateline_opens_an_appended_article():
    page = run_until(APPENDED, passes.find_appended_article)
    r = reasons(page)
    assert r["누리군, 새 도서관 개관"] == "appended_article" and page.body_end == 5


@pytest.mark.parametrize("below", [
    f"(사진=한빛시 제공) {THIRD}",  # a photo credit is no dateline
    f"[한빛일보=김철수 기자] {THIRD}",  # a dateline without a headline above it
])
def test_a_single_line_does_not_open_an_appended_article(below):
    page = run_until(f"한빛시, 관광 교류\n[한빛일보=홍길동 기자] {LEAD}\n{below}\n{SECOND}")
    kept = [line.article_text for line in page.lines if line.reason == "body"]
    assert kept == [LEAD, THIRD, SECOND]


# 10. end_marker

def test_a_related_list_heading_inside_the_text_does_not_end_it():
    page = run_until(f"한빛시, 관광 교류\n{LEAD}\n관련기사\n{SECOND}\n{THIRD}", passes.find_end_marker)
    assert page.body_end == len(page.lines)


def test_an_end_marker_after_the_sign_off_ends_the_article():
    page = run_until(f"한빛시, 관광 교류\n{LEAD}\n홍길동 기자\n댓글목록\n이 기사 정말 좋네요 앞으로도 교류가 오래 이어지면 좋겠습니다.\n"
                     f"다른 댓글도 길게 이어지는데 이것은 기사의 본문이 아니라 독자의 의견입니다 그렇죠.",
                     passes.find_end_marker)
    r = reasons(page)
    assert r["댓글목록"] == "comment_box" and page.body_end == 3
    assert {line.reason for line in page.lines[4:]} == {"after_comment_box"}


# 11. body

def test_body_verdicts():
    page = run_until(f"한빛시, 관광 교류\n{LEAD}\n{LEAD}\n- 다른 기사 제목\n짧은 조각\nG05-7182802122 ABC\n{SECOND}",
                     passes.mark_body)
    assert [line.reason for line in page.lines] == ["title", "body", "duplicate", "link_list", "short_fragment",
                                                    "short_fragment", "body"]


# 12. repeats

def test_a_lead_printed_three_times_is_kept_once_in_its_body_place():
    page = run_until(f"한빛시, 관광 교류\n요약\n{LEAD}\nAI 요약\n{LEAD} {SECOND}\n[한빛일보=홍길동 기자] {LEAD}\n{SECOND}\n"
                     f"{THIRD}", passes.drop_repeats)
    kept = [line.article_text for line in page.lines if line.reason == "body"]
    assert kept == [LEAD, SECOND, THIRD]


def test_a_sentence_cut_off_with_an_ellipsis_counts_as_printed_again():
    page = run_until(f"한빛시, 관광 교류\n{LEAD[:25]}…\n[한빛일보=홍길동 기자] {LEAD}\n{SECOND}", passes.drop_repeats)
    assert [line.reason for line in page.lines][1] == "summary_repeats_body"


# 13. rescue

def test_prose_dropped_for_its_position_comes_back_when_nothing_else_is_kept():
    page = passes.build_page(f"{LEAD} {SECOND}", PATS)
    for step in passes.PASSES[:-2]:
        step(page)
    page.lines[0].reason = R.appended_article  # as if a pass had misjudged it
    passes.rescue(page)
    assert page.lines[0].reason == "body_rescued"


# 14. sources

@pytest.mark.parametrize("text, outlet", [
    (f"{LEAD}\nCopyright © 한빛타임즈 All rights reserved.", "한빛타임즈"),
    (f"{LEAD}\n<저작권자 ⓒ 누리방송, 무단 전재 및 재배포 금지>", "누리방송"),
    (f"{LEAD}\n기사제보 및 보도자료: 한빛일보 jebo@hanbit.example.kr", "한빛일보"),
    (f"한빛저널\n{LEAD}", "한빛저널"),
    (f"[한빛뉴스] {LEAD}\nCopyright © 누리방송", "한빛뉴스"),
])
def test_outlets(text, outlet):
    assert run_until(text).meta.outlet == outlet


@pytest.mark.parametrize("tail, email", [
    ("hong@hanbit.example.kr", "hong@hanbit.example.kr"),  # alone in the sign-off
    ("◎공감언론 한빛 hong@hanbit.example.kr", "hong@hanbit.example.kr"),
    ("jebo@hanbit.example.kr", None),  # a shared mailbox, not the reporter's
])
def test_the_reporters_email_in_the_sign_off(tail, email):
    page = run_until(f"[한빛=한빛일보] 홍길동 기자 = {LEAD}\n{SECOND}\n{tail}")
    assert page.meta.reporter_email == email


def test_an_outlet_from_the_reporters_email_domain_or_the_pages_url():
    assert run_until(f"{LEAD}\n홍길동 기자 hong@yna.co.kr").meta.outlet == "연합뉴스"
    page = passes.build_page(f"{LEAD}\n[한빛=한빛일보] 홍길동 기자", PATS, url="https://m.hankyung.com/article/1")
    for step in passes.PASSES:
        step(page)
    assert page.meta.outlet == "한국경제"


def test_reporter_and_email_from_the_sign_off():
    page = run_until(f"{LEAD}\n{SECOND}\n한빛=홍길동 기자\nhong@hanbit.example.kr")
    assert (page.meta.reporter, page.meta.reporter_email) == ("홍길동", "hong@hanbit.example.kr")


def test_every_reason_code_lives_in_the_data_once_and_is_used():
    """The code names codes only through R.<code>; each must be listed in patterns.json, and each listed code
    must be given by some pass or rule (no dead vocabulary)."""
    import json

    data = json.loads((Path(passes.__file__).with_name("patterns.json")).read_text(encoding="utf-8"))
    listed = [c["code"] for c in data["reasons"]["codes"]]
    assert len(listed) == len(set(listed))
    sources = "".join(p.read_text(encoding="utf-8") for p in Path(passes.__file__).parent.glob("*.py"))
    used = set(re.findall(r"\bR\.([a-z_]+)\b", sources))
    named_by_rules = {r["reason"] for r in data["drop_line"]} | {
        x for r in data["end_markers"]["rules"] for x in (r["reason"], r["then"])}
    assert used <= set(listed)
    assert set(listed) - used - named_by_rules == set()
    with pytest.raises(AttributeError, match="not listed"):
        _ = R.no_such_reason


@pytest.mark.parametrize("title", PATS.reporter_titles)
def test_every_reporter_title_in_the_data_makes_a_byline_and_a_dateline(title):
    assert passes.parse_byline(f"홍길동 {title}", PATS).reporter == "홍길동"
    assert passes.parse_dateline(f"[한빛일보=홍길동 {title}] {LEAD}", PATS).reporter == "홍길동"
