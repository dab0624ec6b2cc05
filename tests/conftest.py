"""Shared fixtures. The seeds and their gold live in ../shared (beside the project root)."""

from __future__ import annotations

import json
import socket
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
