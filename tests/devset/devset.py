"""The real-page development set: recipes and gold are committed, the page texts are not.

Each part (one file pair per collector) is `parts/NAME.recipe.json` (a list of {id, query, url, outlet,
sha256, chars}) and `parts/NAME.gold.json` (gold in the format of ../shared/gold/seeds.json, keyed by id,
`file` = ID.txt). The texts live in the git-ignored `cache/ID.txt`: the excerpt the search tool's `pages`
corpus returns for the recipe's URL when the recipe's query is searched, saved as returned (JSON-decoded).

    python tests/devset/devset.py add ID --part NAME --query Q --url URL [--outlet NAME]
    python tests/devset/devset.py verify         # every recipe has its cached text with the right sha256
    python tests/devset/devset.py check          # gold is well-formed and every gold entry has a recipe
    python tests/devset/devset.py stats          # pages, outlets, countries, negatives
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = HERE / "parts"
CACHE = HERE / "cache"
ROOT = HERE.parents[1]

RELATION_KINDS = {"sister_city", "friendship_city", "agreement", "visit", "event"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _load(path: Path, default):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def _dump(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def recipes() -> list[dict]:
    return [r for p in sorted(PARTS.glob("*.recipe.json")) for r in _load(p, [])]


def gold() -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for p in sorted(PARTS.glob("*.gold.json")):
        merged.update(_load(p, {}))
    return merged


def sector_codes() -> set[str]:
    data = json.loads((ROOT / "services/tagger/data/sectors.json").read_text(encoding="utf-8"))
    return {s["code"] for s in data["sectors"]}


def cmd_add(a: argparse.Namespace) -> int:
    text_file = CACHE / f"{a.id}.txt"
    if not text_file.exists():
        print(f"write the page text to {text_file} first", file=sys.stderr)
        return 1
    text = text_file.read_text(encoding="utf-8")
    path = PARTS / f"{a.part}.recipe.json"
    rows = [r for r in _load(path, []) if r["id"] != a.id]
    rows.append({"id": a.id, "query": a.query, "url": a.url, "outlet": a.outlet, "sha256": sha256(text),
                 "chars": len(text)})
    _dump(path, rows)
    print(f"{a.id}: {len(text)} chars, sha256 {sha256(text)[:12]}")
    return 0


def cmd_verify(_: argparse.Namespace) -> int:
    bad = 0
    for r in recipes():
        f = CACHE / f"{r['id']}.txt"
        if not f.exists():
            print(f"missing  {r['id']}: search pages for {r['query']!r}, save the excerpt of {r['url']}")
            bad += 1
        elif sha256(f.read_text(encoding="utf-8")) != r["sha256"]:
            print(f"changed  {r['id']}: the cached text differs from the recipe's sha256")
            bad += 1
    print(f"{len(recipes()) - bad} of {len(recipes())} pages cached and verified")
    return 1 if bad else 0


def cmd_check(_: argparse.Namespace) -> int:
    codes = sector_codes()
    ids = {r["id"] for r in recipes()}
    problems = []
    for key, g in gold().items():
        where = f"{key}:"
        if key not in ids:
            problems.append(f"{where} no recipe")
        if g.get("file") != f"{key}.txt":
            problems.append(f"{where} file must be {key}.txt")
        for field in ("keep", "drop", "once", "korean_govs", "partners", "countries", "people", "relations",
                      "exchange", "sectors"):
            if field not in g:
                problems.append(f"{where} missing {field}")
        govs = {x["name"] for x in g.get("korean_govs", [])}
        partners = {x["name"] for x in g.get("partners", [])} | set(g.get("partners_optional", []))
        for rel in g.get("relations", []):
            if rel.get("korean") not in govs:
                problems.append(f"{where} relation korean {rel.get('korean')!r} not in korean_govs")
            if rel.get("partner") not in partners:
                problems.append(f"{where} relation partner {rel.get('partner')!r} not in partners")
            if not rel.get("kinds") or set(rel["kinds"]) - RELATION_KINDS:
                problems.append(f"{where} relation kinds {rel.get('kinds')} (need ≥1 of {sorted(RELATION_KINDS)})")
        for p in g.get("partners", []):
            if not p.get("country") or len(p["country"]) != 2:
                problems.append(f"{where} partner {p.get('name')} needs an ISO alpha-2 country")
        sec = g.get("sectors", {})
        unknown = (set(sec.get("primary", [])) | set(sec.get("acceptable", []))) - codes
        if unknown:
            problems.append(f"{where} unknown sector codes {sorted(unknown)}")
        text_file = CACHE / f"{key}.txt"
        if text_file.exists():
            text = text_file.read_text(encoding="utf-8")
            for s in g.get("keep", []) + g.get("once", []) + g.get("drop", []):
                if s not in text:
                    problems.append(f"{where} {s!r} is not in the page text")
    print("\n".join(problems) or f"{len(gold())} gold entries well-formed")
    return 1 if problems else 0


def cmd_stats(_: argparse.Namespace) -> int:
    g = gold()
    outlets = {r["outlet"] or r["url"].split("/")[2] for r in recipes()}
    countries = {c for x in g.values() for c in x.get("countries", [])}
    negatives = [k for k, x in g.items() if not x.get("exchange")]
    print(f"pages {len(recipes())}, gold {len(g)}, outlets {len(outlets)}, partner countries {len(countries)} "
          f"({' '.join(sorted(countries))}), negatives {len(negatives)}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(required=True)
    p = sub.add_parser("add", help="record a cached page's recipe")
    p.add_argument("id")
    p.add_argument("--part", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--outlet", default=None)
    p.set_defaults(func=cmd_add)
    for name, func in (("verify", cmd_verify), ("check", cmd_check), ("stats", cmd_stats)):
        sub.add_parser(name).set_defaults(func=func)
    a = ap.parse_args()
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
