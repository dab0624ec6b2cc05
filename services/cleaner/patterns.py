"""Loads the cleaner's vocabulary (patterns.json beside this file) into compiled rules, once.

The words live in the data; this module only composes them, the way trafilatura's xpaths.py composes
token tuples into expressions: reporter titles become one alternation that the dateline and byline
patterns share (``{titles}``), the e-mail pattern is written once (``{email}``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from services.cleaner.reasons import PATTERNS_FILE, ReasonCodes


@dataclass(frozen=True)
class Rule:
    reason: str
    regex: re.Pattern[str]
    max_length: int | None = None
    then: str | None = None  # end markers: the reason of the lines below
    unless: re.Pattern[str] | None = None  # lines this matches are not the rule's

    def matches(self, line: str) -> bool:
        if self.max_length is not None and len(line) > self.max_length:
            return False
        return self.regex.search(line) is not None and (self.unless is None or self.unless.search(line) is None)


@dataclass(frozen=True)
class Patterns:
    reasons: ReasonCodes
    drop_line: tuple[Rule, ...]
    end_markers: tuple[Rule, ...]
    reporter_titles: tuple[str, ...]
    not_names: frozenset[str]
    dateline: re.Pattern[str]
    byline_name: re.Pattern[str]
    name_email: re.Pattern[str]
    email: re.Pattern[str]
    email_label: re.Pattern[str]
    lead_credit: re.Pattern[str]
    credit_labels: frozenset[str]
    published_labels: tuple[str, ...]
    updated_labels: tuple[str, ...]
    outlet_suffixes: tuple[str, ...]
    known_outlets: frozenset[str]
    not_outlets: frozenset[str]
    copyright_mark: re.Pattern[str]
    titles_alternation: str

    def drop_reason(self, line: str) -> str | None:
        for rule in self.drop_line:
            if rule.matches(line):
                return rule.reason
        return None

    def end_marker(self, line: str) -> Rule | None:
        for rule in self.end_markers:
            if rule.matches(line):
                return rule
        return None

    def looks_like_outlet(self, name: str) -> bool:
        name = name.strip()
        if name in self.not_outlets:
            return False
        return name in self.known_outlets or (len(name) >= 3 and name.endswith(self.outlet_suffixes))

    def strip_titles(self, text: str) -> str:
        """'박성원 기자' → '박성원': the reporter titles removed (trafilatura's author field)."""
        return re.sub(self.titles_alternation, " ", text).strip()


def alternation(tokens: list[str] | tuple[str, ...]) -> str:
    """Tokens as one regex alternation, longest first so that 객원기자 wins over 기자."""
    if not tokens:
        raise ValueError("an empty token group would match everything")
    return "|".join(re.escape(t) for t in sorted(set(tokens), key=len, reverse=True))


def _compose(pattern: str, slots: dict[str, str]) -> str:
    for name, value in slots.items():
        pattern = pattern.replace("{" + name + "}", value)
    return pattern


def _rules(entries: list[dict[str, Any]], reasons: ReasonCodes, slots: dict[str, str]) -> tuple[Rule, ...]:
    def compiled(pattern: str) -> re.Pattern[str]:
        return re.compile(_compose(pattern, slots), re.IGNORECASE)

    return tuple(Rule(reasons.check(e["reason"]), compiled(e["pattern"]), e.get("max_length"),
                      reasons.check(e["then"]) if e.get("then") else None,
                      compiled(e["unless"]) if e.get("unless") else None) for e in entries)


@cache
def load_patterns(path: Path = PATTERNS_FILE) -> Patterns:
    data = json.loads(path.read_text(encoding="utf-8"))
    reasons = ReasonCodes(data["reasons"]["codes"])
    byline = data["byline"]
    titles = tuple(byline["reporter_titles"])
    slots = {"titles": alternation(titles), "email": byline["email"], "lead_credit": byline["lead_credit"]}
    outlet = data["outlet"]
    return Patterns(
        reasons=reasons,
        drop_line=_rules(data["drop_line"], reasons, slots),
        end_markers=_rules(data["end_markers"]["rules"], reasons, slots),
        reporter_titles=titles,
        not_names=frozenset(byline["not_names"]),
        dateline=re.compile(_compose(byline["dateline"], slots)),
        byline_name=re.compile(_compose(byline["byline_name"], slots)),
        name_email=re.compile(_compose(byline["name_email"], slots)),
        email=re.compile(byline["email"]),
        email_label=re.compile(byline["email_label"], re.IGNORECASE),
        lead_credit=re.compile(byline["lead_credit"]),
        credit_labels=frozenset(byline["credit_labels"]),
        published_labels=tuple(data["dates"]["published_labels"]),
        updated_labels=tuple(data["dates"]["updated_labels"]),
        outlet_suffixes=tuple(outlet["suffixes"]),
        known_outlets=frozenset(outlet["known"]),
        not_outlets=frozenset(outlet["not_outlets"]),
        copyright_mark=re.compile(outlet["copyright"], re.IGNORECASE),
        titles_alternation=slots["titles"],
    )
