"""Kibana dashboards as code: the saved objects in services/assets/kibana/citydesk.ndjson (package data, found
with importlib.resources wherever citydesk is installed; deploy/kibana/citydesk.ndjson links to it), imported
through Kibana's
saved-objects API (POST /api/saved_objects/_import?overwrite=true, multipart field `file`, kbn-xsrf header).
With overwrite, running it again changes nothing."""

from __future__ import annotations

import json
import time
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

SAVED_OBJECTS: Traversable = resources.files("services").joinpath("assets", "kibana", "citydesk.ndjson")


def saved_objects(path: Traversable = SAVED_OBJECTS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def import_request(kibana_url: str, path: Traversable = SAVED_OBJECTS) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(url, headers, multipart fields) of the import call, built in one place so tests can check it."""
    url = f"{kibana_url.rstrip('/')}/api/saved_objects/_import?overwrite=true"
    return url, {"kbn-xsrf": "citydesk"}, {"file": (path.name, path.read_bytes(), "application/ndjson")}


def import_saved_objects(kibana_url: str, path: Traversable = SAVED_OBJECTS) -> dict[str, Any]:
    import urllib3

    url, headers, fields = import_request(kibana_url, path)
    resp = urllib3.request("POST", url, headers=headers, fields=fields, timeout=60)
    body = json.loads(resp.data or b"{}")
    if resp.status != 200 or not body.get("success"):
        raise RuntimeError(f"Kibana refused the saved objects (HTTP {resp.status}): "
                           f"{json.dumps(body.get('errors', body), ensure_ascii=False)[:1000]}")
    return body


def wait_for_kibana(kibana_url: str, timeout: float) -> None:
    import urllib3

    deadline = time.monotonic() + timeout
    while True:
        try:
            resp = urllib3.request("GET", f"{kibana_url.rstrip('/')}/api/status", timeout=10)
            if resp.status == 200 and json.loads(resp.data).get("status", {}).get("overall", {}).get(
                    "level") == "available":
                return
        except (urllib3.exceptions.HTTPError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kibana at {kibana_url} not available after {timeout:.0f} s; check CITYDESK_KIBANA_URL")
        time.sleep(3)
