"""The desk's HTTP surface without a browser (Starlette's TestClient, and one real server process).

Proves: /api/search answers exactly what the store answers for the same query (text, filters, dates) plus articles
per month that add up; the search page's facet links apply and remove their filter; an article page marks its
partner and shows each relation's evidence; the map's points carry the articles' coordinates and its lines join
two points; operations read workers' status files, dead letters grouped by reason from a real tansu broker, and
replay sends a letter's payload back to its topic only through a POST with the session's CSRF token, its
confirmation, and no foreign Origin; lag on a real Apache Kafka is the end offset minus the group's commit; "how
it was cleaned" is computed from the raw message on the broker and says "unavailable" when the broker does not
have it; a Host other than this machine's is refused; every response
carries the security headers; no route reads a file outside the package's static directory; `citydesk serve`
binds 127.0.0.1 only and `citydesk search` goes through it (without loading Kiwi) and falls back when it stops.

Does not prove: what a browser renders or runs (tests/test_desk_browser.py), nor speed (tools/desk_bench.py
measures it), nor the Elasticsearch store (the desk uses the same interface; its aggregations are request-shaped
for Elasticsearch but not run against a node here).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from schemas import topics
from services.indexer.store import SearchQuery
from tests.conftest import ROOT, free_port, running_pipeline
from tests.desk_support import raw_articles, tagged, with_relation, write_store

starlette_testclient = pytest.importorskip("starlette.testclient")
pytestmark = pytest.mark.filterwarnings("ignore:read_text is deprecated:DeprecationWarning")  # kafka-python's


@pytest.fixture(scope="module")
def articles():
    return tagged(raw_articles())


@pytest.fixture(scope="module")
def cfg(tmp_path_factory, articles):
    from services.settings import Settings

    data = tmp_path_factory.mktemp("desk")
    write_store(data / "store", articles)
    # A port nothing listens on: the store-only tests must not find a broker.
    return Settings(data_dir=data, bootstrap_servers=f"127.0.0.1:{free_port()}")


@pytest.fixture(scope="module")
def client(cfg):
    from services.desk.app import create_app

    with starlette_testclient.TestClient(create_app(cfg), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture(scope="module")
def store(cfg):
    from services.indexer.embedded import EmbeddedStore

    return EmbeddedStore(cfg.store_dir)


QUERIES = [
    {},
    {"q": "협력"},
    {"q": '"자매 결연"'},
    {"relation": "sister_city"},
    {"q": "교류", "country": "CN"},
    {"since": "2023-01-01", "until": "2023-12-31"},
]


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all")
def test_api_search_is_the_store_search(client, store, params):
    from services.desk.queries import parse_query

    resp = client.get("/api/search", params=params)
    assert resp.status_code == 200
    body = resp.json()
    expected = store.search(parse_query(params, limit=10, facet_size=10))
    assert body["total"] == expected.total
    assert [h["id"] for h in body["hits"]] == [h.id for h in expected.hits]
    assert {k: [tuple(b) for b in v] for k, v in body["facets"].items()} == expected.facets
    dated = store.search(parse_query(params, limit=500)).hits
    assert sum(n for _, n in body["months"]) == sum(1 for h in dated if h.published_at)


def test_until_includes_its_whole_day(client, store, articles):
    day = next(a.published_at for a in articles if a.published_at and a.published_at.hour > 0)
    resp = client.get("/api/search", params={"since": day.date().isoformat(), "until": day.date().isoformat()})
    ids = {h["id"] for h in resp.json()["hits"]}
    assert any(a.id in ids for a in articles if a.published_at == day)


def test_bad_parameters_are_named(client):
    resp = client.get("/api/search", params={"relation": "marriage"})
    assert resp.status_code == 400 and "relation" in resp.json()["error"]
    resp = client.get("/api/search", params={"since": "yesterday"})
    assert resp.status_code == 400 and "since" in resp.json()["error"]
    assert client.get("/", params={"since": "yesterday"}).status_code == 400


def _links(html: str, pattern: str) -> list[str]:
    return [unescape(h) for h in re.findall(pattern, html, re.S)]


def test_facet_links_add_and_remove_their_filter(client, store):
    page = client.get("/").text
    hrefs = _links(page, r'<section class="facet" data-facet="relation_kind">.*?<a href="([^"]+)"')
    assert hrefs, "the relation facet has a clickable value"
    params = dict(parse_qsl(urlsplit(hrefs[0]).query))
    kind = params["relation"]
    filtered = client.get(hrefs[0]).text
    expected = store.search(SearchQuery(relation=[kind], limit=20))
    assert f'<strong id="total">{expected.total:,}</strong>' in filtered
    for hit in expected.hits:
        assert f"/article/{hit.id}" in filtered
    active = _links(filtered, r'<a href="([^"]+)" class="on" data-value="' + re.escape(kind) + '"')
    assert active and "relation=" not in active[0], "clicking the active value removes the filter"


def test_histogram_bars_select_their_month(client, store):
    page = client.get("/").text
    bars = re.findall(r'<a href="([^"]+)" class="bar" data-month="(\d{4}-\d{2})">', page)
    assert bars
    href, month = next((unescape(h), m) for h, m in bars if f"{m}: 0건" not in page)
    body = client.get("/api/search" + href[1:] + "&limit=200").json()
    assert body["total"] > 0
    assert all(h["published_at"][:7] == month for h in body["hits"])


def test_article_page_marks_partner_and_shows_evidence(client, articles):
    a = with_relation(articles)
    rel = next(r for r in a.relations if r.evidence)
    page = client.get(f"/article/{a.id}").text
    assert f'class="place partner" data-name="{rel.partner}"' in page
    assert f'data-partner="{rel.partner}"' in page
    ev = rel.evidence[0]
    assert ev.sentence[:20] in unescape(re.sub(r"<[^>]+>", "", page))
    assert 'class="evidence" id="ev-1"' in page


def test_article_without_evidence_shows_the_sentence_naming_both(cfg, articles):
    from services.desk.article import article_view

    a = with_relation(articles)
    doc = a.model_dump(mode="json")
    for r in doc["relations"]:
        r.pop("evidence", None)  # as articles tagged before relations carried evidence
    view = article_view(doc)
    rel = view["relations"][0]
    assert rel["fallback"] and rel["evidence"], "a sentence holding both names is shown, and said to be a fallback"
    assert 'class="place partner"' in str(rel["evidence"][0]["html"])


def test_only_web_urls_become_links(tmp_path, articles):
    from services.desk.app import create_app
    from services.settings import Settings

    write_store(tmp_path / "store", [articles[0].model_copy(update={"id": "js", "url": "javascript:alert(1)"})])
    cfg = Settings(data_dir=tmp_path, bootstrap_servers=f"127.0.0.1:{free_port()}")
    with starlette_testclient.TestClient(create_app(cfg, warm=False), base_url="http://127.0.0.1") as c:
        page = c.get("/article/js").text
    assert "javascript:alert(1)" in page and 'href="javascript:' not in page


def test_unknown_article_is_404(client):
    assert client.get("/article/no-such-id").status_code == 404
    assert client.get("/api/article/no-such-id").status_code == 404


def test_map_points_have_the_articles_coordinates(client, articles):
    data = client.get("/api/map").json()
    located = {p.name: p.location for a in articles for p in a.places if p.location}
    assert data["points"]
    for point in data["points"]:
        assert (point["lat"], point["lon"]) == (located[point["name"]].lat, located[point["name"]].lon)
    names = {p["name"] for p in data["points"]}
    assert data["lines"] and all(line["korean_party"] in names and line["partner"] in names for line in data["lines"])
    pairs = {(r.korean_party, r.partner) for a in articles for r in a.relations}
    assert all((line["korean_party"], line["partner"]) in pairs for line in data["lines"])
    page = client.get("/map").text
    assert '<script type="application/json" id="map-data">' in page


def test_map_json_cannot_close_its_script_element():
    from services.desk.app import _script_json

    text = _script_json({"name": "</script><script>alert(1)</script>"})
    assert "</script" not in text and json.loads(text)["name"].startswith("</script>")


def test_every_response_has_the_security_headers(client):
    for path in ("/", "/api/search", "/static/desk.css", "/nope"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"


def test_a_foreign_host_is_refused(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"host": "127.0.0.1.nip.io:8765"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200


def test_static_files_come_from_the_package_only(client):
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from services.desk import app as desk_app

    app = client.app
    while not hasattr(app, "routes"):  # through the middleware stack
        app = app.app
    mounts = [r for r in app.routes if isinstance(r, Mount)]
    assert len(mounts) == 1 and isinstance(mounts[0].app, StaticFiles)
    assert mounts[0].app.directory == str(desk_app.HERE / "static")
    paths = {getattr(r, "path", "") for r in app.routes}
    assert paths == {"/", "/article/{article_id:str}", "/article/{article_id:str}/cleaning", "/map", "/ops",
                     "/ops/replay", "/stories", "/ties", "/ties/{korean_party:str}/{partner:str}", "/api/search",
                     "/api/article/{article_id:str}", "/api/map", "/api/ops", "/api/stories", "/api/ties",
                     "/api/ties/{korean_party:str}/{partner:str}", "/api/health", "/static"}, \
        "a new route must be checked here for file access"


SENTINEL_FILES = ("pyproject.toml", "services/desk/app.py", "/etc/passwd")
TRAVERSALS = ["../../../../../../etc/passwd", "..%2F..%2F..%2F..%2Fpyproject.toml", "%2e%2e/%2e%2e/app.py",
              "....//....//pyproject.toml", "/etc/passwd", "%2Fetc%2Fpasswd", "..\\..\\pyproject.toml",
              "vendor/../../app.py", "../app.py", "../templates/base.html"]


def test_no_endpoint_reads_a_file(client):
    secrets = []  # each file's longest line: text no page of the desk contains by chance
    for name in SENTINEL_FILES:
        path = Path(name) if name.startswith("/") else ROOT / name
        if path.exists():
            secrets.append(max(path.read_text(encoding="utf-8", errors="replace").splitlines(), key=len).strip())
    assert secrets and all(len(s) >= 20 for s in secrets)
    for attack in TRAVERSALS:
        for prefix in ("/static/", "/article/", "/api/article/", "/article/x/cleaning?id=", "/?q=", "/map?place=",
                       "/ties/대구광역시/", "/api/ties/x/", "/ties?korean_party=", "/stories?story=", "/api/stories?q="):
            resp = client.get(prefix + attack)
            for secret in secrets:
                assert secret not in resp.text, f"{prefix}{attack} returned a file's content"
        resp = client.get("/static/" + attack)
        assert resp.status_code in (400, 404), f"/static/{attack} answered {resp.status_code}"
    assert client.get("/static/desk.css").status_code == 200


def _token(client) -> str:
    from services.desk.security import SESSION_COOKIE

    client.get("/")
    app = client.app
    while not hasattr(app, "state") or not hasattr(app.state, "desk"):
        app = app.app
    return app.state.desk.csrf.token(client.cookies[SESSION_COOKIE])


def test_replay_needs_a_post_with_the_sessions_csrf_token(client):
    token = _token(client)
    form = {"confirm": "yes", "id": "abc"}
    assert client.get("/ops/replay", params=form).status_code == 200  # GET only shows the confirmation
    assert client.post("/ops/replay", data=form).status_code == 403
    assert client.post("/ops/replay", data={**form, "csrf": "0" * 64}).status_code == 403
    assert client.post("/ops/replay", data={**form, "csrf": token},
                       headers={"origin": "http://evil.example"}).status_code == 403
    assert client.post("/ops/replay", data={"id": "abc", "csrf": token}).status_code == 400  # not confirmed
    # A valid token gets past the checks: here the broker is down, which the answer says.
    resp = client.post("/ops/replay", data={**form, "csrf": token}, headers={"origin": "http://127.0.0.1"})
    assert resp.status_code == 503 and "not reachable" in resp.text
    from services.desk.security import SESSION_COOKIE

    other = starlette_testclient.TestClient(client.app, base_url="http://127.0.0.1")
    other.cookies.set(SESSION_COOKIE, "another-session")
    assert other.post("/ops/replay", data={**form, "csrf": token}).status_code == 403, "a token is per session"


def test_operations_without_a_broker_say_so(client, cfg):
    from services.health import WorkerStatus

    WorkerStatus("tagger", state="degraded", consumed=7, status_dir=cfg.status_dir,
                 last_error="store unavailable").save()
    body = client.get("/api/ops").json()
    assert [w["stage"] for w in body["workers"]] == ["tagger"] and body["workers"][0]["consumed"] == 7
    assert "not reachable" in body["dead_letters"]["error"] and not body["lag"]["available"]
    page = client.get("/ops").text
    assert "state-degraded" in page and "not reachable" in page


def test_cleaning_without_the_raw_page_is_unavailable(client, articles):
    frag = client.get(f"/article/{articles[0].id}/cleaning", params={"fragment": "1"}).text
    assert "unavailable" in frag and "not reachable" in frag


# -- with a real broker (tansu, no workers): dead letters, replay, raw pages ----------------------------------

@pytest.fixture(scope="module")
def broker_desk(tmp_path_factory, articles):
    from services.desk.app import create_app
    from services.feed import producer, send_raw

    data = tmp_path_factory.mktemp("desk-broker")
    write_store(data / "store", articles)
    with running_pipeline(data, stages=()) as pipeline:
        prod = producer(pipeline.cfg)
        for raw in raw_articles():
            send_raw(prod, raw)
        prod.flush()
        prod.close()
        with starlette_testclient.TestClient(create_app(pipeline.cfg), base_url="http://127.0.0.1") as c:
            yield pipeline.cfg, c


def _dead_letter(cfg, payload: bytes, offset: int):
    from services.deadletter import dead_letter
    from services.feed import producer

    letter = dead_letter("cleaner", ValueError("empty body: there is no article to clean"), payload,
                         article_id=None, topic=topics.RAW, partition=0, offset=offset)
    prod = producer(cfg)
    prod.send(topics.DLQ, key=letter.id.encode(), value=letter.model_dump_json().encode())
    prod.flush()
    prod.close()
    return letter


def _read_topic(cfg, topic: str) -> list[bytes]:
    """Every message on the topic (all partitions): read until a second passes without one."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    values = [r.value for r in consumer]
    consumer.close()
    return values


def test_dead_letters_are_grouped_by_reason_and_replayed_by_post(broker_desk):
    cfg, client = broker_desk
    first = _dead_letter(cfg, b'{"body": "  ", "url": "https://x.invalid/1"}', 11)
    second = _dead_letter(cfg, b'{"body": "", "url": "https://x.invalid/2"}', 12)
    body = client.get("/api/ops").json()
    groups = body["dead_letters"]["groups"]
    assert body["dead_letters"]["error"] is None
    group = next(g for g in groups if first.id in [x["id"] for x in g["letters"]])
    assert {x["id"] for x in group["letters"]} == {first.id, second.id} and group["count"] == 2
    assert 'https://x.invalid/1' in next(x["preview"] for x in group["letters"] if x["id"] == first.id)
    assert body["lag"]["available"] and "tansu" in body["lag"]["note"]

    payload = b'{"body": "  ", "url": "https://x.invalid/1"}'
    raw_before = _read_topic(cfg, topics.RAW)
    assert payload not in raw_before
    confirm = client.get("/ops/replay", params={"id": first.id}).text
    assert first.id in confirm and 'method="post"' in confirm
    token = re.search(r'name="csrf" value="([^"]+)"', confirm).group(1)
    resp = client.post("/ops/replay", data={"csrf": token, "confirm": "yes", "id": first.id},
                       follow_redirects=False)
    assert resp.status_code == 303 and "replayed=1" in resp.headers["location"]
    after = _read_topic(cfg, topics.RAW)
    assert len(after) == len(raw_before) + 1 and after.count(payload) == 1, "the one letter went back to its topic"


def test_how_it_was_cleaned_comes_from_the_raw_message(broker_desk, articles):
    from services.cleaner import analyze

    _, client = broker_desk
    raws = {r.id: r for r in raw_articles()}
    article = next(a for a in articles if a.id in raws and any(not v.kept for v in analyze(raws[a.id]).verdicts))
    frag = client.get(f"/article/{article.id}/cleaning", params={"fragment": "1"}).text
    dropped = [v for v in analyze(raws[article.id]).verdicts if not v.kept]
    assert "unavailable" not in frag
    rows = re.findall(r'<tr class="drop"><td class="num">(\d+)</td><td><code>([^<]+)</code>', frag)
    assert rows[:len(dropped)] == [(str(v.number), v.reason) for v in dropped]
    missing = client.get(f"/article/{articles[0].id}/cleaning", params={"fragment": "1"}).text
    if articles[0].id not in raws:  # pragma: no cover - every article here was fed
        assert "unavailable" in missing


# -- a real server process: binding, discovery, the CLI through it -------------------------------------------

def _run_cli(cfg, *args: str) -> dict:
    code = ("import json, sys\nfrom services.cli import main\n"
            f"main({['search', *args, '--json']!r})\n"
            "print(json.dumps({'kiwi': 'kiwipiepy' in sys.modules, 'tantivy': 'tantivy' in sys.modules}))")
    from services.desk.server import child_env

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(cfg),
                         cwd=ROOT, timeout=120, check=True).stdout
    results, _, modules = out.rpartition("\n{")
    return {"results": json.loads(results), "modules": json.loads("{" + modules)}


def test_serve_binds_loopback_and_the_cli_searches_through_it(cfg, store):
    from services.desk.server import discovery_path, read_discovery, start_background
    from services.indexer.store import SearchResults

    desk = start_background(cfg, port=0)
    try:
        assert desk.url.startswith("http://127.0.0.1:")
        port = int(desk.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        with pytest.raises(OSError):  # 127.0.0.2 reaches this machine too: only a 0.0.0.0 bind would answer
            socket.create_connection(("127.0.0.2", port), timeout=2).close()
        assert read_discovery(cfg)["url"] == desk.url
        via_desk = _run_cli(cfg, "협력", "--country", "CN", "--limit", "5")
        assert via_desk["modules"] == {"kiwi": False, "tantivy": False}, "the CLI asked the desk"
        expected = store.search(SearchQuery(text="협력", country=["CN"], limit=5))
        assert SearchResults.model_validate(via_desk["results"]) == expected
        longer = _run_cli(cfg, "협력", "--limit", "500")
        assert longer["modules"]["kiwi"], "a list longer than the desk's page is searched in-process, whole"
    finally:
        desk.stop()
    assert not discovery_path(cfg).exists(), "a stopped desk removes its discovery file"
    alone = _run_cli(cfg, "협력", "--country", "CN", "--limit", "5")
    assert alone["modules"]["kiwi"] and alone["results"] == via_desk["results"]


def test_a_stale_discovery_file_is_ignored(cfg):
    from services.desk.server import discovery_path, read_discovery, store_identity

    discovery_path(cfg).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 2 ** 22 + 12345,
                                               "store": store_identity(cfg)}), encoding="utf-8")
    assert read_discovery(cfg) is None
    discovery_path(cfg).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": __import__("os").getpid(),
                                               "store": "embedded /elsewhere"}), encoding="utf-8")
    assert read_discovery(cfg) is None, "a desk over another store is not ours"
    discovery_path(cfg).unlink()


def test_serve_defaults_to_loopback():
    from services.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"


def test_lag_on_kafka_is_end_minus_committed(tmp_path):
    """On a real Apache Kafka (whose end offsets are right, unlike tansu's) lag is shown per partition."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    from services.desk import ops
    from services.feed import producer, send_raw

    with running_pipeline(tmp_path, broker="kafka", stages=()) as pipeline:
        cfg = pipeline.cfg
        prod = producer(cfg)
        for raw in raw_articles():
            send_raw(prod, raw)
        prod.flush()
        prod.close()
        fed = len(_read_topic(cfg, topics.RAW))
        consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, group_id="citydesk-cleaner",
                                 enable_auto_commit=False)
        first = TopicPartition(topics.RAW, 0)
        consumer.assign([first])
        consumer.commit({first: OffsetAndMetadata(2, "", -1)})  # the cleaner's group has done 2 of partition 0
        ends = consumer.end_offsets([first, TopicPartition(topics.RAW, 1)])
        consumer.close()
        lag = ops.lag(cfg)
    assert lag.available and lag.note == ""
    rows = {(r["topic"], r["partition"]): r for r in lag.rows}
    assert sum(ends.values()) == fed == len(raw_articles())
    row = rows[(topics.RAW, 0)]
    assert (row["committed"], row["end"], row["lag"]) == (2, ends[first], ends[first] - 2)
    second = rows[(topics.RAW, 1)]
    assert second["committed"] is None and second["lag"] == second["end"] == ends[TopicPartition(topics.RAW, 1)]
    assert rows[(topics.CLEAN, 0)]["lag"] == 0
