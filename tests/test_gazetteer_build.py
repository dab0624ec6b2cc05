"""The committed gazetteers are exactly what build_gazetteer.py makes from its sources (reproducible,
and never edited by hand): a change to the script or a hand-kept table must come with rebuilt files."""

from services.tagger.build_gazetteer import DATA, GENERATED, build


def test_committed_gazetteers_match_a_fresh_build(tmp_path):
    build(tmp_path)
    for name in GENERATED:
        assert (tmp_path / name).read_text(encoding="utf-8") == (DATA / name).read_text(encoding="utf-8"), (
            f"services/tagger/data/{name} is stale: run `python -m services.tagger.build_gazetteer`")
