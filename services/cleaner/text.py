"""Text helpers of the cleaner: lines out of a page, what counts as a sentence, keys for comparing lines.

Limits (each guards one message's cost; none of them is ever reached by a news article):
- ``MAX_LINES``: at most 30,000 non-blank lines of a page are examined (a 2 MB body holds about 24,000 lines
  of news text); the rest get ``beyond_line_cap`` unread. Every pass is linear in lines, so the cap bounds
  the worst case, not the usual one.
- ``GLUED_LINE_CHARS``: a line longer than 200 characters may hold several paragraphs glued together, or a
  paragraph with a footer or a reaction bar glued to its end (a page whose whole text sits on one line): it
  is split at sentence ends, each piece is judged, and kept pieces of one line are joined again with a space.
  A bracketed tag after the last sentence (…내다봤다. <제주의소리>) is split off too.
- ``MAX_LINE_CHARS``: a piece still longer than 10,000 characters (no sentence end to split it at) is not
  prose: a dump, a data URI.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

MAX_LINES = 30_000
GLUED_LINE_CHARS = 200
MAX_LINE_CHARS = 10_000
MIN_SENTENCE_KEY = 12  # a sentence shorter than this (as a key) is no evidence that a line is repeated

# A literal line break in text that was HTML once: <br>, <br/>, <br />, and their escaped forms.
_BR = re.compile(r"<br\s*/?>|&lt;br\s*/?&gt;", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u3000]+")
_SENTENCE_END = re.compile(r"([다요죠음함임됨니까][.!?]?|[.!?…])[\"”’'」』)\]\s]*$")
_PROSE_END = re.compile(r"(?:[다요죠]|니까)[.!?]?[\"”’'」』)\]\s]*$|[.!?][\"”’'」』)\]\s]*$")
_SENTENCE_BREAK = re.compile(r"[.!?…][\"”’'」』)\]]*(\s+)")
_INNER_SENTENCE_END = re.compile(r"[다요죠니까][.!?]\S*\s")
_HANGUL = re.compile(r"[가-힣]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"'})
_NON_WORD = re.compile(r"[\s\"'·…,.!?()\[\]<>]+")
# A sign-off tag glued after the last sentence: <제주의소리>, [끝]; not a photo credit ([사진제공=OO], (경주시)).
_TRAILING_TAG = re.compile(r"(?<=[.!?…\"”’'])\s*([<\[【][^<>\[\]()【】=]{1,20}[>\]】])$")
_TRUNCATED = re.compile(r"(…|\.\.\.)[\"”’']?$")


@dataclass(frozen=True)
class RawLine:
    number: int  # 1-based line of the input text
    text: str  # normalised
    joined: bool = False  # a piece of the same input line as the piece before (a glued line split)
    piece: bool = False  # one of several pieces of a split line


def normalize_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line).replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    if "&" in line and ";" in line:
        line = html.unescape(line).replace("\u00a0", " ")
    line = _SPACES.sub(" ", line).strip()
    # Widget and footer lists are often bulleted with •; the bullet says nothing about the text.
    return line.lstrip("•◦▪ ").strip()


def split_lines(text: str) -> list[RawLine]:
    """The page's lines: literal <br /> are line breaks, glued paragraphs are split at sentence ends."""
    out: list[RawLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        for part in _BR.split(raw) if "<" in raw or "&lt;" in raw else (raw,):
            line = normalize_line(part)
            tag = _TRAILING_TAG.search(line) if len(line) > 40 else None
            if len(line) <= GLUED_LINE_CHARS and tag is None:
                out.append(RawLine(number, line))
                continue
            pieces = sentences(line) if len(line) > GLUED_LINE_CHARS else [line]
            if tag is not None:  # …내다봤다. <제주의소리>: the outlet's sign-off glued to the last sentence
                pieces[-1:] = [pieces[-1][:len(pieces[-1]) - len(tag.group(0))], tag.group(1)]
            out += [RawLine(number, p, joined=k > 0, piece=len(pieces) > 1) for k, p in enumerate(pieces)]
    return out


def comparable(text: str) -> str:
    """Text reduced for duplicate detection: same quotes, no spaces or punctuation."""
    return _NON_WORD.sub("", text.translate(_QUOTES)).lower()


def is_sentence(line: str) -> bool:
    return _SENTENCE_END.search(line) is not None


def is_prose(line: str) -> bool:
    """Article text: a sentence of some length, or a long line with sentence ends inside (a paragraph cut off
    mid-sentence, as excerpts and truncated pages end)."""
    if len(line) < 25 or hangul_ratio(line) < 0.3:
        return False
    if len(line) >= 30 and _PROSE_END.search(line):  # not 음/함/임 alone: headlines end so too ('잰걸음')
        return True
    return len(line) >= 80 and (_INNER_SENTENCE_END.search(line) is not None or len(line) >= 150)


def hangul_ratio(line: str) -> float:
    letters = sum(map(str.isalpha, line))
    return len(_HANGUL.findall(line)) / letters if letters else 0.0


def hangul_count(line: str) -> int:
    return len(_HANGUL.findall(line))


def sentences(text: str) -> list[str]:
    """The sentences of a line, split at the spaces after a sentence end (closing quotes stay with it)."""
    out, start = [], 0
    for m in _SENTENCE_BREAK.finditer(text):
        out.append(text[start:m.start(1)])
        start = m.end(1)
    out.append(text[start:])
    return [s for s in out if s]


def is_truncated(text: str) -> bool:
    """A piece cut off with an ellipsis (summaries print the lead's start and '…')."""
    return _TRUNCATED.search(text.strip()) is not None
