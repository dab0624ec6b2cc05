"""The cleaner as numbered passes over one ``Page``. The order, written down once:

 1. lines        — the text into lines (``build_page``): literal <br /> are line breaks, glued paragraphs are
                   split at sentence ends, entities decoded.
 2. boilerplate  — blank and overlong lines, the line cap, then every drop rule of patterns.json (ads, widgets,
                   menus, skip links, share bars, comment boxes, footers, captions, edit stamps ...).
 3. features     — each remaining line's dateline (never a photo credit), byline, prose flag and comparison key,
                   parsed once.
 4. repeats_seen — which lines have every sentence printed elsewhere on the page (a hashed sentence index).
 5. dates        — published and updated: labelled dates, else a byline's date and time, else a date and time
                   alone on a line. Edit stamps and footers never.
 6. title        — the HTML title's line, else the first headline-like line above the first prose line; a page
                   that opens with prose has no headline (the title stays empty, never a body sentence).
 7. summary_box  — the sentences under a summary label (요약, AI 요약) above the article, when prose follows them.
 8. body_start   — the first dateline, when everything between the title and it is header material (short
                   lines, bylines, summaries the body repeats); else the first prose line.
 9. header       — between title and body: bylines, the title printed again, subtitles; prose stays text.
10. appended     — another article below needs strong evidence: a second headline together with a dateline or
                   byline, below original article text. From that headline on: appended_article.
11. end_marker   — a comment box, related list, footer or translation ends the article only on evidence: a
                   sign-off (byline, e-mail) above it, or less prose below it than above.
12. body         — each line of the article: bylines, repeats, link lists, fragments, non-text, article text.
13. repeats      — a kept line whose every sentence is printed in a later or longer kept line goes (portal
                   summaries, AI summaries, leads printed twice); hashed, linear in lines.
14. rescue       — nothing kept: prose that a positional pass dropped comes back. No single line can erase an
                   article; a page that still keeps nothing is refused by ``core`` naming the lines considered.
15. sources      — outlet (the page's URL, dateline, copyright line, tip-line box, masthead line, e-mail domain),
                   reporter and e-mail.

Each pass is a small function ``(page) -> None`` with its own tests (tests/test_cleaner_passes.py); ``PASSES``
below is the same list, and ``run`` applies it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import urlsplit

from services.cleaner.dates import (
    KST,
    first_datetime_with_time,
    labelled_date,
    labelled_date_and_time,
    parse_date,
    standalone_datetime,
)
from services.cleaner.metadata import (
    Byline,
    copyright_outlet,
    masthead_outlet,
    named_outlet,
    parse_byline,
    parse_dateline,
)
from services.cleaner.page import Line, Page
from services.cleaner.patterns import Patterns
from services.cleaner.text import (
    MAX_LINE_CHARS,
    MAX_LINES,
    MIN_SENTENCE_KEY,
    comparable,
    hangul_count,
    hangul_ratio,
    is_prose,
    is_sentence,
    is_truncated,
    sentences,
    split_lines,
)

_LIST_ITEM = re.compile(r"^\s*[-·•*◆◇■□▶▷►○●]\s*")
_CLOSERS = "'\"’”"
CANDIDATES_PER_LOOKUP = 16  # sentence-index entries examined per lookup: bounds the cost of a sentence printed
# many times over (each lookup needs one other line, not all of them)


# 1. lines ------------------------------------------------------------------------------------------------

def build_page(text: str, pats: Patterns, title_hint: str | None = None, url: str | None = None) -> Page:
    lines = [Line(r.number, r.text, r.joined, r.piece) for r in split_lines(text)]
    return Page(lines=lines, pats=pats, title_hint=title_hint, url=url, body_end=len(lines))


# 2. boilerplate ------------------------------------------------------------------------------------------

def mark_boilerplate(page: Page) -> None:
    R, pats = page.pats.reasons, page.pats
    examined = 0
    lines: list[Line] = []
    for line in page.lines:
        lines.append(line)
        if not line.text:
            line.reason = R.blank
            continue
        examined += 1
        if examined > MAX_LINES:
            line.reason = R.beyond_line_cap
            continue
        if len(line.text) > MAX_LINE_CHARS:
            line.reason = R.overlong_line  # no news sentence is this long: a dump, a data URI, a broken page
            continue
        if stamp := pats.lead_stamp.match(line.text):
            line.text_start = stamp.end()  # date 2025-10-15 담양군, …: a date stamped before the line
        rule = pats.drop_rule(line.article_text)
        pieces = sentences(line.text) if not line.piece and (rule is None or rule.glued) else []
        if rule is None and not (len(pieces) > 1 and parse_byline(pieces[-1], pats)):
            continue  # no rule, and no sign-off glued to the end (…말했다. 인천=주관철 기자 orca@…)
        if len(pieces) > 1 and any(is_prose(p) and not pats.drop_rule(p) for p in pieces):
            # …펼쳐오고 있다. ⓒ 누리경제. 무단전재 금지: the footer glued to the text goes, the text stays
            lines.pop()
            for k, text in enumerate(pieces):
                piece = Line(line.number, text, joined=k > 0 or line.joined, piece=True)
                piece.reason = pats.drop_reason(text) or ""
                lines.append(piece)
        elif rule is not None:
            line.reason = rule.reason
    page.lines = lines
    page.body_end = len(lines)


# 3. features ---------------------------------------------------------------------------------------------

def read_features(page: Page) -> None:
    for line in page.lines:
        if line.reason:
            continue
        line.dateline = parse_dateline(line.text, page.pats)
        if line.dateline is not None:
            line.text_start = line.dateline.end
            if line.dateline.reporter is None and len(line.text) <= 100:
                line.byline = parse_byline(line.article_text, page.pats)  # (서울연합뉴스) 김동규 기자 dk@…
        elif credit := page.pats.lead_credit.match(line.text):
            line.text_start = credit.end()  # (사진=OO시 제공) 한빛시는 …: the credit of the photo above
        else:
            line.byline = parse_byline(line.text, page.pats)
        text = line.article_text
        line.prose = line.byline is None and is_prose(text)
        line.key = comparable(text)


# 4. repeats_seen -----------------------------------------------------------------------------------------

class SentenceIndex:
    """Which lines print a sentence: exact sentence keys hashed, and the first MIN_SENTENCE_KEY characters of
    each for sentences cut off with an ellipsis. Building and each lookup are linear in the text."""

    def __init__(self, lines: list[Line], indices: list[int]) -> None:
        self.exact: dict[str, list[int]] = {}
        self.prefix: dict[str, list[tuple[int, str]]] = {}
        self.of_line: dict[int, list[tuple[str, bool]]] = {}
        for i in indices:
            own = []
            for s in sentences(lines[i].article_text):
                key = comparable(s)
                if len(key) < MIN_SENTENCE_KEY:
                    continue
                truncated = is_truncated(s)
                own.append((key, truncated))
                if not truncated:
                    self.exact.setdefault(key, []).append(i)
                    self.prefix.setdefault(key[:MIN_SENTENCE_KEY], []).append((i, key))
            self.of_line[i] = own

    def found_elsewhere(self, i: int, accept: Callable[[int], bool]) -> bool:
        """Every long sentence of line i is printed by some other line that ``accept`` takes."""
        own = self.of_line.get(i)
        if not own:
            return False
        for key, truncated in own:
            if truncated:
                hits = (j for j, k in self.prefix.get(key[:MIN_SENTENCE_KEY], ())[:CANDIDATES_PER_LOOKUP]
                        if k.startswith(key))
            else:
                hits = iter(self.exact.get(key, ())[:CANDIDATES_PER_LOOKUP])
            if not any(j != i and accept(j) for j in hits):
                return False
        return True

    def count(self, i: int) -> int:
        return len(self.of_line.get(i, ()))


def mark_repeats_seen(page: Page) -> None:
    index = SentenceIndex(page.lines, page.undecided())
    for i in index.of_line:
        page.lines[i].repeated = index.found_elsewhere(i, lambda j: True)


# 5. dates ------------------------------------------------------------------------------------------------

def find_dates(page: Page) -> None:
    """Published: a labelled date with a time, else a byline's date and time, else a date and time alone on a
    line, else a labelled date without a time, else a date on a masthead line (2019-09-24 동대문신문). The first
    of the best kind wins. Every line with a labelled date is a byline line (metadata, not text)."""
    R, pats, meta = page.pats.reasons, page.pats, page.meta
    never = {R.edit_stamp, R.tip_line, R.page_date, R.beyond_line_cap, R.overlong_line, R.blank}
    best: dict[int, datetime] = {}  # rank → first date of that kind

    def offer(rank: int, value: datetime | None) -> bool:
        if value is not None and rank not in best:
            best[rank] = value
        return value is not None

    for line in page.lines:
        if stamp := pats.lead_stamp.match(line.text):
            offer(4, parse_date(stamp.group(0)))  # date 2025-10-15 …: a stamp before the line, not its text
        if line.reason in never or len(line.text) > 120:
            continue
        text = line.article_text
        labelled = labelled_date_and_time(text, pats.published_labels)
        if line.reason == R.footer:  # 기사입력: 2021/10/21 [15:43] 최종편집: ⓒ 남양주뉴스 — but not 등록일 : 2013.8.9
            if labelled is not None and labelled[1]:
                offer(1, labelled[0])
            continue
        if labelled is not None:
            offer(1 if labelled[1] else 4, labelled[0])
            line.reason = line.reason or R.byline
        if meta.updated_at is None and (updated := labelled_date(text, pats.updated_labels)):
            meta.updated_at = updated
            line.reason = line.reason or R.byline
        if (line.byline is not None or _dated_line(text)) and offer(2, first_datetime_with_time(text)):
            line.reason = line.reason or R.byline
        if offer(3, standalone_datetime(text)):
            line.reason = line.reason or R.byline
        if masthead_outlet(text, pats) and offer(5, parse_date(text)):
            line.reason = line.reason or R.byline
    if meta.published_at is None and best:
        meta.published_at = best[min(best)]
    if meta.published_at is None and page.url:
        address = urlsplit(page.url)
        meta.published_at = url_date(f"{address.path}?{address.query}", pats)


def url_date(address: str, pats: Patterns) -> datetime | None:
    """The day an article's address carries (hankookilbo.com/News/Read/201802061641350369: 2018-02-06), at
    midnight KST; None when it carries none or an impossible one."""
    for m in pats.url_date.finditer(address):
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=KST)
        except ValueError:
            continue
    return None


def _dated_line(text: str) -> bool:
    """A short line that is a date and time with a word or two around it: 편집부 (2025-09-07 22:11:03)."""
    if len(text) > 50 or is_sentence(text) or first_datetime_with_time(text) is None:
        return False
    rest = re.sub(r"[\d\s:./\-()\[\]년월일시분초|,]+", " ", text).split()
    return len(rest) <= 2


# 6. title ------------------------------------------------------------------------------------------------

def headline_like(line: Line, pats: Patterns) -> bool:
    """A headline: 8–120 characters of mostly Korean that do not end like a sentence (a short line may end in
    다 without a period: …모였다); not a byline, dateline, date, list item or the outlet's name."""
    text = line.article_text
    if line.piece or not 8 <= len(text) <= 120 or hangul_count(text) < 4 or hangul_ratio(text) < 0.5:
        return False
    if line.dateline is not None or line.byline is not None or _LIST_ITEM.match(text) or text.endswith((":", "：")):
        return False
    if parse_date(text) is not None or masthead_outlet(text, pats) or pats.looks_like_outlet(text.split()[0]) \
            or pats.menu_row(text):
        return False
    bare = text.rstrip(_CLOSERS).rstrip("…").rstrip(_CLOSERS)
    if text.endswith(tuple(_CLOSERS)) and not text.rstrip(_CLOSERS).endswith(("다", "다.")):
        return True  # …잰걸음' · …협력"
    if bare.endswith("다") and len(text) <= 60 and len(sentences(text)) == 1:
        return True  # 대구국제교류도시포럼에 자매도시들 한 자리에 모였다
    return not is_sentence(bare)


def find_title(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    title: int | None = None
    if page.title_hint:
        hint = comparable(page.title_hint)
        title = next((i for i in page.undecided() if comparable(lines[i].article_text) == hint), None)
        if title is None:
            page.meta.title = page.title_hint.strip()
    else:
        for i in page.undecided():
            if headline_like(lines[i], page.pats):
                title = i
                break
            if lines[i].prose or lines[i].dateline is not None:
                break  # the page opens with prose: it has no headline
    if title is None:
        return
    page.title_index = title
    page.meta.title = lines[title].article_text
    lines[title].reason = R.title
    for i in range(title):
        page.set(i, R.before_title)


# 7. summary_box ----------------------------------------------------------------------------------------

SUMMARY_BOX_LINES = 6  # a summary box holds at most this many lines


def mark_summary_box(page: Page) -> None:
    """요약 / AI 요약 and the lines under it, down to a blank line, a dateline or the next label: the portal's
    summary, which may paraphrase the lead rather than repeat it. Only when at least two prose lines follow
    the box, so that a summary never takes the article with it."""
    R, lines = page.pats.reasons, page.lines
    prose_after = [0] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        prose_after[i] = prose_after[i + 1] + (1 if not lines[i].reason and lines[i].prose else 0)
    for i, line in enumerate(lines):
        if line.reason != R.summary_label:
            continue
        box = []
        for k in range(i + 1, min(len(lines), i + 1 + SUMMARY_BOX_LINES)):
            below = lines[k]
            if not below.text or below.dateline is not None or below.reason == R.summary_label:
                break
            if not below.reason and (below.prose or is_sentence(below.text)):
                box.append(k)  # sentences; summary headlines stay subtitles
        if box and prose_after[box[-1] + 1] >= 2:
            for k in box:
                lines[k].reason = R.summary_box


# 8. body_start -------------------------------------------------------------------------------------------

def find_body_start(page: Page) -> None:
    lines = page.lines
    start = page.title_index + 1 if page.title_index is not None else 0
    first_prose = None
    for i in page.undecided(start):
        line = lines[i]
        if line.dateline is not None:
            # A dateline opens the body when all prose above it is a summary the body repeats.
            page.body_start = i if first_prose is None or _only_summaries(page, first_prose, i) else first_prose
            return
        if line.prose and first_prose is None:
            first_prose = i
    page.body_start = first_prose if first_prose is not None else len(lines)


def _only_summaries(page: Page, start: int, end: int) -> bool:
    return all(page.lines[i].repeated for i in page.undecided(start, end) if page.lines[i].prose)


# 9. header -----------------------------------------------------------------------------------------------

def _strip_glued_title(page: Page, line: Line) -> None:
    """칠레 대통령 방문단 일행 마포구 방문 칠레의 수도 …: the headline glued before a paragraph (a teaser) is not
    part of its text."""
    title = page.meta.title
    text = line.article_text
    if title and len(text) > len(title) + 20 and text.startswith(title + " "):
        line.text_start = len(line.text) - len(text) + len(title) + 1
        line.key = comparable(line.article_text)
        line.prose = is_prose(line.article_text)


def mark_header(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    start = page.title_index + 1 if page.title_index is not None else 0
    title_key = comparable(page.meta.title) if page.meta.title else None
    for i in page.undecided(start):
        _strip_glued_title(page, lines[i])
    subtitles: list[str] = []
    seen: set[str] = set()
    for i in page.undecided(start, page.body_start):
        line = lines[i]
        if line.dateline is not None and not line.article_text:
            line.reason = R.dateline
        elif line.byline is not None:
            line.reason = R.byline
        elif title_key and (line.key == title_key or (not line.prose and line.key.startswith(title_key))):
            line.reason = R.duplicate_title
        elif line.text in seen:
            line.reason = R.duplicate
        elif _bare_name_byline(page, i):
            line.byline = Byline(line.text)
            line.reason = R.byline
        elif line.prose or line.piece or (is_sentence(line.text) and hangul_count(line.text) >= 8):
            line.reason = R.body  # text above the body start: a summary (the repeats pass decides) or a lead
        elif not is_sentence(line.text) and len(line.text) <= 100 and hangul_count(line.text) >= 4 \
                and hangul_ratio(line.text) >= 0.5:
            line.reason = R.subtitle
            subtitles.append(line.text)
            seen.add(line.text)
        elif hangul_ratio(line.text) < 0.2:
            line.reason = R.non_text
        else:
            line.reason = R.short_fragment if len(line.text) < 25 else R.body
    page.meta.subtitle = "\n".join(subtitles) or None


def _bare_name_byline(page: Page, i: int) -> bool:
    """• 문정곤 / • 승인 2018.02.13 23:02: a name alone, in a byline list beside the article's date line."""
    line = page.lines[i]
    if not re.fullmatch(r"[가-힣]{2,4}", line.text) or line.text in page.pats.not_names:
        return False
    near = [page.lines[k] for k in range(max(0, i - 2), min(len(page.lines), i + 3)) if k != i]
    return any(n.reason == page.pats.reasons.byline for n in near)


# 10. appended ---------------------------------------------------------------------------------------------

def find_appended_article(page: Page) -> None:
    """A second article needs a second headline together with a dateline or byline, below original article
    text (prose the page does not print twice). A dateline alone, a photo credit, a byline alone: never."""
    R, lines = page.pats.reasons, page.lines
    start = page.title_index + 1 if page.title_index is not None else 0
    original_prose_at = [0] * (len(lines) + 1)  # original prose lines in [start, i)
    count = 0
    for i in range(len(lines)):
        original_prose_at[i] = count
        if i >= start and lines[i].prose and not lines[i].repeated and lines[i].reason in ("", R.body):
            count += 1
    original_prose_at[len(lines)] = count
    for i in range(max(page.body_start, start) + 1, page.body_end):
        line = lines[i]
        if line.reason and line.reason != R.byline:
            continue
        opens = (line.dateline is not None and (line.dateline.outlet or line.dateline.reporter)) or \
            line.byline is not None or line.reason == R.byline
        if not opens:
            continue
        j = _previous_text_line(page, i)
        if j is None or j <= page.body_start or lines[j].reason or not headline_like(lines[j], page.pats):
            continue
        if original_prose_at[j] == 0 or not _prose_follows(page, i):
            continue
        page.notes.append(f"line {lines[j].number}: a second headline with a dateline or byline below it "
                          "opens another article")
        page.body_end = j
        for k in range(j, len(lines)):
            page.set(k, R.appended_article)
        return


def _previous_text_line(page: Page, i: int) -> int | None:
    """The nearest line above i that is not blank, a caption or a label (at most 3 such lines skipped)."""
    R = page.pats.reasons
    skippable = {R.blank, R.photo_caption, R.photo_label, R.share_ui, R.byline}
    skipped = 0
    j = i - 1
    while j >= 0 and page.lines[j].reason in skippable:
        if page.lines[j].reason != R.blank:
            skipped += 1
            if skipped > 3:
                return None
        j -= 1
    return j if j >= 0 else None


def _prose_follows(page: Page, i: int) -> bool:
    """The dateline's own line, or one of the next few undecided lines, is prose."""
    if page.lines[i].prose:
        return True
    return any(page.lines[k].prose for k in page.undecided(i + 1, min(len(page.lines), i + 6)))


# 11. end_marker ------------------------------------------------------------------------------------------

def find_end_marker(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    start, end = page.body_start, page.body_end
    if start >= end:
        return
    # Prose characters after each position, for "less prose below than above".
    after = [0] * (end - start + 1)
    for i in range(end - 1, start - 1, -1):
        line = lines[i]
        counted = line.prose and not line.repeated and line.reason in ("", R.body)
        after[i - start] = after[i - start + 1] + (len(line.text) if counted else 0)
    total = after[0]
    signoff = False
    for i in range(start, end):
        line = lines[i]
        before = total - after[i - start]
        rule = page.pats.end_marker(line.text) if line.text else None
        if rule is not None and rule.then and before > 0 and (signoff or after[i - start] - _own(line) <= before):
            page.notes.append(f"line {line.number}: {rule.reason} ends the article "
                              f"({'after a sign-off' if signoff else 'less prose below than above'})")
            page.set(i, rule.reason)
            page.body_end = i
            for k in range(i + 1, len(lines)):
                page.set(k, rule.then)
            return
        if before > 0 and (line.byline is not None or line.reason == R.byline
                           or (line.dateline is not None and not line.article_text)
                           or (not line.reason and len(line.text) <= 80 and page.pats.email.search(line.text))):
            signoff = True


def _own(line: Line) -> int:
    return len(line.text) if line.prose else 0


# 12. body ------------------------------------------------------------------------------------------------

def mark_body(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    title_key = comparable(page.meta.title) if page.meta.title else None
    seen: set[str] = set()  # text above the body is not in it: when the body prints it again, the repeats
    # pass keeps the body's copy (later wins) and drops the summary
    for i in page.undecided(page.body_start, page.body_end):
        line = lines[i]
        text = line.article_text
        if line.dateline is not None and not text:
            line.reason = R.dateline
        elif line.byline is not None:
            line.reason = R.byline
        elif title_key and (line.key == title_key or (not line.prose and line.key.startswith(title_key))):
            line.reason = R.duplicate_title  # the headline again, or a caption that starts with it
        elif line.key in seen:
            line.reason = R.duplicate
        elif line.piece:  # part of a paragraph: what the rules did not drop is text
            line.reason = R.body
            seen.add(line.key)
        elif len(text) <= 60 and not is_sentence(text) and page.pats.email.search(text):
            line.reason = R.byline  # ◎공감언론 뉴시스 jkgyu@…: a sign-off with the reporter's address
        elif _LIST_ITEM.match(text) and not is_sentence(text):
            line.reason = R.link_list
        elif len(text) < 25 and not is_sentence(text):
            line.reason = R.short_fragment
        elif hangul_ratio(text) < 0.2 and not is_sentence(text):
            line.reason = R.non_text
        else:
            line.reason = R.body
            seen.add(line.key)
    # Undecided lines outside the article (before a headless body, after its end) are not text.
    for i in page.undecided():
        lines[i].reason = R.short_fragment if len(lines[i].text) < 25 else R.before_title \
            if i < page.body_start else R.appended_article


# 13. repeats ---------------------------------------------------------------------------------------------

def drop_repeats(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    kept = page.kept()
    index = SentenceIndex(lines, kept)
    alive = set(kept)
    for i in kept:
        def later_or_longer(j: int, i: int = i) -> bool:
            return j in alive and (j > i or index.count(j) > index.count(i))

        if index.found_elsewhere(i, later_or_longer):
            lines[i].reason = R.summary_repeats_body if i < page.body_start else R.repeated_elsewhere
            alive.discard(i)


# 14. rescue ----------------------------------------------------------------------------------------------

def rescue(page: Page) -> None:
    R = page.pats.reasons
    if page.kept():
        return
    positional = {R.before_title, R.subtitle, R.appended_article, R.after_comment_box, R.after_related_list,
                  R.after_footer, R.after_translation, R.summary_repeats_body, R.repeated_elsewhere}
    seen: set[str] = set()
    for line in page.lines:
        if line.reason in positional and line.prose and line.key not in seen:
            line.reason = R.body_rescued
            seen.add(line.key)
    if page.kept():
        page.notes.append("nothing was kept: prose dropped for its position was brought back")


# 15. sources ---------------------------------------------------------------------------------------------

def find_sources(page: Page) -> None:
    R, lines, meta, pats = page.pats.reasons, page.lines, page.meta, page.pats
    start = page.title_index + 1 if page.title_index is not None else 0
    article = lines[start:page.body_end]
    if meta.reporter is None:  # the article's own byline or dateline first, then anywhere, then a photo credit
        meta.reporter = _first(_reporter_of(line) for line in article) or \
            _first(_reporter_of(line) for line in lines) or _first(_credited_reporter(line, pats) for line in lines) \
            or _first(b.reporter if (b := parse_byline(line.text.strip("<>[]()"), pats)) else None
                      for line in lines if line.reason == R.footer)
    if meta.reporter_email is None:
        meta.reporter_email = _reporter_email(page)
    footers = [line.text for line in lines if line.reason == R.footer]
    outlets = (  # in order of trust
        (pats.outlet_of_domain(urlsplit(page.url).hostname or "") if page.url else None,),
        (d.outlet if (d := line.dateline) else None for line in article),
        (copyright_outlet(text, pats) for text in footers),
        # 중도일보(www.joongdo.co.kr), 무단전재 및 수집, 재배포 금지
        (named_outlet(text, pats) for text in footers if pats.copyright_words.search(text)),
        (named_outlet(line.text, pats) for line in lines if line.reason == R.tip_line),
        (masthead_outlet(line.text, pats) for line in lines if line.reason not in (R.body, R.title)),
        (named_outlet(line.text, pats) for line in lines if line.byline is not None),
        (pats.outlet_of_domain(meta.reporter_email.rsplit("@", 1)[1]) if meta.reporter_email else None,),
    )
    for found in outlets:
        if meta.outlet is None:
            meta.outlet = _first(found)


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _credited_reporter(line: Line, pats: Patterns) -> str | None:
    """A photo credit naming a reporter: … / 사진제공 = 김제시청 © 김현종 기자"""
    m = re.search(r"[©ⓒ]\s*([가-힣]{2,4})\s?(?:" + pats.titles_alternation + ")", line.text)
    return m.group(1) if m and m.group(1) not in pats.not_names else None


def _reporter_of(line: Line) -> str | None:
    if line.byline is not None:
        return line.byline.reporter
    return line.dateline.reporter if line.dateline is not None else None


def _masthead(line: Line, pats: Patterns) -> bool:
    """A short line naming the outlet: the name alone (베한타임즈), or with the reporter (NSP통신, 권민수 기자, …)."""
    text = line.text
    return (len(text) <= 20 and " " not in text and pats.looks_like_outlet(text)) or \
        (line.byline is not None and len(text) <= 80)


def _reporter_email(page: Page) -> str | None:
    """The reporter's e-mail: on their byline; else on a line that labels it (이메일:, 기사제보:) or names the
    reporter; else the first personal address in the sign-off (the few lines after the last kept line)."""
    R, pats, meta, lines = page.pats.reasons, page.pats, page.meta, page.lines
    for line in lines:
        if line.byline is not None and line.byline.email and line.byline.reporter == meta.reporter:
            return line.byline.email
    skip = {R.body, R.body_rescued, R.title, R.subtitle}
    filled = [line for line in lines if line.text]
    for k, line in enumerate(filled):
        m = None if "mail to" in line.text.lower() else pats.email.search(line.text)
        if m is None or line.reason in skip:
            continue
        labelled = pats.email_label.search(line.text[:m.start()]) is not None
        # the reporter named on the line, or on a short line next to it (강근주 / kkjoo0912@ekn.kr)
        named = meta.reporter is not None and any(
            meta.reporter in n.text and (n is line or len(n.text) <= 30) for n in filled[max(0, k - 2):k + 3])
        if labelled or named:
            return m.group(0)
    kept = page.kept()
    if not kept:
        return None
    sign_off = [line for line in lines[kept[-1] + 1:] if line.text][:3]
    for line in sign_off:
        for m in pats.email.finditer(line.text):
            if m.group(0).split("@")[0].lower() not in pats.shared_mailboxes:
                return m.group(0)
    return None


PASSES: tuple[Callable[[Page], None], ...] = (
    mark_boilerplate,       # 2
    read_features,          # 3
    mark_repeats_seen,      # 4
    find_dates,             # 5
    find_title,             # 6
    mark_summary_box,       # 7
    find_body_start,        # 8
    mark_header,            # 9
    find_appended_article,  # 10
    find_end_marker,        # 11
    mark_body,              # 12
    drop_repeats,           # 13
    rescue,                 # 14
    find_sources,           # 15
)


def run(text: str, pats: Patterns, title_hint: str | None = None, url: str | None = None) -> Page:
    page = build_page(text, pats, title_hint, url)  # 1
    for step in PASSES:
        step(page)
    return page
