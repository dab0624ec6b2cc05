"""`citydesk search` through a running desk: the desk keeps Kiwi and the store open, so the CLI's answer takes
one HTTP request instead of loading a 500 MB model (about 2 s). Falls back (returns None) whenever there is no
desk for this data directory and store, or it does not answer in time; the caller then searches in-process.

Imports nothing heavy: the standard library and the store's result model.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

from services.indexer.store import SearchQuery, SearchResults
from services.settings import Settings


def search_via_desk(cfg: Settings, query: SearchQuery, timeout: float = 5.0) -> SearchResults | None:
    from services.desk.queries import MAX_LIMIT, query_params
    from services.desk.server import read_discovery

    if query.limit > MAX_LIMIT:  # the desk caps a page of hits; a longer list is the in-process search's
        return None
    info = read_discovery(cfg)
    if info is None:
        return None
    url = f"{info['url']}/api/search?{urlencode(query_params(query, with_limit=True))}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    try:
        return SearchResults.model_validate(body)
    except ValueError:
        return None
