"""Test support for the Elasticsearch path.

RecordingElasticsearch is the official client with its transport replaced: every request the client would send
is recorded (endpoint id, path parts, query parameters, body) and answered with a canned response. It proves
what citydesk asks of Elasticsearch, not how a server answers.

ApiSpec reads the Elasticsearch API specification (schema.json from the npm package @elastic/request-converter,
installed by scripts/bootstrap into tests/es_spec/) and lists what in a recorded request it does not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from elastic_transport import ApiResponseMeta, HeadApiResponse, HttpHeaders, NodeConfig, ObjectApiResponse
from elasticsearch import Elasticsearch

SPEC_FILE = Path(__file__).parent / "es_spec" / "node_modules" / "@elastic" / "request-converter" / "dist" / "schema.json"
COMMON_QUERY = {"error_trace", "filter_path", "human", "pretty"}


@dataclass
class Recorded:
    endpoint: str
    method: str
    path: str
    path_parts: dict[str, Any]
    params: dict[str, Any]
    body: Any


def _meta(status: int = 200) -> ApiResponseMeta:
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders({"x-elastic-product": "Elasticsearch"}),
                           duration=0.0, node=NodeConfig("http", "recording.invalid", 9200))


class RecordingElasticsearch(Elasticsearch):
    def __init__(self, server_version: str = "9.1.0", existing_alias: str | None = None,
                 bulk_status: int = 200, item_errors: dict[int, tuple[int, str]] | None = None) -> None:
        super().__init__("http://recording.invalid:9200")
        self.requests: list[Recorded] = []
        self.bulk_status = bulk_status  # the whole bulk request fails with this HTTP status (429, 503 …)
        self.item_errors = item_errors or {}  # item position → (status, error type) in a 200 bulk answer
        self.server_version = server_version
        self.existing_alias = existing_alias

    def options(self, **_: Any) -> RecordingElasticsearch:  # type: ignore[override]
        return self  # per-request options (timeouts, auth) change nothing in what is recorded

    def perform_request(self, method, path, *, params=None, headers=None, body=None, endpoint_id=None,  # type: ignore[override]
                        path_parts=None):
        if isinstance(body, (list, tuple)):  # bulk: the helpers hand over serialised lines
            body = [json.loads(line) if isinstance(line, (bytes, str)) else line for line in body]
        self.requests.append(Recorded(endpoint_id or "", method, path, dict(path_parts or {}), dict(params or {}), body))
        if endpoint_id == "indices.update_aliases":  # remember aliases it was asked to add, as a server would
            for action in (body or {}).get("actions", []):
                if "add" in action:
                    self.existing_alias = action["add"]["alias"]
        if endpoint_id == "indices.exists_alias":
            return HeadApiResponse(meta=_meta(200 if self.existing_alias == (path_parts or {}).get("name") else 404))
        if endpoint_id == "bulk" and self.bulk_status != 200:
            from elasticsearch import ApiError

            raise ApiError(message="rejected", meta=_meta(self.bulk_status), body={"error": "busy"})
        return ObjectApiResponse(body=self._answer(endpoint_id or "", body, path_parts or {}), meta=_meta())

    def _answer(self, endpoint: str, body: Any, parts: dict[str, Any]) -> Any:
        if endpoint == "info":
            return {"version": {"number": self.server_version}}
        if endpoint == "indices.get_alias":
            return {f"{parts.get('name', 'articles')}-v1": {"aliases": {}}}
        if endpoint == "indices.get":
            return {}
        if endpoint == "bulk":
            lines = body if isinstance(body, list) else []
            actions = [line for line in lines if isinstance(line, dict) and set(line) & {"index", "create", "delete", "update"}]
            items = []
            for n, (op, meta) in enumerate((op, meta) for a in actions for op, meta in a.items()):
                status, error = self.item_errors.get(n, (201, ""))
                item = {"_id": meta.get("_id"), "status": status}
                if error:
                    item["error"] = {"type": error, "reason": f"{error} for document {meta.get('_id')}"}
                items.append({op: item})
            return {"errors": bool(self.item_errors), "took": 1, "items": items}
        if endpoint == "search":
            return {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, "aggregations": {}}
        if endpoint == "count":
            return {"count": 0}
        if endpoint == "mget":
            return {"docs": []}
        if endpoint == "get":
            return {"_id": parts.get("id"), "found": True, "_source": {"id": parts.get("id")}}
        return {"acknowledged": True}


@cache
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


class ApiSpec:
    def __init__(self) -> None:
        spec = load_spec()
        self.endpoints = {e["name"]: e for e in spec["endpoints"]}
        self.types = {(t["name"]["namespace"], t["name"]["name"]): t for t in spec["types"]}

    def _type(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        return self.types.get((ref["namespace"], ref["name"]))

    def _properties(self, t: dict[str, Any]) -> dict[str, dict[str, Any]]:
        props = {p["name"]: p for p in t.get("properties", [])}
        for p in list(props.values()):
            for alias in p.get("aliases", []):
                props[alias] = p
        if t.get("inherits"):
            parent = self._type(t["inherits"]["type"])
            if parent:
                props = {**self._properties(parent), **props}
        return props

    def problems(self, req: Recorded) -> list[str]:
        endpoint = self.endpoints.get(req.endpoint)
        if endpoint is None:
            return [f"unknown endpoint {req.endpoint!r}"]
        rtype = self._type(endpoint["request"])
        if rtype is None:
            return [f"{req.endpoint}: request type not in the specification"]
        out = []
        known_query = {q["name"] for q in rtype.get("query", [])} | COMMON_QUERY
        for name in req.params:
            if name not in known_query:
                out.append(f"{req.endpoint}: unknown query parameter {name!r}")
        known_path = {p["name"] for p in rtype.get("path", [])}
        for name in req.path_parts:
            if name not in known_path:
                out.append(f"{req.endpoint}: unknown path part {name!r}")
        body = rtype.get("body", {})
        if req.body is not None and body.get("kind") == "properties" and isinstance(req.body, dict):
            out += self._check_object(req.endpoint, req.body, self._properties(body))
        elif req.body is not None and body.get("kind") == "no_body":
            out.append(f"{req.endpoint}: sends a body where the specification has none")
        return out

    def _check_object(self, where: str, value: dict[str, Any], props: dict[str, dict[str, Any]]) -> list[str]:
        out = []
        for key, sub in value.items():
            prop = props.get(key)
            if prop is None:
                out.append(f"{where}: unknown property {key!r}")
                continue
            t = prop["type"]
            if t["kind"] == "instance_of" and isinstance(sub, dict):
                resolved = self._type(t["type"])
                if resolved and resolved.get("kind") == "interface" and resolved.get("properties"):
                    out += self._check_object(f"{where}.{key}", sub, self._properties(resolved))
        return out
