"""Reason codes: every verdict a line can get, read from patterns.json ("reasons"), never spelled in code.

Passes write ``R.title``, ``R.duplicate`` …: an attribute that is not a code in the data raises at once
(AttributeError naming the file), so a typo cannot invent a reason silently. Rules in the data name their
reason too; the loader checks those against the same list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PATTERNS_FILE = Path(__file__).with_name("patterns.json")


@dataclass(frozen=True)
class ReasonInfo:
    code: str
    kept: bool
    doc: str


class ReasonCodes:
    """The reason codes of one patterns file; ``codes.title`` is the string ``"title"`` if the data has it."""

    def __init__(self, entries: list[dict[str, object]]) -> None:
        infos = {str(e["code"]): ReasonInfo(str(e["code"]), bool(e["kept"]), str(e["doc"])) for e in entries}
        if len(infos) != len(entries):
            raise ValueError("patterns.json: a reason code is listed twice")
        self._infos = infos

    def __getattr__(self, code: str) -> str:
        if code.startswith("_"):
            raise AttributeError(code)
        if code in self._infos:
            return code
        raise AttributeError(f"reason code {code!r} is not listed under 'reasons' in {PATTERNS_FILE.name}")

    def check(self, code: str) -> str:
        """A code named by the data (a rule's reason): returned if listed, else ValueError."""
        if code not in self._infos:
            raise ValueError(f"{PATTERNS_FILE.name}: rule reason {code!r} is not listed under 'reasons'")
        return code

    def kept(self, code: str) -> bool:
        info = self._infos.get(code)
        return info is not None and info.kept

    def doc(self, code: str) -> str:
        return self._infos[code].doc

    def all(self) -> tuple[ReasonInfo, ...]:
        return tuple(self._infos.values())


def load_reasons(path: Path = PATTERNS_FILE) -> ReasonCodes:
    data = json.loads(path.read_text(encoding="utf-8"))
    return ReasonCodes(data["reasons"]["codes"])


R = load_reasons()
