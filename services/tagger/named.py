"""Organizations and events: quoted names and words with an event or organization suffix (data/rules.json)."""

from __future__ import annotations

import re

from schemas import Named
from services.tagger.document import Document, Resources
from services.tagger.rules import Rules

_WORD = re.compile(r"\S+")


def annotate(doc: Document, res: Resources) -> None:
    doc.organizations, doc.events = find_named(doc.text, res.rules)


def find_named(text: str, rules: Rules) -> tuple[list[Named], list[Named]]:
    orgs: dict[str, None] = {}
    events: dict[str, None] = {}
    for m in re.finditer(r"[‘'“\"]([^’'”\"\n]{3,60})[’'”\"]", text):
        name = re.sub(r"^제\s*\d+\s*회\s*", "", m.group(1)).strip()
        name = re.sub(r"\s*\([A-Za-z]{2,10}\)$", "", name)
        if name.endswith(rules.event_suffixes):
            events[name] = None
    for m in re.finditer(r"([가-힣A-Za-z]{2,30})\(([A-Z]{2,10})\)", text):
        if m.group(1).endswith(rules.org_suffixes):
            orgs[m.group(1)] = None
    words = [m.group(0) for m in _WORD.finditer(text)]
    for i, raw in enumerate(words):
        if not rules.name_suffix_anywhere.search(raw):
            continue
        for word in re.split(r"[·,]", raw.strip("‘’“”'\"()[]")):
            core = rules.strip_particles(word)
            core = re.sub(r"\([A-Za-z]{2,10}\)$", "", core)
            if not re.fullmatch(r"[가-힣A-Za-z0-9&\-]{3,30}", core):
                continue
            suffix = next((s for s in rules.event_suffixes if core.endswith(s)), None)
            if suffix and len(core) > len(suffix) + 1:
                events.setdefault(core, None)
            elif suffix and i > 0 and re.fullmatch(r"[A-Z]{2,10}", words[i - 1]):
                events.setdefault(f"{words[i - 1]} {core}", None)  # WTA 총회
            org_suffix = next((s for s in rules.org_suffixes if core.endswith(s)), None)
            if org_suffix and len(core) > len(org_suffix) + 1 and not suffix:
                orgs.setdefault(core, None)
    return [Named(name=n) for n in orgs], [Named(name=n) for n in events]
