"""The desk's ties pages: the register as `citydesk ties` reads it (services.ties.office.current_ties: the stored ties
with the office's register applied now), filtered by services.ties.output.select and ordered by sort_ties — the
CLI's own functions, so a filter or a status means the same on both. What is here is only the page's reading of
its URL and the Korean labels.

URL parameters, as the CLI's flags: korean_party, partner, country, kind, status (active | dormant | news_only |
no_news, or the status itself), each repeatable; sort (one of output.SORT_KEYS) and dir (asc | desc).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from schemas import RELATION_KINDS, Tie
from services.ties import output

FILTERS = ("korean_party", "partner", "country", "kind", "status")
FILTER_LABELS = {"korean_party": "한국 지자체", "partner": "상대", "country": "국가", "kind": "관계", "status": "상태"}
STATUS_LABELS = {"registered_active": "등록·활동 중", "registered_dormant": "등록·휴면",
                 "news_only": "보도만·미등록", "registered_no_news": "등록·보도 없음"}
SINCE_LABELS = {"stated": ("명시", "stated"), "first_evidence": ("첫 보도", "first seen"),
                "register": ("대장", "register")}
SIDE_LABELS = {"korean": "한국 측 Korean side", "partner": "상대 측 partner side", "unknown": "소속 미상 side unknown"}
MAX_VALUES = 20


class BadTieQuery(ValueError):
    """A parameter the ties page cannot read; the message names it."""


def parse(params: Mapping[str, Any]) -> dict[str, Any]:
    """Filters, sort and direction from query parameters (a Starlette QueryParams or a dict of lists)."""

    def values(name: str) -> list[str]:
        raw = params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
        if isinstance(raw, str):
            raw = [raw]
        out = list(dict.fromkeys(v.strip() for v in raw if v and v.strip()))
        if len(out) > MAX_VALUES:
            raise BadTieQuery(f"{name}: at most {MAX_VALUES} values")
        return out

    chosen = {name: values(name) for name in FILTERS}
    bad = [k for k in chosen["kind"] if k not in RELATION_KINDS]
    if bad:
        raise BadTieQuery(f"kind: {', '.join(bad)} is not one of {', '.join(RELATION_KINDS)}")
    statuses = set(output.STATUS_CHOICES) | set(output.STATUS_CHOICES.values())
    bad = [s for s in chosen["status"] if s not in statuses]
    if bad:
        raise BadTieQuery(f"status: {', '.join(bad)} is not one of {', '.join(output.STATUS_CHOICES)}")
    sort = (values("sort") or [""])[-1]
    if sort and sort not in output.SORT_KEYS:
        raise BadTieQuery(f"sort: {sort!r} is not one of {', '.join(output.SORT_KEYS)}")
    direction = (values("dir") or ["asc"])[-1]
    if direction not in ("asc", "desc"):
        raise BadTieQuery("dir: asc or desc")
    return {"filters": chosen, "sort": sort or None, "dir": direction}


def apply(ties: Sequence[Tie], parsed: Mapping[str, Any]) -> list[Tie]:
    """The CLI's selection, then the chosen order (none: the register's own, most stories first)."""
    chosen = output.select(ties, **parsed["filters"])
    if parsed["sort"]:
        chosen = output.sort_ties(chosen, parsed["sort"], parsed["dir"] == "desc")
    return chosen


def status_text(tie: Tie) -> tuple[str, str]:
    """(Korean, English) of a tie's status; the English is `citydesk ties`'s own."""
    english = output.status_label(tie)
    korean = STATUS_LABELS[tie.status]
    if tie.status == "registered_dormant" and tie.last_activity:
        korean = f"등록·{tie.last_activity.year}년 이후 보도 없음"
    return korean, english


def since_text(tie: Tie) -> dict[str, Any] | None:
    if tie.since is None:
        return None
    ko, en = SINCE_LABELS.get(tie.since_source or "", ("?", "?"))
    return {"year": tie.since, "source": tie.since_source, "ko": ko, "en": en}


def row(tie: Tie) -> dict[str, Any]:
    """What a table row, and /api/ties, show of a tie beside the tie itself."""
    ko, en = status_text(tie)
    return {"status_ko": ko, "status_en": en, "since_shown": since_text(tie),
            "kind_names": [k.kind for k in tie.kinds],
            "registered_kind": tie.registered.kind if tie.registered else None}


def link(tie: Tie) -> str:
    from urllib.parse import quote

    return f"/ties/{quote(tie.korean_party, safe='')}/{quote(tie.partner, safe='')}"
