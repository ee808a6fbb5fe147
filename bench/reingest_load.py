"""Chat load while the documentation is re-ingested: failures, stale citations, latency.

    python -m bench.reingest_load [--mode persistent http] [--sessions 20] [--json OUT]

Run from the repository root (it starts real `lotse serve` processes the way the
tests do). The corpus is docs_corpus/ plus the German and English XQuAD
paragraphs from ../shared/data/xquad as one public Markdown file each; the
benchmark skips with a message when ../shared is absent.

Per mode:

* ``persistent``: one `lotse serve` on chromadb files; an admin re-ingests
  through its REST API while customers chat with it.
* ``http``: a real `chroma run` server and two `lotse serve` processes sharing it
  and one state database. The first re-ingest goes through instance A, a second
  one through instance B, and each instance's /healthz is watched for the
  moment it serves the other's generation.

Each re-ingest changes a tenth of the documents and deletes a twentieth. The
customers are ``--sessions`` threads posting to /v1/chat with a think time of
1–3 s, three messages per conversation; a third of the questions are about a
document that will be deleted. Reported per phase (before, during, after the
re-ingests): requests, failures (anything but HTTP 200), p50/p95/max latency; and
answers citing a deleted document that started after the publish, both beyond
and inside the readers' ``store.refresh_seconds`` window.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from bench import XQUAD, xquad_missing

REPO = Path(__file__).resolve().parents[1]
CUSTOMER, ADMIN = "bench-customer-token", "bench-admin-token"
REFRESH_SECONDS = 1.0


@dataclass
class Request:
    started: float
    ended: float
    instance: int
    status: int  # 0: no HTTP answer at all
    sources: tuple[str, ...] = ()
    error: str = ""


@dataclass
class Cycle:
    instance: int
    started: float = 0.0
    ended: float = 0.0
    report: dict = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    seen_at: dict[int, float] = field(default_factory=dict)  # instance -> first /healthz with it


def build_corpus(root: Path, xquad: Path) -> list[tuple[str, str]]:
    """docs_corpus/ plus the XQuAD paragraphs; returns (question, source) pairs."""
    shutil.copytree(REPO / "docs_corpus", root, ignore=shutil.ignore_patterns("eval"))
    pairs = []
    for language in ("de", "en"):
        data = json.loads((xquad / f"xquad.dev.{language}.json").read_text(encoding="utf-8"))
        folder = root / "xquad" / language
        folder.mkdir(parents=True)
        n = 0
        for article in data["data"]:
            for para in article["paragraphs"]:
                source = f"xquad/{language}/p{n:03d}.md"
                (root / source).write_text(
                    f"---\ntitle: {article.get('title', 'XQuAD')} {n}\naudience: public\n"
                    f"language: {language}\n---\n# {article.get('title', 'XQuAD')} {n}\n\n"
                    f"{para['context']}\n", encoding="utf-8")
                pairs += [(qa["question"], source) for qa in para["qas"][:2]]
                n += 1
    for line in (REPO / "docs_corpus" / "eval" / "gold.jsonl").read_text().splitlines():
        case = json.loads(line)
        pairs.append((case["question"], ""))
    return pairs


def change_corpus(root: Path, rng: random.Random, cycle: int) -> tuple[set[str], int]:
    """Edit a tenth of the documents and delete a twentieth (public Markdown files, so
    every edit changes what is indexed); returns the deleted sources and the edit count."""
    files = sorted(p for p in root.rglob("*.md") if "internal" not in p.parts)
    rng.shuffle(files)
    total = sum(1 for p in root.rglob("*") if p.is_file())
    n_change, n_delete = total // 10, total // 20
    for path in files[:n_change]:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"\nÜberarbeitet in Runde {cycle}: Angaben geprüft und ergänzt.\n")
    deleted = set()
    for path in files[n_change:n_change + n_delete]:
        deleted.add(path.relative_to(root).as_posix())
        path.unlink()
    return deleted, n_change


def start_serve(env: dict, port: int, log: Path | None = None) -> subprocess.Popen:
    """A `lotse serve` on ``port``, healthy; its output goes to ``log`` (or nowhere)."""
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    wait_for(f"http://127.0.0.1:{port}/healthz", proc, 180)
    return proc


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, 60)
    return proc


def wait_for(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            time.sleep(0.3)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Customers:
    """``n`` chat sessions in threads, each thinking ``think`` seconds (1–3 s) between
    messages; worker ``i`` talks to ``urls[i % len(urls)]``."""

    def __init__(self, urls: list[str], questions: list[str], n: int, seed: int = 7,
                 think: tuple[float, float] = (1.0, 3.0)) -> None:
        self.urls, self.questions, self.n, self.seed = urls, questions, n, seed
        self.think = think
        self.log: list[Request] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(n)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def _run(self, worker: int) -> None:
        rng = random.Random(self.seed * 1000 + worker)
        instance = worker % len(self.urls)
        headers = {"Authorization": f"Bearer {CUSTOMER}"}
        # Customers arrive spread over the first think time, not all in the same millisecond.
        self._stop.wait(rng.uniform(0.0, self.think[1]))
        with httpx.Client(base_url=self.urls[instance], headers=headers, timeout=120) as client:
            turn = 0
            owner: dict = {}  # the conversation's id and secret; three questions each
            while not self._stop.is_set():
                started = time.time()
                try:
                    continuing = bool(owner) and turn % 3 != 0
                    r = client.post("/v1/chat", headers=owner.get("headers", {}), json={
                        **({"session_id": owner["id"]} if continuing else {}),
                        "message": rng.choice(self.questions)})
                    if r.status_code == 200 and "session_secret" in r.json():
                        owner = {"id": r.json()["session_id"],
                                 "headers": {"X-Session-Secret": r.json()["session_secret"]}}
                    sources = tuple(c["source"] for c in r.json().get("citations", [])) \
                        if r.status_code == 200 else ()
                    entry = Request(started, time.time(), instance, r.status_code, sources,
                                    "" if r.status_code == 200 else r.text[:200])
                except httpx.HTTPError as exc:
                    entry = Request(started, time.time(), instance, 0, (), repr(exc)[:200])
                with self._lock:
                    self.log.append(entry)
                turn += 1
                self._stop.wait(rng.uniform(*self.think))


def watch_generations(urls: list[str], cycles: list[Cycle], generations: dict[int, str],
                      stop: threading.Event) -> None:
    """Record when each instance's /healthz first reports each cycle's generation."""
    while not stop.is_set():
        for i, url in enumerate(urls):
            try:
                gen = httpx.get(f"{url}/healthz", timeout=5).json()["generation"]
            except (httpx.HTTPError, ValueError, KeyError):
                continue
            for c, cycle in enumerate(cycles):
                if generations.get(c) == gen and i not in cycle.seen_at:
                    cycle.seen_at[i] = time.time()
        stop.wait(0.1)


def run_mode(mode: str, sessions: int, phase_seconds: float, work: Path, xquad: Path) -> dict:
    rng = random.Random(42)
    corpus = work / "corpus"
    pairs = build_corpus(corpus, xquad)
    env = {**os.environ, "LOTSE_AUTH__CUSTOMER_TOKENS": json.dumps([CUSTOMER]),
           "LOTSE_AUTH__ADMIN_TOKENS": json.dumps([ADMIN]),
           "LOTSE_SERVER__INGEST_ROOTS": json.dumps([str(corpus)]),
           # every simulated customer comes from 127.0.0.1: the per-address limit would
           # count them as one; the per-session limit stays as configured
           "LOTSE_SERVER__CLIENT_MESSAGES_PER_MINUTE": "1000000",
           "LOTSE_STORE__REFRESH_SECONDS": str(REFRESH_SECONDS),
           "LOTSE_STATE__URL": f"sqlite:///{work / 'state.db'}"}
    processes: list[subprocess.Popen] = []
    envs = []
    if mode == "http":
        port = free_port()
        processes.append(start_chroma(work / "chroma", port))
        env.update(LOTSE_STORE__MODE="http", LOTSE_STORE__PORT=str(port))
    for name in ("a", "b") if mode == "http" else ("a",):
        envs.append({**env, "LOTSE_HOME": str(work / f"home-{name}")})

    started = time.monotonic()
    first = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(corpus)], env=envs[0],
                           cwd=REPO, capture_output=True, text=True)
    if first.returncode != 0:
        raise RuntimeError(first.stderr)
    initial_ingest_s = time.monotonic() - started
    ports = [free_port() for _ in envs]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for e, p in zip(envs, ports):
            processes.append(start_serve(e, p))
        for url in urls:  # warm: lexical indexes and caches of every instance
            for q, _ in pairs[:5]:
                httpx.post(f"{url}/v1/chat", headers={"Authorization": f"Bearer {CUSTOMER}"},
                           json={"message": q}, timeout=120)

        plans = [Cycle(instance=0)] + ([Cycle(instance=1)] if mode == "http" else [])
        # The questions, a third of them about documents that are about to go.
        doomed_rng = random.Random(1)
        generations: dict[int, str] = {}
        stop_watch = threading.Event()
        watcher = threading.Thread(target=watch_generations,
                                   args=(urls, plans, generations, stop_watch), daemon=True)
        watcher.start()
        customers = None
        for c, cycle in enumerate(plans):
            deleted, changed = change_corpus(corpus, rng, c + 1)
            cycle.deleted = deleted
            if customers is None:
                about_deleted = [q for q, s in pairs if s in deleted]
                others = [q for q, s in pairs if s not in deleted]
                questions = about_deleted * max(1, len(others) // (2 * max(1, len(about_deleted))))
                questions += others
                doomed_rng.shuffle(questions)
                customers = Customers(urls, questions, sessions)
                customers.start()
                time.sleep(phase_seconds)  # before
            cycle.started = time.time()
            r = httpx.post(f"{urls[cycle.instance]}/v1/ingest",
                           headers={"Authorization": f"Bearer {ADMIN}"},
                           json={"paths": [str(corpus)]}, timeout=1800)
            cycle.ended = time.time()
            r.raise_for_status()
            cycle.report = {k: r.json()[k] for k in ("added", "updated", "removed", "failed",
                                                     "chunks_embedded", "chunks_total",
                                                     "generation", "seconds") if k in r.json()}
            cycle.report["changed_files"] = changed
            generations[c] = r.json()["generation"]
            time.sleep(phase_seconds)  # after
        assert customers is not None
        customers.stop()
        stop_watch.set()
        watcher.join(timeout=10)
        return summarise(mode, customers.log, plans, sessions, initial_ingest_s, len(pairs))
    finally:
        for proc in reversed(processes):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _latency(requests: list[Request]) -> dict:
    ms = [1000 * (r.ended - r.started) for r in requests if r.status == 200]
    return {"requests": len(requests), "failed": sum(r.status != 200 for r in requests),
            "p50_ms": round(float(np.percentile(ms, 50)), 1) if ms else None,
            "p95_ms": round(float(np.percentile(ms, 95)), 1) if ms else None,
            "max_ms": round(max(ms), 1) if ms else None}


def summarise(mode: str, log: list[Request], cycles: list[Cycle], sessions: int,
              initial_ingest_s: float, questions: int) -> dict:
    def during(r: Request) -> bool:
        return any(c.started <= r.started <= c.ended for c in cycles)

    first = cycles[0].started
    phases = {
        "before": [r for r in log if r.started < first],
        "during": [r for r in log if during(r)],
        "after": [r for r in log if r.started > cycles[0].ended and not during(r)],
    }
    stale, stale_in_window, checked = [], 0, 0
    for r in log:
        gone = set().union(*(c.deleted for c in cycles if r.started > c.ended))
        if not gone:
            continue
        publish = max(c.ended for c in cycles if r.started > c.ended)
        cites_gone = bool(set(r.sources) & gone)
        if r.started > publish + REFRESH_SECONDS:
            checked += 1
            if cites_gone:
                stale.append(r)
        elif cites_gone:
            stale_in_window += 1
    visibility = []
    for c, cycle in enumerate(cycles):
        for instance, seen in sorted(cycle.seen_at.items()):
            visibility.append({"cycle": c + 1, "published_by": cycle.instance, "instance": instance,
                               "seen_after_s": round(seen - cycle.ended, 2),
                               "ingest_s": round(cycle.ended - cycle.started, 2)})
    return {
        "mode": mode, "sessions": sessions, "questions": questions,
        "instances": len({r.instance for r in log}),
        "initial_ingest_s": round(initial_ingest_s, 1),
        "phases": {name: _latency(rs) for name, rs in phases.items()},
        "failed_total": sum(r.status != 200 for r in log),
        "requests_per_s": round(len(log) / max(1e-9, max(r.started for r in log) -
                                               min(r.started for r in log)), 2),
        "failures": sorted({r.error for r in log if r.status != 200})[:5],
        "stale_after_refresh": len(stale), "checked_after_refresh": checked,
        "stale_inside_refresh_window": stale_in_window, "refresh_seconds": REFRESH_SECONDS,
        "ingests": [{**c.report, "through_instance": c.instance,
                     "wall_s": round(c.ended - c.started, 1), "deleted": len(c.deleted)}
                    for c in cycles],
        "visibility": visibility,
    }


def print_table(results: list[dict]) -> None:
    print(f"\nRe-ingest under load ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})")
    print(f"{'mode':<11}{'phase':<8}{'requests':>9}{'failed':>8}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'max ms':>9}")
    for res in results:
        for phase, row in res["phases"].items():
            print(f"{res['mode']:<11}{phase:<8}{row['requests']:>9}{row['failed']:>8}"
                  f"{row['p50_ms'] or 0:>9.0f}{row['p95_ms'] or 0:>9.0f}{row['max_ms'] or 0:>9.0f}")
        print(f"{'':<11}{res['sessions']} sessions, {res['requests_per_s']} requests/s on "
              f"{res['instances']} instance(s)")
        print(f"{'':<11}stale citations after publish+{res['refresh_seconds']:g}s: "
              f"{res['stale_after_refresh']} of {res['checked_after_refresh']} answers; "
              f"inside the window: {res['stale_inside_refresh_window']}")
        for ing in res["ingests"]:
            print(f"{'':<11}re-ingest via instance {ing['through_instance']}: "
                  f"{ing.get('changed_files')} changed, {ing['deleted']} deleted, "
                  f"{ing.get('chunks_embedded')} chunks embedded, {ing['wall_s']} s")
        for v in res["visibility"]:
            print(f"{'':<11}cycle {v['cycle']}: instance {v['instance']} served it "
                  f"{v['seen_after_s']} s after the publish (ingest took {v['ingest_s']} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", nargs="+", choices=["persistent", "http"],
                    default=["persistent", "http"])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--phase-seconds", type=float, default=30.0,
                    help="how long to measure before and after each re-ingest")
    ap.add_argument("--xquad", type=Path, default=XQUAD,
                    help="folder with xquad.dev.de.json and xquad.dev.en.json")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "reingest_load.json")
    args = ap.parse_args(argv)
    if xquad_missing(args.xquad):
        return 0
    results = []
    for mode in args.mode:
        with tempfile.TemporaryDirectory(prefix=f"lotse-load-{mode}-") as tmp:
            results.append(run_mode(mode, args.sessions, args.phase_seconds, Path(tmp),
                                    args.xquad))
    print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"),
                                     "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                                     "results": results}, indent=2, ensure_ascii=False))
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
