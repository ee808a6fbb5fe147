"""Answer latency through each channel: REST, the OpenAI endpoint, the widget, e-mail.

    python -m bench.channels [--runs 20] [--poll 5] [--json bench/results/channels.json]

Starts a real ``lotse serve`` on ``docs_corpus`` with a real mailbox (Debian's dovecot,
IMAP) and a real SMTP server (aiosmtpd), and a shop page on a second origin that embeds
the widget. Each run asks one answerable gold question (German and English, cycled) on
every channel and times it from the customer's side:

- REST: ``POST /v1/chat`` until the JSON answer is in;
- OpenAI: ``chat.completions.create`` with the ``openai`` client, whole and streamed
  (first chunk, and the last);
- widget: in headless Debian chromium, the click on "send" until the final answer shows
  (with its thumbs, which come with the stored answer);
- e-mail: the time Lotse takes from fetching a message to the SMTP server accepting its
  reply ("poll to reply", from the KPIs), and from the message landing in the mailbox
  to the reply (which adds the wait for the next look, ``mailbox.poll_seconds``).

Prints a table and writes JSON. Skips with a message when chromium or dovecot is missing.
"""

from __future__ import annotations

import argparse
import imaplib
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
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import httpx

from bench.servers import (
    DOVECOT,
    free_port,
    imap_server,
    smtp_server,
    start_lotse_serve,
    uvicorn_thread,
)

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LOTSE_CHROMIUM", "/usr/bin/chromium")
GOLD = REPO / "docs_corpus/eval/gold.jsonl"


def questions() -> list[str]:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows if r["kind"] == "answerable" and r["role"] == "customer"
            and not r.get("history")]


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(values), "p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]}


def _wait(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(0.01)


def _shop(lotse_url: str, token: str):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    page = (f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Shop</title>'
            f'</head><body><h1>Shop</h1><script src="{lotse_url}/widget.js" '
            f'data-token="{token}" defer></script></body></html>')
    return Starlette(routes=[Route("/", lambda request: HTMLResponse(page))])


def run(runs: int, poll: float) -> dict:
    from openai import OpenAI
    from playwright.sync_api import sync_playwright

    asked = questions()
    home = Path(tempfile.mkdtemp(prefix="lotse-channels-bench-"))
    shop_port = free_port()
    times: dict[str, list[float]] = {k: [] for k in (
        "rest", "openai", "openai_stream_first", "openai_stream_last", "widget", "email_arrival")}
    with imap_server() as imap, smtp_server() as smtp, sync_playwright() as p:
        env = {**os.environ, "LOTSE_HOME": str(home),
               "LOTSE_MAIL__HOST": "127.0.0.1", "LOTSE_MAIL__PORT": str(smtp["port"]),
               "LOTSE_MAIL__SECURITY": "none", "LOTSE_MAIL__SENDER": "service@bergpfad.example",
               "LOTSE_MAILBOX__HOST": imap["host"], "LOTSE_MAILBOX__PORT": str(imap["port"]),
               "LOTSE_MAILBOX__SECURITY": "none", "LOTSE_MAILBOX__USERNAME": imap["user"],
               "LOTSE_MAILBOX__PASSWORD": imap["password"],
               "LOTSE_MAILBOX__POLL_SECONDS": str(poll),
               "LOTSE_SERVER__WIDGET_ORIGINS": json.dumps([f"http://127.0.0.1:{shop_port}"]),
               # One customer asking 6 questions a run for many runs: no rate limit here.
               "LOTSE_SERVER__MESSAGES_PER_MINUTE": "10000",
               "LOTSE_SERVER__CLIENT_MESSAGES_PER_MINUTE": "10000"}
        subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(REPO / "docs_corpus")],
                       env=env, check=True, capture_output=True, cwd=REPO)
        proc, url, banner = start_lotse_serve(env)
        tokens = dict(re.findall(r"REST token \((\w+)\): (\S+)", banner))
        customer = {"Authorization": f"Bearer {tokens['customer']}"}
        client = OpenAI(base_url=f"{url}/v1", api_key=tokens["customer"])
        mailbox = imaplib.IMAP4(imap["host"], imap["port"])
        mailbox.login(imap["user"], imap["password"])
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            with uvicorn_thread(_shop(url, tokens["customer"]), port=shop_port) as shop_url:
                for i in range(runs):
                    question = asked[i % len(asked)]
                    started = time.perf_counter()
                    httpx.post(f"{url}/v1/chat", json={"message": question}, headers=customer,
                               timeout=60).raise_for_status()
                    times["rest"].append(time.perf_counter() - started)

                    started = time.perf_counter()
                    client.chat.completions.create(
                        model="lotse", messages=[{"role": "user", "content": question}])
                    times["openai"].append(time.perf_counter() - started)
                    started, first = time.perf_counter(), None
                    for _chunk in client.chat.completions.create(
                            model="lotse", stream=True,
                            messages=[{"role": "user", "content": question}]):
                        first = first or time.perf_counter() - started
                    times["openai_stream_first"].append(first)
                    times["openai_stream_last"].append(time.perf_counter() - started)

                    page = browser.new_context(locale="de-DE").new_page()
                    page.goto(shop_url)
                    widget = page.locator("div[data-lotse-widget]")
                    widget.locator(".bubble").click()
                    widget.locator("input").fill(question)
                    started = time.perf_counter()
                    widget.locator(".send").click()
                    widget.locator(".msg.bot .thumbs").first.wait_for(timeout=60_000)
                    times["widget"].append(time.perf_counter() - started)
                    page.context.close()

                    message = EmailMessage()
                    message["From"] = f"kunde{i}@example.de"
                    message["To"] = "service@bergpfad.example"
                    message["Subject"] = "Frage"
                    message["Message-ID"] = make_msgid(domain="example.de")
                    message.set_content(question)
                    replies = len(smtp["received"])
                    started = time.perf_counter()
                    mailbox.append("INBOX", None, imaplib.Time2Internaldate(time.time()),
                                   message.as_bytes())
                    _wait(lambda n=replies: len(smtp["received"]) > n)
                    times["email_arrival"].append(time.perf_counter() - started)
            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            kpis = httpx.get(f"{url}/v1/kpis", headers=admin, timeout=60).json()["email"]
        finally:
            browser.close()
            mailbox.logout()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            shutil.rmtree(home, ignore_errors=True)
    result = {"date": date.today().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "runs": runs, "poll_seconds": poll,
              "channels": {k: _percentiles(v) for k, v in times.items()},
              "email_poll_to_reply": {"n": kpis["answered"] + kpis["handed_off"],
                                      "p50_ms": kpis["reply_p50_ms"], "p95_ms": kpis["reply_p95_ms"]}}
    return result


ROWS = (("REST `POST /v1/chat`", "rest"), ("OpenAI endpoint, whole answer", "openai"),
        ("OpenAI endpoint, streamed: first chunk", "openai_stream_first"),
        ("OpenAI endpoint, streamed: last chunk", "openai_stream_last"),
        ("widget in chromium, click to final answer shown", "widget"),
        ("e-mail, landed in the mailbox to reply at the SMTP server", "email_arrival"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll", type=float, default=5.0, help="mailbox.poll_seconds")
    parser.add_argument("--json", type=Path, default=REPO / "bench/results/channels.json")
    args = parser.parse_args(argv)
    for needed, package in ((Path(CHROMIUM), "chromium"), (DOVECOT, "dovecot-imapd")):
        if not needed.exists():
            print(f"skipped: {needed} not found (make system-deps installs {package})")
            return 0
    result = run(args.runs, args.poll)
    print(f"answer latency by channel, {result['runs']} questions, {result['date']}, "
          f"{result['machine']}, mailbox.poll_seconds {result['poll_seconds']:g}")
    print("| channel | p50 ms | p95 ms |\n|---|---|---|")
    for name, key in ROWS:
        row = result["channels"][key]
        print(f"| {name} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} |")
    row = result["email_poll_to_reply"]
    print(f"| e-mail, poll to reply (Lotse's part) | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
