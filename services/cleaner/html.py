"""HTML → article text and metadata with trafilatura (main-content extraction, htmldate for dates).

The text it returns goes through the same line rules as plain text (core.clean_text).
"""

from __future__ import annotations

from datetime import datetime

import trafilatura

from services.cleaner.dates import parse_date, to_kst


def _markup_date(html: str, *, original: bool) -> datetime | None:
    """The page's own date and time from its markup (meta tags, time elements, JSON-LD). No guessing
    from free text or URLs (extensive_search=False): unknown is better than wrong."""
    from htmldate import find_date

    found = find_date(html, outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=original, extensive_search=False)
    if not found:
        return None
    try:
        return to_kst(datetime.fromisoformat(found))
    except ValueError:
        return None


def extract_html(html: str, url: str | None = None) -> tuple[str, dict[str, object]]:
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False,
        # No deduplicate: trafilatura's cache spans documents, so a page fed twice would come out empty.
        # Repeats within a page are the cleaner's own rules' job.
        include_images=False, favor_precision=True, deduplicate=False,
    )
    if doc is None:
        return "", {}
    text = doc.text or ""
    meta: dict[str, object] = {}
    if doc.title:
        meta["title"] = doc.title.strip()
    if doc.sitename:
        meta["outlet"] = doc.sitename.strip()
    if doc.author:
        meta["reporter"] = doc.author.split(";")[0].replace("기자", "").strip() or None
    published = _markup_date(html, original=True) or (parse_date(doc.date) if doc.date else None)
    if published is not None:
        meta["published_at"] = published
    updated = _markup_date(html, original=False)
    if updated is not None and updated != published:
        meta["updated_at"] = updated
    # The title line leads the text so that the line rules can find and drop its repeats.
    if meta.get("title"):
        text = f"{meta['title']}\n{text}"
    return text, meta
