"""The article's metadata, one shape for every source (text lines, HTML markup), and the line parsers that
read it: datelines, bylines, copyright lines, tip-line boxes.

Every word these parsers look for comes from patterns.json through ``Patterns``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime

from services.cleaner.dates import DATE_TIME, labelled_date
from services.cleaner.patterns import Patterns
from services.cleaner.text import is_sentence


@dataclass
class Metadata:
    """What the cleaner learns about an article. Every extractor fills the same shape; ``fill_from`` merges
    two of them, the first one's values winning."""

    title: str | None = None
    subtitle: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    outlet: str | None = None
    reporter: str | None = None
    reporter_email: str | None = None

    def fill_from(self, other: Metadata) -> None:
        for f in fields(self):
            if getattr(self, f.name) is None and getattr(other, f.name) is not None:
                setattr(self, f.name, getattr(other, f.name))


@dataclass(frozen=True)
class Dateline:
    end: int  # where the article text starts on the line
    outlet: str | None
    reporter: str | None


@dataclass(frozen=True)
class Byline:
    reporter: str
    email: str | None = None


_NAME = re.compile(r"[가-힣]{2,4}")
_SENTENCE_INSIDE = re.compile(r"[다요죠][.!?][\"”’')\]]*\s")


def parse_dateline(line: str, pats: Patterns) -> Dateline | None:
    """[경북신문=김범수기자] · [충칭=이데일리 함지현 기자] · 【브레이크뉴스 대구 】박성원 기자= · (서울=아시아타임즈) ·
    [여성종합뉴스] · (부산 더리더) · [아이뉴스24 임양규 기자] · 아주경제 박흥서 기자 = … — but not a photo credit
    (사진=OO시 제공) nor a bracketed label ([사진], [단독])."""
    m = pats.dateline.match(line)
    if not m:
        bare = pats.bare_dateline.match(line)
        if bare is None:
            return None
        return Dateline(end=bare.end(), outlet=pats.best_outlet(bare["inside"].split()), reporter=bare["after"])
    inside, after = m["inside"].strip(), m["after"]
    left, eq, right = inside.partition("=")
    left_tokens = left.split()
    if (left_tokens and left_tokens[0].rstrip(":：") in pats.credit_labels) or inside.endswith("제공"):
        return None  # (사진=통영시 제공), [자료=OO]: a credit, not the start of an article
    has_title = re.search(pats.titles_alternation, inside) is not None
    if not eq and not has_title and after:  # 【브레이크뉴스 대구 】박성원 기자=
        return Dateline(end=m.end(), outlet=pats.best_outlet(left_tokens), reporter=after)
    if not eq and not has_title:
        tokens = inside.split()
        # [여성종합뉴스]인천 남구 … · (부산 더리더) 부산시는 …: a bracket holding an outlet (after a place)
        if len(tokens) <= 2 and (tokens[-1] in pats.known_outlets or
                                 (pats.looks_like_outlet(tokens[-1]) and (len(tokens) == 1 or len(tokens[0]) <= 3))):
            return Dateline(end=m.end(), outlet=pats.best_outlet(tokens[-1:]), reporter=after)
        return None  # [사진], [파리올림픽]: a bracketed label, not a dateline
    right = re.sub(pats.titles_alternation, " ", right).strip()
    right_tokens = right.split()
    reporter = after
    if reporter is None and right_tokens and _names(right_tokens[-1], pats) and \
            not pats.looks_like_outlet(right_tokens[-1]):
        reporter = right_tokens.pop()
    outlet = pats.best_outlet(left_tokens + right_tokens)
    if not eq and has_title:  # [전국매일신문 이신우기자] · [시사브리핑 김정배 기자] · [ 김영현 기자 / yh@… ]
        tokens = re.sub(pats.titles_alternation, " ", inside).split()
        if reporter is None and tokens and _names(tokens[-1], pats):
            reporter = tokens.pop()
        elif reporter is None and (byline := parse_byline(inside, pats)) is not None:
            reporter = byline.reporter
            tokens = [t for t in tokens if t not in reporter.split("·")]
        outlet = pats.best_outlet(tokens) or (tokens[0] if len(tokens) == 1 and len(tokens[0]) >= 3
                                              and not tokens[0].endswith(pats.place_endings) else None)
    return Dateline(end=m.end(), outlet=outlet, reporter=reporter)


def _names(token: str, pats: Patterns) -> bool:
    """A reporter's name, or names joined by · (강한수·권혁준)."""
    return all(_NAME.fullmatch(t) is not None and t not in pats.not_names for t in token.split("·"))


def parse_byline(line: str, pats: Patterns) -> Byline | None:
    """A reporter's byline line: 박성원 기자 | 입력 … · 함지현 (hamz@…) · 지방의회 / 이대우 기자 / 2019-02-25 ·
    통영=강승우 기자 kkang@… · NSP통신, 권민수 기자, 2018-08-28 16:45. Not a sentence that mentions a reporter."""
    if len(line) > 100:
        return None
    m = pats.name_email.match(line)
    if m and len(line) <= 60 and m["name"] not in pats.not_names:
        return Byline(m["name"], m["email"])
    if is_sentence(line) and not line.endswith(pats.reporter_titles):
        return None
    for m in pats.byline_name.finditer(line):
        name = m["name"]
        if not _names(name, pats):
            continue
        if _SENTENCE_INSIDE.search(line[:m.start() + 1]):
            return None  # …라고 말했다. 인천=주관철 기자: a paragraph with a sign-off glued to it, not a byline
        email = pats.email.search(line)
        return Byline(name, email.group(0) if email else None)
    # 입력 2018년02월19일 23시16분 민일녀: a date line whose only other word is a name
    if labelled_date(line, pats.published_labels) is not None:
        rest = DATE_TIME.sub(" ", line)
        for label in sorted(pats.published_labels + pats.updated_labels, key=len, reverse=True):
            rest = rest.replace(label, " ")
        tokens = [t for t in re.sub(r"[|:：/·,\[\]()]", " ", rest).split() if t not in ("분", "초")]
        if len(tokens) == 1 and _names(tokens[0], pats):
            return Byline(tokens[0])
    return None


def copyright_outlet(line: str, pats: Patterns) -> str | None:
    """The outlet a copyright line names: Copyright © 김해뉴스타임 All rights reserved · [ⓒ 시민일보. 무단전재 …] ·
    <저작권자 © 울산경제신문, 무단 전재 …> · 저작권자 © 온라인 경제미디어 뉴스웨이 · 무단 … ·
    Copyright @코리아타임뉴스 Corp."""
    m = pats.copyright_mark.search(line)
    if not m:
        return None
    rest = pats.copyright_mark.sub(" ", line[m.start():]).replace("@", " ")
    rest = re.sub(r"^[\s:：(),.'\"‘’“”]*(?:\d{4}(?:\s*[-~]\s*\d{4})?)?[\s,.]*", "", rest)
    name = re.split(r"\s+-\s+|[.,|·<>\[\]【】()]|\s(?:All|all|무단|Inc|Co|Corp)\b|무단", rest, maxsplit=1)[0]
    name = name.strip(" ©ⓒ'\"‘’“”")
    if not name:
        return None
    if found := pats.best_outlet(name.split()):
        return found
    # A name that does not look like an outlet counts only on a real copyright line, not on a photo credit (ⓒ 경남도청)
    return name if len(name) <= 20 and len(name.split()) <= 3 and pats.copyright_words.search(line) else None


def named_outlet(line: str, pats: Patterns) -> str | None:
    """The outlet named on a line (a tip-line box, a byline): a known outlet first, else the last outlet-like word."""
    return pats.best_outlet([t for t in _WORD_SPLIT.split(line) if t])


def masthead_outlet(line: str, pats: Patterns) -> str | None:
    """A short line that only names the outlet, maybe with a date or a section: 베한타임즈 · <제주의소리> ·
    2019-09-24 동대문신문 · GNN 뉴스통신 | 기사입력 2024/06/10 [14:56] · 에너지경제신문 | 입력 …"""
    head = DATE_TIME.sub(" ", line.split("|")[0])
    tokens = [t for t in _WORD_SPLIT.split(head) if t]
    if not 1 <= len(tokens) <= 2 or len(head) > 30 or re.search(pats.titles_alternation, head):
        return None
    if not pats.looks_like_outlet(tokens[-1]):
        return None
    return pats.best_outlet(tokens)


_WORD_SPLIT = re.compile(r"[\s,.|/:：'\"‘’“”<>\[\]()@◎▶▷■◆]+")
