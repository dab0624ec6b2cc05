"""The register of ties, as pure functions: each article contributes to the ties it names, a tie is the fold of
its articles' current contributions, and an office's official register gives each tie a status.

A tie keeps each article's whole contribution (its evidence), keyed by article id, and is folded from them:
re-feeding an article replaces its contribution by an equal one and changes nothing, an updated article replaces
its own, and the whole register can be rebuilt from the stored articles (``build``), which gives the same ties.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from schemas import RELATION_KINDS, RegisterEntry, Relation, TaggedArticle, Tie, TieEvidence, TieKind, TiePerson

ACTIVE_DAYS = 365  # "active in the last 12 months"


def tie_id(korean_party: str, partner: str) -> str:
    return f"{korean_party}|{partner}"


def ties_of(article: TaggedArticle) -> list[str]:
    """The ties an article contributes to."""
    return sorted({tie_id(r.korean_party, r.partner) for r in article.relations})


def story_of(story_id: str | None, duplicate_of: str | None, article_id: str) -> str:
    """The story an article's evidence counts under."""
    return story_id or duplicate_of or article_id


def _story(article: TaggedArticle) -> str:
    return story_of(article.story_id, article.duplicate_of, article.id)


def _side(person_affiliation: str | None, relation: Relation) -> str:
    if person_affiliation == relation.korean_party:
        return "korean"
    if person_affiliation == relation.partner:
        return "partner"
    return "unknown"


def contribution(article: TaggedArticle, key: tuple[str, str]) -> TieEvidence | None:
    """What one article contributes to the tie of the pair ``key``: None when it does not name the pair."""
    relation = next((r for r in article.relations if (r.korean_party, r.partner) == key), None)
    if relation is None:
        return None
    people: dict[str, TiePerson] = {}
    for person in article.people:
        people.setdefault(person.name, TiePerson(name=person.name, role=person.role,
                                                 side=_side(person.affiliation, relation)))  # type: ignore[arg-type]
    korean_location = partner_location = None
    for place in article.places:
        if place.name == relation.korean_party and place.location:
            korean_location = place.location
        if place.name == relation.partner and place.location:
            partner_location = place.location
    return TieEvidence(article_id=article.id, published_at=article.published_at, outlet=article.outlet,
                       story_id=_story(article), kinds=relation.kinds, since=relation.since,
                       sentences=relation.evidence, partner_country=relation.partner_country,
                       sectors=[s.code for s in article.sectors], people=list(people.values()),
                       events=list(dict.fromkeys(e.name for e in article.events)),
                       korean_location=korean_location, partner_location=partner_location, whole=True)


def fold(key: tuple[str, str], articles: Sequence[TaggedArticle], registered: RegisterEntry | None = None,
         now: datetime | None = None) -> Tie | None:
    """The tie of the pair `key` (Korean party, partner) from every current article that names it."""
    return fold_evidence(key, [e for a in articles if (e := contribution(a, key)) is not None], registered, now)


def _in_time_order(evidence: TieEvidence) -> tuple[bool, datetime, str]:
    return evidence.published_at is None, evidence.published_at or datetime.min, evidence.article_id


def fold_evidence(key: tuple[str, str], evidence: Iterable[TieEvidence], registered: RegisterEntry | None = None,
                  now: datetime | None = None) -> Tie | None:
    """The tie of the pair ``key`` from its articles' contributions (one per article): None when there are none."""
    evidence = sorted(evidence, key=_in_time_order)
    if not evidence:
        return None
    kinds: dict[str, list[tuple[datetime | None, str | None]]] = defaultdict(list)
    stated: Counter[int] = Counter()
    sectors: dict[str, set[str | None]] = defaultdict(set)
    people: dict[str, TiePerson] = {}
    events: dict[str, None] = {}
    outlets: dict[str, None] = {}
    korean_location = partner_location = None
    for e in evidence:
        for kind in e.kinds:
            kinds[kind].append((e.published_at, e.story_id))
        if e.since:
            stated[e.since] += 1
        for code in e.sectors:
            sectors[code].add(e.story_id)
        for person in e.people:
            people.setdefault(person.name, person)
        events.update(dict.fromkeys(e.events))
        if e.outlet:
            outlets[e.outlet] = None
        korean_location = e.korean_location or korean_location
        partner_location = e.partner_location or partner_location
    dates = [e.published_at for e in evidence if e.published_at]
    # The first article's, in time order, that gives one (articles agree but for a rare unknown country)
    country = next((e.partner_country for e in evidence if e.partner_country), "")
    tie = Tie(
        id=tie_id(*key), korean_party=key[0], partner=key[1], partner_country=country,
        korean_location=korean_location, partner_location=partner_location,
        kinds=[TieKind(kind=k, first=min((d for d, _ in kinds[k] if d), default=None),  # type: ignore[arg-type]
                       last=max((d for d, _ in kinds[k] if d), default=None), stories=len({s for _, s in kinds[k]}))
               for k in RELATION_KINDS if k in kinds],
        sectors={code: len(stories) for code, stories in sorted(sectors.items(), key=lambda kv: -len(kv[1]))},
        people=list(people.values()), events=list(events), articles=len(evidence),
        stories=len({e.story_id for e in evidence}), outlets=list(outlets),
        first_activity=min(dates, default=None), last_activity=max(dates, default=None), evidence=evidence,
    )
    if stated:
        # The year most articles state; at a tie between years, the earliest.
        tie.since, tie.since_source = min(stated, key=lambda y: (-stated[y], y)), "stated"
    elif tie.first_activity:
        tie.since, tie.since_source = tie.first_activity.year, "first_evidence"
    return with_status(tie, registered, now)


def updated(tie: Tie, articles: Iterable[TaggedArticle], relabelled: dict[str, str]) -> Tie | None:
    """``tie`` with these articles' contributions in place of their earlier ones (an article that no longer names
    the pair leaves it) and the stories of ``relabelled`` articles (article id → story) changed: the same tie as
    ``fold`` of its current articles, read from the tie alone. None when no article names it any more."""
    key = (tie.korean_party, tie.partner)
    by_article = {e.article_id: e for e in tie.evidence}
    for article in articles:
        by_article.pop(article.id, None)
        if (e := contribution(article, key)) is not None:
            by_article[article.id] = e
    for article_id, story in relabelled.items():
        if article_id in by_article and by_article[article_id].story_id != story:
            by_article[article_id] = by_article[article_id].model_copy(update={"story_id": story})
    return fold_evidence(key, by_article.values())


def with_status(tie: Tie, registered: RegisterEntry | None, now: datetime | None = None) -> Tie:
    """registered and active / registered, no news since YYYY (dormant) / in the news, not registered."""
    tie.registered = registered
    if registered is None:
        tie.status = "news_only"
    elif tie.articles == 0:
        tie.status = "registered_no_news"
    else:
        now = now or datetime.now(tie.last_activity.tzinfo if tie.last_activity else None)
        recent = tie.last_activity is not None and now - tie.last_activity <= timedelta(days=ACTIVE_DAYS)
        tie.status = "registered_active" if recent else "registered_dormant"
    if registered and registered.year and tie.since_source in (None, "first_evidence"):
        # The office's year is a record; the first article we hold is only when the news starts.
        tie.since, tie.since_source = registered.year, "register"
    return tie


def build(articles: Iterable[TaggedArticle], register: Sequence[RegisterEntry] = (),
          now: datetime | None = None) -> list[Tie]:
    """The whole register: every tie the articles name, and every registered tie (with or without news)."""
    by_tie: dict[str, dict[str, TaggedArticle]] = defaultdict(dict)
    for article in articles:
        for key in ties_of(article):
            by_tie[key][article.id] = article  # the latest version of an article replaces the earlier one
    rows = {tie_id(r.korean_party, r.partner): r for r in register}
    ties = [t for key, arts in by_tie.items()
            if (t := fold(tuple(key.split("|", 1)), list(arts.values()), rows.get(key), now)) is not None]
    for key, row in rows.items():
        if key not in by_tie:
            ties.append(with_status(Tie(id=key, korean_party=row.korean_party, partner=row.partner,
                                        partner_country=row.country), row, now))
    return sorted(ties, key=lambda t: (-t.stories, t.id))


def with_register(ties: Sequence[Tie], register: Sequence[RegisterEntry] = (),
                  now: datetime | None = None) -> list[Tie]:
    """Ties as the store keeps them (folded from the news alone) with an office's register: each tie's status, and
    the registered ties no article names. The register changes without the news (`citydesk ties import`), so this
    runs where ties are read, not where they are folded."""
    rows = {tie_id(r.korean_party, r.partner): r for r in register}
    # A shallow copy: with_status sets top-level fields only, and a deep one of 10,000 articles' evidence takes 0.4 s
    out = [with_status(t.model_copy(), rows.get(t.id), now) for t in ties]
    seen = {t.id for t in ties}
    for key, row in rows.items():
        if key not in seen:
            out.append(with_status(Tie(id=key, korean_party=row.korean_party, partner=row.partner,
                                       partner_country=row.country), row, now))
    return sorted(out, key=lambda t: (-t.stories, t.id))
