"""The Kibana saved objects have the shape Kibana's import API expects: one object per line with type, id,
attributes and references; references resolve within the set; JSON-in-string attributes parse; every field a
visualization or map uses exists in our index mapping. Proves the file is well-formed and consistent with the
mapping; does not prove Kibana renders it (that needs a Kibana: the real-cluster suite with KIBANA_URL)."""

import json

from services.indexer.elastic import TEMPLATE_FILE
from services.kibana import SAVED_OBJECTS, import_request, saved_objects

KNOWN_TYPES = {"index-pattern", "search", "visualization", "map", "dashboard", "lens"}


def _mapped_fields() -> set[str]:
    def walk(props, prefix=""):
        for name, spec in props.items():
            yield prefix + name
            if "properties" in spec:
                yield from walk(spec["properties"], f"{prefix}{name}.")
    return set(walk(json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))["mappings"]["properties"]))


def test_one_object_per_line_with_the_fields_import_needs():
    lines = [line for line in SAVED_OBJECTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]
    assert len(objects) == len(lines) >= 6
    for o in objects:
        assert {"type", "id", "attributes", "references"} <= set(o) and o["type"] in KNOWN_TYPES
        assert o["attributes"].get("title")
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)


def test_references_resolve_within_the_set():
    objects = saved_objects()
    present = {(o["type"], o["id"]) for o in objects}
    for o in objects:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in present, (o["id"], ref)


def test_embedded_json_parses_and_names_its_references():
    for o in saved_objects():
        a = o["attributes"]
        ref_names = {r["name"] for r in o["references"]}
        for key in ("visState", "panelsJSON", "layerListJSON", "mapStateJSON", "optionsJSON", "uiStateJSON"):
            if key in a:
                json.loads(a[key])
        source = a.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if source and "indexRefName" in json.loads(source):
            assert json.loads(source)["indexRefName"] in ref_names
        for panel in json.loads(a.get("panelsJSON", "[]")):
            assert panel["panelRefName"] in ref_names
        for layer in json.loads(a.get("layerListJSON", "[]")):
            assert layer["sourceDescriptor"]["indexPatternRefName"] in ref_names


def test_every_field_used_exists_in_the_index_mapping():
    fields = _mapped_fields()
    used = set()
    for o in saved_objects():
        a = o["attributes"]
        if "visState" in a:
            used |= {agg["params"]["field"] for agg in json.loads(a["visState"])["aggs"] if "field" in agg["params"]}
        for layer in json.loads(a.get("layerListJSON", "[]")):
            used.add(layer["sourceDescriptor"]["geoField"])
        if o["type"] == "index-pattern":
            used.add(a["timeFieldName"])
        used |= set(a.get("columns", []))
    assert used and used <= fields, used - fields


def test_the_dashboard_holds_every_visualization_the_issue_asks_for():
    dash = next(o for o in saved_objects() if o["type"] == "dashboard")
    panel_ids = {r["id"] for r in dash["references"]}
    assert {"citydesk-articles-over-time", "citydesk-top-sectors", "citydesk-partner-countries",
            "citydesk-gov-partner-table", "citydesk-partner-map", "citydesk-relation-kinds"} <= panel_ids


def test_the_import_call_overwrites_and_carries_the_xsrf_header():
    url, headers, fields = import_request("http://kibana:5601/")
    assert url == "http://kibana:5601/api/saved_objects/_import?overwrite=true"
    assert "kbn-xsrf" in headers and fields["file"][0] == "citydesk.ndjson"
