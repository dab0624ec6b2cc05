"""An office's official register of ties (CSV), read and resolved through the gazetteer.

Columns, by header (English or Korean): Korean government (korean_government | 지자체), partner (partner | 상대도시),
country (country | 국가: ISO code or Korean name), kind (kind | 유형: sister_city, friendship_city or 자매, 우호),
year (year | 연도). Each row's names are resolved to the gazetteer's canonical names, so the register meets the
ties found in the news; a row that cannot be resolved is reported with the reason, never silently dropped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from schemas import RegisterEntry, Tie
from services.tagger.gazetteer import Entry, Gazetteer

if TYPE_CHECKING:
    from services.indexer.store import ArticleStore

HEADERS = {
    "korean_party": ("korean_government", "korean_party", "지자체", "자치단체"),
    "partner": ("partner", "상대도시", "상대"),
    "country": ("country", "국가"),
    "kind": ("kind", "유형", "종류"),
    "year": ("year", "연도", "체결연도"),
}
KINDS = {"sister_city": "sister_city", "자매": "sister_city", "자매도시": "sister_city", "자매결연": "sister_city",
         "friendship_city": "friendship_city", "우호": "friendship_city", "우호도시": "friendship_city",
         "우호협력": "friendship_city", "우호교류": "friendship_city"}


@dataclass
class Unresolved:
    line: int
    row: dict[str, str]
    reason: str


def _column(header: list[str], field: str) -> str | None:
    names = {h.strip().lower(): h for h in header}
    return next((names[n] for n in HEADERS[field] if n in names), None)


def _place(g: Gazetteer, name: str, kinds: tuple[str, ...], country: str | None = None) -> Entry | None:
    name = name.strip()
    for surface in (name, name.replace(" ", "")):
        entries = [e for e in g.by_surface.get(surface, []) if e.kind in kinds
                   and (country is None or e.country == country)]
        if entries:
            return entries[0]
    return None


def _country(g: Gazetteer, value: str) -> str | None:
    value = value.strip()
    if len(value) == 2 and value.upper() in g.countries:
        return value.upper()
    entry = _place(g, value, ("country",))
    return entry.country if entry else None


def read_register(text: str, g: Gazetteer) -> tuple[list[RegisterEntry], list[Unresolved]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    columns = {field: _column(header, field) for field in HEADERS}
    missing = [f for f in ("korean_party", "partner", "country", "kind") if columns[f] is None]
    if missing:
        raise ValueError(f"the register has no column for {', '.join(missing)}; expected a header such as "
                         "korean_government,partner,country,kind,year (or 지자체,상대도시,국가,유형,연도)")
    entries, unresolved = [], []
    for line, row in enumerate(reader, start=2):
        def cell(field: str, row: dict[str, str] = row) -> str:
            column = columns[field]
            return (row.get(column) or "").strip() if column else ""

        country = _country(g, cell("country"))
        korean = _place(g, cell("korean_party"), ("korean_local_gov",))
        partner = _place(g, cell("partner"), ("foreign_city", "foreign_region"), country) if country else None
        kind = KINDS.get(cell("kind").lower())
        year = cell("year")
        problems = [msg for ok, msg in (
            (country, f"unknown country {cell('country')!r}"),
            (korean, f"no Korean government called {cell('korean_party')!r}"),
            (partner or not country, f"no place called {cell('partner')!r} in {country}"),
            (kind, f"unknown kind {cell('kind')!r} (sister_city, friendship_city, 자매, 우호)"),
            (not year or year.isdigit(), f"year {year!r} is not a year"),
        ) if not ok]
        if problems or korean is None or partner is None or country is None or kind is None:
            unresolved.append(Unresolved(line, dict(row), "; ".join(problems)))
            continue
        entries.append(RegisterEntry(korean_party=korean.name, partner=partner.name, country=country,
                                     kind=kind, year=int(year) if year else None))  # type: ignore[arg-type]
    return entries, unresolved


REGISTER_FILE = "register.json"


def save_register(data_dir: Path, entries: list[RegisterEntry], unresolved: list[Unresolved], source: str) -> Path:
    """The resolved register, kept in the data directory for `citydesk ties` (written whole, then renamed: a reader
    never sees half a register). The unresolved rows are kept beside it, with their reasons."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / REGISTER_FILE
    body = {"source": source, "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "entries": [e.model_dump(mode="json") for e in entries],
            "unresolved": [{"line": u.line, "row": u.row, "reason": u.reason} for u in unresolved]}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_register(data_dir: Path) -> list[RegisterEntry]:
    """The register `citydesk ties import` stored, or none."""
    path = data_dir / REGISTER_FILE
    if not path.exists():
        return []
    return [RegisterEntry.model_validate(e) for e in json.loads(path.read_text(encoding="utf-8"))["entries"]]


def canonical_names(korean_party: str, partner: str) -> tuple[str, str]:
    """Canonical names for what was typed (대구 → 대구광역시, 청두 → 청두시), through the gazetteer; a name it does not
    know is kept as typed."""
    from services.tagger.gazetteer import gazetteer

    g = gazetteer()
    korean = _place(g, korean_party, ("korean_local_gov",))
    foreign = _place(g, partner, ("foreign_city", "foreign_region"))
    return (korean.name if korean else korean_party), (foreign.name if foreign else partner)


class RegisterFile:
    """The register `citydesk ties import` keeps in a data directory, read again whenever the file changes: a running
    indexer or desk sees a new import at its next write or request, without a restart."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / REGISTER_FILE
        self._seen: tuple[int, int] | None = None
        self._entries: list[RegisterEntry] = []

    def entries(self) -> list[RegisterEntry]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._entries = None, []
            return []
        key = (stat.st_mtime_ns, stat.st_size)
        if key != self._seen:
            self._entries, self._seen = load_register(self.path.parent), key
        return self._entries


def current_ties(stored: Sequence[Tie], register: Sequence[RegisterEntry], now: datetime | None = None) -> list[Tie]:
    """The register as users read it (`citydesk ties`, the desk): the stored ties with the office's register applied
    now (status, registered ties without news). A stored tie without news that the register no longer lists (left by
    a store that could not be rewritten at the last import) is not shown."""
    from services.ties.register import with_register

    rows = {(r.korean_party, r.partner) for r in register}
    kept = [_news_since(t) for t in stored if t.articles or (t.korean_party, t.partner) in rows]
    return with_register(kept, register, now)


def _news_since(tie: Tie) -> Tie:
    """A stored tie whose `since` came from the register written with it: back to what the news gives, so the
    register applied now decides (a row removed since takes its year with it)."""
    if tie.since_source != "register":
        return tie
    news = tie.first_activity.year if tie.first_activity else None
    return tie.model_copy(update={"since": news, "since_source": "first_evidence" if news else None})


def restatus(store: ArticleStore, register: Sequence[RegisterEntry]) -> tuple[int, int]:
    """Write every stored tie again with the register's status, add the registered ties no article names and drop
    the no-news ties the register no longer lists (after `citydesk ties import` and `ties rebuild`). Returns
    (ties written, ties deleted)."""
    stored = store.read_ties()
    shown = current_ties(stored, register)
    ids = {t.id for t in shown}
    stale = [t.id for t in stored if t.id not in ids]
    store.write_ties(shown, delete=stale)
    return len(shown), len(stale)


def stored_with_register(ties: Sequence[Tie], delete: Iterable[str], register: Sequence[RegisterEntry],
                         now: datetime | None = None) -> tuple[list[Tie], list[str]]:
    """What a store writes for ``write_ties(ties, delete)`` with an office's register: each tie with its status as of
    now (so Kibana, which reads the stored documents, can filter on it); a registered tie that no article names any
    more is kept as "registered, no news" instead of being deleted."""
    from services.ties.register import tie_id, with_register, with_status

    rows = {tie_id(r.korean_party, r.partner): r for r in register}
    out = [with_status(t.model_copy(), rows.get(t.id), now) for t in ties]
    written = {t.id for t in out}
    kept = [rows[d] for d in delete if d in rows and d not in written]
    out += with_register([], kept, now)  # the same no-news tie `citydesk ties` shows for a registered row
    return out, [d for d in delete if d not in rows]
