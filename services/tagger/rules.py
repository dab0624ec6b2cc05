"""The tagger's cue words and name shapes, loaded from data/rules.json: one place for every rule's words."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")


@dataclass(frozen=True)
class Rules:
    relation_cues: dict[str, tuple[str, ...]]
    tie_document_window: int
    planned_markers: tuple[str, ...]
    proposal_markers: tuple[str, ...]
    planned_window: int
    exchange_cues: tuple[str, ...]
    event_suffixes: tuple[str, ...]
    org_suffixes: tuple[str, ...]
    particles: re.Pattern[str]
    not_names: frozenset[str]
    roles: tuple[str, ...]
    planned_sentence: re.Pattern[str]
    inferred_place: re.Pattern[str]
    inferred_place_not: tuple[str, ...]
    local_unit_words: tuple[str, ...]
    missions_abroad: tuple[str, ...]
    ambiguous_roles: frozenset[str]
    prefix_place_suffixes: tuple[str, ...]
    prefix_fillers: tuple[str, ...]
    tie_age: re.Pattern[str]
    founding_window: int
    plural_suffixes: tuple[str, ...]
    tie_list_partners: int
    umbrella_tie_cues: tuple[str, ...]
    dated_agreement_window: int
    since_markers: tuple[str, ...]
    self_reference: re.Pattern[str]
    subject_particles: tuple[str, ...]
    at_place: re.Pattern[str]
    remote_markers: tuple[str, ...]
    locative_particles: tuple[str, ...]
    venue_after_place: re.Pattern[str]
    region_roles: frozenset[str]
    signing_verbs: tuple[str, ...]
    ongoing_markers: tuple[str, ...]
    event_word_not: re.Pattern[str]
    pair_connectors: re.Pattern[str]
    last_year_words: tuple[str, ...]
    next_year_words: tuple[str, ...]
    role_modifiers: frozenset[str]
    institution_suffixes: tuple[str, ...]
    past_marker: re.Pattern[str]
    agreement_with_organisation: re.Pattern[str]
    korean_surnames: frozenset[str]
    place_suffixes: tuple[str, ...]
    place_followers: tuple[str, ...]
    role_suffix: re.Pattern[str]
    role_anywhere: re.Pattern[str]
    name_suffix_anywhere: re.Pattern[str]
    cue_pattern: re.Pattern[str]
    cue_kind: dict[str, str]

    def strip_particles(self, word: str) -> str:
        return self.particles.sub("", word)


@cache
def load_rules() -> Rules:
    data = json.loads((DATA / "rules.json").read_text(encoding="utf-8"))
    roles = [w.strip() for w in (DATA / "roles.txt").read_text(encoding="utf-8").splitlines()
             if w.strip() and not w.startswith("#")]
    return Rules(
        relation_cues={k: tuple(v) for k, v in data["relation_cues"].items()},
        tie_document_window=data["tie_document_window"],
        planned_markers=tuple(data["planned_markers"]),
        proposal_markers=tuple(data["proposal_markers"]),
        planned_window=data["planned_window"],
        exchange_cues=tuple(data["exchange_cues"]),
        event_suffixes=tuple(data["event_suffixes"]),
        org_suffixes=tuple(data["org_suffixes"]),
        particles=re.compile("(" + "|".join(sorted(data["particles"], key=len, reverse=True)) + ")$"),
        not_names=frozenset(data["not_names"]),
        roles=tuple(sorted(roles, key=len, reverse=True)),
        role_modifiers=frozenset(data["role_modifiers"]),
        planned_sentence=re.compile(data["planned_sentence"]),
        inferred_place=re.compile(data["inferred_place"]),
        inferred_place_not=tuple(data["inferred_place_not"]),
        local_unit_words=tuple(data["local_unit_words"]),
        missions_abroad=tuple(data["missions_abroad"]),
        ambiguous_roles=frozenset(data["ambiguous_roles"]),
        prefix_place_suffixes=tuple(data["prefix_place_suffixes"]),
        prefix_fillers=tuple(data["prefix_fillers"]),
        tie_age=re.compile(data["tie_age"]),
        founding_window=data["founding_window"],
        plural_suffixes=tuple(data["plural_suffixes"]),
        tie_list_partners=data["tie_list_partners"],
        umbrella_tie_cues=tuple(data["umbrella_tie_cues"]),
        dated_agreement_window=data["dated_agreement_window"],
        since_markers=tuple(data["since_markers"]),
        self_reference=re.compile(data["self_reference"]),
        subject_particles=tuple(data["subject_particles"]),
        at_place=re.compile(data["at_place"]),
        remote_markers=tuple(data["remote_markers"]),
        locative_particles=tuple(data["locative_particles"]),
        venue_after_place=re.compile(data["venue_after_place"]),
        region_roles=frozenset(data["region_roles"]),
        signing_verbs=tuple(data["signing_verbs"]),
        ongoing_markers=tuple(data["ongoing_markers"]),
        event_word_not=re.compile(data["event_word_not"]),
        pair_connectors=re.compile(data["pair_connectors"]),
        last_year_words=tuple(data["last_year_words"]),
        next_year_words=tuple(data["next_year_words"]),
        institution_suffixes=tuple(data["institution_suffixes"]),
        role_suffix=re.compile("(" + "|".join(sorted(roles, key=len, reverse=True)) + ")$"),
        # Quick rejects: a word with no role (or no event/organization suffix) anywhere in it needs no work.
        role_anywhere=re.compile("|".join(map(re.escape, roles))),
        name_suffix_anywhere=re.compile("|".join(map(re.escape, data["event_suffixes"] + data["org_suffixes"]))),
        # All cue words in one pattern, longest first: a cue inside a longer one (협약 in 업무협약) is not
        # found separately.
        cue_pattern=re.compile("|".join(re.escape(c) for c in sorted(
            {c for cues in data["relation_cues"].values() for c in cues}, key=len, reverse=True))),
        cue_kind={c: kind for kind, cues in data["relation_cues"].items() for c in cues},
        past_marker=re.compile(data["past_marker"]),
        agreement_with_organisation=re.compile(data["agreement_with_organisation"]),
        korean_surnames=frozenset(data["korean_surnames"]),
        place_suffixes=tuple(sorted(data["place_suffixes"], key=len, reverse=True)),
        # Longest first, so 시장 is tried before 시.
        place_followers=tuple(sorted(set(data["place_suffixes"]) | set(data["particles"]), key=len, reverse=True)),
    )
