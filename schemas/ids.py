"""Deterministic article ids, so that feeding the same article twice never makes two documents.

The id is the one a producer gives; else a hash of the normalised URL; else a hash of the
normalised body. The same rule runs in the feeder and in the cleaner (for producers that send no id).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a click, not a page.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|from)$", re.IGNORECASE)
_WS = re.compile(r"\s+")

ID_LENGTH = 16


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_LENGTH]


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop fragment, default ports, tracking parameters and a trailing slash."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    if scheme == "https":
        scheme = "http"  # the same page is often scraped under both schemes
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _TRACKING_PARAMS.match(k))
    path = parts.path.strip().rstrip("/") or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def normalize_body(body: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFC", body)).strip()


def article_id(given: str | None = None, url: str | None = None, body: str | None = None) -> str:
    if given and given.strip():
        return given.strip()
    if url and url.strip():
        return _digest(normalize_url(url))
    if body is not None and normalize_body(body):
        return _digest(normalize_body(body))
    raise ValueError("an article needs an id, a url or a non-empty body to be identified")
