"""The cleaner's pure core: a scraped page (text or HTML) → exactly the article, with its metadata.

No Kafka here. Every line of the input gets a verdict with a reason code, which
``citydesk clean --explain`` prints; the kept lines become the body.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from schemas import CleanArticle, RawArticle
from services.cleaner.dates import labelled_date, parse_date, standalone_datetime, to_kst
from services.cleaner.patterns import Patterns, load_patterns

MAX_LINE_CHARS = 10_000

# Reasons a line is kept.
KEEP_REASONS = frozenset({"body"})

_SENTENCE_END = re.compile(r"([다요죠음함임됨니까][.!?]?|[.!?…])[\"”’'」』)\]\s]*$")
_HANGUL = re.compile(r"[가-힣]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"'})
_NON_WORD = re.compile(r"[\s\"'·…,.!?()\[\]<>]+")
_LIST_ITEM = re.compile(r"^\s*[-·•*◆◇■□▶▷►]\s+")
_BYLINE_NAME = re.compile(
    r"^[-·•\s]*(?P<name>[가-힣]{2,4})\s*(?:기자|특파원|객원기자|선임기자|인턴기자)(?:\s|$|[|,/·])")
_NAME_EMAIL = re.compile(
    r"^(?P<name>[가-힣]{2,4})\s*[(<\[]?\s*(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_COPYRIGHT_OUTLET = re.compile(
    r"(?:Copyright|ⓒ|©)\s*(?:\(c\)\s*)?(?:ⓒ|©)?\s*(?:\d{4}\s*)?(?P<name>[^.,|\n]{2,30}?)\s*(?:\.|,|\||All|무단|$)",
    re.IGNORECASE)


class CleaningError(ValueError):
    """The page holds no article the cleaner can hand on (the reason says why)."""


@dataclass
class LineVerdict:
    number: int  # 1-based line number in the cleaner's input text
    text: str
    reason: str

    @property
    def kept(self) -> bool:
        return self.reason in KEEP_REASONS


@dataclass
class Metadata:
    title: str | None = None
    subtitle: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    outlet: str | None = None
    reporter: str | None = None
    reporter_email: str | None = None


@dataclass
class Cleaning:
    article: CleanArticle
    verdicts: list[LineVerdict] = field(default_factory=list)


def normalize_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line).replace("\u00a0", " ").replace("\u200b", "")
    line = re.sub(r"[ \t\u3000]+", " ", line).strip()
    # Widget and footer lists are often bulleted with •; the bullet says nothing about the text.
    return line.lstrip("•◦▪ ").strip()


def comparable(text: str) -> str:
    """Text reduced for duplicate detection: same quotes, no spaces or punctuation."""
    return _NON_WORD.sub("", text.translate(_QUOTES)).lower()


def is_sentence(line: str) -> bool:
    return _SENTENCE_END.search(line) is not None


def hangul_ratio(line: str) -> float:
    letters = [c for c in line if c.isalpha()]
    return len(_HANGUL.findall(line)) / len(letters) if letters else 0.0


# --- datelines and bylines -------------------------------------------------------------------------

@dataclass
class Dateline:
    end: int  # where the article text starts on the line
    outlet: str | None
    reporter: str | None


def parse_dateline(line: str, pats: Patterns) -> Dateline | None:
    """[경북신문=김범수기자] · [충칭=이데일리 함지현 기자] · 【브레이크뉴스 대구 】박성원 기자= …"""
    m = pats.dateline.match(line)
    if not m:
        return None
    inside, after = m["inside"].strip(), m["after"]
    if "=" not in inside and not after and not pats.reporter_word.search(inside):
        return None  # [사진], [파리올림픽]: a bracketed label, not a dateline
    left, _, right = inside.partition("=")
    right = pats.reporter_word.sub(" ", right).strip()
    right_tokens = right.split()
    reporter = after
    if reporter is None and right_tokens and re.fullmatch(r"[가-힣]{2,4}", right_tokens[-1]):
        reporter = right_tokens.pop()
    candidates = left.split() + right_tokens
    outlet = next((c for c in candidates if pats.looks_like_outlet(c)), None)
    if outlet is None and left.strip():
        outlet = left.split()[0]
    end = m.end()
    return Dateline(end=end, outlet=outlet, reporter=reporter)


def byline_reporter(line: str) -> tuple[str | None, str | None]:
    """A reporter's byline line (박성원 기자 | 입력 …, 함지현 (hamz@…), 김범수 news1213@…) → (name, email)."""
    m = _NAME_EMAIL.match(line)
    if m and len(line) <= 60:
        return m["name"], m["email"]
    m = _BYLINE_NAME.match(line)
    if m and len(line) <= 80:
        return m["name"], None
    return None, None


def copyright_outlet(line: str) -> str | None:
    m = _COPYRIGHT_OUTLET.search(line)
    if not m:
        return None
    name = m["name"].strip(" ©ⓒ")
    return name or None


# --- the line classifier ---------------------------------------------------------------------------

def _title_like(line: str) -> bool:
    return (8 <= len(line) <= 120 and not is_sentence(line.rstrip("'\"’”"))) or (
        8 <= len(line) <= 120 and line.endswith(("'", "’", "”", '"')) and not line.endswith(("다'", "다’")))


def classify(lines: list[str], pats: Patterns, title_hint: str | None = None) -> tuple[list[str], Metadata]:
    """One reason per line. Returns (reasons, metadata)."""
    n = len(lines)
    reasons: list[str] = [""] * n
    meta = Metadata()
    datelines = [parse_dateline(line, pats) if line else None for line in lines]

    for i, line in enumerate(lines):
        if not line:
            reasons[i] = "blank"
            continue
        if len(line) > MAX_LINE_CHARS:
            reasons[i] = "overlong_line"  # no news paragraph is this long: a dump, a data URI, a broken page
            continue
        dropped = pats.drop_reason(line)
        if dropped:
            reasons[i] = dropped

    # Metadata that can sit anywhere above the footer: dates, bylines, copyright.
    for i, line in enumerate(lines):
        if not line or (reasons[i] == "footer" and not copyright_outlet(line)):
            continue
        if meta.published_at is None and reasons[i] != "footer":
            meta.published_at = labelled_date(line, pats.published_labels)
            if meta.published_at is not None:
                reasons[i] = reasons[i] or "byline"
        if meta.updated_at is None and reasons[i] != "footer":
            meta.updated_at = labelled_date(line, pats.updated_labels)
        if meta.outlet is None and reasons[i] == "footer":
            meta.outlet = _outlet_from_copyright(line, pats)

    if meta.published_at is None:
        for i, line in enumerate(lines):
            if reasons[i] != "footer" and (value := standalone_datetime(line)) is not None:
                meta.published_at, reasons[i] = value, reasons[i] or "byline"
                break

    # Title: the hint (HTML), else the first title-like line not dropped.
    title_index = -1
    for i, line in enumerate(lines):
        if reasons[i]:
            continue
        if title_hint and comparable(line) == comparable(title_hint):
            title_index = i
            break
        if not title_hint and _title_like(line) and datelines[i] is None \
                and byline_reporter(line) == (None, None) and hangul_ratio(line) > 0.3:
            title_index = i
            break
    if title_index >= 0:
        meta.title = lines[title_index]
        reasons[title_index] = "title"
        for i in range(title_index):
            reasons[i] = reasons[i] or "before_title"
    elif title_hint:
        meta.title = title_hint

    # Body start: the first dateline after the title, else the first sentence-like line.
    start = title_index + 1
    body_start = next((i for i in range(start, n) if not reasons[i] and datelines[i]), None)
    if body_start is None:
        body_start = next((i for i in range(start, n)
                           if not reasons[i] and is_sentence(lines[i]) and len(lines[i]) >= 40), n)

    body_keys = [comparable(lines[i][d.end:] if (d := datelines[i]) else lines[i]) for i in range(n)]
    title_key = comparable(meta.title) if meta.title else None

    # Between title and body: repeated title, subtitles, summary lines that the body repeats.
    subtitles: list[str] = []
    for i in range(start, body_start):
        if reasons[i]:
            continue
        line = lines[i]
        name, email = byline_reporter(line)
        if name:
            meta.reporter = meta.reporter or name
            meta.reporter_email = meta.reporter_email or email
            reasons[i] = "byline"
        elif body_keys[i] == title_key:
            reasons[i] = "duplicate_title"
        elif _repeated_later(body_keys, i, body_start):
            reasons[i] = "summary_repeats_body"
        elif not is_sentence(line) and len(line) <= 100:
            reasons[i] = "subtitle"
            subtitles.append(line)
        else:
            reasons[i] = "body"
    meta.subtitle = "\n".join(subtitles) or None

    # The article body, up to an end marker or the dateline of an appended article.
    seen: set[str] = set()
    kept_any = False
    ended_by: str | None = None
    for i in range(body_start, n):
        line = lines[i]
        if ended_by:
            reasons[i] = reasons[i] or ended_by
            continue
        dateline = datelines[i]
        if dateline is not None:
            if kept_any:
                ended_by = "appended_article"
                reasons[i] = ended_by
                _mark_headline_above(lines, reasons, i)
                continue
            meta.outlet = dateline.outlet or meta.outlet
            meta.reporter = meta.reporter or dateline.reporter
        end = pats.end_reason(line)
        if end and kept_any:
            ended_by = f"after_{end}"
            reasons[i] = reasons[i] or end
            continue
        if reasons[i]:
            continue
        name, email = byline_reporter(line)
        if name:
            meta.reporter = meta.reporter or name
            meta.reporter_email = meta.reporter_email or email
            reasons[i] = "byline"
        elif body_keys[i] == title_key:
            reasons[i] = "duplicate_title"
        elif body_keys[i] in seen:
            reasons[i] = "duplicate"
        elif _LIST_ITEM.match(line) and not is_sentence(line):
            reasons[i] = "link_list"
        elif len(line) < 25 and not is_sentence(line):
            reasons[i] = "short_fragment"
        elif hangul_ratio(line) < 0.2 and not is_sentence(line):
            reasons[i] = "non_text"
        else:
            reasons[i] = "body"
            seen.add(body_keys[i])
            kept_any = True

    # Containment: a kept line wholly inside a later kept line is a repeat (lead summaries).
    kept_idx = [i for i in range(n) if reasons[i] == "body"]
    for i in kept_idx:
        if len(body_keys[i]) >= 20 and any(j != i and body_keys[i] in body_keys[j] and
                                           len(body_keys[j]) > len(body_keys[i]) for j in kept_idx):
            reasons[i] = "contained_in_later_line"

    _reporter_email(lines, reasons, meta, pats)
    return reasons, meta


def _strip_dateline(line: str, pats: Patterns) -> str:
    d = parse_dateline(line, pats)
    return line[d.end:].strip() if d else line


def _repeated_later(keys: list[str], i: int, body_start: int) -> bool:
    key = keys[i]
    if len(key) < 15:
        return False
    return any(key in keys[j] for j in range(body_start, len(keys)))


def _mark_headline_above(lines: list[str], reasons: list[str], i: int) -> None:
    """The appended article's headline sits right above its dateline: it goes too."""
    j = i - 1
    while j >= 0 and not lines[j]:
        j -= 1
    if j >= 0 and reasons[j] == "body" and not is_sentence(lines[j]) and len(lines[j]) <= 120:
        reasons[j] = "appended_article"


def _outlet_from_copyright(line: str, pats: Patterns) -> str | None:
    name = copyright_outlet(line)
    if not name:
        return None
    # "퍼스트뉴스 통신" → the part that looks like an outlet name.
    for token in name.split():
        if pats.looks_like_outlet(token):
            return token
    return name


def _reporter_email(lines: list[str], reasons: list[str], meta: Metadata, pats: Patterns) -> None:
    if meta.reporter_email:
        return
    for i, line in enumerate(lines):
        if reasons[i] in ("body", "title", "subtitle") or "mail to" in line.lower() or "copyright" in line.lower():
            continue
        m = pats.email.search(line)
        if not m:
            continue
        labelled = pats.email_label.search(line[:m.start()]) is not None
        named = meta.reporter is not None and meta.reporter in line
        if labelled or named:
            meta.reporter_email = m.group(0)
            return


# --- entry points ----------------------------------------------------------------------------------

def clean_text(text: str, *, title_hint: str | None = None) -> tuple[list[LineVerdict], Metadata]:
    pats = load_patterns()
    lines = [normalize_line(line) for line in text.splitlines()]
    reasons, meta = classify(lines, pats, title_hint)
    verdicts = [LineVerdict(i + 1, line, reason) for i, (line, reason) in enumerate(zip(lines, reasons, strict=True))
                if line]
    return verdicts, meta


def analyze(raw: RawArticle) -> Cleaning:
    """Clean one raw article and keep every line's verdict."""
    title_hint = None
    html_meta: dict[str, object] = {}
    text = raw.body
    if raw.content_type == "text/html":
        from services.cleaner.html import extract_html

        text, html_meta = extract_html(raw.body, raw.url)
        title_hint = html_meta.get("title")  # type: ignore[assignment]
    verdicts, meta = clean_text(text, title_hint=title_hint)  # type: ignore[arg-type]
    pats = load_patterns()
    paragraphs = [_strip_dateline(v.text, pats) for v in verdicts if v.kept]
    if not paragraphs:
        raise CleaningError(f"no article text left after removing boilerplate ({len(verdicts)} lines, "
                            "none of them article text); check the page really holds an article")
    title = meta.title or str(html_meta.get("title") or "") or paragraphs[0][:80]
    published = meta.published_at or html_meta.get("published_at")
    article = CleanArticle(
        id=raw.id or "",
        url=raw.url,
        title=title,
        subtitle=meta.subtitle,
        body="\n\n".join(paragraphs),
        published_at=to_kst(published) if isinstance(published, datetime) else None,
        updated_at=meta.updated_at or html_meta.get("updated_at"),  # type: ignore[arg-type]
        outlet=raw.outlet or meta.outlet or html_meta.get("outlet"),  # type: ignore[arg-type]
        reporter=meta.reporter or html_meta.get("reporter"),  # type: ignore[arg-type]
        reporter_email=meta.reporter_email,
        fetched_at=raw.fetched_at,
    )
    return Cleaning(article=article, verdicts=verdicts)


def clean(raw: RawArticle) -> CleanArticle:
    return analyze(raw).article


__all__ = ["Cleaning", "CleaningError", "LineVerdict", "analyze", "clean", "clean_text", "parse_date"]
