"""What one hostile request costs a running `lotse serve`: CPU for repetitive and long
input, memory for oversized request heads, open connections for trickled ones.

    python -m bench.amplification [--before REF] [--runs 3] [--json bench/results/amplification.json]

Ingests ``docs_corpus`` with the default embedder and starts `lotse serve` from this
checkout, and with ``--before`` also from ``git archive REF`` (the code before a change),
each in a home of its own with the chat rate limits raised so that only cost is measured.
Then, one server at a time:

- **CPU**: each request of a case sent ``--runs`` times, one after the other; the server's
  CPU time (user + system, all threads, from /proc) per request, the median. The cases are
  the outside test's (a plain question, a 4,000-character "Versand …" message over
  /v1/chat, 60 such messages as history on the OpenAI route) and shapes that reached
  quadratic or worse code: 600 distinct made-up words, one 4,000-letter word, "a-" × 2,000.
  A case that costs more than 10 s is run once; a request that takes longer than
  ``--timeout`` is reported as such (its thread may go on burning CPU, and holding the
  GIL, so the cases are ordered by what they cost before the fix).
- **heads**: six connections without a token each send 50 MB of request headers at once;
  the server's RSS growth and what each got back.
- **trickle**: 100 connections send a header byte every half second; how many are still
  open 2 s after ``server.header_timeout_seconds``.

Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench.servers import start_lotse_serve, stop

REPO = Path(__file__).resolve().parents[1]
REPEATED = " ".join(["Versand"] * 500)[:4000]
_RNG = random.Random(7)
GIBBERISH = " ".join("".join(_RNG.choices("abcdefghijklmnopqrstuvwxyz", k=_RNG.randint(4, 9)))
                     for _ in range(600))[:4000]
PLAIN = "Wie lange dauert der Versand?"
# (name, route, payload); the last one may never finish on code without the fix.
CASES = [
    ("plain question", "chat", PLAIN),
    ("plain question (OpenAI route)", "openai", [PLAIN]),
    ('"Versand " x 500 (4,000 chars)', "chat", REPEATED),
    ("60 x that as OpenAI history + a question", "openai", [REPEATED] * 60 + ["Wie lange dauert das?"]),
    ("600 distinct made-up words", "chat", GIBBERISH),
    ('one 4,000-letter word ("ä" x 4000)', "chat", "ä" * 4000),
    ('"a-" x 2000', "chat", "a-" * 2000),
]
HEAD_CONNECTIONS, HEAD_MB = 6, 50
TRICKLERS = 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _send(url: str, token: str, route: str, payload, timeout: float) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if route == "chat":
        return httpx.post(f"{url}/v1/chat", json={"message": payload}, headers=headers,
                          timeout=timeout).status_code
    messages = [{"role": "user", "content": m} for m in payload]
    return httpx.post(f"{url}/v1/chat/completions", json={"model": "lotse", "messages": messages},
                      headers=headers, timeout=timeout).status_code


def measure_cpu(server: dict, runs: int, timeout: float) -> list[dict]:
    """Server CPU seconds per request for every case (median of ``runs``)."""
    for name, route, payload in CASES[:2]:  # warm-up: each route once
        _send(server["url"], server["token"], route, payload, timeout)
    rows = []
    for name, route, payload in CASES:
        cpu, wall, statuses = [], [], []
        for _ in range(runs):
            before, started = cpu_seconds(server["pid"]), time.monotonic()
            try:
                statuses.append(_send(server["url"], server["token"], route, payload, timeout))
            except httpx.TimeoutException:
                statuses.append("timeout")
            wall.append(time.monotonic() - started)
            cpu.append(cpu_seconds(server["pid"]) - before)
            if statuses[-1] == "timeout":
                break  # the thread goes on; more runs would only pile up
            if cpu[-1] > 10:
                break  # one run of a case this costly says enough
        rows.append({"case": name, "cpu_s": round(statistics.median(cpu), 3),
                     "wall_s": round(statistics.median(wall), 3), "status": statuses[-1],
                     "rss_after_mb": round(rss_mb(server["pid"]))})
        print(f"  {name}: {rows[-1]}", flush=True)
    return rows


def _flood_head(url: str, total: int, out: list) -> None:
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=60)
    sent, answer = 0, b""
    try:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: lotse\r\n")
        line = b"X-Padding: " + b"a" * 8180 + b"\r\n"
        while sent < total:
            sock.sendall(line)
            sent += len(line)
            if select.select([sock], [], [], 0)[0]:
                break
        sock.sendall(b"\r\n")
    except OSError:
        pass
    try:
        sock.settimeout(10)
        answer = sock.recv(100)
    except OSError:
        pass
    sock.close()
    out.append({"sent_mb": round(sent / 2**20, 1), "answer": answer.split(b"\r\n")[0].decode()})


def measure_heads(server: dict) -> dict:
    """RSS growth while six connections without a token send 50 MB of headers each."""
    before, peak, results = rss_mb(server["pid"]), 0.0, []
    threads = [threading.Thread(target=_flood_head, args=(server["url"], HEAD_MB * 2**20, results))
               for _ in range(HEAD_CONNECTIONS)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mb(server["pid"]))
        time.sleep(0.05)
    peak = max(peak, rss_mb(server["pid"]))
    answers = sorted({r["answer"] or "(nothing)" for r in results})
    return {"rss_before_mb": round(before), "rss_peak_mb": round(peak),
            "grown_mb": round(peak - before, 1), "answers": answers,
            "sent_mb": [r["sent_mb"] for r in results]}


def measure_trickle(server: dict, header_timeout: float) -> dict:
    """How many of 100 trickling connections are still open 2 s after the header timeout."""
    parsed = urlparse(server["url"])
    socks = [socket.create_connection((parsed.hostname, parsed.port), timeout=10)
             for _ in range(TRICKLERS)]
    for sock in socks:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: lotse\r\n")
    live, started = set(socks), time.monotonic()
    while live and time.monotonic() - started < header_timeout + 2:
        for sock in list(live):
            try:
                sock.sendall(b"X")
            except OSError:
                live.discard(sock)
        readable, _, _ = select.select(list(live), [], [], 0.5)
        live -= set(readable)  # answered or closed
    for sock in socks:
        sock.close()
    return {"connections": TRICKLERS, "open_after_s": round(header_timeout + 2, 1),
            "still_open": len(live)}


def start(code: Path, home: Path) -> tuple[object, dict]:
    env = {**os.environ, "LOTSE_HOME": str(home), "PYTHONPATH": str(code),
           "LOTSE_SERVER__MESSAGES_PER_MINUTE": "100000",
           "LOTSE_SERVER__CLIENT_MESSAGES_PER_MINUTE": "100000"}
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(code / "docs_corpus")],
                   env=env, check=True, capture_output=True, cwd=code)
    proc, url, banner = start_lotse_serve(env, code=code)
    token = banner.split("REST token (customer): ", 1)[1].split()[0]
    return proc, {"url": url, "pid": proc.pid, "token": token}


def checkout(ref: str, into: Path) -> Path:
    """The tree of ``ref`` as files (``git archive``), to run the code before a change."""
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, check=True, capture_output=True)
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def run(before: str | None, runs: int, timeout: float) -> dict:
    from kb.settings import ServerSettings

    header_timeout = ServerSettings().header_timeout_seconds
    work = Path(tempfile.mkdtemp(prefix="lotse-amplification-"))
    versions = [("after", REPO)]
    if before:
        versions.insert(0, ("before", checkout(before, work / "before-code")))
    out: dict = {}
    for label, code in versions:
        print(f"{label}: {code}", flush=True)
        proc, server = start(code, work / f"{label}-home")
        try:
            # Heads and trickle first: on code without the fix, the last CPU case holds
            # the GIL for good, and the server answers nothing after it.
            heads = measure_heads(server)
            trickle = measure_trickle(server, header_timeout)
            out[label] = {"cpu": measure_cpu(server, runs, timeout), "heads": heads,
                          "trickle": trickle}
            print(f"  heads: {out[label]['heads']}\n  trickle: {out[label]['trickle']}",
                  flush=True)
        finally:
            stop(proc)
    return out


def table(result: dict) -> str:
    labels = [k for k in ("before", "after") if k in result]
    head = "| case | " + " | ".join(f"{k}: CPU s (RSS MB after)" for k in labels) + " |"
    lines = [head, "|---" * (len(labels) + 1) + "|"]
    for i, row in enumerate(result[labels[-1]]["cpu"]):
        cells = []
        for k in labels:
            r = result[k]["cpu"][i]
            cells.append(f"{r['cpu_s']:.2f} ({r['rss_after_mb']})"
                         + ("" if r["status"] == 200 else f", {r['status']}"))
        lines.append(f"| {row['case']} | " + " | ".join(cells) + " |")
    for k in labels:
        h, t = result[k]["heads"], result[k]["trickle"]
        lines.append(f"\n{k}: {HEAD_CONNECTIONS} x {HEAD_MB} MB of headers without a token: RSS "
                     f"{h['rss_before_mb']} -> peak {h['rss_peak_mb']} MB, answers {h['answers']}; "
                     f"{t['still_open']} of {t['connections']} trickling connections open after "
                     f"{t['open_after_s']} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="a git ref to compare with (its code runs as 'before')")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    parser.add_argument("--json", type=Path, default=REPO / "bench/results/amplification.json")
    args = parser.parse_args(argv)
    result = run(args.before, args.runs, args.timeout)
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    after = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    args.json.write_text(json.dumps({
        "date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "before_ref": args.before, "after_ref": after, "runs": args.runs, **result},
        indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
