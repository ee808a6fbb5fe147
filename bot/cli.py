"""The ``lotse`` command line: ingest, ask, eval, serve, config.

The contract (tests and outside evaluation rely on it):

    lotse ingest [PATH|URL...] [--crawl|--sitemap] [--store DIR] [--audience public|internal]
    lotse ask "QUESTION" [--store DIR] [--as customer|agent] [--json]
    lotse ask --json [--store DIR] [--as customer|agent] < questions.txt
    lotse serve [--store DIR] [--host H] [--port P]
    lotse eval [--store DIR]
    lotse privacy export|delete SESSION [--store DIR]
    lotse users add NAME --role agent|admin | passwd NAME | remove NAME | list [--json]

Exit codes: 0 success, 1 error, 2 usage error, 3 ingest finished but some files failed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import time
from pathlib import Path

from bot.cli_users import run_users, users_parser
from kb.errors import LotseError
from kb.memory import tune_allocator
from kb.settings import LotseSettings, get_settings


def _settings(args: argparse.Namespace) -> LotseSettings:
    settings = get_settings()
    store = getattr(args, "store", None) or os.environ.get("LOTSE_HOME")
    if store:
        settings = settings.model_copy(update={"home": Path(store)})
    return settings


def _engine(args: argparse.Namespace):
    from bot.wiring import build_engine

    return build_engine(_settings(args))


def cmd_ingest(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.wiring import build_syncer, ingest_targets
    from ingest.sync import console_progress
    from kb.settings import WebSourceSettings

    settings = _settings(args)
    urls = [p for p in args.paths if "://" in p]
    paths = [Path(p) for p in args.paths if p not in urls]
    if (args.crawl or args.sitemap) and not urls:
        raise LotseError("--crawl and --sitemap need an http(s) URL to start from")
    mode = "crawl" if args.crawl else "sitemap" if args.sitemap else "auto"
    try:
        sources = [WebSourceSettings(url=u, mode=mode, audience=args.audience,
                                     max_pages=args.max_pages, max_depth=args.depth) for u in urls]
    except ValidationError as exc:
        options = {"max_pages": "--max-pages", "max_depth": "--depth", "url": "URL"}
        raise LotseError("; ".join(f"{options.get(str(e['loc'][0]), e['loc'][0])}: "
                                   f"{e['msg'].removeprefix('Value error, ')}"
                                   for e in exc.errors())) from None
    if not args.paths:  # everything configured: the folders, the uploads, the web sources
        paths, sources = ingest_targets(settings)
    history = _History(settings)  # opens the state database while the ingest starts
    started = time.time()
    report = build_syncer(settings).sync(paths, audience=args.audience, sources=sources,
                                         progress=console_progress(), lock_timeout=args.wait)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
    history.record([str(p.resolve()) for p in paths] + [s.url for s in sources], started,
                   report.to_dict(), report.summary().splitlines()[0])
    return 3 if report.failed else 0


class _History:
    """The ingest runs of the CLI in the state database, next to those of the admin page and
    the schedule, so staff see them (and the failures) too. Opened in a thread, while the
    ingest loads its model; a database that cannot be reached costs a warning, not the
    ingest."""

    def __init__(self, settings: LotseSettings) -> None:
        import threading

        self.state = None
        self._thread = threading.Thread(target=self._open, args=(settings.state_url(),),
                                        daemon=True)
        self._thread.start()

    def _open(self, url: str) -> None:
        try:
            from bot.chat.state import StateStore

            self.state = StateStore(url)
        except Exception as exc:
            logging.getLogger(__name__).warning("ingest not recorded: %s", exc)

    def record(self, targets: list[str], started: float, report: dict, summary: str) -> None:
        self._thread.join(timeout=60)
        if self.state is None:
            return
        try:
            who = f"cli ({getpass.getuser()})"
        except Exception:  # no user name in this environment
            who = "cli"
        try:
            self.state.add_ingest_run("cli", who, targets, started, report)
            self.state.audit(who, "ingest", ", ".join(targets)[:500], summary)
        except Exception as exc:
            logging.getLogger(__name__).warning("ingest not recorded: %s", exc)


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "?"


def _store(args: argparse.Namespace):
    """The store alone: listing and rolling back need no embedder."""
    from kb.store import make_store

    return make_store(_settings(args))


def cmd_generations(args: argparse.Namespace) -> int:
    history = _store(args).history()
    if args.json:
        print(json.dumps(history, indent=2))
        return 0
    if not history:
        print("no generation has been published yet: run `lotse ingest PATH`")
        return 0
    print(f"{'generation':<22} {'published':<19} {'files':>6} {'public':>7} {'internal':>8}")
    for g in history:
        counts = g["counts"]
        files = "?" if g["files"] is None else g["files"]
        print(f"{g['generation']:<22} {_when(g['published_at']):<19} {files:>6} "
              f"{counts.get('public_chunks', 0):>7} {counts.get('internal_chunks', 0):>8}"
              + ("  ← live" if g["live"] else ""))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    store = _store(args)
    before = store.current(force=True)
    gen = store.rollback(args.to)
    print(f"live generation: {gen.id} (published {_when(gen.info.get('published_at'))}), "
          f"was {before.id if before else 'none'}; every Lotse process switches within "
          f"{store.settings.store.refresh_seconds:g} s")
    return 0


def _view(role: str) -> str:
    return "agent" if role == "agent" else "customer"


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        return
    print(answer.text)
    for c in answer.citations:
        section = f" – {c.section}" if c.section and c.section != c.title else ""
        print(f"  [{c.n}] {c.title}{section} ({c.source})")
    flag = f"  → Übergabe an das Serviceteam ({answer.handoff_reason})" if answer.handoff else ""
    print(f"  confidence {answer.confidence:.2f}{flag}", flush=True)


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.answer.question import InvalidQuestion

    engine = _engine(args)
    view = _view(args.role)
    if args.question:
        _print_answer(engine.chain.ask(args.question, view=view), args.json)
        return 0
    interactive = sys.stdin.isatty() and not args.json
    status = 0
    while True:
        if interactive:
            try:
                line = input("\nFrage> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return status
        else:
            line = sys.stdin.readline()
            if not line:
                return status
        if not line.strip():
            continue
        try:
            _print_answer(engine.chain.ask(line, view=view), args.json)
        except InvalidQuestion as exc:
            status = 1
            if args.json:
                print(json.dumps({"question": line.strip()[:200], "error": str(exc)},
                                 ensure_ascii=False), flush=True)
            else:
                print(f"Fehler: {exc}", file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import run_advice, run_customer, run_eval

    engine = _engine(args)
    report = run_eval(engine, Path(args.gold))
    print(report.table())
    result = report.to_dict()
    failures = report.failures()
    splits = ("dev", "test") if args.split == "all" else (args.split,)
    for name, path, run in (("customer", args.customer, run_customer),
                            ("advice", args.advice, run_advice)):
        if path and Path(path).exists():
            part = run(engine, Path(path))
            print()
            print(part.table(splits))
            result[name] = {s: part.metrics(s) for s in splits}
            failures += part.failures(splits)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    for line in failures:
        print(f"BELOW THRESHOLD: {line}", file=sys.stderr)
    return 1 if failures else 0


def cmd_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    for section, field in type(settings).model_fields.items():
        value = getattr(settings, section)
        if hasattr(value, "model_fields"):
            for name, sub in type(value).model_fields.items():
                env = f"LOTSE_{section.upper()}__{name.upper()}"
                print(f"{env} = {getattr(value, name)!r}\n    {sub.description}")
        else:
            print(f"LOTSE_{section.upper()} = {value!r}\n    {field.description}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.web.app import serve
    from bot.wiring import build_chat

    return serve(build_chat(_settings(args)), host=args.host, port=args.port)


def cmd_privacy(args: argparse.Namespace) -> int:
    from bot.channels.chatwoot_store import ChatwootStore
    from bot.chat.state import StateStore

    # The conversation database alone: a DSGVO request needs no model and no index.
    state = StateStore(_settings(args).state_url())
    if args.action == "export":
        print(json.dumps(state.export(args.session), ensure_ascii=False, indent=2))
    else:
        counts = state.delete(args.session)
        counts["chatwoot_links"] = ChatwootStore(state.engine).forget_session(args.session)
        print(json.dumps({"deleted": args.session, **counts}))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from bot.chat.calibration import choose, table
    from bot.chat.state import StateStore

    rated, handed = StateStore(_settings(args).state_url()).calibration_data()
    chosen, points = choose(rated, handed, args.wrong_cost)
    print(f"{len(rated)} rated answers, {len(handed)} resolved low-confidence handoffs; "
          f"a wrong answer counts {args.wrong_cost:g} right ones\n")
    print(table(points, chosen))
    print(f"\nchosen: answer.handoff_below = {chosen.threshold:.2f}")
    if args.write:
        import tomlkit

        doc = tomlkit.parse(args.write.read_text(encoding="utf-8")) if args.write.exists() \
            else tomlkit.document()
        doc.setdefault("answer", tomlkit.table())["handoff_below"] = chosen.threshold
        args.write.write_text(tomlkit.dumps(doc), encoding="utf-8")
        print(f"written to {args.write}; it applies on the next start")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    return run_users(args, _settings(args))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lotse", description="Lotse: cited answers from your "
                                "knowledge base, and an honest handoff when unsure.")
    p.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="sync files, folders or web pages into the store "
                         "(incremental)")
    ing.add_argument("paths", nargs="*", metavar="PATH|URL",
                     help="files, folders, or http(s) URLs: a page, a sitemap.xml, or with "
                     "--crawl a start page; none: server.ingest_roots, the uploads and "
                     "ingest.sources")
    web = ing.add_mutually_exclusive_group()
    web.add_argument("--crawl", action="store_true",
                     help="follow the links of each URL on its host (robots.txt obeyed)")
    web.add_argument("--sitemap", action="store_true", help="read each URL as a sitemap")
    ing.add_argument("--max-pages", type=int, default=500, metavar="N",
                     help="pages a crawl or sitemap reads at most (default 500)")
    ing.add_argument("--depth", type=int, default=3, metavar="N",
                     help="clicks from the start page a crawl follows (default 3)")
    ing.add_argument("--store", help="store folder (default $LOTSE_HOME or ./.lotse)")
    ing.add_argument("--audience", choices=["public", "internal"],
                     help="internal marks everything internal; public is the default for files "
                     "that say nothing themselves")
    ing.add_argument("--json", action="store_true", help="print the summary as JSON")
    ing.add_argument("--wait", type=float, default=600, metavar="SECONDS",
                     help="how long to wait for another ingest or rollback to finish before "
                     "giving up (0: refuse at once)")
    ing.set_defaults(func=cmd_ingest)

    gens = sub.add_parser("generations", help="list the published generations of the store")
    gens.add_argument("--store", help="store folder (default $LOTSE_HOME or ./.lotse)")
    gens.add_argument("--json", action="store_true", help="print the list as JSON")
    gens.set_defaults(func=cmd_generations)

    back = sub.add_parser("rollback", help="make the previous (or a given) generation live again")
    back.add_argument("--store", help="store folder (default $LOTSE_HOME or ./.lotse)")
    back.add_argument("--to", metavar="GENERATION", help="the generation to go back to "
                      "(default: the one before the live one)")
    back.set_defaults(func=cmd_rollback)

    ask = sub.add_parser("ask", help="answer one question, or one per line from stdin")
    ask.add_argument("question", nargs="?", help="the question; omit to read stdin")
    ask.add_argument("--store")
    ask.add_argument("--as", dest="role", choices=["customer", "agent"], default="customer",
                     help="customers never see internal documents")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="run the gold set and check the thresholds")
    ev.add_argument("--store")
    ev.add_argument("--gold", default=str(Path("docs_corpus/eval/gold.jsonl")))
    ev.add_argument("--customer", default=str(Path("docs_corpus/eval/customer.jsonl")),
                    help="the customer-phrased set (empty to skip)")
    ev.add_argument("--advice", default=str(Path("docs_corpus/eval/advice.jsonl")),
                    help="the advice dialogues (empty to skip)")
    ev.add_argument("--split", choices=["dev", "test", "all"], default="all",
                    help="which part of the customer-phrased and advice sets to run and report")
    ev.add_argument("--json", help="also write the report as JSON to this file")
    ev.set_defaults(func=cmd_eval)

    srv = sub.add_parser("serve", help="start the web chat, agent and admin UI and the REST API")
    srv.add_argument("--store")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=7860)
    srv.set_defaults(func=cmd_serve)

    priv = sub.add_parser("privacy", help="DSGVO requests: export or delete one chat session")
    priv.add_argument("action", choices=["export", "delete"])
    priv.add_argument("session", help="the session id shown in the chat")
    priv.add_argument("--store")
    priv.set_defaults(func=cmd_privacy)

    users_parser(sub).set_defaults(func=cmd_users)

    cal = sub.add_parser("calibrate", help="refit the answer threshold on this installation's "
                         "rated answers and resolved tickets, and print the trade-off")
    cal.add_argument("--store", help="the store directory (default: $LOTSE_HOME or ./.lotse)")
    cal.add_argument("--wrong-cost", type=float, default=1.0,
                     help="how many right answers one wrong answer outweighs (default 1)")
    cal.add_argument("--write", type=Path, metavar="TOML",
                     help="write the chosen threshold into this settings file")
    cal.set_defaults(func=cmd_calibrate)
    cfg = sub.add_parser("config", help="print every setting with its env variable and meaning")
    cfg.add_argument("--store")
    cfg.set_defaults(func=cmd_config)
    return p


def main(argv: list[str] | None = None) -> int:
    tune_allocator()  # before any thread starts (kb.memory)
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except LotseError as exc:
        print(f"lotse: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
