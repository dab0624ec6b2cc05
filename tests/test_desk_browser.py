"""The desk in a real browser: Debian's Chromium driven by playwright-core (tests/desk_browser/run.mjs), against a
desk started the way `citydesk run --keep` starts it, over the store the real pipeline filled (tansu and the three
worker processes, fed the examples and the shared seeds, plus one message the cleaner must dead-letter).

Proves, as a user would see it: a search narrowed by a filter typed into the form shows what the store finds for
that filter; clicking a facet value applies it and clicking it again removes it; an article shows its partner
highlighted in the body and each relation's evidence sentence with both names marked, jumps to that sentence,
and opens "how it was cleaned" with the lines dropped from the raw page still on the broker; the map draws the
packaged world outline and clicking a partner's point lands on that partner's articles; the ties table (the office's
sample register imported before the news, so the indexer wrote each tie's status) sorts by a column header clicked
once and reverses on a second click, a tie's row opens its page with every evidence sentence of its articles in date
order, and an evidence's article link opens that article; the stories page lists stories newest first and clicking
one shows a search of exactly its N articles; a dead letter is replayed
through the confirmation page and its POST, goes back through the real cleaner and fails there again; no page
logs a console error, fails a request or asks any host but the desk. Screenshots (Korean fonts: Debian
fonts-noto-cjk) are kept in .citydesk/desk-screenshots/ for a person to look at.

Does not prove: speed (tools/desk_bench.py), other browsers, the Elasticsearch store, or that the screenshots look
right — a person checks them. Under CI=true a missing Chromium, node or playwright-core fails the run; elsewhere
the module is skipped with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from schemas import TaggedArticle, Tie, topics
from services.indexer.store import SearchQuery
from tests.conftest import EXAMPLES, ROOT, SEEDS, require, running_pipeline
from tests.desk_support import with_relation

RUNNER = ROOT / "tests" / "desk_browser" / "run.mjs"
PLAYWRIGHT = ROOT / "tests" / "desk_browser" / "node_modules" / "playwright-core"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / ".citydesk" / "desk-screenshots"
SAMPLE_REGISTER = ROOT / "services" / "ties" / "sample_register.csv"
BAD_PAYLOAD = b'{"url": "https://bad.citydesk.invalid/empty", "body": "   "}'


def _wait(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"after {timeout:.0f} s: {what}"
        time.sleep(0.3)


def _letters(cfg) -> list:  # type: ignore[no-untyped-def]
    from services.dlq import read_dead_letters

    return [d for d in read_dead_letters(cfg, idle_ms=400) if d.payload.encode() == BAD_PAYLOAD]


@pytest.fixture(scope="module")
def browser_tools() -> None:
    require(CHROMIUM.exists(), f"Debian chromium not installed at {CHROMIUM} (scripts/bootstrap installs it as root)")
    require(shutil.which("node"), "node not found: the browser tests run playwright-core under node")
    require(PLAYWRIGHT.is_dir(), f"playwright-core not installed in {PLAYWRIGHT.parent} (scripts/bootstrap: npm ci)")
    from services.desk.assets import missing

    require(not missing(), f"the desk's front-end assets are missing ({', '.join(missing())}): scripts/bootstrap")


@pytest.fixture(scope="module")
def desk(browser_tools, tmp_path_factory):
    """The real pipeline fed the examples and seeds and one bad message, then the desk as `run --keep` starts it."""
    from services.desk.server import start_background
    from services.feed import producer
    from services.pipeline import feed_paths, wait_until_done
    from services.tagger.gazetteer import gazetteer
    from services.ties.office import read_register, save_register

    data = tmp_path_factory.mktemp("desk-browser")
    # The office's sample register, imported before the news arrives: the indexer writes each tie with its status.
    entries, _unresolved = read_register(SAMPLE_REGISTER.read_text(encoding="utf-8"), gazetteer())
    save_register(data, entries, [], str(SAMPLE_REGISTER))
    with running_pipeline(data) as pipeline:
        cfg = pipeline.cfg
        ids, errors = feed_paths(cfg, [str(p) for p in (EXAMPLES, SEEDS) if p.is_dir()], progress=False)
        assert ids and not errors
        prod = producer(cfg)
        prod.send(topics.RAW, value=BAD_PAYLOAD)
        prod.flush()
        prod.close()
        indexed, _dead = wait_until_done(pipeline, ids, timeout=240, progress=False)
        assert indexed
        _wait(lambda: _letters(cfg), 60, "the cleaner dead-lettered the bad message")
        server = start_background(cfg, port=0)
        try:
            yield cfg, server.url
        finally:
            server.stop()


def _api(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def inputs(desk):
    """What each scenario does, chosen from the store's own data (so the test follows the tagger's output)."""
    from services.indexer import open_store

    cfg, url = desk
    store = open_store(cfg)
    hits = store.search(SearchQuery(limit=200)).hits
    articles = [TaggedArticle.model_validate(store.get(h.id)) for h in hits]
    article = with_relation(articles)
    facets = store.search(SearchQuery(text="협력", limit=1)).facets
    korean = facets["korean_party"][0][0]
    kind = store.search(SearchQuery(limit=1)).facets["relation_kind"][0][0]
    points = _api(f"{url}/api/map")["points"]
    partner = next(p["name"] for p in points if p["role"] == "partner")
    letter = _letters(cfg)[0]
    ties = [Tie.model_validate(t) for t in _api(f"{url}/api/ties")["ties"]]
    tie = next(t for t in ties if len(t.evidence) >= 2 and all(e.sentences for e in t.evidence))
    stories = _api(f"{url}/api/stories")["stories"]
    story = next(s for s in stories if s["articles"] >= 2)
    return {"store": store, "article": article, "korean": korean, "kind": kind, "partner": partner,
            "letter": letter, "ties": ties, "tie": tie, "stories": stories, "story": story}


@pytest.fixture(scope="module")
def browser(desk, inputs):
    _cfg, url = desk
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    config = {
        "base": url, "outdir": str(SHOTS), "chromium": str(CHROMIUM),
        "scenarios": {
            "search_filter": {"q": "협력", "korean_party": inputs["korean"]},
            "facet_click": {"facet": "relation_kind", "value": inputs["kind"], "param": "relation"},
            "article": {"id": inputs["article"].id},
            "map_click": {"name": inputs["partner"], "param": "partner"},
            "replay": {"letter": inputs["letter"].id},
            "ties": {"sort": "since", "tie": inputs["tie"].id},
            "stories": {"story": inputs["story"]["story_id"]},
            "pages": {"paths": {"search": "/", "search_stories": "/?stories=1", "map": "/map", "stories": "/stories",
                                "ties": "/ties", "tie": f"/ties/{inputs['tie'].korean_party}/{inputs['tie'].partner}",
                                "ops": "/ops", "cleaning": f"/article/{inputs['article'].id}/cleaning"}},
        },
    }
    config_file = SHOTS / "run.json"
    config_file.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run(["node", str(RUNNER), str(config_file)], capture_output=True, text=True, timeout=300,
                          cwd=RUNNER.parent)
    assert proc.returncode == 0, f"run.mjs failed: {proc.stderr[-3000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    (SHOTS / "result.json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    require(out["launch"]["ok"], f"Chromium did not start: {out['launch'].get('error', '')[:2000]}")
    return out


def _scenario(browser, name: str) -> dict:
    s = browser["scenarios"][name]
    assert s["ok"], f"{name} failed in the browser: {s.get('error')} (screenshot {s.get('screenshot')})"
    return s


def test_search_with_a_filter(browser, inputs):
    s = _scenario(browser, "search_filter")
    store = inputs["store"]
    before = store.search(SearchQuery(text="협력", limit=20))
    after = store.search(SearchQuery(text="협력", korean_party=[inputs["korean"]], limit=20))
    assert s["before"]["total"] == before.total and s["after"]["total"] == after.total < before.total
    assert s["after"]["hits"] == [h.id for h in after.hits]
    assert any(inputs["korean"] in chip for chip in s["after"]["chips"])
    assert s["before"]["bars"] > 0, "the histogram of articles per month is drawn"


def test_click_a_facet(browser, inputs):
    s = _scenario(browser, "facet_click")
    store = inputs["store"]
    expected = store.search(SearchQuery(relation=[inputs["kind"]], limit=20))
    assert s["after"]["total"] == expected.total and s["after"]["hits"] == [h.id for h in expected.hits]
    assert len(s["active"]) == 1 and inputs["kind"] in s["active"][0]
    assert s["removed"]["total"] == s["before"]["total"], "clicking the active value takes the filter off"


def test_article_shows_partner_and_relation_evidence(browser, inputs):
    s = _scenario(browser, "article")
    a = inputs["article"]
    rel = next(r for r in a.relations if r.evidence)
    assert rel.partner in s["partners"], "the partner is highlighted in the body"
    assert s["partnerColour"] not in (None, "rgba(0, 0, 0, 0)"), "and the highlight is visible"
    shown = next(r for r in s["relations"] if r["partner"] == rel.partner and r["korean"] == rel.korean_party)
    assert set(shown["kinds"]) == set(rel.kinds)
    assert any(e["text"] == rel.evidence[0].sentence for e in shown["evidence"])
    marked = {name for e in shown["evidence"] for _cls, name in e["marks"]}
    assert rel.partner in marked, "the evidence sentence marks the partner"
    assert s["bodyEvidence"] and s["flashed"], "the evidence links to its sentence in the body"
    assert s["droppedRows"] >= 1 and "unavailable" not in s["cleaning"], "the raw page was on the broker"


def test_click_a_map_point(browser, inputs):
    s = _scenario(browser, "map_click")
    assert s["points"] > 0 and s["clicked"]
    expected = inputs["store"].search(SearchQuery(partner=[inputs["partner"]], limit=20))
    assert s["after"]["url"].startswith("/?") and s["after"]["total"] == expected.total > 0
    assert s["after"]["hits"] == [h.id for h in expected.hits]


def test_replay_a_dead_letter(browser, desk, inputs):
    s = _scenario(browser, "replay")
    cfg, _url = desk
    assert s["groups"] >= 1 and inputs["letter"].id in s["confirmText"]
    assert "/ops?replayed=1" in s["url"] and "1개를 다시 보냈습니다" in s["flash"]
    # The payload went back onto articles.raw and through the real cleaner, which refused it again: the letter's
    # attempts count it (or a second letter does, where letters are per offset).
    _wait(lambda: sum(d.attempts for d in _letters(cfg)) >= 2, 60,
          "the replayed message was dead-lettered again by the cleaner")


def test_the_ties_table_sorts_and_a_tie_shows_its_evidence(browser, inputs):
    from services.ties.output import evidence_in_order, sort_ties

    s = _scenario(browser, "ties")
    ties = inputs["ties"]
    assert [r["id"] for r in s["before"]] == [t.id for t in ties], "the register's own order: most stories first"
    by_since = [t.id for t in sort_ties(ties, "since", descending=True)]
    assert [r["id"] for r in s["sorted"]] == by_since != [r["id"] for r in s["before"]], "a click sorts by since"
    assert [r["id"] for r in s["reversed"]] == [t.id for t in sort_ties(ties, "since")], "a second click turns it"
    chengdu = next(r for r in s["before"] if r["id"] == "대구광역시|청두시")
    assert "registered, no news since 2019" in chengdu["status"] and "2015" in chengdu["since"]  # the register's
    tie = inputs["tie"]
    assert s["tie"]["title"].startswith(f"{tie.korean_party} — {tie.partner}")
    assert [e["article"] for e in s["tie"]["evidence"]] == [e.article_id for e in evidence_in_order(tie)]
    for shown, e in zip(s["tie"]["evidence"], evidence_in_order(tie), strict=True):
        assert shown["sentences"] == [x.sentence.strip() for x in e.sentences] != []
    assert [k["kind"] for k in s["tie"]["kinds"]] == [k.kind for k in tie.kinds]
    assert sorted(map(tuple, s["tie"]["people"])) == sorted((p.side, p.name) for p in tie.people), "people by side"
    first = s["article"]
    assert f"/article/{first['id']}" in first["url"].replace("%7C", "|")
    assert first["title"].strip() == inputs["store"].get(first["id"])["title"].strip()


def test_a_story_shows_its_articles(browser, inputs):
    s = _scenario(browser, "stories")
    lasts = [r["last"] for r in s["rows"] if r["last"] and r["last"] != "날짜 없음"]
    assert lasts == sorted(lasts, reverse=True) and len(s["rows"]) == len(inputs["stories"])
    story = inputs["story"]
    row = next(r for r in s["rows"] if r["story"] == story["story_id"])
    assert row["articles"] == story["articles"] >= 2
    members = {h.id for h in inputs["store"].search(SearchQuery(story=[story["story_id"]], limit=50)).hits}
    assert s["after"]["total"] == story["articles"] == len(members) and set(s["after"]["hits"]) == members
    assert any(story["story_id"] in chip for chip in s["after"]["chips"]), "the search says which story"


def test_every_page_renders_without_console_errors(browser):
    pages = _scenario(browser, "pages")
    assert all(p["status"] == 200 for name, p in pages.items() if name not in ("ok", "ms"))
    assert browser["console"] == [], "console errors"
    assert browser["external"] == [], "requests to hosts other than the desk"
    assert browser["failed"] == [], "failed requests"
    assert all(Path(p).stat().st_size > 10_000 for p in SHOTS.glob("*.png"))
