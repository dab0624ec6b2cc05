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

_PUNCTUATION = re.compile(r"[,'\"‘’“”…:]")


@dataclass(frozen=True)
class Rule:
    reason: str
    regex: re.Pattern[str]
    max_length: int | None = None
    then: str | None = None  # end markers: the reason of the lines below
    unless: re.Pattern[str] | None = None  # lines this matches are not the rule's
    glued: bool = False  # often glued to a paragraph's end: a prose line it matches is split, not dropped

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
    shared_mailboxes: frozenset[str]
    dateline: re.Pattern[str]
    bare_dateline: re.Pattern[str]
    byline_name: re.Pattern[str]
    name_email: re.Pattern[str]
    email: re.Pattern[str]
    email_label: re.Pattern[str]
    lead_credit: re.Pattern[str]
    lead_stamp: re.Pattern[str]
    credit_labels: frozenset[str]
    published_labels: tuple[str, ...]
    url_date: re.Pattern[str]
    updated_labels: tuple[str, ...]
    outlet_suffixes: tuple[str, ...]
    known_outlets: frozenset[str]
    not_outlets: frozenset[str]
    copyright_mark: re.Pattern[str]
    copyright_words: re.Pattern[str]
    place_endings: tuple[str, ...]
    domains: dict[str, str]
    titles_alternation: str
    menu_row_min_tokens: int
    word_endings: tuple[str, ...]

    def menu_row(self, line: str) -> bool:
        """메트로人 머니 산업 IT·과학 정치&정책 …: many words, no punctuation, no particle or verb ending."""
        words = line.split()
        return len(words) >= self.menu_row_min_tokens and not _PUNCTUATION.search(line) and \
            not any(w.endswith(self.word_endings) for w in words)

    def drop_reason(self, line: str) -> str | None:
        rule = self.drop_rule(line)
        return rule.reason if rule else None

    def drop_rule(self, line: str) -> Rule | None:
        for rule in self.drop_line:
            if rule.matches(line):
                return rule
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
        bare = name.rstrip("0123456789")  # 아이뉴스24, 뉴스1
        return name in self.known_outlets or (len(bare) >= 3 and bare.endswith(self.outlet_suffixes))

    def best_outlet(self, tokens: list[str]) -> str | None:
        """Of several tokens, a known outlet first, else the last one that looks like an outlet
        (온라인 경제미디어 뉴스웨이 → 뉴스웨이), with an acronym before it (GNN 뉴스통신)."""
        for t in tokens:
            if t in self.known_outlets:
                return t
        like = [k for k, t in enumerate(tokens) if self.looks_like_outlet(t)]
        if not like:
            return None
        k = like[-1]
        acronym = k > 0 and tokens[k - 1].isascii() and tokens[k - 1].isalpha() and tokens[k - 1].isupper()
        return f"{tokens[k - 1]} {tokens[k]}" if acronym else tokens[k]

    def outlet_of_domain(self, host: str) -> str | None:
        """www.kmib.co.kr, kmib.co.kr, m.news.kbs.co.kr → the outlet the domain table names."""
        parts = host.lower().strip(".").split(".")
        for k in range(len(parts) - 1):
            found = self.domains.get(".".join(parts[k:]))
            if found:
                return found
        return None

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
                      compiled(e["unless"]) if e.get("unless") else None, bool(e.get("glued"))) for e in entries)


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
        shared_mailboxes=frozenset(byline["shared_mailboxes"]),
        dateline=re.compile(_compose(byline["dateline"], slots)),
        bare_dateline=re.compile(_compose(byline["bare_dateline"], slots)),
        byline_name=re.compile(_compose(byline["byline_name"], slots)),
        name_email=re.compile(_compose(byline["name_email"], slots)),
        email=re.compile(byline["email"]),
        email_label=re.compile(byline["email_label"], re.IGNORECASE),
        lead_credit=re.compile(byline["lead_credit"]),
        lead_stamp=re.compile(byline["lead_stamp"]),
        credit_labels=frozenset(byline["credit_labels"]),
        published_labels=tuple(data["dates"]["published_labels"]),
        url_date=re.compile(data["dates"]["url_date"]),
        updated_labels=tuple(data["dates"]["updated_labels"]),
        outlet_suffixes=tuple(outlet["suffixes"]),
        known_outlets=frozenset(outlet["known"]),
        not_outlets=frozenset(outlet["not_outlets"]),
        copyright_mark=re.compile(outlet["copyright"], re.IGNORECASE),
        copyright_words=re.compile(outlet["copyright_words"], re.IGNORECASE),
        place_endings=tuple(outlet["place_endings"]),
        domains=dict(outlet["domains"]),
        titles_alternation=slots["titles"],
        menu_row_min_tokens=int(data["headline"]["menu_row_min_tokens"]),
        word_endings=tuple(data["headline"]["word_endings"]),
    )
