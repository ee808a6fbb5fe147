"""How long an agent's reply takes to reach the customer: in the web chat and by e-mail.

    python -m bench.reply_latency [--runs 5] [--json bench/results/reply_latency.json]

Starts a real ``lotse serve`` (team out of hours, e-mail to a local aiosmtpd server) on
``docs_corpus``, opens the customer chat in headless Debian chromium, and for each run
opens a ticket, leaves an e-mail address, sends the agent's reply over REST and times
(1) until the reply shows in the customer's browser (the chat page polls every 2 s) and
(2) until the SMTP server has the message. Prints a table and writes JSON. Skips with a
message when chromium is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

from bench.servers import smtp_server, start_lotse_serve

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LOTSE_CHROMIUM", "/usr/bin/chromium")


def _wait(predicate, timeout: float = 60.0, step: float = 0.02) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError("gave up waiting")
        time.sleep(step)
    return time.monotonic() - started


def run(runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="lotse-reply-bench-"))
    with smtp_server() as smtp, sync_playwright() as p:
        env = {**os.environ, "LOTSE_HOME": str(home), "LOTSE_HOURS__WEEKLY": "{}",
               "LOTSE_MAIL__HOST": "127.0.0.1", "LOTSE_MAIL__PORT": str(smtp["port"]),
               "LOTSE_MAIL__SECURITY": "none"}
        subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(REPO / "docs_corpus")],
                       env=env, check=True, capture_output=True, cwd=REPO)
        proc, url, banner = start_lotse_serve(env)
        agent = {"Authorization": "Bearer " + re.search(r"REST token \(agent\): (\S+)",
                                                          banner).group(1)}
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        to_chat, to_mail = [], []
        try:
            for i in range(runs):
                page = browser.new_context(locale="de-DE").new_page()
                page.goto(url + "/")
                page.wait_for_selector("#question textarea", timeout=60_000)
                for text, expect in ((f"Ich möchte mit einem Mitarbeiter sprechen ({i})",
                                      "nicht erreichbar"), (f"kunde{i}@example.org", "…@example.org")):
                    page.fill("#question textarea", text)
                    page.click("#send")
                    page.wait_for_function(f"document.querySelector('#chat').innerText"
                                           f".includes({expect!r})", timeout=60_000)
                ticket = next(t for t in httpx.get(f"{url}/v1/handoffs", headers=agent).json()
                              if f"({i})" in " ".join(m["text"] for m in t["transcript"]))
                marker = f"Antwort Nummer {i} ist da."
                mails = len(smtp["received"])
                started = time.monotonic()
                httpx.post(f"{url}/v1/handoffs/{ticket['id']}/reply", headers=agent,
                           json={"text": marker}, timeout=60)
                mailed = time.monotonic() - started
                if len(smtp["received"]) <= mails:
                    mailed += _wait(lambda: len(smtp["received"]) > mails)
                page.wait_for_function(f"document.querySelector('#chat').innerText"
                                       f".includes({marker!r})", timeout=60_000, polling=20)
                to_chat.append(time.monotonic() - started)
                to_mail.append(mailed)
                page.context.close()
        finally:
            browser.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            shutil.rmtree(home, ignore_errors=True)
    return {"date": date.today().isoformat(), "machine": f"{platform.machine()}, "
            f"{os.cpu_count()} cores", "runs": runs,
            "chat_s": {"median": statistics.median(to_chat), "max": max(to_chat)},
            "email_s": {"median": statistics.median(to_mail), "max": max(to_mail)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=REPO / "bench/results/reply_latency.json")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"skipped: Debian chromium not found at {CHROMIUM} (make system-deps)")
        return 0
    result = run(args.runs)
    print(f"agent reply → customer, {result['runs']} runs, {result['date']}, {result['machine']}")
    print("| path | median s | max s |\n|---|---|---|")
    for name, key in (("web chat (page polls every 2 s)", "chat_s"), ("e-mail (SMTP)", "email_s")):
        print(f"| {name} | {result[key]['median']:.2f} | {result[key]['max']:.2f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
