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
 7. body_start   — the first dateline, when everything between the title and it is header material (short
                   lines, bylines, summaries the body repeats); else the first prose line.
 8. header       — between title and body: bylines, the title printed again, subtitles; prose stays text.
 9. appended     — another article below needs strong evidence: a second headline together with a dateline or
                   byline, below original article text. From that headline on: appended_article.
10. end_marker   — a comment box, related list, footer or translation ends the article only on evidence: a
                   sign-off (byline, e-mail) above it, or less prose below it than above.
11. body         — each line of the article: bylines, repeats, link lists, fragments, non-text, article text.
12. repeats      — a kept line whose every sentence is printed in a later or longer kept line goes (portal
                   summaries, AI summaries, leads printed twice); hashed, linear in lines.
13. rescue       — nothing kept: prose that a positional pass dropped comes back. No single line can erase an
                   article; a page that still keeps nothing is refused by ``core`` naming the lines considered.
14. sources      — outlet (dateline, copyright line, tip-line box, masthead line), reporter and e-mail.

Each pass is a small function ``(page) -> None`` with its own tests (tests/test_cleaner_passes.py); ``PASSES``
below is the same list, and ``run`` applies it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from services.cleaner.dates import first_datetime_with_time, labelled_date, parse_date, standalone_datetime
from services.cleaner.metadata import copyright_outlet, named_outlet, parse_byline, parse_dateline
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

def build_page(text: str, pats: Patterns, title_hint: str | None = None) -> Page:
    lines = [Line(r.number, r.text, r.joined) for r in split_lines(text)]
    return Page(lines=lines, pats=pats, title_hint=title_hint, body_end=len(lines))


# 2. boilerplate ------------------------------------------------------------------------------------------

def mark_boilerplate(page: Page) -> None:
    R = page.pats.reasons
    examined = 0
    for line in page.lines:
        if not line.text:
            line.reason = R.blank
            continue
        examined += 1
        if examined > MAX_LINES:
            line.reason = R.beyond_line_cap
        elif len(line.text) > MAX_LINE_CHARS:
            line.reason = R.overlong_line  # no news sentence is this long: a dump, a data URI, a broken page
        else:
            line.reason = page.pats.drop_reason(line.text) or ""


# 3. features ---------------------------------------------------------------------------------------------

def read_features(page: Page) -> None:
    for line in page.lines:
        if line.reason:
            continue
        line.dateline = parse_dateline(line.text, page.pats)
        if line.dateline is not None:
            line.text_start = line.dateline.end
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
    R, pats, meta = page.pats.reasons, page.pats, page.meta
    never = {R.footer, R.edit_stamp, R.tip_line, R.page_date, R.beyond_line_cap, R.overlong_line}
    for line in page.lines:
        if line.reason in never or not line.text or len(line.text) > 120:
            continue
        if meta.published_at is None and (value := labelled_date(line.text, pats.published_labels)):
            meta.published_at = value
            line.reason = line.reason or R.byline
        if meta.updated_at is None and (value := labelled_date(line.text, pats.updated_labels)):
            meta.updated_at = value
            line.reason = line.reason or R.byline
    if meta.published_at is None:
        for line in page.lines:
            if line.byline is not None and (value := first_datetime_with_time(line.text)):
                meta.published_at = value
                break
    if meta.published_at is None:
        for line in page.lines:
            if line.reason not in never and line.text and (value := standalone_datetime(line.text)):
                meta.published_at, line.reason = value, line.reason or R.byline
                break


# 6. title ------------------------------------------------------------------------------------------------

def headline_like(line: Line) -> bool:
    """A headline: 8–120 characters of mostly Korean that do not end like a sentence; not a byline, dateline,
    date or list item."""
    text = line.text
    if not 8 <= len(text) <= 120 or hangul_count(text) < 4 or hangul_ratio(text) < 0.5:
        return False
    if line.dateline is not None or line.byline is not None or _LIST_ITEM.match(text) or text.endswith((":", "：")):
        return False
    if parse_date(text) is not None:
        return False
    bare = text.rstrip(_CLOSERS).rstrip("…").rstrip(_CLOSERS)
    if text.endswith(tuple(_CLOSERS)) and not text.rstrip(_CLOSERS).endswith(("다", "다.")):
        return True  # …잰걸음' · …협력"
    return not is_sentence(bare)


def find_title(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    title: int | None = None
    if page.title_hint:
        hint = comparable(page.title_hint)
        title = next((i for i in page.undecided() if comparable(lines[i].text) == hint), None)
        if title is None:
            page.meta.title = page.title_hint.strip()
    else:
        for i in page.undecided():
            if lines[i].prose or lines[i].dateline is not None:
                break  # the page opens with prose: it has no headline
            if headline_like(lines[i]):
                title = i
                break
    if title is None:
        return
    page.title_index = title
    page.meta.title = lines[title].text
    lines[title].reason = R.title
    for i in range(title):
        page.set(i, R.before_title)


# 7. body_start -------------------------------------------------------------------------------------------

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


# 8. header -----------------------------------------------------------------------------------------------

def mark_header(page: Page) -> None:
    R, lines = page.pats.reasons, page.lines
    start = page.title_index + 1 if page.title_index is not None else 0
    title_key = comparable(page.meta.title) if page.meta.title else None
    subtitles = []
    for i in page.undecided(start, page.body_start):
        line = lines[i]
        if line.dateline is not None and not line.article_text:
            line.reason = R.dateline
        elif line.byline is not None:
            line.reason = R.byline
        elif title_key and line.key == title_key:
            line.reason = R.duplicate_title
        elif line.prose:
            line.reason = R.body  # text above the body start: a summary (the repeats pass decides) or a lead
        elif not is_sentence(line.text) and len(line.text) <= 100 and hangul_count(line.text) >= 4 \
                and hangul_ratio(line.text) >= 0.5:
            line.reason = R.subtitle
            subtitles.append(line.text)
        elif hangul_ratio(line.text) < 0.2:
            line.reason = R.non_text
        else:
            line.reason = R.short_fragment if len(line.text) < 25 else R.body
    page.meta.subtitle = "\n".join(subtitles) or None


# 9. appended ---------------------------------------------------------------------------------------------

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
        if j is None or j <= page.body_start or lines[j].reason or not headline_like(lines[j]):
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


# 10. end_marker ------------------------------------------------------------------------------------------

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


# 11. body ------------------------------------------------------------------------------------------------

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
        elif title_key and line.key == title_key:
            line.reason = R.duplicate_title
        elif line.key in seen:
            line.reason = R.duplicate
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


# 12. repeats ---------------------------------------------------------------------------------------------

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


# 13. rescue ----------------------------------------------------------------------------------------------

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


# 14. sources ---------------------------------------------------------------------------------------------

def find_sources(page: Page) -> None:
    R, lines, meta, pats = page.pats.reasons, page.lines, page.meta, page.pats
    start = page.title_index + 1 if page.title_index is not None else 0
    article = lines[start:page.body_end]
    if meta.reporter is None:  # the article's own byline or dateline first, then anywhere on the page
        meta.reporter = _first(_reporter_of(line) for line in article) or _first(_reporter_of(line) for line in lines)
    outlets = (  # in order of trust
        (d.outlet if (d := line.dateline) else None for line in article),
        (copyright_outlet(line.text, pats) for line in lines if line.reason == R.footer),
        (named_outlet(line.text, pats) for line in lines if line.reason == R.tip_line),
        (named_outlet(line.text, pats) for line in lines if _masthead(line, pats)),
    )
    for found in outlets:
        if meta.outlet is None:
            meta.outlet = _first(found)
    if meta.reporter_email is None:
        meta.reporter_email = _reporter_email(page)


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


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
    R, pats, meta = page.pats.reasons, page.pats, page.meta
    for line in page.lines:
        if line.byline is not None and line.byline.email and line.byline.reporter == meta.reporter:
            return line.byline.email
    skip = {R.body, R.body_rescued, R.title, R.subtitle}
    previous_named = False
    for line in page.lines:
        if line.reason in skip or not line.text:
            continue
        lowered = line.text.lower()
        m = None if "mail to" in lowered or "copyright" in lowered else pats.email.search(line.text)
        if m:
            labelled = pats.email_label.search(line.text[:m.start()]) is not None
            named = meta.reporter is not None and meta.reporter in line.text
            alone = previous_named and len(line.text) <= len(m.group(0)) + 4
            if labelled or named or alone:
                return m.group(0)
        previous_named = meta.reporter is not None and meta.reporter in line.text and len(line.text) <= 60
    return None


PASSES: tuple[Callable[[Page], None], ...] = (
    mark_boilerplate,       # 2
    read_features,          # 3
    mark_repeats_seen,      # 4
    find_dates,             # 5
    find_title,             # 6
    find_body_start,        # 7
    mark_header,            # 8
    find_appended_article,  # 9
    find_end_marker,        # 10
    mark_body,              # 11
    drop_repeats,           # 12
    rescue,                 # 13
    find_sources,           # 14
)


def run(text: str, pats: Patterns, title_hint: str | None = None) -> Page:
    page = build_page(text, pats, title_hint)  # 1
    for step in PASSES:
        step(page)
    return page
