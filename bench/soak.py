"""Soak: Lotse on several processes for an hour, with re-ingests and a rollback.

    python -m bench.soak [--minutes 60] [--sessions 50] [--reingest-every 300]
                         [--sample-every 30] [--max-growth-mb 15] [--check] [--json OUT]

Everything is real and runs on this machine: one PostgreSQL cluster (Debian's
postgresql 15, started in a temporary folder) for conversations, logins and rate
limits; one `chroma run` server for the vectors; three `lotse serve` processes on
both; nginx (Debian's) in front of them as the one address customers use. The
corpus is docs_corpus/ plus the XQuAD paragraphs from ../shared/data/xquad (skipped
with a message when absent).

``--sessions`` customers chat through nginx, three questions a conversation, with
2–6 s between messages; a third of their questions are about documents that later
re-ingests delete. Every ``--reingest-every`` seconds a tenth of the documents are
edited and a twentieth deleted, and the next process in turn (A, B, C, A, …)
re-ingests through its REST API. Halfway through, ``lotse rollback`` makes the
previous generation live again.

Reported: requests and failures (anything but HTTP 200; target 0); answers that
cite a document absent from the live generation, counted from
``store.refresh_seconds`` after each publish or rollback (target 0); p50/p95
latency outside and during re-ingests. Memory: the RSS of every process (the three
Lotse processes, the chroma server, PostgreSQL's postmaster, nginx) sampled every
``--sample-every`` seconds; the table gives it at the start, halfway and at the end,
each as the median of the samples in the minute before that moment (one sample can
catch a request's peak), and the growth over the second half. Whether memory levels
off is read there: ``--max-growth-mb`` is the most a Lotse process may grow in the
second half (15 MB for the hour, as the README promises), and ``--check`` fails the run
when one grows more. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import XQUAD, xquad_missing
from bench.reingest_load import (
    ADMIN,
    CUSTOMER,
    Customers,
    Request,
    _latency,
    build_corpus,
    change_corpus,
    free_port,
    start_chroma,
    start_serve,
    wait_for,
)

REPO = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REFRESH_SECONDS = 2.0
NAMES = "ABC"


@dataclass
class Event:
    """A publish or a rollback, and which sources the live generation lacks after it."""

    kind: str
    instance: int
    started: float
    ended: float
    absent: frozenset[str]
    detail: dict = field(default_factory=dict)


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), None)
    return round(int(kb) / 1024, 1) if kb else None


class Sampler:
    """The RSS of named processes every ``every`` seconds, in a thread, from ``start()``
    until ``stop()``; ``samples`` are ``{"t_s": seconds since start, name: MB, …}``."""

    def __init__(self, pids: dict[str, int], every: float) -> None:
        self.pids, self.every = pids, every
        self.samples: list[dict[str, float | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="soak-rss")

    def start(self) -> None:
        self._t0 = time.time()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._take()  # the last one, at the very end

    def _take(self) -> None:
        self.samples.append({"t_s": round(time.time() - self._t0, 1),
                             **{name: rss_mb(pid) for name, pid in self.pids.items()}})

    def _run(self) -> None:
        while True:
            self._take()
            if self._stop.wait(self.every):
                return


def rss_at(samples: list[dict], name: str, t_s: float, window_s: float = 60.0) -> float | None:
    """The median RSS of ``name`` over the samples in the ``window_s`` before ``t_s`` (the
    sample nearest to ``t_s`` when none falls inside)."""
    inside = [s[name] for s in samples
              if t_s - window_s <= s["t_s"] <= t_s and s.get(name) is not None]
    if inside:
        return round(statistics.median(inside), 1)
    near = [s for s in samples if s.get(name) is not None]
    return min(near, key=lambda s: abs(s["t_s"] - t_s))[name] if near else None


def memory(samples: list[dict], seconds: float, names: list[str]) -> dict[str, dict]:
    """Per process: RSS at the start, halfway and the end (``rss_at``), the growth over the
    first and the second half, and the highest sample."""
    out = {}
    for name in names:
        start = next((s[name] for s in samples if s.get(name) is not None), None)
        half, end = rss_at(samples, name, seconds / 2), rss_at(samples, name, seconds)
        values = [s[name] for s in samples if s.get(name) is not None]
        out[name] = {"start": start, "half": half, "end": end,
                     "first_half_growth": _minus(half, start),
                     "second_half_growth": _minus(end, half),
                     "max": max(values) if values else None}
    return out


def _minus(a: float | None, b: float | None) -> float | None:
    return round(a - b, 1) if a is not None and b is not None else None


def start_postgres(folder: Path) -> tuple[str, list[str], Path]:
    """A throwaway cluster; returns its URL, the command prefix and its data folder."""
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_postgres, *cmd], check=True, capture_output=True, timeout=120)

    run(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C.UTF-8")
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")
    run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "lotse")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/lotse", as_postgres, data


def start_nginx(folder: Path, ports: list[int]) -> tuple[subprocess.Popen, str]:
    """nginx as the one address in front of the Lotse processes (round robin)."""
    port = free_port()
    temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True)
        if os.geteuid() == 0:  # nginx's workers run as nobody
            shutil.chown(path, "nobody")
    upstreams = "\n".join(f"    server 127.0.0.1:{p};" for p in ports)
    (folder / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {temp['client_body']};
  proxy_temp_path {temp['proxy']};
  fastcgi_temp_path {temp['fastcgi']};
  uwsgi_temp_path {temp['uwsgi']};
  scgi_temp_path {temp['scgi']};
  upstream lotse {{
{upstreams}
    keepalive 32;
    # Under uvicorn's 5 s: a connection uvicorn closes while nginx sends on it is a 502.
    keepalive_timeout 4s;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://lotse;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 600s;
      proxy_buffering off;
    }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", str(folder / "nginx.conf"), "-p", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.log", "w"))
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/healthz", proc, 30)
    return proc, url


def run(minutes: float, sessions: int, every: float, work: Path, xquad: Path,
        sample_every: float = 30.0) -> dict:
    rng = random.Random(42)
    corpus = work / "corpus"
    pairs = build_corpus(corpus, xquad)
    (work / "pg").mkdir()
    pg_url, as_postgres, pg_data = start_postgres(work / "pg")
    processes: dict[str, subprocess.Popen] = {}
    try:
        envs, ports, url, initial_ingest_s = start_all(work, corpus, pairs, pg_url, processes)
        pids = {**{name: p.pid for name, p in processes.items()},
                "postgres": int((pg_data / "postmaster.pid").read_text().split()[0])}
        sampler = Sampler(pids, sample_every)
        questions = [q for q, _ in pairs]
        rng.shuffle(questions)
        customers = Customers([url], questions, sessions, think=(2.0, 6.0))
        t0 = time.time()
        sampler.start()
        customers.start()
        events = churn(t0, minutes, every, corpus, rng, envs, ports)
        customers.stop()
        sampler.stop()
        res = summarise(customers.log, events, sessions, minutes, initial_ingest_s,
                        sampler.samples)
        return {**res, "sample_every_s": sample_every}
    finally:
        for proc in reversed(list(processes.values())):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(pg_data), "-m", "fast",
                        "-w", "stop"], capture_output=True, timeout=120)


def start_all(work: Path, corpus: Path, pairs: list[tuple[str, str]], pg_url: str,
              processes: dict[str, subprocess.Popen]) -> tuple[list[dict], list[int], str, float]:
    """The chroma server, the first ingest, three warmed `lotse serve` processes and nginx
    (added to ``processes`` as they start); returns the processes' environments, their
    ports, nginx's URL and how long the first ingest took."""
    chroma_port = free_port()
    processes["chroma"] = start_chroma(work / "chroma", chroma_port)
    base_env = {**os.environ,
                "LOTSE_AUTH__CUSTOMER_TOKENS": json.dumps([CUSTOMER]),
                "LOTSE_AUTH__ADMIN_TOKENS": json.dumps([ADMIN]),
                "LOTSE_SERVER__INGEST_ROOTS": json.dumps([str(corpus)]),
                # all simulated customers share 127.0.0.1; per-session limits stay as set
                "LOTSE_SERVER__CLIENT_MESSAGES_PER_MINUTE": "1000000",
                "LOTSE_STORE__REFRESH_SECONDS": str(REFRESH_SECONDS),
                "LOTSE_STORE__MODE": "http", "LOTSE_STORE__HOST": "127.0.0.1",
                "LOTSE_STORE__PORT": str(chroma_port), "LOTSE_STATE__URL": pg_url}
    envs = [{**base_env, "LOTSE_HOME": str(work / f"home-{n}")} for n in NAMES]
    started = time.monotonic()
    first = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(corpus)],
                           env=envs[0], cwd=REPO, capture_output=True, text=True)
    if first.returncode != 0:
        raise RuntimeError(first.stderr)
    initial_ingest_s = time.monotonic() - started
    ports = [free_port() for _ in NAMES]
    for name, env, port in zip(NAMES, envs, ports):
        processes[name] = start_serve(env, port, work / f"lotse-{name}.log")
    processes["nginx"], url = start_nginx(work / "nginx", ports)
    for port in ports:  # warm every instance: indexes, caches
        for q, _ in pairs[:5]:
            httpx.post(f"http://127.0.0.1:{port}/v1/chat", json={"message": q}, timeout=120,
                       headers={"Authorization": f"Bearer {CUSTOMER}"})
    return envs, ports, url, initial_ingest_s


def churn(t0: float, minutes: float, every: float, corpus: Path, rng: random.Random,
          envs: list[dict], ports: list[int]) -> list[Event]:
    """Until ``minutes`` after ``t0``: every ``every`` seconds change the corpus and
    re-ingest it through the next process in turn; halfway, one rollback. Returns the
    events, the first ingest (before ``t0``) first."""
    events = [Event("ingest", 0, t0, t0, frozenset())]
    generations: list[frozenset[str]] = [frozenset()]  # absent sources per generation
    deadline, halfway = t0 + 60 * minutes, t0 + 30 * minutes
    cycle, rolled_back = 0, False
    all_deleted: set[str] = set()
    while True:
        next_at = t0 + every * (cycle + 1)
        if next_at >= deadline:
            break
        time.sleep(max(0.0, next_at - time.time()))
        cycle += 1
        instance = (cycle - 1) % len(NAMES)
        deleted, changed = change_corpus(corpus, rng, cycle)
        all_deleted |= deleted
        absent = frozenset(all_deleted)  # an ingest publishes the folder as it is now
        began = time.time()
        r = httpx.post(f"http://127.0.0.1:{ports[instance]}/v1/ingest", timeout=1800,
                       headers={"Authorization": f"Bearer {ADMIN}"},
                       json={"paths": [str(corpus)]})
        r.raise_for_status()
        report = r.json()
        generations.append(absent)
        events.append(Event("ingest", instance, began, time.time(), absent,
                            {"changed": changed, "deleted": len(deleted),
                             "chunks_embedded": report.get("chunks_embedded"),
                             "generation": report.get("generation")}))
        if not rolled_back and time.time() + every / 2 >= halfway and len(generations) > 1:
            time.sleep(max(0.0, halfway - time.time()))
            instance = cycle % len(NAMES)
            began = time.time()
            back = subprocess.run([sys.executable, "-m", "bot.cli", "rollback"],
                                  env=envs[instance], cwd=REPO, capture_output=True, text=True)
            if back.returncode != 0:
                raise RuntimeError(f"rollback failed: {back.stderr}")
            generations.append(generations[-2])
            events.append(Event("rollback", instance, began, time.time(), generations[-1],
                                {"output": back.stdout.strip()[-200:]}))
            rolled_back = True
    time.sleep(max(0.0, deadline - time.time()))
    return events


def summarise(log: list[Request], events: list[Event], sessions: int, minutes: float,
              initial_ingest_s: float, samples: list[dict]) -> dict:
    ingests = [e for e in events[1:] if e.kind == "ingest"]

    def during(r: Request) -> bool:
        return any(e.started <= r.started <= e.ended for e in ingests)

    stale, checked, in_window = [], 0, 0
    for r in log:
        live = max((e for e in events if e.ended <= r.started), key=lambda e: e.ended,
                   default=None)
        if live is None:
            continue
        cites_absent = bool(set(r.sources) & live.absent)
        if r.started > live.ended + REFRESH_SECONDS:
            checked += 1
            if cites_absent:
                stale.append(r)
        elif cites_absent:
            in_window += 1
    # The check can fail: answers given while a document was still live do cite it.
    ever_absent = frozenset().union(*(e.absent for e in events))
    cited_while_live = sum(bool(set(r.sources) & ever_absent) and r.started < events[1].started
                           for r in log) if len(events) > 1 else 0
    return {
        "sessions": sessions, "minutes": minutes, "processes": len(NAMES),
        "cited_later_deleted_before_first_flip": cited_while_live,
        "initial_ingest_s": round(initial_ingest_s, 1),
        "all": _latency(log),
        "outside_reingests": _latency([r for r in log if not during(r)]),
        "during_reingests": _latency([r for r in log if during(r)]),
        "failures": sorted({r.error for r in log if r.status != 200})[:5],
        "stale_citations": len(stale), "checked_for_stale": checked,
        "absent_cited_inside_refresh_window": in_window, "refresh_seconds": REFRESH_SECONDS,
        "events": [{"kind": e.kind, "through": NAMES[e.instance],
                    "at_s": round(e.started - events[0].started, 1),
                    "took_s": round(e.ended - e.started, 1), "absent": len(e.absent), **e.detail}
                   for e in events[1:]],
        "rss_mb": memory(samples, 60 * minutes,
                         [k for k in (samples[0] if samples else {}) if k != "t_s"]),
        "rss_samples": samples,
    }


def print_table(res: dict, date: str, machine: str) -> None:
    print(f"\nSoak, {res['minutes']:g} min, {res['sessions']} sessions through nginx to "
          f"{res['processes']} Lotse processes, chroma server, PostgreSQL ({machine}, {date})")
    print("| phase | requests | failed | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for phase in ("all", "outside_reingests", "during_reingests"):
        row = res[phase]
        print(f"| {phase.replace('_', ' ')} | {row['requests']} | {row['failed']} | "
              f"{row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    print(f"\nAnswers citing a document absent from the live generation, from "
          f"{res['refresh_seconds']:g} s after each flip: {res['stale_citations']} of "
          f"{res['checked_for_stale']} (inside the window: "
          f"{res['absent_cited_inside_refresh_window']}); before the first re-ingest, "
          f"{res['cited_later_deleted_before_first_flip']} answers cited documents deleted later")
    print("\n| event | through | at s | took s | documents absent after |")
    print("|---|---|---|---|---|")
    for e in res["events"]:
        print(f"| {e['kind']} | {e['through']} | {e['at_s']} | {e['took_s']} | {e['absent']} |")
    print_memory(res)


LABELS = {"A": "Lotse A", "B": "Lotse B", "C": "Lotse C", "chroma": "chroma server",
          "postgres": "PostgreSQL (postmaster)", "nginx": "nginx"}


def print_memory(res: dict) -> None:
    """RSS at the start, halfway and the end, and the growth in each half, per process."""
    half = res["minutes"] / 2
    print(f"\nRSS in MB (at {half:g} and {res['minutes']:g} min: median of the samples "
          f"in the minute before; sampled every {res.get('sample_every_s', 30):g} s)")
    print(f"| process | start | {half:g} min | {res['minutes']:g} min | max | "
          f"growth 1st half | growth 2nd half |")
    print("|---|---|---|---|---|---|---|")
    for name, r in res["rss_mb"].items():
        print(f"| {LABELS.get(name, name)} | {r['start']} | {r['half']} | {r['end']} | "
              f"{r['max']} | {_signed(r['first_half_growth'])} | "
              f"{_signed(r['second_half_growth'])} |")
    verdict = res.get("growth_check")
    if verdict:
        print(f"\nLotse processes' growth in the second half: at most "
              f"{verdict['max_growth_mb']:g} MB each: {'met' if verdict['met'] else 'NOT met'} "
              f"(largest {_signed(verdict['largest'])} MB)")


def _signed(mb: float | None) -> str:
    return "–" if mb is None else f"{mb:+.1f}"


def growth_check(res: dict, limit_mb: float) -> dict:
    """Did every Lotse process grow by at most ``limit_mb`` in the second half?"""
    growth = [r["second_half_growth"] for name, r in res["rss_mb"].items() if name in NAMES]
    known = [g for g in growth if g is not None]
    return {"max_growth_mb": limit_mb, "largest": max(known) if known else None,
            "met": bool(known) and len(known) == len(growth) and max(known) <= limit_mb}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--reingest-every", type=float, default=300.0, help="seconds")
    ap.add_argument("--sample-every", type=float, default=30.0,
                    help="seconds between RSS samples")
    ap.add_argument("--max-growth-mb", type=float, default=15.0,
                    help="the most a Lotse process may grow in the second half")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a Lotse process grew more than --max-growth-mb in the "
                         "second half, or a request failed, or an answer cited a stale source")
    ap.add_argument("--xquad", type=Path, default=XQUAD)
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "soak.json")
    args = ap.parse_args(argv)
    if xquad_missing(args.xquad):
        return 0
    # A `kill` must stop the servers and the PostgreSQL cluster too (run's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    missing = [p for p in (PG_BIN / "initdb", Path("/usr/sbin/nginx")) if not p.exists()]
    if missing:
        print(f"SKIPPED: {', '.join(map(str, missing))} not found; `make soak` installs "
              "postgresql-15 and nginx.")
        return 0
    with tempfile.TemporaryDirectory(prefix="lotse-soak-") as tmp:
        os.chmod(tmp, 0o755)  # the postgres user and nginx's workers reach their folders
        res = run(args.minutes, args.sessions, args.reingest_every, Path(tmp), args.xquad,
                  args.sample_every)
    res["growth_check"] = growth_check(res, args.max_growth_mb)
    date, machine = time.strftime("%Y-%m-%d"), f"{platform.machine()}, {os.cpu_count()} cores"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    print_table(res, date, machine)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"date": date, "machine": machine, "commit": commit,
                                     "command": " ".join(["python -m bench.soak",
                                                          *(argv or sys.argv[1:])]).strip(),
                                     **res}, indent=2, ensure_ascii=False))
    print(f"\nwritten to {args.json}")
    failed = (not res["growth_check"]["met"] or res["all"]["failed"]
              or res["stale_citations"])
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
