"""The one object the cleaner's passes work on: a page's lines, each line's verdict, and the metadata.

A pass reads what earlier passes wrote and writes its own part; ``passes.py`` lists them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.cleaner.metadata import Byline, Dateline, Metadata
from services.cleaner.patterns import Patterns


@dataclass
class Line:
    number: int  # 1-based line number in the cleaner's input text
    text: str  # normalised
    joined: bool = False  # a piece of the same input line as the line before (a glued line split)
    piece: bool = False  # one of several pieces of a split line: part of a paragraph, judged as such
    reason: str = ""  # "" until a pass decides; then a code listed in patterns.json
    dateline: Dateline | None = None
    text_start: int = 0  # where the article text starts: after a dateline or a leading photo credit
    byline: Byline | None = None
    prose: bool = False  # article-like text (text.is_prose)
    key: str = ""  # comparable text, dateline stripped
    repeated: bool = False  # every sentence is printed elsewhere on the page

    @property
    def article_text(self) -> str:
        """The text the body gets: the line without its dateline or leading photo credit."""
        return self.text[self.text_start:].strip() if self.text_start else self.text


@dataclass
class Page:
    lines: list[Line]
    pats: Patterns
    title_hint: str | None = None
    url: str | None = None  # the page's address, when the scraper gave it
    meta: Metadata = field(default_factory=Metadata)
    title_index: int | None = None  # the headline's line, when the page has one
    body_start: int = 0  # first line of the article body
    body_end: int = 0  # one past the last line that may belong to the article
    notes: list[str] = field(default_factory=list)  # what a pass decided on evidence, for --explain

    def undecided(self, start: int = 0, end: int | None = None) -> list[int]:
        end = len(self.lines) if end is None else end
        return [i for i in range(start, end) if not self.lines[i].reason]

    def kept(self) -> list[int]:
        return [i for i, line in enumerate(self.lines) if self.pats.reasons.kept(line.reason)]

    def set(self, i: int, reason: str) -> None:
        """Give line i a reason unless a pass has already given it one."""
        if not self.lines[i].reason:
            self.lines[i].reason = reason
