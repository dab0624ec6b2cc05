"""A worker loads what its stage needs before it joins its group (services/stages.py warm_up).

Proves: after a fresh interpreter runs a stage's warm-up, the loads that would otherwise fall on the first real
batch are done: the cleaner's justext stoplists (trafilatura reads them on the first page with little text, 0.1–0.2 s)
and the indexer's placement modules (datasketch, numpy).
Does not prove: how long anything takes (`citydesk bench` measures that), nor the tagger's Kiwi load (every tagger
test pays it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _after_warm_up(stage: str, probe: str) -> str:
    code = f"from services.stages import warm_up\nwarm_up({stage!r})\n{probe}"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_cleaner_warm_up_loads_what_a_short_html_page_needs():
    probe = "from trafilatura import external\nprint(external.JT_STOPLIST is not None)"
    assert _after_warm_up("cleaner", probe) == "True"


def test_the_indexer_warm_up_imports_placement():
    probe = "import sys\nprint('datasketch' in sys.modules and 'services.indexer.placement' in sys.modules)"
    assert _after_warm_up("indexer", probe) == "True"
