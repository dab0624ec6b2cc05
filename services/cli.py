"""citydesk: the command line of the pipeline. `citydesk COMMAND --help` explains each command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas import RELATION_KINDS, RegisterEntry
from services.bench import ARTICLES
from services.settings import Settings, settings
from services.stages import STAGES

QUIET_COMMANDS = ("clean", "tag", "search", "eval", "ties")

DESCRIPTION = """\
citydesk turns scraped Korean news about city diplomacy into clean, tagged, searchable records:
articles.raw -> cleaner -> articles.clean -> tagger -> articles.tagged -> indexer -> search store.

Quick start:   citydesk run                 (embedded broker + three workers + examples/, then a search)
Your articles: citydesk run my_pages/       (or, with the pipeline running: citydesk feed my_pages/)
Search:        citydesk search 스마트시티 --sector smart_city --country CN

Configuration comes from CITYDESK_* environment variables (see the README's table).
"""


def _cmd_run(args: argparse.Namespace, cfg: Settings) -> int:
    from services.pipeline import Pipeline, default_examples
    from services.supervise import stopping_on_signals

    paths = args.paths or default_examples()
    if args.broker:
        cfg = cfg.model_copy(update={"broker": args.broker})
    started = time.monotonic()
    pipeline = Pipeline(cfg)
    with stopping_on_signals():  # SIGTERM and SIGHUP stop the pipeline as Ctrl-C does: workers, then the broker
        return _run_pipeline(args, cfg, paths, pipeline, started)


def _run_pipeline(args: argparse.Namespace, cfg: Settings, paths: list[str], pipeline: Any, started: float) -> int:
    from services.indexer import open_store
    from services.indexer.store import SearchQuery
    from services.pipeline import feed_paths, wait_until_done
    from services.supervise import Stopped

    try:
        broker = {"tansu": "the embedded broker (tansu, in memory)", "external": "no broker (external)",
                  "kafka": f"Apache Kafka (log on disk in {cfg.kafka_dir})"}[cfg.broker]
        print(f"starting {broker} and 3 workers (logs in {cfg.log_dir}) ...", file=sys.stderr)
        pipeline.start()
        ids, errors = feed_paths(cfg, paths)
        for err in errors:
            print(f"skipped {err.source}: {err.reason}", file=sys.stderr)
        from services.retention import advice, articles_within

        if cfg.broker == "tansu" and len(ids) > articles_within(cfg):
            print(advice(f"{len(ids):,} articles fed", cfg), file=sys.stderr)
        print(f"fed {len(ids)} articles from {', '.join(paths)}; waiting until they are searchable ...",
              file=sys.stderr)
        indexed, dead = wait_until_done(pipeline, ids, args.timeout)
        elapsed = time.monotonic() - started
        store = open_store(cfg)
        print(f"\n{len(indexed)} indexed, {len(dead)} dead-lettered, {len(errors)} unreadable, "
              f"in {elapsed:.1f} s. The store holds {store.count()} articles ({cfg.store_dir}).")
        query = SearchQuery(text=args.sample_query, limit=5)
        _print_results(store.search(query), query)
        if args.keep:
            from services.desk.server import start_background

            try:
                desk = start_background(cfg)
                print(f"\nThe desk (search, articles, map, stories, ties, operations): {desk.url}")
            except (RuntimeError, TimeoutError) as exc:
                desk = None
                print(f"\nthe desk did not start: {exc}", file=sys.stderr)
            print("\nThe pipeline keeps running (Ctrl-C stops it). In another terminal: citydesk feed PATH, "
                  "citydesk search QUERY", file=sys.stderr)
            try:
                while True:
                    pipeline.check_alive()
                    time.sleep(1)
            finally:
                if desk is not None:
                    desk.stop()
        return 0 if not errors else 1
    except Stopped as exc:
        return 128 + exc.signum
    except KeyboardInterrupt:
        return 130
    finally:
        print("stopping workers and broker ...", file=sys.stderr)
        pipeline.stop()


def _cmd_worker(args: argparse.Namespace, cfg: Settings) -> int:
    from services.workers import run_worker

    run_worker(args.name, cfg)
    return 0


def _cmd_setup(args: argparse.Namespace, cfg: Settings) -> int:
    from services.broker import create_topics, wait_for_broker

    wait_for_broker(cfg, timeout=args.timeout)
    created = create_topics(cfg)
    print(f"topics: created {', '.join(created) or 'none (all exist)'} ({cfg.partitions} partitions each)")
    if cfg.store == "elasticsearch":
        from services.indexer.elastic import (
            check_server,
            es_client,
            setup_index,
            setup_ties_index,
            ties_alias,
            upgrade_articles_mapping,
            wait_for_elasticsearch,
        )

        client = es_client(cfg)
        wait_for_elasticsearch(client, args.timeout)
        version = check_server(client)
        index = setup_index(client, cfg.elasticsearch_index, cfg.elasticsearch_analyzer, cfg.elasticsearch_shards,
                            cfg.elasticsearch_replicas)
        print(f"elasticsearch {version}: template installed, alias {cfg.elasticsearch_index!r} → {index}")
        added = upgrade_articles_mapping(client, cfg.elasticsearch_index)
        if added:
            print(f"elasticsearch: fields added to {index}'s mapping: {', '.join(added)}")
        ties = setup_ties_index(client, ties_alias(cfg.elasticsearch_index), cfg.elasticsearch_shards,
                                cfg.elasticsearch_replicas)
        print(f"elasticsearch: ties template installed, alias {ties_alias(cfg.elasticsearch_index)!r} → {ties}")
    if cfg.kibana_url:
        from services.kibana import import_saved_objects, wait_for_kibana

        wait_for_kibana(cfg.kibana_url, args.timeout)
        result = import_saved_objects(cfg.kibana_url)
        print(f"kibana: imported {result['successCount']} saved objects (overwrite): open {cfg.kibana_url}"
              "/app/dashboards#/view/citydesk-overview")
    return 0


def _cmd_reindex(args: argparse.Namespace, cfg: Settings) -> int:
    from services.indexer.elastic import check_server, es_client, reindex

    if cfg.store != "elasticsearch":
        print("citydesk reindex: only for CITYDESK_STORE=elasticsearch (the embedded store has no versions)",
              file=sys.stderr)
        return 2
    client = es_client(cfg)
    check_server(client)
    old, new = reindex(client, cfg.elasticsearch_index, cfg.elasticsearch_analyzer, cfg.elasticsearch_shards,
                       cfg.elasticsearch_replicas)
    print(f"reindexed {old} → {new}; alias {cfg.elasticsearch_index!r} now points to {new}. "
          f"Delete {old} when satisfied.")
    return 0


def _cmd_feed(args: argparse.Namespace, cfg: Settings) -> int:
    from services.broker import wait_for_broker
    from services.pipeline import feed_paths

    wait_for_broker(cfg, timeout=10)
    ids, errors = feed_paths(cfg, args.paths, progress=not args.quiet)
    for err in errors:
        print(f"not fed: {err.source}: {err.reason}", file=sys.stderr)
    from services.retention import feed_advice

    advice = feed_advice(cfg, len(ids))  # the embedded broker keeps everything: past its budget, say so
    if advice:
        print(advice, file=sys.stderr)
    print(f"fed {len(ids)} articles onto articles.raw (each one acknowledged by the broker); {len(errors)} not fed")
    return 1 if errors else 0


def _read_inputs(files: list[str]):  # type: ignore[no-untyped-def]
    from schemas import RawArticle
    from services.feed import content_type_for

    for name in files:
        path = Path(name)
        text = sys.stdin.read() if name == "-" else path.read_text(encoding="utf-8")
        yield name, RawArticle(body=text, content_type=content_type_for(path))  # type: ignore[arg-type]


def _cmd_clean(args: argparse.Namespace, cfg: Settings) -> int:
    from services.cleaner import CleaningError, analyze

    status = 0
    for name, raw in _read_inputs(args.files):
        try:
            result = analyze(raw)
        except CleaningError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.explain:
            print(f"== {name}")
            for v in result.verdicts:
                mark = "KEEP" if v.kept else "drop"
                print(f"{v.number:4d} {mark} {v.reason:<22} {v.text[:100]}")
            a = result.article
            print(f"     title={a.title!r} published_at={a.published_at} outlet={a.outlet!r} "
                  f"reporter={a.reporter!r} email={a.reporter_email!r}")
        else:
            print(result.article.model_dump_json())
    return status


def _cmd_tag(args: argparse.Namespace, cfg: Settings) -> int:
    from services.cleaner import CleaningError, clean
    from services.tagger import tag

    status = 0
    for name, raw in _read_inputs(args.files):
        try:
            tagged = tag(clean(raw))
        except CleaningError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(tagged.model_dump_json(exclude={"terms"} if not args.terms else None))
    return status


def _print_results(results, query) -> None:  # type: ignore[no-untyped-def]
    stories = f", {results.stories} stories" if results.stories is not None else ""
    print(f"\nsearch {query.text!r}: {results.total} articles{stories}")
    for hit in results.hits:
        date = str(hit.published_at)[:10] if hit.published_at else "----------"
        counts = f"  ({hit.story_articles} articles, {hit.story_outlets} outlets)" \
            if getattr(query, "stories", False) and hit.story_articles is not None else ""
        print(f"  {date}  {hit.id}  {hit.title}  [{hit.outlet or ''}]{counts}")
    unit = " (stories)" if getattr(query, "facets_by", "article") == "story" else ""
    for name, buckets in results.facets.items():
        if buckets:
            print(f"  {name}{unit}: " + ", ".join(f"{k} ({n})" for k, n in buckets))


def _cmd_search(args: argparse.Namespace, cfg: Settings) -> int:
    from services.indexer import open_store
    from services.indexer.store import SearchQuery

    query = SearchQuery(text=" ".join(args.query), sector=args.sector, place=args.place, country=args.country,
                        person=args.person, relation=args.relation, partner=args.partner,
                        korean_party=args.korean_party, exchange_only=args.exchange_only,
                        since=args.since, until=args.until, limit=args.limit, stories=args.stories,
                        facets_by=args.facets_by)
    from services.desk.client import search_via_desk

    results = None
    if not (query.stories or query.facets_by == "story"):  # the desk's search API counts articles only
        results = search_via_desk(cfg, query)  # a running desk answers at once: it keeps Kiwi and the store open
    if results is None:
        started = time.monotonic()
        results = open_store(cfg).search(query)
        if time.monotonic() - started > 1.0 and sys.stderr.isatty():  # Kiwi was loaded for this one query
            print("(searched in this process, loading the Korean analyser: about 2 s. With the pipeline running "
                  "(`citydesk run --keep`) or `citydesk serve`, searches go through the desk in about 0.25 s.)",
                  file=sys.stderr)
    if args.json:
        print(results.model_dump_json(indent=2))
    else:
        _print_results(results, query)
    return 0


def _cmd_ties(args: argparse.Namespace, cfg: Settings) -> int:
    from services.indexer import open_store
    from services.ties import output
    from services.ties.office import canonical_names, current_ties, load_register

    action = getattr(args, "ties_action", None)
    if action == "import":
        return _ties_import(args, cfg)
    if action == "rebuild":
        return _ties_rebuild(args, cfg)
    store = open_store(cfg)
    try:
        ties = current_ties(store.read_ties(), load_register(cfg.data_dir))
    finally:
        store.close()
    if action == "show":
        korean_party, partner = canonical_names(args.korean_party_name, args.partner_name)
        found = [t for t in ties if (t.korean_party, t.partner) == (korean_party, partner)]
        if not found:
            print(f"citydesk ties show: no tie {korean_party} — {partner} in the register "
                  f"({len(ties)} ties; `citydesk ties --korean-party {korean_party}` lists that government's)",
                  file=sys.stderr)
            return 1
        print(output.timeline(found[0]))
        return 0
    ties = output.select(ties, korean_party=args.korean_party, partner=args.partner, country=args.country,
                         kind=args.kind, status=args.status)
    if args.format == "json":
        print(output.to_json(ties))
    elif args.format == "csv":
        sys.stdout.write(output.to_csv(ties))
    elif args.format == "geojson":
        print(json.dumps(output.to_geojson(ties), ensure_ascii=False, indent=1))
    else:
        print(output.table(ties))
    return 0


def _ties_import(args: argparse.Namespace, cfg: Settings) -> int:
    from services.tagger.gazetteer import gazetteer
    from services.ties.office import read_register, save_register

    path = Path(args.file)
    try:
        entries, unresolved = read_register(path.read_text(encoding="utf-8-sig"), gazetteer())
    except ValueError as exc:
        print(f"citydesk ties import: {path}: {exc}", file=sys.stderr)
        return 2
    saved = save_register(cfg.data_dir, entries, unresolved, str(path.resolve()))
    print(f"{len(entries)} registered ties from {path} kept in {saved}; `citydesk ties` gives each its status")
    _restatus(cfg, entries)
    for u in unresolved:
        print(f"unresolved: line {u.line}: {', '.join(v for v in u.row.values() if v)}: {u.reason}", file=sys.stderr)
    if unresolved:
        print(f"{len(unresolved)} rows could not be resolved and are left out: correct them and import again",
              file=sys.stderr)
        return 1
    return 0


def _ties_rebuild(args: argparse.Namespace, cfg: Settings) -> int:
    from services.indexer import open_store
    from services.indexer.placement import rebuild_ties
    from services.ties.office import load_register, restatus

    started = time.monotonic()
    try:
        store = open_store(cfg, writer=True)
    except ValueError as exc:
        if "LockBusy" in str(exc):
            print("citydesk ties rebuild: the indexer holds the embedded store's writer lock; stop the pipeline "
                  "(or its indexer) and run it again", file=sys.stderr)
            return 2
        raise
    try:
        articles, ties, deleted = rebuild_ties(store)
        restatus(store, load_register(cfg.data_dir))  # the registered ties no article names, with their status
    finally:
        store.close()
    print(f"rebuilt the register from {articles} articles: {ties} ties written, {deleted} stale ties deleted, "
          f"in {time.monotonic() - started:.1f} s")
    return 0


def _restatus(cfg: Settings, entries: list[RegisterEntry]) -> None:
    """After an import: the stored ties carry the new statuses (Kibana reads them from the ties index), the
    registered ties without news are added. `citydesk ties` and the desk apply the register as they read, so they
    are right even when the store cannot be written now (the embedded store while its indexer runs)."""
    from services.indexer import open_store
    from services.ties.office import restatus

    try:
        store = open_store(cfg, writer=True)
    except ValueError as exc:
        if "LockBusy" not in str(exc):
            raise
        print("the indexer holds the embedded store: the statuses stored with the ties are written as it folds "
              "them again, or by `citydesk ties rebuild` with the indexer stopped", file=sys.stderr)
        return
    try:
        written, deleted = restatus(store, entries)
    finally:
        store.close()
    print(f"statuses written with {written} stored ties ({deleted} no longer registered, without news, removed)")


def _cmd_status(args: argparse.Namespace, cfg: Settings) -> int:
    from services.health import read_statuses

    statuses = read_statuses(cfg.status_dir)
    if args.json:
        print(json.dumps(statuses, ensure_ascii=False, indent=2))
        return 0
    if not statuses:
        print(f"no running workers have written a status under {cfg.status_dir}")
        return 1
    print(f"{'worker':<10}{'pid':>8}  {'state':<9}{'ready':<7}{'consumed':>9}{'produced':>9}{'dead':>6}{'retried':>8}"
          f"  {'last batch':<10}  health")
    for s in statuses:
        ago = f"{time.time() - s['last_batch_at']:.0f} s ago" if s.get("last_batch_at") else "-"
        print(f"{s['stage']:<10}{s['pid']:>8}  {s['state']:<9}{'yes' if s['ready'] else 'no':<7}{s['consumed']:>9}"
              f"{s['produced']:>9}{s['dead_lettered']:>6}{s['retried']:>8}  {ago:<10}  {s.get('health_url') or '-'}")
    return 0


def _cmd_serve(args: argparse.Namespace, cfg: Settings) -> int:
    from services.desk.server import serve

    return serve(cfg, args.host, args.port)


def _cmd_eval(args: argparse.Namespace, cfg: Settings) -> int:
    from services.evaluation import devset_gold, evaluate, format_report

    if args.stories:
        from services.stories.evaluation import format_story_report
        from services.stories.evaluation import report as story_report

        root = Path(__file__).resolve().parents[1]
        try:
            devset = devset_gold()
        except ValueError as exc:
            print(f"citydesk eval: the real-page set is left out: {exc}", file=sys.stderr)
            devset = None
        seeds = root.parent / "shared" / "seeds"
        rep = story_report(root / "tests" / "fixtures" / "stories", devset, seeds if seeds.is_dir() else None)
        print(json.dumps(rep, ensure_ascii=False, indent=2) if args.json else format_story_report(rep))
        return 0
    if args.devset:
        try:
            gold, raw_dir = devset_gold(args.parts.split(",") if args.parts else None)
        except ValueError as exc:
            print(f"citydesk eval: {exc}", file=sys.stderr)
            return 2
        report = evaluate(gold, raw_dir)
    elif args.gold and args.raw_dir:
        report = evaluate(Path(args.gold), Path(args.raw_dir))
    else:
        print("citydesk eval: give --gold FILE --raw-dir DIR, or --devset", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report, args.details))
    return 0


def _cmd_bench(args: argparse.Namespace, cfg: Settings) -> int:
    from services.bench import main as bench_main

    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    if args.backfill:
        from services.backfill import main as backfill_main

        return backfill_main(args.backfill, args.json, cfg.data_dir, every=args.backfill_step,
                             budget_s=args.backfill_budget * 60 if args.backfill_budget else None,
                             store_only=args.backfill_store_only)
    return bench_main(args.n, args.json, cfg.data_dir, stages_only=args.stages_only, rate=args.rate,
                      latency_n=args.latency_n, broker=args.broker)


def _cmd_dlq(args: argparse.Namespace, cfg: Settings) -> int:
    from services.dlq import read_dead_letters

    letters = list(read_dead_letters(cfg))
    if args.action == "list":
        for d in letters:
            print(f"{d.id}  {d.stage:<8} {d.error_type:<18} {d.article_id or '-':<18} x{d.attempts}  {d.error[:80]}")
        print(f"{len(letters)} dead letters")
        return 0
    if args.action == "show":
        match = [d for d in letters if d.id == args.id]
        if not match:
            print(f"no dead letter {args.id}", file=sys.stderr)
            return 1
        print(match[0].model_dump_json(indent=2))
        return 0
    # replay: put the original payloads back onto their source topics
    from services.dlq import replay

    sent = replay(cfg, letters, stage=args.stage)
    print(f"replayed {sent} dead letters")
    return 0


def _date(value: str) -> datetime:
    from services.cleaner.dates import to_kst

    return to_kst(datetime.fromisoformat(value))


def _in_process_parser(sub, name: str, help_text: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    p = sub.add_parser(name, help=help_text)
    p.add_argument("files", nargs="+", help=".html/.htm files are HTML, anything else plain text; - for stdin")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citydesk", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the whole pipeline on embedded defaults, feed articles, search",
                       description="Start the embedded broker and the cleaner, tagger and indexer workers, feed "
                       "PATHS (default: examples/), wait until every article is searchable or dead-lettered, "
                       "print a summary and a sample search, then stop (unless --keep). The embedded broker (tansu) "
                       "keeps messages in memory only; --broker kafka keeps them on disk in CITYDESK_DATA_DIR/kafka; "
                       "the search store stays on disk in CITYDESK_DATA_DIR.")
    p.add_argument("paths", nargs="*", help="files or directories to feed (default: examples/)")
    p.add_argument("--keep", action="store_true", help="leave the pipeline running until Ctrl-C")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for indexing (default 300)")
    p.add_argument("--sample-query", default="협력", help="the search shown at the end (default 협력)")
    p.add_argument("--broker", choices=["tansu", "kafka", "external"],
                   help="tansu: embedded, messages in memory (default, CITYDESK_BROKER); kafka: a local Apache Kafka, "
                   "messages on disk in the data directory, kept across restarts (needs Java 17+ and mvn); "
                   "external: the broker at CITYDESK_BOOTSTRAP_SERVERS")
    p.add_argument("--external-broker", action="store_const", const="external", dest="broker",
                   help="the same as --broker external")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("worker", help="run one worker process (cleaner, tagger or indexer)",
                       description="Run one stage as a faust worker. Start more of the same to share the "
                       "topic's partitions (partitions are the unit of parallelism).")
    p.add_argument("name", choices=list(STAGES))
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("setup", help="create topics, Elasticsearch index and Kibana dashboards (idempotent)",
                       description="Create the topics (CITYDESK_PARTITIONS each). With CITYDESK_STORE=elasticsearch: "
                       "check the server's major, install the index template (nori analyzer with a user dictionary "
                       "from the gazetteers) and create the first index version behind the alias. With "
                       "CITYDESK_KIBANA_URL: import the data view, saved search and dashboard (overwrite). "
                       "Waits for each server; running it again changes nothing.")
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for each server (default 120)")
    p.set_defaults(func=_cmd_setup)

    p = sub.add_parser("reindex", help="build the next Elasticsearch index version and move the alias to it",
                       description="Create <alias>-v(N+1) from the current template, copy every document, swap "
                       "the alias in one atomic step, then copy what the indexer wrote meanwhile. Searches never "
                       "stop; the old version is kept until you delete it.")
    p.set_defaults(func=_cmd_reindex)

    p = sub.add_parser("feed", help="produce articles onto articles.raw",
                       description="Feed files (.txt, .html/.htm, .json, .jsonl), directories (walked) or - "
                       "(stdin) onto articles.raw. Plain files get an id from their text, so feeding the same "
                       "file twice makes one document. JSON records follow the RawArticle schema "
                       "(schemas/json/RawArticle.schema.json). Exits 1 if any input could not be read.")
    p.add_argument("paths", nargs="+", help="files, directories or -")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_feed)

    p = _in_process_parser(sub, "clean", "clean files in-process (no broker); one JSON object per line")
    p.add_argument("--explain", action="store_true", help="show every line with its verdict and reason")
    p.set_defaults(func=_cmd_clean)

    p = _in_process_parser(sub, "tag", "clean and tag files in-process (no broker); one JSON object per line")
    p.add_argument("--terms", action="store_true", help="include the search terms (morphemes)")
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("search", help="search the store: full text, filters, facet counts",
                       description="Full-text search (Korean words find their inflected forms; \"quoted words\" "
                       "are phrases) with filters; prints hits and facet counts.")
    p.add_argument("query", nargs="*", default=[], help="words to find (empty: everything)")
    p.add_argument("--sector", action="append", default=[], help="sector code, e.g. smart_city (repeatable)")
    p.add_argument("--place", action="append", default=[], help="canonical place name, e.g. 청두시")
    p.add_argument("--country", action="append", default=[], help="ISO country code, e.g. CN")
    p.add_argument("--person", action="append", default=[], help="person's name")
    p.add_argument("--relation", action="append", default=[],
                   choices=RELATION_KINDS, help="relation kind")
    p.add_argument("--partner", action="append", default=[], help="foreign partner, e.g. 충칭시")
    p.add_argument("--korean-party", action="append", default=[], help="Korean government, e.g. 대구광역시")
    p.add_argument("--exchange-only", action="store_true", help="only articles about international exchange")
    p.add_argument("--since", type=_date, help="published on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=_date, help="published on or before (YYYY-MM-DD)")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--stories", action="store_true",
                   help="one hit per story (its best-scoring article), with how many of the story's articles match "
                   "and from how many outlets; the total gives the number of stories too")
    p.add_argument("--facets-by", choices=["article", "story"], default="article",
                   help="what the facet counts count: articles (default) or stories, so that ten outlets printing "
                   "one press release count once")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_cmd_search)

    ties_description = """\
The register of ties: one line per (Korean government, foreign partner) found in the news, kept up to date by
the indexer as articles arrive (a fold over the current articles: re-feeding changes nothing, an updated article
replaces its contribution). Each tie has its kinds (sister_city, friendship_city, agreement, visit, event) with
their first and last dates, since when (the year an article states, else the first news), sectors, people,
events, and its evidence (articles, outlets, stories; each kind's supporting sentence).

With an office's register imported (citydesk ties import FILE.csv), each tie gets a status:
  active     registered, and in the news in the last 12 months
  dormant    registered, no news since YYYY
  news_only  in the news, not registered: a new or informal tie, worth a look
  no_news    registered, never in the news

Examples:
  citydesk ties --korean-party 대구광역시
  citydesk ties --status dormant --csv > dormant.csv
  citydesk ties --country CN --geojson > ties.geojson     (opens in QGIS as it is: lines Korea → partner)
  citydesk ties show 대구광역시 청두시                    (the timeline, with evidence sentences)
  citydesk ties import register.csv                       (unresolved rows are listed; exit 1 if any)
  citydesk ties rebuild                                   (fold the whole register again from the store)
"""
    p = sub.add_parser("ties", help="the register of ties: list, show one, import an office's register, rebuild",
                       description=ties_description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--korean-party", action="append", default=[], help="Korean government, e.g. 대구광역시")
    p.add_argument("--partner", action="append", default=[], help="foreign partner, e.g. 청두시")
    p.add_argument("--country", action="append", default=[], help="partner's ISO country code, e.g. CN")
    p.add_argument("--kind", action="append", default=[], choices=RELATION_KINDS,
                   help="ties that show this kind (or are registered as it)")
    p.add_argument("--status", action="append", default=[], choices=["active", "dormant", "news_only", "no_news"],
                   help="active, dormant (registered, no news for 12 months), news_only (not registered), no_news")
    formats = p.add_mutually_exclusive_group()
    formats.add_argument("--json", dest="format", action="store_const", const="json",
                         help="every field of each tie, evidence included")
    formats.add_argument("--csv", dest="format", action="store_const", const="csv",
                         help="one row per tie, flat columns (lists joined by ', ')")
    formats.add_argument("--geojson", dest="format", action="store_const", const="geojson",
                         help="a FeatureCollection of lines from the Korean government to its partner (WGS 84)")
    p.set_defaults(func=_cmd_ties, format="table", ties_action=None)
    ties_sub = p.add_subparsers(dest="ties_action", metavar="ACTION")
    show = ties_sub.add_parser("show", help="one tie's timeline with its evidence sentences",
                               description="Print one tie: kinds with first and last dates, since when, status, "
                               "sectors, people, events, then every article in date order (outlet, story) with the "
                               "sentence that shows each kind. Names may be short (대구 청두): the gazetteer resolves "
                               "them.")
    show.add_argument("korean_party_name", metavar="KOREAN_GOVERNMENT", help="e.g. 대구광역시")
    show.add_argument("partner_name", metavar="PARTNER", help="e.g. 청두시")
    imp = ties_sub.add_parser("import", help="read an office's register (CSV) and keep it in the data directory",
                              description="Read an office's official register: CSV with a header naming the "
                              "columns korean_government, partner, country, kind, year (or 지자체, 상대도시, "
                              "국가, 유형, 연도). "
                              "Country is an ISO code or a Korean name; kind is sister_city or friendship_city (자매, "
                              "우호). Names are resolved through the gazetteer; the resolved rows replace the register "
                              "kept in CITYDESK_DATA_DIR/register.json, which `citydesk ties` uses for statuses. "
                              "Unresolved rows are listed with the reason and the command exits 1.")
    imp.add_argument("file", help="the register, CSV (UTF-8)")
    ties_sub.add_parser("rebuild", help="fold the whole register again from every stored article",
                        description="Read every article in the store and fold every tie again, replacing the "
                        "stored register (ties no article names any more are deleted). The indexer keeps the "
                        "register up to date by itself; this is for a store written without it, or after a "
                        "change to how ties are folded. On the embedded store, stop the indexer first (it holds "
                        "the writer lock).")

    p = sub.add_parser("status", help="the running workers: state, counters, health URLs",
                       description="Read the status every running worker keeps under CITYDESK_DATA_DIR/status: "
                       "state (ok, or degraded while its store is unavailable), readiness, messages consumed, "
                       "produced, dead-lettered, store retries, the last batch, and its /health URL.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("serve", help="the analyst's desk: a local web page to search, read, map and operate",
                       description="Serve the desk over the search store (embedded or Elasticsearch): search with "
                       "filters, facets and articles per month; articles with their places, people and relations "
                       "marked and the evidence of each relation; a map of Korean governments and their partners; "
                       "workers, lag and dead letters with replay. Keeps Kiwi and the store open, so `citydesk "
                       "search` asks it instead of loading them (it finds the desk in CITYDESK_DATA_DIR/desk.json).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free port)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("eval", help="score the cleaner and tagger against a gold file")
    p.add_argument("--gold", help="gold JSON (the format of shared/gold/seeds.json)")
    p.add_argument("--raw-dir", help="directory holding the gold's raw files")
    p.add_argument("--stories", action="store_true",
                   help="pairwise precision and recall of stories and copies: our fixtures, and the real-page set "
                        "when its cache is present")
    p.add_argument("--devset", action="store_true",
                   help="the real-page development set: gold in tests/devset/parts, texts in its git-ignored cache")
    p.add_argument("--parts", help="with --devset: only these parts, comma-separated (g1,g2 … ; x1 is the held-out "
                                   "sample no rule was tuned on)")
    p.add_argument("--details", action="store_true", help="list every miss, article by article")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("bench", help="measure throughput and memory against references (prints a table)",
                       description="Generate N articles from the project's examples and fixtures and measure "
                       "each stage alone in this process (one core) beside the references on the same text: "
                       "plain Kiwi analysis (the tagger's floor), trafilatura alone on the HTML pages, kafka-python "
                       "through the broker; then end to end through the broker (--broker) with one worker per stage "
                       "(throughput, and feed-to-searchable latency at a fixed offered rate), and one tagger "
                       "against two. Prints a table (or --json) with the targets met or not.")
    p.add_argument("-n", type=int, default=ARTICLES,
                   help=f"articles to generate (default {ARTICLES:,}, about 3 minutes in all: why so many, "
                   "services/bench.py ARTICLES)")
    p.add_argument("--rate", type=float, default=10.0, help="offered rate for the latency run (articles/s)")
    p.add_argument("--latency-n", type=int, default=100, help="articles in the latency run (default 100)")
    p.add_argument("--stages-only", action="store_true", help="only the in-process stages and references")
    p.add_argument("--broker", choices=["tansu", "kafka"], default=None,
                   help="the broker the bench starts for its runs through a broker (default: CITYDESK_BROKER when "
                   "tansu or kafka, else tansu); kafka is a local Apache Kafka started as the test suites start it")
    p.add_argument("--backfill", type=int, metavar="N", default=0,
                   help="instead: an N-article archive (e.g. 100000) through a pipeline on CITYDESK_BROKER, one worker "
                   "per stage: throughput per step, broker memory per 1,000 articles, store size, search p50/p95 at "
                   "10k and N in-process and through `citydesk search` (services/backfill.py)")
    p.add_argument("--backfill-step", type=int, default=5000, metavar="K",
                   help="with --backfill: report every K articles (default 5000)")
    p.add_argument("--backfill-budget", type=float, metavar="MIN",
                   help="with --backfill: stop feeding at the first step past MIN minutes and search there")
    p.add_argument("--backfill-store-only", action="store_true",
                   help="with --backfill: no pipeline; write N tagged copies straight to a store and time search there")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("dlq", help="dead letters: list, show ID, replay [--stage S]")
    p.add_argument("action", choices=["list", "show", "replay"])
    p.add_argument("id", nargs="?", help="dead letter id (show)")
    p.add_argument("--stage", help="replay only this stage's letters")
    p.set_defaults(func=_cmd_dlq)
    return parser


def main(argv: list[str] | None = None) -> int:
    from services.logs import configure

    args = build_parser().parse_args(argv)
    cfg = settings()
    configure(cfg.log_level, cfg.log_format)
    if args.command in QUIET_COMMANDS:  # their output is the result; progress logs would only get in the way
        logging.getLogger("citydesk").setLevel(max(logging.getLogger().level, logging.WARNING))
    try:
        return args.func(args, cfg)
    except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
        print(f"citydesk {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
