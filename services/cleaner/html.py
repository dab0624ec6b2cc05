"""HTML → article text and metadata with trafilatura (main-content extraction, htmldate for dates).

No network, whatever the page holds: both libraries get a tree parsed here, never a string. Given a string,
htmldate downloads it when it starts with "http" and has no space (a page whose body is
``http://127.0.0.1:8080/admin`` would make the cleaner call an internal service). The text returned goes
through the same passes as plain text (core.clean_text).
"""

from __future__ import annotations

import re
from copy import deepcopy
from datetime import datetime

import trafilatura
from lxml import etree
from lxml.html import HtmlElement, document_fromstring

from services.cleaner.dates import parse_date, to_kst
from services.cleaner.metadata import Metadata
from services.cleaner.patterns import load_patterns

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def parse_tree(html: str) -> HtmlElement | None:
    """The page as an lxml tree, parsed here and only here; None when it holds no markup to parse."""
    text = _XML_DECLARATION.sub("", html)  # lxml refuses a str that declares an encoding
    if not text.strip():
        return None
    try:
        return document_fromstring(text)
    except (ValueError, etree.LxmlError):  # "Document is empty" (</0), encoding declarations, broken markup
        return None


def _markup_date(tree: HtmlElement, *, original: bool) -> datetime | None:
    """The page's own date and time from its markup (meta tags, time elements, JSON-LD). No guessing from
    free text or URLs (extensive_search=False): unknown is better than wrong."""
    from htmldate import find_date

    found = find_date(deepcopy(tree), outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=original,
                      extensive_search=False)
    if not found:
        return None
    try:
        return to_kst(datetime.fromisoformat(found))
    except ValueError:
        return None


def extract_html(html: str, url: str | None = None) -> tuple[str, Metadata]:
    tree = parse_tree(html)
    if tree is None:
        return "", Metadata()
    doc = trafilatura.bare_extraction(
        deepcopy(tree), url=url, with_metadata=True, include_comments=False, include_tables=False,
        # No deduplicate: trafilatura's cache spans documents, so a page fed twice would come out empty.
        # Repeats within a page are the cleaner's own passes' job.
        include_images=False, favor_precision=True, deduplicate=False,
    )
    if doc is None:
        return "", Metadata()
    meta = Metadata(
        title=(doc.title or "").strip() or None,
        outlet=(doc.sitename or "").strip() or None,
        reporter=load_patterns().strip_titles(doc.author.split(";")[0]) or None if doc.author else None,
    )
    meta.published_at = _markup_date(tree, original=True) or (parse_date(doc.date) if doc.date else None)
    updated = _markup_date(tree, original=False)
    if updated is not None and updated != meta.published_at:
        meta.updated_at = updated
    text = doc.text or ""
    # The title line leads the text so that the passes can find and drop its repeats.
    if meta.title:
        text = f"{meta.title}\n{text}"
    return text, meta
