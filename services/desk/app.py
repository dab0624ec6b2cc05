"""The desk's routes: server-rendered pages (Jinja2) and a small JSON API, on Starlette.

Pages: / (search), /article/{id}, /article/{id}/cleaning, /map, /ops, /ops/replay (GET: confirm; POST: send),
/stories (the most recent stories, each a link to its articles), /ties and /ties/{korean party}/{partner} (the
register as `citydesk ties` reads it, one tie's timeline). API: /api/search, /api/article/{id}, /api/map, /api/ops,
/api/stories, /api/ties, /api/ties/{korean party}/{partner}, /api/health. Static files come from the package's
``static/`` directory only (Starlette's StaticFiles refuses paths that leave it); no route takes a file name.

The store and Kiwi stay open for the server's life. Store work runs in a worker thread under one lock (Kiwi and
the store are shared); broker work (operations, raw pages) runs in threads outside it, so a slow broker never
holds up a search.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from schemas import RELATION_KINDS, Tie
from services.desk import assets, ops, tie_pages
from services.desk.article import article_view
from services.desk.cleaning import explain, find_raw
from services.desk.queries import (
    FACET_LABELS,
    FACET_PARAM,
    FILTER_LABELS,
    RELATION_LABELS,
    BadQuery,
    PlaceLocator,
    Unsupported,
    day_params,
    map_data,
    month_range,
    months,
    parse_query,
    recent_stories,
    sector_labels,
)
from services.desk.security import SESSION_COOKIE, Csrf, SecurityHeaders, allowed_hosts, same_origin
from services.indexer import open_store
from services.indexer.store import ArticleStore, SearchQuery
from services.settings import Settings
from services.ties import output
from services.ties.office import RegisterFile, canonical_names, current_ties

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
MAX_FORM_BYTES = 64 * 1024
MAX_REPLAY_IDS = 500
TIES_FRESH_S = 5.0  # the ties pages read the store's ties again after this long: sorting and filtering reuse them
MAX_TIE_EVIDENCE = 200  # a tie's page lists its most recent articles, at most this many (the search has them all)
# The ties table's columns: sort key, Korean label, English label
TIE_COLUMNS = (("korean_party", "한국 지자체", "Korean government"), ("partner", "상대", "partner"),
               ("country", "국가", "country"), ("kinds", "관계", "kinds"), ("since", "수립", "since"),
               ("status", "상태", "status"), ("last_activity", "최근 보도", "last news"),
               ("articles", "기사", "articles"), ("stories", "스토리", "stories"), ("sectors", "분야", "sectors"))


@dataclass
class Desk:
    cfg: Settings
    store: ArticleStore
    csrf: Csrf = field(default_factory=Csrf)
    locator: PlaceLocator = field(default_factory=PlaceLocator)
    lock: threading.Lock = field(default_factory=threading.Lock)
    missing_assets: list[str] = field(default_factory=list)
    register: RegisterFile = field(init=False)
    stored_ties: tuple[float, list[Tie]] | None = None  # (when read, the store's ties): see ties_now

    def __post_init__(self) -> None:
        self.register = RegisterFile(self.cfg.data_dir)  # the office's register, read again when it is imported

    async def stored(self, fn: Callable[[], T]) -> T:
        """Run store (and Kiwi) work in a thread, one at a time."""
        def locked() -> T:
            with self.lock:
                return fn()
        return await run_in_threadpool(locked)

    def store_label(self) -> str:
        if self.cfg.store == "elasticsearch":
            return f"Elasticsearch {self.cfg.elasticsearch_url} / {self.cfg.elasticsearch_index}"
        return f"embedded (tantivy) {self.cfg.store_dir}"


def warm_up(store: ArticleStore) -> None:
    """Load Kiwi and open the store before the first request (a search analyses its words with Kiwi)."""
    store.search(SearchQuery(text="협력", limit=1))


def create_app(cfg: Settings, store: ArticleStore | None = None, *, bind_host: str = "127.0.0.1",
               warm: bool = True) -> Starlette:
    desk = Desk(cfg, store if store is not None else open_store(cfg), missing_assets=assets.missing())
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals.update(relation_labels=RELATION_LABELS, facet_labels=FACET_LABELS, filter_labels=FILTER_LABELS,
                       sectors=sector_labels(), relation_kinds=RELATION_KINDS, quote=quote)
    env.filters["day"] = lambda v: str(v)[:10] if v else ""
    env.filters["when"] = lambda v: str(v)[:16].replace("T", " ") if v else ""

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        session = request.cookies.get(SESSION_COOKIE)
        new = session is None or len(session) > 64
        if new:
            session = desk.csrf.new_session()
        ctx = {"request": request, "csrf": desk.csrf.token(session), "store_label": desk.store_label(),
               "missing_assets": desk.missing_assets, "nav": name.split(".")[0], **context}
        response = templates.TemplateResponse(request, name, ctx, status_code=status)
        if new:
            response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    def error_page(request: Request, status: int, message: str) -> Response:
        return page(request, "error.html", {"status": status, "message": message}, status)

    # -- search ----------------------------------------------------------------------------------------------
    def search_now(query: SearchQuery) -> dict[str, Any]:
        results = desk.store.search(query)
        try:
            per_month = months(desk.store, query) if results.total else []
            months_error = None
        except (Unsupported, ValueError) as exc:
            per_month, months_error = [], str(exc)
        return {"results": results, "months": per_month, "months_error": months_error}

    async def search_page(request: Request) -> Response:
        try:
            query = parse_query(request.query_params)
        except BadQuery as exc:
            return error_page(request, 400, str(exc))
        found = await desk.stored(lambda: search_now(query))
        params = day_params(query)
        return page(request, "search.html", {
            "query": query, "params": params, "results": found["results"], "count": None,
            "facets": _facets(found["results"].facets, query, params),
            "active": _active_filters(params),
            "histogram": _histogram(found["months"], params), "months_error": found["months_error"],
            "more": _link(params, set_=("limit", str(min(query.limit * 2, 200))))
            if found["results"].total > query.limit else None,
            "map_link": "/map" + _qs(params),
            "group_toggle": _link(params, remove=("stories", "1")) if query.stories
            else _link(params, add=("stories", "1")),
            "back_here": quote("/" + _qs(params), safe=""),
        })

    async def api_search(request: Request) -> Response:
        try:
            query = parse_query(request.query_params, limit=10, facet_size=10)
        except BadQuery as exc:
            return JSONResponse({"error": str(exc)}, 400)
        found = await desk.stored(lambda: search_now(query))
        body = found["results"].model_dump(mode="json")
        body["months"] = found["months"]
        return JSONResponse(body)

    # -- article -----------------------------------------------------------------------------------------------
    async def article_page(request: Request) -> Response:
        article_id = request.path_params["article_id"]
        doc = await desk.stored(lambda: desk.store.get(article_id))
        if doc is None:
            return error_page(request, 404, f"기사 {article_id!r}가 저장소에 없습니다 (no such article)")
        back = request.query_params.get("back", "")
        if not (back.startswith("/") and not back.startswith("//")):
            back = "/"
        return page(request, "article.html", {"doc": doc, "view": article_view(doc), "back": back,
                                              "article_id": article_id})

    async def cleaning_page(request: Request) -> Response:
        article_id = request.path_params["article_id"]
        doc = await desk.stored(lambda: desk.store.get(article_id))
        if doc is None:
            return error_page(request, 404, f"기사 {article_id!r}가 저장소에 없습니다 (no such article)")
        lookup = await run_in_threadpool(find_raw, desk.cfg, article_id)
        result = await run_in_threadpool(explain, lookup.raw, doc.get("body")) if lookup.raw else None
        context = {"doc": doc, "lookup": lookup, "result": result, "article_id": article_id}
        if request.query_params.get("fragment"):
            return templates.TemplateResponse(request, "_cleaning.html", context)
        return page(request, "cleaning.html", context)

    async def api_article(request: Request) -> Response:
        article_id = request.path_params["article_id"]
        doc = await desk.stored(lambda: desk.store.get(article_id))
        return JSONResponse(doc) if doc is not None else JSONResponse({"error": "no such article"}, 404)

    # -- map ---------------------------------------------------------------------------------------------------
    def map_now(query: SearchQuery) -> dict[str, Any]:
        try:
            return {"total": desk.store.search(query.model_copy(update={"limit": 1})).total,
                    **map_data(desk.store, query, desk.locator)}
        except Unsupported as exc:
            return {"total": 0, "points": [], "lines": [], "unplaced": [], "error": str(exc)}

    async def map_page(request: Request) -> Response:
        try:
            query = parse_query(request.query_params)
        except BadQuery as exc:
            return error_page(request, 400, str(exc))
        data = await desk.stored(lambda: map_now(query))
        params = day_params(query)
        filters = [(k, v) for k, v in params if k not in ("korean_party", "partner")]
        data["search_base"] = _qs(filters)
        return page(request, "map.html", {"data": data, "data_json": _script_json(data),
                                          "params": params, "active": _active_filters(params),
                                          "search_link": "/" + _qs(params)})

    async def api_map(request: Request) -> Response:
        try:
            query = parse_query(request.query_params)
        except BadQuery as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(await desk.stored(lambda: map_now(query)))

    # -- operations --------------------------------------------------------------------------------------------
    async def ops_now() -> dict[str, Any]:
        started = time.monotonic()
        workers, lag, letters = await asyncio.gather(run_in_threadpool(ops.workers, desk.cfg),
                                                     run_in_threadpool(_safe_lag, desk.cfg),
                                                     run_in_threadpool(ops.dead_letters, desk.cfg))
        return {"workers": workers, "lag": lag, "letters": letters, "groups": letters.groups(),
                "seconds": round(time.monotonic() - started, 2)}

    async def ops_page(request: Request) -> Response:
        data = await ops_now()
        flash = None
        if "replayed" in request.query_params:
            flash = f"{request.query_params['replayed']}개를 다시 보냈습니다 (replayed)"
            if request.query_params.get("missing"):
                flash += f"; {request.query_params['missing']}개는 더 이상 없습니다 (no longer dead letters)"
        return page(request, "ops.html", {**data, "flash": flash, "broker": getattr(desk.cfg, "broker", "tansu"),
                                          "bootstrap": desk.cfg.bootstrap_servers})

    async def api_ops(request: Request) -> Response:
        data = await ops_now()
        body = {"workers": data["workers"],
                "lag": {"available": data["lag"].available, "note": data["lag"].note, "rows": data["lag"].rows},
                "dead_letters": {"error": data["letters"].error, "total": len(data["letters"].letters),
                                 "groups": data["groups"]}}
        return Response(json.dumps(body, ensure_ascii=False, default=str), media_type="application/json")

    async def replay_confirm(request: Request) -> Response:
        ids = request.query_params.getlist("id")[:MAX_REPLAY_IDS]
        letters = await run_in_threadpool(ops.dead_letters, desk.cfg)
        chosen = [x for x in letters.letters if x.id in set(ids)]
        return page(request, "replay.html", {"ids": ids, "chosen": chosen, "error": letters.error,
                                             "preview": ops.preview})

    async def replay_post(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return error_page(request, 413, "form too large")
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        session = request.cookies.get(SESSION_COOKIE)
        if not desk.csrf.valid(session, (form.get("csrf") or [""])[0]) or not same_origin(
                request.headers.get("origin"), request.headers.get("host", "")):
            return error_page(request, 403, "CSRF 토큰이 없거나 맞지 않습니다: 운영 페이지를 다시 열고 시도하세요 "
                                            "(missing or wrong CSRF token)")
        if (form.get("confirm") or [""])[0] != "yes":
            return error_page(request, 400, "확인(confirm=yes) 없이 다시 보내지 않습니다 (not confirmed)")
        ids = [i for i in form.get("id", []) if i][:MAX_REPLAY_IDS]
        if not ids:
            return error_page(request, 400, "다시 보낼 dead letter가 없습니다 (no ids)")
        try:
            sent, missing = await run_in_threadpool(ops.replay, desk.cfg, ids)
        except RuntimeError as exc:
            return error_page(request, 503, f"다시 보내지 못했습니다: {exc}")
        return RedirectResponse(f"/ops?{urlencode({'replayed': sent, 'missing': len(missing)})}", status_code=303)

    # -- ties: the register as `citydesk ties` reads it -----------------------------------------------------------
    def ties_now() -> list[Tie]:
        """The register as read now; the stored ties are read again after TIES_FRESH_S (reading 10,000 articles'
        evidence takes about half a second), the office's register whenever its file changes."""
        now = time.monotonic()
        if desk.stored_ties is None or now - desk.stored_ties[0] > TIES_FRESH_S:
            desk.stored_ties = (now, desk.store.read_ties())
        return current_ties(desk.stored_ties[1], desk.register.entries())

    async def ties_page(request: Request) -> Response:
        try:
            parsed = tie_pages.parse(request.query_params)
        except tie_pages.BadTieQuery as exc:
            return error_page(request, 400, str(exc))
        every = await desk.stored(ties_now)
        shown = tie_pages.apply(every, parsed)
        params = [(k, v) for k, v in request.query_params.multi_items()
                  if k in tie_pages.FILTERS and v.strip()]
        columns = [(key, ko, en, _ties_sort_link(params, key, parsed)) for key, ko, en in TIE_COLUMNS]
        options = {name: sorted({getattr(t, attr) for t in every})
                   for name, attr in (("korean_party", "korean_party"), ("partner", "partner"),
                                      ("country", "partner_country"))}
        return page(request, "ties.html", {
            "ties": [(t, tie_pages.row(t), tie_pages.link(t)) for t in shown], "total": len(every),
            "parsed": parsed, "columns": columns, "options": options, "sectors": sector_labels(),
            "chips": [{"label": tie_pages.FILTER_LABELS[k], "value": v,
                       "remove": "/ties" + _qs([p for p in params if p != (k, v)])} for k, v in params],
            "statuses": [(key, tie_pages.STATUS_LABELS[value], value) for key, value in
                         output.STATUS_CHOICES.items()],
            "register_entries": len(desk.register.entries()),
        })

    async def api_ties(request: Request) -> Response:
        try:
            parsed = tie_pages.parse(request.query_params)
        except tie_pages.BadTieQuery as exc:
            return JSONResponse({"error": str(exc)}, 400)
        shown = tie_pages.apply(await desk.stored(ties_now), parsed)
        body = {"total": len(shown), "ties": [{**t.model_dump(mode="json"), **tie_pages.row(t)} for t in shown]}
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

    def find_tie(korean_party: str, partner: str) -> Tie | None:
        ties = ties_now()
        found = next((t for t in ties if (t.korean_party, t.partner) == (korean_party, partner)), None)
        if found is None:  # typed by hand: 대구/청두 → 대구광역시/청두시, as `citydesk ties show` reads them
            names = canonical_names(korean_party, partner)
            found = next((t for t in ties if (t.korean_party, t.partner) == names), None)
        return found

    async def tie_page(request: Request) -> Response:
        korean_party, partner = request.path_params["korean_party"], request.path_params["partner"]
        tie = await desk.stored(lambda: find_tie(korean_party, partner))
        if tie is None:
            return error_page(request, 404, f"관계 대장에 {korean_party} — {partner} 관계가 없습니다 (no such tie)")
        if (tie.korean_party, tie.partner) != (korean_party, partner):
            return RedirectResponse(tie_pages.link(tie), status_code=307)
        evidence = output.evidence_in_order(tie)
        shown = evidence[-MAX_TIE_EVIDENCE:]  # the most recent, in date order; the kinds' table keeps the first dates
        ids = [e.article_id for e in shown]
        titles = await desk.stored(lambda: {i: (desk.store.get(i) or {}).get("title") for i in ids})
        here = quote(tie_pages.link(tie), safe="")
        return page(request, "tie.html", {
            "tie": tie, "row": tie_pages.row(tie), "evidence": shown, "earlier": len(evidence) - len(shown),
            "titles": titles,
            "back_here": here, "side_labels": tie_pages.SIDE_LABELS, "sector_names": sector_labels(),
            "search_link": "/" + _qs([("korean_party", tie.korean_party), ("partner", tie.partner)]),
        })

    async def api_tie(request: Request) -> Response:
        korean_party, partner = request.path_params["korean_party"], request.path_params["partner"]
        tie = await desk.stored(lambda: find_tie(korean_party, partner))
        if tie is None:
            return JSONResponse({"error": "no such tie"}, 404)
        return Response(json.dumps({**tie.model_dump(mode="json"), **tie_pages.row(tie)}, ensure_ascii=False),
                        media_type="application/json")

    # -- stories -----------------------------------------------------------------------------------------------
    def stories_now(query: SearchQuery) -> dict[str, Any]:
        found = recent_stories(desk.store, query, query.limit)
        ids = [s["story_id"] for s in found]
        leads: dict[str, Any] = {}
        stories_total = 0
        if ids:  # the store's own collapse (`citydesk search --stories`): lead article, articles, outlets
            collapsed = desk.store.search(query.model_copy(update={"stories": True, "story": ids, "limit": len(ids)}))
            leads = {h.story_id: h for h in collapsed.hits}
        whole = desk.store.search(query.model_copy(update={"stories": True, "limit": 1}))
        stories_total = whole.stories or 0
        rows = [{**s, "lead": leads.get(s["story_id"])} for s in found]
        return {"stories": rows, "total": stories_total, "articles": whole.total}

    async def stories_page(request: Request) -> Response:
        try:
            query = parse_query(request.query_params, limit=30)
        except BadQuery as exc:
            return error_page(request, 400, str(exc))
        data = await desk.stored(lambda: stories_now(query))
        params = day_params(query)
        return page(request, "stories.html", {**data, "query": query, "params": params,
                                              "active": _active_filters(params),
                                              "base": [p for p in params if p[0] != "story"]})

    async def api_stories(request: Request) -> Response:
        try:
            query = parse_query(request.query_params, limit=30)
        except BadQuery as exc:
            return JSONResponse({"error": str(exc)}, 400)
        data = await desk.stored(lambda: stories_now(query))
        data["stories"] = [{**{k: v for k, v in s.items() if k != "lead"},
                            "lead": s["lead"].model_dump(mode="json") if s["lead"] else None} for s in data["stories"]]
        return JSONResponse(data)

    # -- health ------------------------------------------------------------------------------------------------

    async def api_health(request: Request) -> Response:
        count = await desk.stored(desk.store.count)
        return JSONResponse({"ok": True, "store": desk.store_label(), "articles": count,
                             "missing_assets": desk.missing_assets})

    async def not_found(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, exc.status_code)
        return error_page(request, exc.status_code, str(exc.detail))

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        if warm:
            await desk.stored(lambda: warm_up(desk.store))
        yield
        desk.store.close()

    routes = [
        Route("/", search_page),
        Route("/article/{article_id:str}", article_page),
        Route("/article/{article_id:str}/cleaning", cleaning_page),
        Route("/map", map_page),
        Route("/ops", ops_page),
        Route("/ops/replay", replay_confirm, methods=["GET"]),
        Route("/ops/replay", replay_post, methods=["POST"]),
        Route("/stories", stories_page),
        Route("/ties", ties_page),
        Route("/ties/{korean_party:str}/{partner:str}", tie_page),
        Route("/api/stories", api_stories),
        Route("/api/ties", api_ties),
        Route("/api/ties/{korean_party:str}/{partner:str}", api_tie),
        Route("/api/search", api_search),
        Route("/api/article/{article_id:str}", api_article),
        Route("/api/map", api_map),
        Route("/api/ops", api_ops),
        Route("/api/health", api_health),
        Mount("/static", StaticFiles(directory=str(HERE / "static"), follow_symlink=False), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})
    app.state.desk = desk
    app.add_middleware(SecurityHeaders, allowed=allowed_hosts(bind_host))
    return app


def _script_json(data: Any) -> str:
    """JSON to put inside <script type="application/json">: no character of it can close the element."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _safe_lag(cfg: Settings) -> ops.Lag:
    try:
        return ops.lag(cfg)
    except Exception as exc:  # the page shows what went wrong instead of failing whole
        return ops.Lag(False, f"{type(exc).__name__}: {exc}")


# -- links ---------------------------------------------------------------------------------------------------------

def _qs(params: list[tuple[str, str]]) -> str:
    return ("?" + urlencode(params)) if params else ""


def _link(params: list[tuple[str, str]], *, add: tuple[str, str] | None = None,
          remove: tuple[str, str] | None = None, set_: tuple[str, str] | None = None) -> str:
    out = [p for p in params if p != remove and p[0] != "limit"]
    if set_:
        out = [p for p in out if p[0] != set_[0]] + [set_]
    if add and add not in out:
        out.append(add)
    return "/" + _qs(out)


def _ties_sort_link(params: list[tuple[str, str]], key: str, parsed: dict[str, Any]) -> dict[str, Any]:
    """A column header's link: sort by it (names ascending, numbers and dates descending first), or turn the
    direction round when it is the current order."""
    first = "asc" if key in ("korean_party", "partner", "country", "status") else "desc"
    current = parsed["sort"] == key
    direction = ("desc" if parsed["dir"] == "asc" else "asc") if current else first
    return {"href": "/ties" + _qs([*params, ("sort", key), ("dir", direction)]), "current": current,
            "dir": parsed["dir"] if current else None}


def _active_filters(params: list[tuple[str, str]]) -> list[dict[str, str]]:
    sectors = sector_labels()

    def shown(name: str, value: str) -> str:
        if name == "relation":
            return f"{RELATION_LABELS.get(value, value)} · {value}"
        if name == "sector" and value in sectors:
            return f"{sectors[value][0]} · {value}"
        return value

    return [{"name": k, "label": FILTER_LABELS.get(k, k), "value": shown(k, v), "remove": _link(params, remove=(k, v))}
            for k, v in params if k not in ("q", "limit", "facet_size")]


def _facets(facets: dict[str, list[tuple[str, int]]], query: SearchQuery,
            params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    labels = sector_labels()
    out = []
    for name in ("sector", "relation_kind", "korean_party", "partner", "country", "outlet"):
        param = FACET_PARAM.get(name)
        buckets = []
        for value, n in facets.get(name, []):
            active = param is not None and (param, value) in params
            label = value
            if name == "sector" and value in labels:
                label = f"{labels[value][0]} · {labels[value][1]}"
            elif name == "relation_kind":
                label = f"{RELATION_LABELS.get(value, value)} · {value}"
            href = None
            if param is not None:
                href = _link(params, remove=(param, value)) if active else _link(params, add=(param, value))
            buckets.append({"value": value, "label": label, "count": n, "href": href, "active": active})
        out.append({"name": name, "label": FACET_LABELS[name], "buckets": buckets, "clickable": param is not None})
    return out


def _histogram(per_month: list[tuple[str, int]], params: list[tuple[str, str]]) -> dict[str, Any] | None:
    if not per_month:
        return None
    top = max(n for _, n in per_month) or 1
    width, height = 720, 120
    step = width / len(per_month)
    base = [p for p in params if p[0] not in ("since", "until")]
    bars = []
    for i, (month, n) in enumerate(per_month):
        since, until = month_range(month)
        h = 0 if n == 0 else max(2.0, (height - 14) * n / top)
        w = min(step * 0.8, 36.0)  # a few months must not make bars as wide as the chart
        bars.append({"month": month, "count": n, "x": round(i * step + (step - w) / 2, 2), "w": round(w, 2),
                     "y": round(height - h, 2), "h": round(h, 2),
                     "href": "/" + _qs([*base, ("since", since), ("until", until)])})
    years: list[dict[str, Any]] = []
    for i, (m, _) in enumerate(per_month):
        if (m.endswith("-01") or i == 0) and (not years or i * step - years[-1]["x"] >= 36):
            years.append({"x": round(i * step, 2), "year": m[:4]})  # a label where there is room for one
    return {"bars": bars, "width": width, "height": height, "top": top, "years": years,
            "first": per_month[0][0], "last": per_month[-1][0], "total": sum(n for _, n in per_month)}
