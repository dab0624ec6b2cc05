"""Loads the cleaner's patterns (patterns.json beside this file) into compiled rules, once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PATTERNS_FILE = Path(__file__).with_name("patterns.json")


@dataclass(frozen=True)
class Rule:
    reason: str
    regex: re.Pattern[str]
    max_length: int | None = None

    def matches(self, line: str) -> bool:
        if self.max_length is not None and len(line) > self.max_length:
            return False
        return self.regex.search(line) is not None


@dataclass(frozen=True)
class Patterns:
    drop_line: tuple[Rule, ...]
    end_markers: tuple[Rule, ...]
    dateline: re.Pattern[str]
    reporter_word: re.Pattern[str]
    email: re.Pattern[str]
    email_label: re.Pattern[str]
    published_labels: tuple[str, ...]
    updated_labels: tuple[str, ...]
    outlet_suffixes: tuple[str, ...]
    known_outlets: frozenset[str]

    def drop_reason(self, line: str) -> str | None:
        for rule in self.drop_line:
            if rule.matches(line):
                return rule.reason
        return None

    def end_reason(self, line: str) -> str | None:
        for rule in self.end_markers:
            if rule.matches(line):
                return rule.reason
        return None

    def looks_like_outlet(self, name: str) -> bool:
        name = name.strip()
        return name in self.known_outlets or (len(name) >= 3 and name.endswith(self.outlet_suffixes))


def _rules(entries: list[dict[str, str]]) -> tuple[Rule, ...]:
    return tuple(Rule(e["reason"], re.compile(e["pattern"], re.IGNORECASE), e.get("max_length")) for e in entries)


@cache
def load_patterns(path: Path = PATTERNS_FILE) -> Patterns:
    data = json.loads(path.read_text(encoding="utf-8"))
    byline = data["byline"]
    return Patterns(
        drop_line=_rules(data["drop_line"]),
        end_markers=_rules(data["end_markers"]),
        dateline=re.compile(byline["dateline"]),
        reporter_word=re.compile(byline["reporter_word"]),
        email=re.compile(byline["email"]),
        email_label=re.compile(byline["email_label"], re.IGNORECASE),
        published_labels=tuple(data["dates"]["published_labels"]),
        updated_labels=tuple(data["dates"]["updated_labels"]),
        outlet_suffixes=tuple(data["outlet"]["suffixes"]),
        known_outlets=frozenset(data["outlet"]["known"]),
    )
