"""The article's metadata, one shape for every source (text lines, HTML markup), and the line parsers that
read it: datelines, bylines, copyright lines, tip-line boxes.

Every word these parsers look for comes from patterns.json through ``Patterns``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime

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


def parse_dateline(line: str, pats: Patterns) -> Dateline | None:
    """[경북신문=김범수기자] · [충칭=이데일리 함지현 기자] · 【브레이크뉴스 대구 】박성원 기자= · (서울=아시아타임즈) ·
    [여성종합뉴스] — but not a photo credit (사진=OO시 제공) nor a bracketed label ([사진], [단독])."""
    m = pats.dateline.match(line)
    if not m:
        return None
    inside, after = m["inside"].strip(), m["after"]
    left, eq, right = inside.partition("=")
    left_tokens = left.split()
    if (left_tokens and left_tokens[0].rstrip(":：") in pats.credit_labels) or inside.endswith("제공"):
        return None  # (사진=통영시 제공), [자료=OO]: a credit, not the start of an article
    has_title = re.search(pats.titles_alternation, inside) is not None
    if not eq and not after and not has_title:
        if pats.looks_like_outlet(inside) and " " not in inside:
            return Dateline(end=m.end(), outlet=inside, reporter=None)  # [여성종합뉴스]인천 남구 …
        return None  # [사진], [파리올림픽]: a bracketed label, not a dateline
    right = re.sub(pats.titles_alternation, " ", right).strip()
    right_tokens = right.split()
    reporter = after
    if reporter is None and right_tokens and _NAME.fullmatch(right_tokens[-1]) and \
            right_tokens[-1] not in pats.not_names and not pats.looks_like_outlet(right_tokens[-1]):
        reporter = right_tokens.pop()
    if reporter is None and not eq and has_title:  # [전국매일신문 이신우기자]
        tokens = re.sub(pats.titles_alternation, " ", inside).split()
        if tokens and _NAME.fullmatch(tokens[-1]) and tokens[-1] not in pats.not_names:
            reporter = tokens.pop()
        left_tokens = tokens
    candidates = left_tokens + right_tokens
    outlet = next((c for c in candidates if pats.looks_like_outlet(c)), None)
    return Dateline(end=m.end(), outlet=outlet, reporter=reporter)


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
        if name in pats.not_names:
            continue
        email = pats.email.search(line)
        return Byline(name, email.group(0) if email else None)
    return None


def copyright_outlet(line: str, pats: Patterns) -> str | None:
    """The outlet a copyright line names: Copyright © 김해뉴스타임 All rights reserved · [ⓒ 시민일보. 무단전재 …] ·
    <저작권자 © 울산경제신문, 무단 전재 …> · 저작권자 © 전국매일신문 - 전국의 생생한 뉴스를 …"""
    m = pats.copyright_mark.search(line)
    if not m:
        return None
    rest = pats.copyright_mark.sub(" ", line[m.start():])
    rest = re.sub(r"^[\s:：(),.]*(?:\d{4}(?:\s*[-~]\s*\d{4})?)?[\s,.]*", "", rest)
    name = re.split(r"\s+-\s+|[.,|<>\[\]【】()]|\s(?:All|all|무단|Inc|Co)\b|무단", rest, maxsplit=1)[0].strip(" ©ⓒ")
    if not name:
        return None
    for token in name.split():  # "퍼스트뉴스 통신" → the part that looks like an outlet name
        if pats.looks_like_outlet(token):
            return token
    return name if len(name) <= 20 and len(name.split()) <= 3 else None


def named_outlet(line: str, pats: Patterns) -> str | None:
    """The first outlet-like token of a line (a tip-line box, a masthead line)."""
    for token in re.split(r"[\s,.|/:：'\"‘’“”<>\[\]()]+", line):
        if pats.looks_like_outlet(token):
            return token
    return None
