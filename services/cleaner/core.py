"""The cleaner's entry points: a scraped page (text or HTML) → exactly the article, with its metadata.

No Kafka here. The work is the numbered passes of ``passes.py`` over one ``Page``; every input line gets
a verdict with a reason code (listed in patterns.json), which ``citydesk clean --explain`` prints, and the
kept lines become the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import CleanArticle, RawArticle
from services.cleaner import passes
from services.cleaner.dates import parse_date, to_kst
from services.cleaner.metadata import Metadata
from services.cleaner.page import Page
from services.cleaner.patterns import load_patterns
from services.cleaner.text import normalize_line

CONSIDERED_IN_REFUSAL = 5  # lines a refusal names: the longest ones the passes looked at


class CleaningError(ValueError):
    """The page holds no article the cleaner can hand on (the reason says why)."""


@dataclass(frozen=True)
class LineVerdict:
    number: int  # 1-based line number in the cleaner's input text
    text: str
    reason: str
    kept: bool


@dataclass
class Cleaning:
    article: CleanArticle
    verdicts: list[LineVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _verdicts(page: Page) -> list[LineVerdict]:
    kept = page.pats.reasons.kept
    return [LineVerdict(line.number, line.text, line.reason, kept(line.reason)) for line in page.lines if line.text]


def clean_text(text: str, *, title_hint: str | None = None) -> tuple[list[LineVerdict], Metadata]:
    page = passes.run(text, load_patterns(), title_hint)
    return _verdicts(page), page.meta


def paragraphs(page: Page) -> list[str]:
    """The kept lines' text; pieces of one glued input line are joined again with a space."""
    out: list[str] = []
    previous_kept = -1
    for i in page.kept():
        line = page.lines[i]
        text = line.article_text
        if not text:
            continue
        if out and line.joined and previous_kept == i - 1:
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
        previous_kept = i
    return out


def refusal(page: Page) -> str:
    """Why nothing was kept, naming the lines considered (the longest ones, with their verdicts)."""
    lines = [line for line in page.lines if line.text]
    longest = sorted(lines, key=lambda line: len(line.text), reverse=True)[:CONSIDERED_IN_REFUSAL]
    named = "; ".join(f"line {line.number} {line.reason} {line.text[:60]!r}"
                      for line in sorted(longest, key=lambda line: line.number))
    return (f"no article text left after removing boilerplate: none of the {len(lines)} lines is article text"
            + (f"; the longest considered: {named}" if named else ""))


def analyze(raw: RawArticle) -> Cleaning:
    """Clean one raw article and keep every line's verdict."""
    html_meta = Metadata()
    text = raw.body
    if raw.content_type == "text/html":
        from services.cleaner.html import extract_html

        text, html_meta = extract_html(raw.body, raw.url)
    page = passes.run(text, load_patterns(), html_meta.title, raw.url)
    body = paragraphs(page)
    if not body:
        raise CleaningError(refusal(page))
    meta = page.meta
    meta.fill_from(html_meta)
    article = CleanArticle(
        id=raw.id or "",
        url=raw.url,
        title=meta.title or "",  # a page without a headline has no title: never a body sentence
        subtitle=meta.subtitle,
        body="\n\n".join(body),
        published_at=to_kst(meta.published_at) if meta.published_at else None,
        updated_at=meta.updated_at,
        outlet=raw.outlet or meta.outlet,
        reporter=meta.reporter,
        reporter_email=meta.reporter_email,
        fetched_at=raw.fetched_at,
    )
    return Cleaning(article=article, verdicts=_verdicts(page), notes=page.notes)


def clean(raw: RawArticle) -> CleanArticle:
    return analyze(raw).article


__all__ = ["Cleaning", "CleaningError", "LineVerdict", "analyze", "clean", "clean_text", "normalize_line",
           "parse_date"]
