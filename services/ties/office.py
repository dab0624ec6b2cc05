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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schemas import RegisterEntry
from services.tagger.gazetteer import Entry, Gazetteer

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
