"""One article as the desk shows it: the clean text with places, people, organisations and events marked, each
relation with its kinds and the sentence that supports it, the sectors with their evidence terms.

Input is the stored document (a dict, as ``ArticleStore.get`` returns it): fields a later schema adds are
used when present (a relation's ``evidence``), and their absence is said, never papered over. All text is
escaped here; the template receives Markup only from this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from services.desk.queries import RELATION_LABELS, sector_labels

_SENTENCE_END = re.compile(r"(?<=[.!?。…])[\"'”’)\]]*\s+|\n+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    cls: str
    name: str = ""
    title: str = ""
    ident: str = ""  # an id attribute (evidence sentences, so the relation list can link to them)


@dataclass
class Names:
    """Every surface form to mark, with its class: from the tagger's places, people, organisations, events."""

    surfaces: list[tuple[str, str, str, str]] = field(default_factory=list)  # (surface, cls, name, title)
    by_place: dict[str, list[str]] = field(default_factory=dict)  # canonical place name → its surfaces


def names_of(doc: dict[str, Any]) -> Names:
    partners = {r.get("partner") for r in doc.get("relations", [])}
    names = Names()
    for p in doc.get("places", []):
        name = p.get("name", "")
        kind = p.get("kind", "")
        role = "korean" if kind == "korean_local_gov" else "partner" if name in partners else "foreign"
        title = " · ".join(x for x in (name, p.get("name_en"), p.get("country")) if x)
        surfaces = list(dict.fromkeys([*(p.get("mentions") or []), name]))
        names.by_place[name] = surfaces
        names.surfaces += [(s, f"place {role}", name, title) for s in surfaces if s]
    for person in doc.get("people", []):
        title = " · ".join(x for x in (person.get("role"), person.get("affiliation")) if x)
        names.surfaces.append((person.get("name", ""), "person", person.get("name", ""), title))
    for key, cls in (("organizations", "org"), ("events", "event")):
        for item in doc.get(key, []):
            names.surfaces.append((item.get("name", ""), cls, item.get("name", ""), ""))
    return names


def find_spans(text: str, surfaces: list[tuple[str, str, str, str]]) -> list[Span]:
    """Every occurrence of every surface, longest first where two overlap."""
    found: list[Span] = []
    for surface, cls, name, title in surfaces:
        if len(surface) < 1:
            continue
        start = text.find(surface)
        while start != -1:
            found.append(Span(start, start + len(surface), cls, name, title))
            start = text.find(surface, start + len(surface))
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[Span] = []
    end = -1
    for span in found:
        if span.start >= end:
            out.append(span)
            end = span.end
    return out


def _marks(text: str, offset: int, spans: list[Span]) -> str:
    """``text`` (which starts at ``offset`` in the field) with the spans inside it wrapped in <mark>."""
    parts = []
    pos = 0
    for s in spans:
        a, b = max(s.start - offset, 0), min(s.end - offset, len(text))
        if b <= a or a < pos:
            continue
        parts.append(str(escape(text[pos:a])))
        title = f' title="{escape(s.title)}"' if s.title else ""
        parts.append(f'<mark class="{s.cls}" data-name="{escape(s.name)}"{title}>{escape(text[a:b])}</mark>')
        pos = b
    parts.append(str(escape(text[pos:])))
    return "".join(parts)


def render(text: str, spans: list[Span], sentences: list[Span] = (), offset: int = 0) -> Markup:  # type: ignore[assignment]
    """Escaped HTML of ``text``: evidence sentences as outer spans (with their ids), names as <mark> inside."""
    out = []
    pos = 0
    for sent in sorted(sentences, key=lambda s: s.start):
        a, b = max(sent.start - offset, 0), min(sent.end - offset, len(text))
        if b <= a or a < pos:
            continue
        out.append(_marks(text[pos:a], offset + pos, spans))
        ident = f' id="{escape(sent.ident)}"' if sent.ident else ""
        out.append(f'<span class="{sent.cls}"{ident} title="{escape(sent.title)}">'
                   f"{_marks(text[a:b], offset + a, spans)}</span>")
        pos = b
    out.append(_marks(text[pos:], offset + pos, spans))
    return Markup("".join(out))


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split after . ! ? … and at line breaks."""
    out = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if text[start:m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text.rstrip())))
    return out


def _locate_sentence(doc: dict[str, Any], ev: dict[str, Any]) -> tuple[str, int, int] | None:
    """Where an evidence sentence stands: its recorded offsets when they still hold, else its first occurrence."""
    fld = ev.get("field") or "body"
    text = doc.get(fld) or ""
    sentence = ev.get("sentence") or ""
    start, end = ev.get("start"), ev.get("end")
    if isinstance(start, int) and isinstance(end, int) and text[start:end] == sentence:
        return fld, start, end
    at = text.find(sentence) if sentence else -1
    return (fld, at, at + len(sentence)) if at >= 0 else None


def article_view(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything the article page shows, rendered where it is text."""
    names = names_of(doc)
    title = doc.get("title") or ""
    body = doc.get("body") or ""
    relations: list[dict[str, Any]] = []
    marked: dict[str, list[Span]] = {"title": [], "body": []}
    seen: dict[tuple[str, int, int], str] = {}
    for r_index, rel in enumerate(doc.get("relations", [])):
        korean = names.by_place.get(rel.get("korean_party", ""), [rel.get("korean_party", "")])
        partner = names.by_place.get(rel.get("partner", ""), [rel.get("partner", "")])
        pair = [(s, "place korean", rel.get("korean_party", ""), "") for s in korean]
        pair += [(s, "place partner", rel.get("partner", ""), "") for s in partner]
        items: dict[tuple[str, int, int] | str, dict[str, Any]] = {}
        evidence = rel.get("evidence") or []
        for ev in evidence:
            ev = ev if isinstance(ev, dict) else {"sentence": str(ev)}
            where = _locate_sentence(doc, ev)
            key: tuple[str, int, int] | str = where or ev.get("sentence", "")
            item = items.setdefault(key, {"kinds": [], "sentence": ev.get("sentence", ""), "anchor": None})
            if ev.get("kind"):
                item["kinds"].append(ev["kind"])
            if where is not None and item["anchor"] is None:
                if where not in seen:
                    seen[where] = f"ev-{len(seen) + 1}"
                    marked[where[0]].append(Span(where[1], where[2], "evidence", ident=seen[where],
                                                 title="관계의 근거 문장 (relation evidence)"))
                item["anchor"] = seen[where]
        fallback = False
        if not evidence:
            # No evidence recorded (articles tagged before relations carried it): the first sentence that holds
            # both names, said as such.
            for fld, text in (("title", title), ("body", body)):
                for a, b in sentences(text):
                    sent = text[a:b]
                    if any(s and s in sent for s in korean) and any(s and s in sent for s in partner):
                        where = (fld, a, b)
                        if where not in seen:
                            seen[where] = f"ev-{len(seen) + 1}"
                            marked[fld].append(Span(a, b, "evidence", ident=seen[where],
                                                    title="두 이름이 함께 나오는 문장 (sentence naming both)"))
                        items[where] = {"kinds": [], "sentence": sent, "anchor": seen[where]}
                        fallback = True
                        break
                if fallback:
                    break
        rendered = []
        for item in items.values():
            rendered.append({"kinds": [(k, RELATION_LABELS.get(k, k)) for k in dict.fromkeys(item["kinds"])],
                             "html": render(item["sentence"], find_spans(item["sentence"], pair)),
                             "anchor": item["anchor"]})
        relations.append({
            "index": r_index,
            "korean_party": rel.get("korean_party"), "partner": rel.get("partner"),
            "partner_country": rel.get("partner_country"), "since": rel.get("since"),
            "kinds": [(k, RELATION_LABELS.get(k, k)) for k in rel.get("kinds", [])],
            "evidence": rendered, "has_evidence": bool(evidence), "fallback": fallback,
        })
    labels = sector_labels()
    sectors = [{"code": s.get("code"), "ko": labels.get(s.get("code", ""), (s.get("code"), ""))[0],
                "en": labels.get(s.get("code", ""), ("", s.get("code")))[1], "score": s.get("score"),
                "evidence": s.get("evidence", [])} for s in doc.get("sectors", [])]
    paragraphs = []
    pos = 0
    body_spans = find_spans(body, names.surfaces)
    for para in body.split("\n\n"):
        paragraphs.append(render(para, body_spans, marked["body"], offset=pos))
        pos += len(para) + 2
    return {
        "title_html": render(title, find_spans(title, names.surfaces), marked["title"]),
        "paragraphs": paragraphs,
        "relations": relations,
        "sectors": sectors,
        "places": doc.get("places", []),
        "people": doc.get("people", []),
        "organizations": doc.get("organizations", []),
        "events": doc.get("events", []),
    }
