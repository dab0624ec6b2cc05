"""Korean news date formats → timezone-aware datetimes (+09:00 when the page gives no zone).

Unknown is better than wrong: anything that does not parse to a real calendar date and time is None.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import cache

KST = timezone(timedelta(hours=9), "KST")

# 2019/06/13 [14:33] · 2024.07.30 13:34:14 · 21-03-23 20:20 · 2023년 5월 12일 (금) 10:21 · 2024-09-03 오후 2:17:05
DATE_TIME = re.compile(
    r"(?<!\d)(?P<y>\d{4}|\d{2})\s*[./\-년]\s*(?P<m>\d{1,2})\s*[./\-월]\s*(?P<d>\d{1,2})(?!\d)\s*일?\.?"
    r"\s*(?:\(\s*[월화수목금토일]\s*\))?\s*[\[(]?\s*"
    r"(?:(?P<ampm>오전|오후|AM|PM)\s*)?"
    r"(?:(?P<H>\d{1,2})\s*[:시]\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2}))?)?",
    re.IGNORECASE,
)


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if len(text) == 2 else year


def parse_date(text: str) -> datetime | None:
    """The first complete date in ``text`` (time optional), or None."""
    for m in DATE_TIME.finditer(text):
        value = _from_match(m)
        if value is not None:
            return value
    return None


def _from_match(m: re.Match[str]) -> datetime | None:
    try:
        year, month, day = _year(m["y"]), int(m["m"]), int(m["d"])
        hour = int(m["H"]) if m["H"] else 0
        minute = int(m["M"]) if m["M"] else 0
        second = int(m["S"]) if m["S"] else 0
        ampm = (m["ampm"] or "").upper()
        if ampm in ("오후", "PM") and hour < 12:
            hour += 12
        elif ampm in ("오전", "AM") and hour == 12:
            hour = 0
        if not 1990 <= year <= 2100:
            return None
        return datetime(year, month, day, hour, minute, second, tzinfo=KST)
    except ValueError:
        return None


def labelled_date(line: str, labels: tuple[str, ...]) -> datetime | None:
    """A date next to one of ``labels`` on this line: after it (입력 : 2019/06/13 [14:33]) or, as some
    portals write it, before it (2024.05.08 09:30 입력)."""
    found = labelled_date_and_time(line, labels)
    return found[0] if found else None


@cache  # a few labels, asked for on every line of every page
def _label_pattern(label: str) -> re.Pattern[str]:
    # Latin labels (date, UPDATE) as whole words in any case: "update" does not hold the label "date".
    if label.isascii():
        return re.compile(rf"(?<![A-Za-z]){re.escape(label)}(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(label))


def labelled_date_and_time(line: str, labels: tuple[str, ...]) -> tuple[datetime, bool] | None:
    """As labelled_date, with whether the page gave a time (a date alone is midnight, and less trusted)."""
    for label in labels:
        if label not in line and not label.isascii():  # a Korean label matches only as written; Latin ones in any case
            continue
        for hit in _label_pattern(label).finditer(line):
            rest = line[hit.end():hit.end() + 40].lstrip(" :：.\t")
            m = DATE_TIME.match(rest)
            if m and (value := _from_match(m)) is not None:
                return value, m["H"] is not None
            before = line[max(0, hit.start() - 40):hit.start()].rstrip(" :：\t")
            for m in DATE_TIME.finditer(before):
                if m.end() == len(before) and m["H"] and (value := _from_match(m)) is not None:
                    return value, True
    return None


def standalone_datetime(line: str) -> datetime | None:
    """A line that is nothing but a date WITH a time (2023년 5월 12일 (금) 10:21). A date without a time
    alone on a line is usually the page's today-widget, never taken."""
    m = DATE_TIME.fullmatch(line.strip(" []()"))
    return _from_match(m) if m and m["H"] else None


def to_kst(value: datetime) -> datetime:
    """A naive datetime is taken as Korean time; an aware one keeps its offset."""
    return value.replace(tzinfo=KST) if value.tzinfo is None else value


def first_datetime_with_time(line: str) -> datetime | None:
    """The first complete date on the line that carries a time (a byline's 2018-08-28 16:45), or None."""
    for m in DATE_TIME.finditer(line):
        if m["H"] and (value := _from_match(m)) is not None:
            return value
    return None
