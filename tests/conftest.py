"""Shared fixtures. The seeds and their gold live in ../shared (beside the project root).

Under CI=true a test whose tool or engine is missing FAILS (`require`): CI never passes by skipping. Elsewhere it is
skipped with the reason. The real engines (Apache Kafka, Elasticsearch) come from the engines directory that
scripts/bootstrap fills (<root>/.citydesk/engines unless CITYDESK_ENGINES_DIR says otherwise).
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
GOLD_FILE = SHARED / "gold" / "seeds.json"
EXAMPLES = ROOT / "services" / "assets" / "examples"  # package data; examples/ links here
IN_CI = os.environ.get("CI") == "true"
BROKERS = ("tansu", "kafka")
FIGURES = ROOT / ".citydesk" / "test-figures.jsonl"
os.environ.setdefault("CITYDESK_ENGINES_DIR", str(ROOT / ".citydesk" / "engines"))
# Needs a production Elasticsearch with analysis-nori: collected only when one is named, never skipped in CI.
collect_ignore = [] if os.environ.get("ELASTICSEARCH_URL") else ["test_elasticsearch_nori.py"]


def require(condition: object, reason: str) -> None:
    """Fail under CI=true, skip elsewhere, when a test's tool or engine is not there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing tool or engine fails the run)", pytrace=False)
    pytest.skip(reason)


def _gold() -> dict:
    require(GOLD_FILE.exists(), f"shared gold not found at {GOLD_FILE}")
    return json.loads(GOLD_FILE.read_text(encoding="utf-8"))


_engine_errors: dict[str, str | None] = {}


def require_engine(name: str) -> None:
    """The local Apache Kafka ("kafka") or Elasticsearch ("elasticsearch") can be started here."""
    if name not in _engine_errors:
        from services.engines import EngineUnavailable, fetch, find_java

        try:
            fetch()
            find_java(21 if name == "elasticsearch" else 17)
            _engine_errors[name] = None
        except EngineUnavailable as exc:
            _engine_errors[name] = str(exc)
    require(_engine_errors[name] is None, f"{name} cannot start here: {_engine_errors[name]}")


@pytest.fixture(scope="module", params=BROKERS)
def broker(request) -> str:
    """Each module that takes it runs once on tansu (embedded, in memory) and once on a local Apache Kafka."""
    if request.param == "kafka":
        require_engine("kafka")
    return request.param


ES_NODE_SETTINGS = {
    # Small on purpose: a bulk request over it is refused whole with 413 by the real node, and the indexer must
    # split it (the 413 test); the indexer's ordinary batches stay far below it.
    "http.max_content_length": "2mb",
}


@contextmanager
def node_directory(name: str):
    """A directory for an Elasticsearch node that its own (non-root) user can reach: not under pytest's tmp,
    whose pytest-of-root is made 0700 again by any other pytest session that starts meanwhile."""
    import shutil
    import tempfile

    base = ROOT / ".citydesk"
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"test-{name}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def es_node():
    """One real Elasticsearch 9 node (integ-test distribution, security off, standard analyzer only) for the
    session; tests that stop, pause or restart it leave it running again."""
    from services.engines import ElasticsearchNode

    require_engine("elasticsearch")
    with node_directory("elasticsearch") as directory:
        node = ElasticsearchNode(directory, settings=dict(ES_NODE_SETTINGS))
        node.start()
        report("engine start", engine=f"Elasticsearch {node.version}", seconds=round(node.started_in_s, 1))
        try:
            yield node
        finally:
            node.stop()


@pytest.fixture(scope="session")
def es(es_node):
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_node.url, request_timeout=60)
    yield client
    client.close()


def pipeline_figures(cfg, fed: int) -> dict[str, int]:
    """Counters of every worker process the pipeline had, the killed ones included: messages received per stage
    (counted when a batch is taken, so a batch a killed worker never finished counts too), and how many deliveries
    went beyond one per message (redelivered), counted stage by stage."""
    from services.health import read_statuses

    received = {"cleaner": 0, "tagger": 0, "indexer": 0}
    dead = dict.fromkeys(received, 0)
    for st in read_statuses(cfg.status_dir, include_exited=True):
        received[st["stage"]] += st.get("received", st["consumed"])
        dead[st["stage"]] += st["dead_lettered"]
    expected_tagger = fed - dead["cleaner"]
    expected_indexer = expected_tagger - dead["tagger"]
    redelivered = (max(0, received["cleaner"] - fed) + max(0, received["tagger"] - expected_tagger)
                   + max(0, received["indexer"] - expected_indexer))
    return {"redelivered": redelivered, **{f"received_{k}": v for k, v in received.items()}}


def report(scenario: str, **figures) -> None:
    """One line of figures for the run's summary (printed at the end of the session, kept in FIGURES).
    Written to a file, not kept in memory: pytest's conftest and `tests.conftest` are two module objects."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"scenario": scenario, **figures, "session": os.getpid()}, ensure_ascii=False) + "\n")


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES.exists():
        return
    rows = [r for r in map(json.loads, FIGURES.read_text(encoding="utf-8").splitlines())
            if r.pop("session", None) == os.getpid()]
    starts = sorted(r["seconds"] for r in rows if r["scenario"] == "kafka start")
    rows = [r for r in rows if r["scenario"] != "kafka start"]
    if starts:
        from services.engines import pinned_versions

        rows.insert(0, {"scenario": "engine start", "engine": f"Apache Kafka {pinned_versions()['kafka']}",
                        "starts": len(starts), "seconds_min": starts[0], "seconds_median": starts[len(starts) // 2],
                        "seconds_max": starts[-1]})
    if rows:
        terminalreporter.section("scenario figures")
        for row in rows:
            terminalreporter.write_line(json.dumps(row, ensure_ascii=False))


@pytest.fixture(scope="session")
def gold() -> dict:
    return _gold()


def seed_ids() -> list[str]:
    return sorted(json.loads(GOLD_FILE.read_text(encoding="utf-8"))) if GOLD_FILE.exists() else []


def required_seed_ids() -> list[str]:
    """The seed keys, or a failure under CI=true (a skip elsewhere) when shared/ is not beside the checkout."""
    _gold()
    return seed_ids()


def read_seed(key: str) -> str:
    return (SEEDS / f"{key}.txt").read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_pipeline(data_dir: Path, *, broker: str = "tansu", stages=None, **settings):
    """The real pipeline (a broker of its own — tansu or a local Apache Kafka — and the worker processes) on a free
    port, stopped afterwards."""
    from services.pipeline import Pipeline
    from services.settings import Settings

    if broker == "kafka":
        require_engine("kafka")
    cfg = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=data_dir, broker=broker,
                   **{"partitions": 2, "batch_within_s": 0.2, **settings})
    pipeline = Pipeline(cfg)
    try:
        pipeline.start(**({"stages": stages} if stages is not None else {}))
        if pipeline.kafka is not None:
            report("kafka start", seconds=round(pipeline.kafka.started_in_s, 1))
        yield pipeline
    finally:
        pipeline.stop()
