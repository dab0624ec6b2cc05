"""`citydesk ties` and `citydesk search --stories` on a store the indexer's placement filled with the seeds, in-process.

Proves: the table lists the seeds' register; `ties show` prints a tie's timeline with its evidence sentences and
resolves short names through the gazetteer; CSV has the documented header and one row per tie; GeoJSON is a
FeatureCollection of LineStrings from the Korean government (first position) to the partner, [lon, lat] in range,
flat scalar properties (what QGIS reads as columns), a registered tie without news placed from the gazetteer;
`ties import` keeps the sample register, names its unresolved row and exits 1, and the statuses follow it; the
filters select; `ties rebuild` gives the same register; `search --stories` collapses and `--facets-by story` counts
stories; every command answers --help.
Does not prove: that QGIS opens the file (no QGIS here: the structure is checked against RFC 7946 instead).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from services.cli import build_parser
from services.indexer.embedded import EmbeddedStore
from services.indexer.placement import index_batch
from services.settings import Settings
from services.ties.output import CSV_COLUMNS
from tests.conftest import ROOT, free_port
from tests.stories_support import seed_raws, tagged

SAMPLE_REGISTER = ROOT / "services" / "ties" / "sample_register.csv"
SEED_TIES = {"대구광역시|청두시", "서울특별시|충칭시", "대구광역시|타이베이시", "대전광역시|빈증성", "대전광역시|탕그랑셀라탄"}


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    data = tmp_path_factory.mktemp("ties-cli")
    store = EmbeddedStore(data / "store", writer=True)
    index_batch(store, tagged(seed_raws()))
    store.close()
    return Settings(data_dir=data, bootstrap_servers=f"127.0.0.1:{free_port()}")


def run(cfg, capsys, *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    code = args.func(args, cfg)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_lists_the_seeds_register(cfg, capsys):
    code, out, _ = run(cfg, capsys, "ties")
    assert code == 0
    for tie in SEED_TIES:
        korean, partner = tie.split("|")
        assert any(korean in line and partner in line for line in out.splitlines()), tie
    seoul = next(line for line in out.splitlines() if "충칭시" in line)
    assert "friendship_city" in seoul and "2019 (stated)" in seoul


def test_show_prints_the_timeline_with_evidence_sentences(cfg, capsys):
    code, out, _ = run(cfg, capsys, "ties", "show", "대구광역시", "청두시")
    assert code == 0 and out.startswith("대구광역시 — 청두시 (CN)")
    assert "timeline:" in out and "sister_city: " in out and "브레이크뉴스" in out
    assert run(cfg, capsys, "ties", "show", "대구", "청두")[1] == out  # short names, resolved by the gazetteer
    code, _, err = run(cfg, capsys, "ties", "show", "부산광역시", "후쿠오카시")
    assert code == 1 and "no tie" in err


def test_csv_has_its_header_and_one_row_per_tie(cfg, capsys):
    code, out, _ = run(cfg, capsys, "ties", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and tuple(csv.reader(io.StringIO(out)).__next__()) == CSV_COLUMNS
    assert {f"{r['korean_party']}|{r['partner']}" for r in rows} >= SEED_TIES
    seoul = next(r for r in rows if r["partner"] == "충칭시")
    assert (seoul["since"], seoul["since_source"], seoul["articles"], seoul["stories"]) == ("2019", "stated", "2", "1")
    _, cn, _ = run(cfg, capsys, "ties", "--csv", "--country", "cn")
    assert {r["partner_country"] for r in csv.DictReader(io.StringIO(cn))} == {"CN"}


def _check_feature_collection(doc: dict) -> None:
    """RFC 7946: a FeatureCollection of Features; a LineString has two or more [lon, lat] positions in range;
    properties an object (flat scalars here, so QGIS makes each a column)."""
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    for f in doc["features"]:
        assert f["type"] == "Feature" and isinstance(f["id"], str)
        assert all(isinstance(v, str | int | float | bool) or v is None for v in f["properties"].values())
        if f["geometry"] is not None:
            assert f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) == 2
            for lon, lat in f["geometry"]["coordinates"]:
                assert -180 <= lon <= 180 and -90 <= lat <= 90


def test_geojson_is_lines_from_the_korean_government_to_its_partner(cfg, capsys):
    code, out, _ = run(cfg, capsys, "ties", "--geojson")
    doc = json.loads(out)
    _check_feature_collection(doc)
    by_id = {f["id"]: f for f in doc["features"]}
    assert code == 0 and set(by_id) >= SEED_TIES
    daegu = by_id["대구광역시|청두시"]
    (k_lon, k_lat), (p_lon, p_lat) = daegu["geometry"]["coordinates"]
    assert 125 < k_lon < 130 and 33 < k_lat < 39  # Korea first
    assert 100 < p_lon < 110 and 25 < p_lat < 35  # then Chengdu
    assert daegu["properties"]["kinds"].startswith("sister_city")


def test_import_keeps_the_register_names_the_unresolved_row_and_statuses_follow(cfg, capsys):
    code, out, err = run(cfg, capsys, "ties", "import", str(SAMPLE_REGISTER))
    assert code == 1 and "line 12" in err and "청뚜시" in err and "10 registered ties" in out
    assert (cfg.data_dir / "register.json").exists()
    _, dormant, _ = run(cfg, capsys, "ties", "--status", "dormant", "--csv")
    rows = {f"{r['korean_party']}|{r['partner']}": r for r in csv.DictReader(io.StringIO(dormant))}
    assert {"대구광역시|청두시", "대구광역시|타이베이시", "서울특별시|충칭시"} <= set(rows)  # registered, news long ago
    assert rows["대구광역시|청두시"]["since_source"] == "register"  # the office's 2015, not the 2019 article
    _, news_only, _ = run(cfg, capsys, "ties", "--status", "news_only")
    assert "탕그랑셀라탄" in news_only and "in the news, not registered" in news_only
    _, no_news, _ = run(cfg, capsys, "ties", "--status", "no_news", "--geojson")
    busan = next(f for f in json.loads(no_news)["features"] if f["id"] == "부산광역시|후쿠오카시")
    assert busan["geometry"]["type"] == "LineString"  # placed from the gazetteer: no article gave coordinates
    _, table, _ = run(cfg, capsys, "ties", "--korean-party", "대구광역시", "--kind", "sister_city")
    assert "애틀랜타" in table and "충칭시" not in table
    good = cfg.data_dir / "good.csv"
    good.write_text("지자체,상대도시,국가,유형,연도\n대전광역시,빈증성,베트남,자매,2005\n", encoding="utf-8")
    assert run(cfg, capsys, "ties", "import", str(good))[0] == 0
    (cfg.data_dir / "register.json").unlink()


def test_rebuild_gives_the_same_register(cfg, capsys):
    _, before, _ = run(cfg, capsys, "ties", "--json")
    code, out, _ = run(cfg, capsys, "ties", "rebuild")
    assert code == 0 and "rebuilt the register from 5 articles" in out
    assert run(cfg, capsys, "ties", "--json")[1] == before


def test_search_collapses_stories_and_counts_them(cfg, capsys):
    code, out, _ = run(cfg, capsys, "search", "--stories", "--json")
    results = json.loads(out)
    assert code == 0 and (results["total"], results["stories"], len(results["hits"])) == (5, 4, 4)
    seoul = next(h for h in results["hits"] if h["story_articles"] == 2)
    assert seoul["story_outlets"] == 2
    _, text, _ = run(cfg, capsys, "search", "--facets-by", "story", "충칭")
    partners = next(line for line in text.splitlines() if line.strip().startswith("partner (stories):"))
    assert "2 articles, 1 stories" in text and "충칭시 (1)" in partners  # two outlets, one meeting


def test_every_command_explains_itself():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in [*commands, "ties show", "ties import", "ties rebuild"]:
        with pytest.raises(SystemExit) as done:
            parser.parse_args([*name.split(), "--help"])
        assert done.value.code == 0, name
