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
        if endpoint == "nodes.info":
            return {"nodes": {"recorded-node": {"version": self.server_version}}}
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
            return {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, "aggregations": {},
                    "_scroll_id": "recorded-scroll", "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
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
            out += self._check_object(req.endpoint, req.body, self._properties(body), additional=False)
        elif req.body is not None and body.get("kind") == "no_body":
            out.append(f"{req.endpoint}: sends a body where the specification has none")
        return out

    # The walker goes down every value: objects (interfaces, inherited properties), arrays, dictionaries, unions
    # (a tagged member is chosen by its literal `type`; otherwise the value must fit one member), enums and
    # scalars. Names it does not know anywhere in the tree are reported with their path.

    def _check_object(self, where: str, value: dict[str, Any], props: dict[str, dict[str, Any]],
                      additional: bool) -> list[str]:
        out = []
        for key, sub in value.items():
            prop = props.get(key)
            if prop is None:
                if not additional:
                    out.append(f"{where}: unknown property {key!r}")
                continue
            out += self.check_value(f"{where}.{key}", sub, prop["type"])
        return out

    def check_value(self, where: str, value: Any, t: dict[str, Any], depth: int = 0) -> list[str]:
        if depth > 60:
            return []
        kind = t["kind"]
        if kind == "instance_of":
            ref = t["type"]
            if ref["namespace"] == "_builtins":
                return self._check_builtin(where, value, ref["name"])
            named = self._type(ref)
            return [] if named is None else self._check_named(where, value, named, depth + 1)
        if kind == "array_of":
            items = value if isinstance(value, list) else [value]  # a single value stands for a one-item array
            return [p for i, v in enumerate(items) for p in self.check_value(f"{where}[{i}]", v, t["value"], depth + 1)]
        if kind == "dictionary_of":
            if not isinstance(value, dict):
                return [f"{where}: expected an object, got {type(value).__name__}"]
            return [p for k, v in value.items() for p in self.check_value(f"{where}.{k}", v, t["value"], depth + 1)]
        if kind == "union_of":
            return self._check_union(where, value, t["items"], depth + 1)
        if kind == "literal_value":
            return [] if value == t["value"] else [f"{where}: {value!r} where the specification has {t['value']!r}"]
        return []  # user_defined_value: anything

    def _check_builtin(self, where: str, value: Any, name: str) -> list[str]:
        ok = {
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool) or value in ("true", "false"),
            "null": value is None,
        }.get(name)
        if name in ("number", "integer", "long", "float", "double", "short", "byte", "uint", "ulong"):
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
                (isinstance(value, str) and value.lstrip("-").replace(".", "", 1).isdigit())
        if ok is None or ok:
            return []
        return [f"{where}: expected {name}, got {type(value).__name__} {str(value)[:40]!r}"]

    def _check_named(self, where: str, value: Any, named: dict[str, Any], depth: int) -> list[str]:
        kind = named.get("kind")
        if kind == "type_alias":
            return self.check_value(where, value, named["type"], depth)
        if kind == "enum":
            if not isinstance(value, str):
                return []
            names = {m["name"] for m in named.get("members", [])} | \
                {a for m in named.get("members", []) for a in m.get("aliases", [])}
            if value in names or value.lower() in {n.lower() for n in names}:
                return []
            return [f"{where}: {value!r} is not one of {sorted(names)[:12]}"]
        if kind == "interface":
            if not isinstance(value, dict):
                if named.get("shortcutProperty"):
                    return []
                return [f"{where}: expected an object ({named['name']['name']}), got {type(value).__name__}"]
            behaviors = set(named.get("attachedBehaviors", []))
            parent = named
            while parent.get("inherits") and not behaviors & {"AdditionalProperties", "AdditionalProperty"}:
                parent = self._type(parent["inherits"]["type"]) or {}
                behaviors |= set(parent.get("attachedBehaviors", []))
            additional = bool(behaviors & {"AdditionalProperties", "AdditionalProperty"})
            return self._check_object(where, value, self._properties(named), additional)
        return []

    def _tag_of(self, member: dict[str, Any]) -> tuple[str, Any] | None:
        """(property, literal) of a tagged union member such as NoriTokenizer's type: "nori_tokenizer"."""
        if member["kind"] != "instance_of":
            return None
        named = self._type(member["type"])
        if not named or named.get("kind") != "interface":
            return None
        for prop in self._properties(named).values():
            if prop["type"]["kind"] == "literal_value":
                return prop["name"], prop["type"]["value"]
        return None

    def _flatten(self, items: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
        """Members of a union, with aliases of unions (Tokenizer = string | TokenizerDefinition) opened up."""
        out = []
        for m in items:
            named = self._type(m["type"]) if m["kind"] == "instance_of" and m["type"]["namespace"] != "_builtins" \
                else None
            if named and named.get("kind") == "type_alias" and named["type"]["kind"] == "union_of" and depth < 5:
                out += self._flatten(named["type"]["items"], depth + 1)
            else:
                out.append(m)
        return out

    def _shape(self, t: dict[str, Any]) -> str:
        """'array', 'object', 'scalar' or 'any': what JSON a member of a union can be."""
        if t["kind"] == "array_of":
            return "array"
        if t["kind"] in ("dictionary_of",):
            return "object"
        if t["kind"] == "literal_value":
            return "scalar"
        if t["kind"] == "instance_of":
            if t["type"]["namespace"] == "_builtins":
                return "scalar" if t["type"]["name"] in ("string", "boolean", "number", "integer", "long", "float",
                                                         "double", "null") else "any"
            named = self._type(t["type"]) or {}
            if named.get("kind") == "interface":
                return "any" if named.get("shortcutProperty") else "object"
            if named.get("kind") == "enum":
                return "scalar"
            if named.get("kind") == "type_alias":
                return self._shape(named["type"])
        return "any"

    def _check_union(self, where: str, value: Any, items: list[dict[str, Any]], depth: int) -> list[str]:
        items = self._flatten(items)
        shape = "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "scalar"
        fitting = [m for m in items if self._shape(m) in (shape, "any")]
        if not fitting:
            return [f"{where}: a JSON {shape} where the specification allows none"]
        items = fitting
        if isinstance(value, dict):
            tags = [(m, self._tag_of(m)) for m in items]
            tag_names = {tag[0] for _, tag in tags if tag}
            for name in tag_names:
                if name in value:
                    chosen = [m for m, tag in tags if tag and tag == (name, value[name])]
                    if not chosen:
                        known = sorted(str(tag[1]) for _, tag in tags if tag and tag[0] == name)
                        return [f"{where}: unknown {name} {value[name]!r} (known: {', '.join(known[:15])} …)"]
                    return self.check_value(where, value, chosen[0], depth)
        best: list[str] | None = None
        for member in items:
            problems = self.check_value(where, value, member, depth)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []
