"""Shared fixtures. The seeds and their gold live in ../shared (beside the project root)."""

from __future__ import annotations

import json
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
GOLD_FILE = SHARED / "gold" / "seeds.json"
EXAMPLES = ROOT / "examples"


def _gold() -> dict:
    if not GOLD_FILE.exists():
        pytest.skip(f"shared gold not found at {GOLD_FILE}")
    return json.loads(GOLD_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def gold() -> dict:
    return _gold()


def seed_ids() -> list[str]:
    return sorted(json.loads(GOLD_FILE.read_text(encoding="utf-8"))) if GOLD_FILE.exists() else []


def read_seed(key: str) -> str:
    return (SEEDS / f"{key}.txt").read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_pipeline(data_dir: Path, *, stages=None, **settings):
    """The real pipeline (embedded broker and worker processes) on a free port, stopped afterwards."""
    from services.pipeline import Pipeline
    from services.settings import Settings

    cfg = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}", data_dir=data_dir,
                   **{"partitions": 2, "batch_within_s": 0.2, **settings})
    pipeline = Pipeline(cfg)
    try:
        pipeline.start(**({"stages": stages} if stages is not None else {}))
        yield pipeline
    finally:
        pipeline.stop()
