"""`citydesk eval`: the cleaner's and tagger's figures against a gold file (format of shared/gold/seeds.json).

Cleaner: keep recall (gold 'keep' strings found), drop rate (gold 'drop' strings absent), once rate
(gold 'once' strings present exactly once) over title + subtitle + body, and metadata accuracy.
Tagger: precision/recall/F1 per entity type, matching by canonical name or any gold alias; partners,
relations, countries and Korean governments listed as optional in the gold count neither for nor against.
`--details` lists every miss per article.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

from schemas import RawArticle, TaggedArticle
from services.cleaner import CleaningError, clean
from services.tagger import tag
from services.ties.evaluation import GoldTies, score_ties


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3),
            "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


class _Counter:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, predicted: set, expected: set, ignored: set = frozenset(),  # type: ignore[assignment]
            misses: list[str] | None = None, label: str = "") -> None:
        predicted = predicted - ignored
        self.tp += len(predicted & expected)
        self.fp += len(predicted - expected)
        self.fn += len(expected - predicted)
        if misses is not None:
            misses += [f"{label} false positive: {x}" for x in sorted(map(str, predicted - expected))]
            misses += [f"{label} missed: {x}" for x in sorted(map(str, expected - predicted))]

    def result(self) -> dict[str, float]:
        return _prf(self.tp, self.fp, self.fn)


# A place is the same whether or not its administrative suffix is written (알마티 = 알마티시, 시엠립 = 시엠립주):
# the gold keeps the text's form, the gazetteer its own.
_ADMIN_SUFFIX = ("시", "주", "성", "현", "구", "군", "도")


def place_key(name: str) -> str:
    key = name.replace(" ", "")
    return key[:-1] if key.endswith(_ADMIN_SUFFIX) and len(key) >= 3 else key


def _canon(names_by_alias: dict[str, str], name: str, by_place: dict[str, Any] | None = None) -> str:
    """The gold name a predicted name stands for: its own name, a surface the tagger saw for that place (남통시
    resolved to the entry 난퉁시), or its English name, found among the gold names and aliases."""
    place = (by_place or {}).get(name)
    for form in [name, *(place.mentions if place else [])]:
        if form in names_by_alias or place_key(form) in names_by_alias:
            return names_by_alias.get(form) or names_by_alias[place_key(form)]
    if place is not None and place.name_en and _en_key(place.name_en) in names_by_alias:
        return names_by_alias[_en_key(place.name_en)]
    return name


def _en_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.lower())
    return "en:" + "".join(c for c in folded if c.isalnum())


DEVSET = Path(__file__).resolve().parents[1] / "tests" / "devset"


def load_gold(files: list[Path]) -> dict[str, Any]:
    """One gold dictionary from several files (the dev set keeps one file per part)."""
    gold: dict[str, Any] = {}
    for f in files:
        gold.update(json.loads(f.read_text(encoding="utf-8")))
    return gold


def devset_gold(names: list[str] | None = None) -> tuple[dict[str, Any], Path]:
    """The real-page development set's gold (all parts, or the parts named) and its cache folder; ValueError says
    how to rebuild a missing cache."""
    parts = sorted(p for p in (DEVSET / "parts").glob("*.gold.json")
                   if names is None or p.name.removesuffix(".gold.json") in names)
    cache = DEVSET / "cache"
    gold = load_gold(parts)
    # A scraper hands the page's address with its text, as the recipe keeps it.
    for recipe in sorted((DEVSET / "parts").glob("*.recipe.json")):
        for row in json.loads(recipe.read_text(encoding="utf-8")):
            if row["id"] in gold:
                gold[row["id"]].setdefault("url", row["url"])
    missing = [k for k, g in gold.items() if not (cache / g["file"]).exists()]
    if not parts or missing:
        raise ValueError(f"the dev-set cache lacks {len(missing)} of {len(gold)} pages ({', '.join(missing[:5])} ...): "
                         f"rebuild it as tests/devset/README.md says, then check with "
                         f"`python tests/devset/devset.py verify`")
    return gold, cache


def evaluate(gold_file: Path | dict[str, Any], raw_dir: Path) -> dict[str, Any]:
    gold = gold_file if isinstance(gold_file, dict) else json.loads(gold_file.read_text(encoding="utf-8"))
    keep = [0, 0]
    drop = [0, 0]
    once = [0, 0]
    meta = [0, 0]
    counters = {k: _Counter() for k in ("korean_govs", "partners", "countries", "people", "relations",
                                        "relation_kinds", "organizations", "events")}
    primary = [0, 0]
    sector_precision = [0, 0]
    exchange = [0, 0]
    since = [0, 0]
    tie_articles: list[TaggedArticle] = []  # each tagged article with its relations' names as the gold's
    gold_ties = GoldTies()
    failures: list[str] = []
    details: dict[str, list[str]] = {}
    for key, g in gold.items():
        path = raw_dir / g["file"]
        raw = RawArticle(id=key, url=g.get("url"), body=path.read_text(encoding="utf-8"),
                         content_type=g.get("content_type", "text/plain"))
        try:
            article = clean(raw)
        except CleaningError as exc:
            failures.append(f"{key}: {exc}")
            continue
        out = "\n".join([article.title, article.subtitle or "", article.body])
        misses: list[str] = details.setdefault(key, [])
        keep[0] += sum(s in out for s in g.get("keep", []))
        keep[1] += len(g.get("keep", []))
        misses += [f"keep missed: {s}" for s in g.get("keep", []) if s not in out]
        drop[0] += sum(s not in out for s in g.get("drop", []))
        drop[1] += len(g.get("drop", []))
        misses += [f"drop leaked: {s}" for s in g.get("drop", []) if s in out]
        once[0] += sum(out.count(s) == 1 for s in g.get("once", []))
        once[1] += len(g.get("once", []))
        misses += [f"once: {s} x{out.count(s)}" for s in g.get("once", []) if out.count(s) != 1]
        published = article.published_at.isoformat()[:16] if article.published_at else None
        for field, value in (("title", article.title), ("published", published), ("outlet", article.outlet),
                             ("reporter", article.reporter), ("reporter_email", article.reporter_email)):
            if field in g:
                meta[0] += value == g[field]
                meta[1] += 1
                if value != g[field]:
                    misses.append(f"{field}: {value!r}, gold {g[field]!r}")
        if "korean_govs" not in g:
            continue
        t = tag(article)
        aliases: dict[str, str] = {}
        for item in g.get("korean_govs", []) + g.get("partners", []):
            for alias in [item["name"], *item.get("aliases", [])]:
                aliases[alias] = item["name"]
                aliases.setdefault(place_key(alias), item["name"])
        for name in g.get("partners_optional", []):
            aliases.setdefault(place_key(name), name)
        for item in g.get("partners", []):
            if item.get("en"):
                aliases.setdefault(_en_key(item["en"]), item["name"])
        # A predicted place is the gold one when its name, a surface the tagger saw for it (남통시 resolved to
        # the entry 난퉁시) or its English name is the gold name or an alias.
        by_place = {p.name: p for p in t.places}

        optional = set(g.get("partners_optional", []))
        govs_pred = {_canon(aliases, p.name, by_place) for p in t.places if p.kind == "korean_local_gov"}
        counters["korean_govs"].add(govs_pred, {x["name"] for x in g["korean_govs"]},
                                    set(g.get("korean_govs_optional", [])), misses, "korean_gov")
        partners_pred = {_canon(aliases, r.partner, by_place) for r in t.relations}
        counters["partners"].add(partners_pred, {x["name"] for x in g["partners"]}, optional, misses, "partner")
        countries_pred = {p.country for p in t.places if p.kind == "country"} | {r.partner_country
                                                                                  for r in t.relations}
        counters["countries"].add(countries_pred - {"KR"}, set(g["countries"]), set(g.get("countries_optional", [])),
                                  misses, "country")
        person_alias = {a: p["name"] for p in g["people"] for a in p.get("aliases", [])}
        counters["people"].add({_canon(person_alias, p.name) for p in t.people}, {p["name"] for p in g["people"]},
                               misses=misses, label="person")
        rel_pred = {(_canon(aliases, r.korean_party, by_place), _canon(aliases, r.partner, by_place))
                    for r in t.relations}
        rel_gold = {(r["korean"], r["partner"]) for r in g["relations"]}
        rel_optional = {(k, p) for k, _ in rel_pred for p in optional}
        counters["relations"].add(rel_pred, rel_gold, rel_optional, misses, "relation")
        kinds_pred = {(_canon(aliases, r.korean_party, by_place), _canon(aliases, r.partner, by_place), k)
                      for r in t.relations for k in r.kinds}
        kinds_gold = {(r["korean"], r["partner"], k) for r in g["relations"] for k in r["kinds"]}
        counters["relation_kinds"].add(kinds_pred, kinds_gold,
                                       {x for x in kinds_pred if (x[0], x[1]) in rel_optional}, misses, "kind")
        # since, where the gold states it: the predicted relation of that pair must give the same year.
        since_pred = {(_canon(aliases, r.korean_party, by_place), _canon(aliases, r.partner, by_place)): r.since
                      for r in t.relations}
        for r in g["relations"]:
            if r.get("since"):
                got = since_pred.get((r["korean"], r["partner"]))
                since[0] += got == r["since"]
                since[1] += 1
                if got != r["since"]:
                    misses.append(f"since: {(r['korean'], r['partner'])} {got}, gold {r['since']}")
        tie_articles.append(t.model_copy(update={"relations": [
            r.model_copy(update={"korean_party": _canon(aliases, r.korean_party, by_place),
                                 "partner": _canon(aliases, r.partner, by_place)}) for r in t.relations]}))
        gold_ties.add(g["relations"], rel_optional)
        # Organizations and events: a prediction matches a gold name it equals, ignoring spaces.
        for field, predicted in (("organizations", t.organizations), ("events", t.events)):
            if field in g:
                squash = {n["name"].replace(" ", "") if isinstance(n, dict) else n.replace(" ", "")
                          for n in g[field]}
                counters[field].add({n.name.replace(" ", "") for n in predicted}, squash)
        codes = {s.code for s in t.sectors}
        prim, acceptable = set(g["sectors"]["primary"]), set(g["sectors"].get("acceptable", []))
        misses += [f"sector primary missed: {c}" for c in sorted(prim - codes)]
        misses += [f"sector false positive: {c}" for c in sorted(codes - prim - acceptable)]
        if t.is_exchange != g["exchange"]:
            misses.append(f"is_exchange: {t.is_exchange}, gold {g['exchange']}")
        primary[0] += len(prim & codes)
        primary[1] += len(prim)
        sector_precision[0] += len(codes & (prim | acceptable))
        sector_precision[1] += len(codes)
        exchange[0] += t.is_exchange == g["exchange"]
        exchange[1] += 1

    def ratio(pair: list[int]) -> float | None:
        return round(pair[0] / pair[1], 3) if pair[1] else None

    ties = score_ties(tie_articles, gold_ties)
    if ties["misses"]:
        details["(register)"] = ties.pop("misses")
    else:
        ties.pop("misses")

    return {
        "articles": len(gold),
        "cleaner": {"keep_recall": ratio(keep), "drop_rate": ratio(drop), "once_rate": ratio(once),
                    "metadata_accuracy": ratio(meta), "failures": failures},
        "tagger": {**{k: c.result() for k, c in counters.items()},
                   "sector_primary_recall": ratio(primary), "sector_precision": ratio(sector_precision),
                   "exchange_accuracy": ratio(exchange), "since_accuracy": ratio(since),
                   "since_stated": since[1]},
        "ties": ties,
        "details": {k: v for k, v in details.items() if v},
    }


def format_report(report: dict[str, Any], details: bool = False) -> str:
    c, t = report["cleaner"], report["tagger"]
    lines = [f"articles: {report['articles']}", "cleaner:",
             f"  keep recall {c['keep_recall']}  drop rate {c['drop_rate']}  once rate {c['once_rate']}  "
             f"metadata accuracy {c['metadata_accuracy']}"]
    lines += [f"  failed: {f}" for f in c["failures"]]
    lines.append("tagger:               precision  recall     F1")
    for name in ("korean_govs", "partners", "countries", "people", "relations", "relation_kinds"):
        r = t[name]
        lines.append(f"  {name:<18} {r['precision']:>9} {r['recall']:>7} {r['f1']:>6}   "
                     f"(tp {r['tp']}, fp {r['fp']}, fn {r['fn']})")
    for name in ("organizations", "events"):
        r = t[name]
        lines.append(f"  {name:<18} {r['precision']:>9} {r['recall']:>7} {r['f1']:>6}   "
                     f"(tp {r['tp']}, fp {r['fp']}, fn {r['fn']}; no target, gold lists only the main ones)")
    lines.append(f"  sector primary recall {t['sector_primary_recall']}  sector precision {t['sector_precision']}  "
                 f"exchange accuracy {t['exchange_accuracy']}")
    lines.append(f"  since where stated {t['since_accuracy']} ({t['since_stated']} relations)")
    ties = report["ties"]
    lines.append("ties (the register folded from these articles):  precision  recall     F1")
    for name in ("pairs", "kinds"):
        r = ties[name]
        lines.append(f"  {name:<18} {r['precision']:>31} {r['recall']:>7} {r['f1']:>6}   "
                     f"(tp {r['tp']}, fp {r['fp']}, fn {r['fn']})")
    lines.append(f"  since where stated {ties['since_accuracy']} ({ties['since_stated']} ties)")
    if details:
        for key, misses in report["details"].items():
            lines.append(f"\n{key}:")
            lines += [f"  {m}" for m in misses]
    return "\n".join(lines)
