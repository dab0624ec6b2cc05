"""The Kibana saved objects (package data: services/assets/kibana/citydesk.ndjson) have the shape Kibana's import
API expects: one object per line with type, id, attributes, references and the migration versions; references
resolve within the set; JSON-in-string attributes parse; every field a visualization, map, saved search or the data
view uses exists in the mapping of the index its data view names (articles, or ties) AND in the real Elasticsearch
node's _field_caps for the indexes `setup` made and the seeds filled through the indexer's placement (aggregated
fields aggregatable, the maps' fields geo_points, the time fields dates); the fields their KQL queries name too.
The stories-over-time visualization, and the ties dashboard (table, a map of lines from the Korean government to its
partner, kinds and sectors over time, ties active in the last 12 months, ties by the office register's status, which
the table shows too) are there.
Proves the file is well-formed and consistent with what a real server reports; does not prove Kibana renders or
even imports it: Kibana is in no registry these machines reach (test_elasticsearch_nori.py imports it when
KIBANA_URL names one)."""

import json
import re

import pytest
import yaml

from services.indexer.elastic import TEMPLATE_FILE, TIES_TEMPLATE_FILE
from services.kibana import SAVED_OBJECTS, import_request, saved_objects

KNOWN_TYPES = {"index-pattern", "search", "visualization", "map", "dashboard", "lens"}
TEMPLATES = {"articles": TEMPLATE_FILE, "ties": TIES_TEMPLATE_FILE}  # data view title → the mapping behind it


def _mapped_fields(view: str = "articles") -> set[str]:
    def walk(props, prefix=""):
        for name, spec in props.items():
            yield prefix + name
            if "properties" in spec:
                yield from walk(spec["properties"], f"{prefix}{name}.")
    return set(walk(json.loads(TEMPLATES[view].read_text(encoding="utf-8"))["mappings"]["properties"]))


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


def _views() -> dict[str, str]:
    """data view id → its title (the index or alias it reads)."""
    return {o["id"]: o["attributes"]["title"] for o in saved_objects() if o["type"] == "index-pattern"}


def _kql_fields(query: str) -> set[str]:
    """The field names a KQL query names (`field:value`, `field >= value`)."""
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*(?::|>=|<=|>|<)", query))


def _used_fields() -> dict[tuple[str, str], str]:
    """(data view title, field) → how the saved objects use it: 'aggregated', 'geo', 'time', 'column' or 'query'."""
    views = _views()
    used: dict[tuple[str, str], str] = {}
    for o in saved_objects():
        a = o["attributes"]
        refs = {r["name"]: views.get(r["id"]) for r in o["references"] if r["type"] == "index-pattern"}
        view = refs.get("kibanaSavedObjectMeta.searchSourceJSON.index")
        for column in a.get("columns", []):
            used.setdefault((view, column), "column")
        if "visState" in a:
            for agg in json.loads(a["visState"])["aggs"]:
                if "field" in agg["params"]:
                    used[(view, agg["params"]["field"])] = "time" if agg["type"] == "date_histogram" else "aggregated"
        source = json.loads(a.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
        for name in _kql_fields(source.get("query", {}).get("query", "")):
            used.setdefault((view, name), "query")
        for layer in json.loads(a.get("layerListJSON", "[]")):
            src = layer["sourceDescriptor"]
            layer_view = refs[src["indexPatternRefName"]]
            for key in ("geoField", "sourceGeoField", "destGeoField"):
                if key in src:
                    used[(layer_view, src[key])] = "geo"
            for metric in src.get("metrics", []):
                if "field" in metric:
                    used[(layer_view, metric["field"])] = "aggregated"
            for name in src.get("tooltipProperties", []):
                used.setdefault((layer_view, name), "column")
        if o["type"] == "index-pattern":
            used[(a["title"], a["timeFieldName"])] = "time"
    return used


def test_every_field_used_exists_in_the_index_mapping():
    used = _used_fields()
    assert {view for view, _ in used} == set(TEMPLATES)
    for view in TEMPLATES:
        fields = _mapped_fields(view)
        named = {field for v, field in used if v == view}
        assert named and named <= fields, (view, named - fields)


@pytest.fixture(scope="module")
def field_caps(es, es_node):
    """The real node's field list for an index made by setup_index and filled with the tagged seeds."""
    from schemas import RawArticle
    from services.cleaner import clean
    from services.indexer.elastic import ElasticsearchStore, setup_index, setup_ties_index, ties_alias
    from services.indexer.placement import index_batch
    from services.tagger import tag
    from tests.conftest import read_seed, required_seed_ids

    setup_index(es, "kibana", analyzer="standard")
    setup_ties_index(es, ties_alias("kibana"))
    index_batch(ElasticsearchStore(es_node.url, "kibana", client=es),
                [tag(clean(RawArticle(id=k, body=read_seed(k)))) for k in required_seed_ids()])
    return {"articles": es.field_caps(index="kibana", fields="*")["fields"],
            "ties": es.field_caps(index=ties_alias("kibana"), fields="*")["fields"]}


def test_every_field_used_is_what_the_real_node_reports(field_caps):
    problems = []
    for (view, field), use in sorted(_used_fields().items()):
        caps = field_caps[view].get(field)
        if caps is None:
            problems.append(f"{view}.{field}: not in _field_caps")
            continue
        kinds = set(caps)
        if use == "aggregated" and not all(c["aggregatable"] for c in caps.values()):
            problems.append(f"{view}.{field}: aggregated by a visualization but not aggregatable ({kinds})")
        if use == "geo" and kinds != {"geo_point"}:
            problems.append(f"{view}.{field}: the map needs a geo_point, the node has {kinds}")
        if use == "time" and kinds != {"date"}:
            problems.append(f"{view}.{field}: a time field must be a date, the node has {kinds}")
    assert problems == []


# Kibana 8.8 froze coreMigrationVersion at 8.8.0 (types moved to model versions); an export from Kibana 8.8+ or 9.x
# carries it, and typeMigrationVersion per type at or below the running Kibana's, so the import migrates upwards.
TYPE_MIGRATION_VERSIONS = {"index-pattern": "8.0.0", "search": "8.0.0", "visualization": "8.5.0", "map": "8.4.0",
                           "dashboard": "8.9.0"}


def test_saved_objects_carry_migration_versions_for_the_kibana_compose_pins():
    from services.engines import pinned_versions
    from tests.conftest import ROOT

    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    kibana_version = compose["services"]["kibana"]["image"].rsplit(":", 1)[1]
    assert kibana_version == pinned_versions()["elasticsearch"]  # the version the suite's node ran
    assert tuple(int(x) for x in kibana_version.split(".")) >= (8, 8, 0)
    for o in saved_objects():
        assert o["coreMigrationVersion"] == "8.8.0", o["id"]
        assert o["typeMigrationVersion"] == TYPE_MIGRATION_VERSIONS[o["type"]], o["id"]


def test_the_dashboard_holds_every_visualization_the_issue_asks_for():
    dash = next(o for o in saved_objects() if o["type"] == "dashboard")
    panel_ids = {r["id"] for r in dash["references"]}
    assert {"citydesk-articles-over-time", "citydesk-top-sectors", "citydesk-partner-countries",
            "citydesk-gov-partner-table", "citydesk-partner-map", "citydesk-relation-kinds",
            "citydesk-stories-over-time"} <= panel_ids


def test_stories_over_time_counts_stories_beside_articles():
    vis = next(o for o in saved_objects() if o["id"] == "citydesk-stories-over-time")
    aggs = json.loads(vis["attributes"]["visState"])["aggs"]
    assert {(a["type"], a["params"].get("field")) for a in aggs} == {
        ("count", None), ("cardinality", "story_id"), ("date_histogram", "published_at")}


def test_the_ties_dashboard_has_a_table_a_map_of_lines_kinds_and_sectors_over_time_and_the_active_ties():
    objects = {o["id"]: o for o in saved_objects()}
    dash = objects["citydesk-ties-dashboard"]
    assert {r["id"] for r in dash["references"]} == {"citydesk-ties-table", "citydesk-ties-map",
                                                    "citydesk-tie-kinds-over-time", "citydesk-tie-sectors-over-time",
                                                    "citydesk-ties-active", "citydesk-ties-by-status"}
    lines = json.loads(objects["citydesk-ties-map"]["attributes"]["layerListJSON"])[0]["sourceDescriptor"]
    assert (lines["type"], lines["sourceGeoField"], lines["destGeoField"]) == (
        "ES_PEW_CONNECTIONS", "korean_location", "partner_location")  # a line from the Korean government out
    groups = {o: {a["params"]["field"] for a in json.loads(objects[o]["attributes"]["visState"])["aggs"]
                  if a["schema"] == "group"} for o in ("citydesk-tie-kinds-over-time", "citydesk-tie-sectors-over-time")}
    assert groups == {"citydesk-tie-kinds-over-time": {"relation_kind"}, "citydesk-tie-sectors-over-time": {"sector"}}
    active = json.loads(objects["citydesk-ties-active"]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert active["query"]["query"] == "last_activity >= now-1y"


def test_the_ties_dashboard_shows_the_office_registers_status():
    objects = {o["id"]: o for o in saved_objects()}
    assert "status" in objects["citydesk-ties-table"]["attributes"]["columns"]
    aggs = json.loads(objects["citydesk-ties-by-status"]["attributes"]["visState"])["aggs"]
    assert {(a["type"], a["params"].get("field")) for a in aggs} == {
        ("count", None), ("max", "status_at"), ("terms", "status")}


def test_the_import_call_overwrites_and_carries_the_xsrf_header():
    url, headers, fields = import_request("http://kibana:5601/")
    assert url == "http://kibana:5601/api/saved_objects/_import?overwrite=true"
    assert "kbn-xsrf" in headers and fields["file"][0] == "citydesk.ndjson"
