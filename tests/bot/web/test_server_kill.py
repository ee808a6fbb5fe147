"""kill -9 of `lotse serve` in the middle of an admin's ingest and in the middle of
conversation writes.

After a restart every acknowledged conversation, ticket and feedback is in the
database, the store answers from the last published generation, and the next
ingest completes. Real processes, real SIGKILL, the offline default embedder.
(tests/ingest/test_crash_safety.py kills a bare ingest with a fake embedder.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bench.servers import start_lotse_serve

REPO = Path(__file__).resolve().parents[3]
TOPICS = ["Zelt", "Rucksack", "Schlafsack", "Stirnlampe", "Wanderschuh", "Regenjacke"]


def _lotse(env: dict, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


def _extra_docs(folder: Path, n: int) -> None:
    """Enough new text that embedding it takes seconds, so a kill lands inside the write."""
    folder.mkdir(parents=True)
    for i in range(n):
        topic = f"{TOPICS[i % len(TOPICS)]} Nordlicht{i}"
        body = "\n\n".join(
            f"## Abschnitt {j}\nDas Modell {topic}-{j} wiegt {i + j} Gramm und kostet "
            f"{10 + i} Euro. Es ist in {j + 2} Farben erhältlich und wird in Werk {i % 7} gebaut. "
            f"Pflegehinweis {j}: nur mit lauwarmem Wasser reinigen." for j in range(4))
        (folder / f"modell-{i:03d}.md").write_text(
            f"---\ntitle: {topic} Modell {i}\naudience: public\n---\n# {topic} Modell {i}\n\n{body}\n")


@pytest.fixture
def home(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "docs_corpus", corpus, ignore=shutil.ignore_patterns("eval"))
    env = {**os.environ, "LOTSE_HOME": str(tmp_path / "home"),
           "LOTSE_SERVER__CLIENT_MESSAGES_PER_MINUTE": "100000",
           "LOTSE_SERVER__INGEST_ROOTS": json.dumps([str(corpus)])}
    first = _lotse(env, "ingest", str(corpus))
    assert first.wait(timeout=300) == 0, first.stderr.read()
    return {"env": env, "corpus": corpus, "home": tmp_path / "home"}


def _unfinished(store_dir: Path) -> list[Path]:
    return [p for p in store_dir.glob("gen-*") if not (p / "generation.json").exists()]


def test_kill_during_an_admin_ingest_keeps_the_published_generation_and_the_next_completes(home):
    store_dir = home["home"] / "store"
    before = (store_dir / "CURRENT").read_text()
    proc, url, banner = start_lotse_serve(home["env"])
    tokens = dict(re.findall(r"REST token \((\w+)\): (\S+)", banner))
    customer = {"Authorization": f"Bearer {tokens['customer']}"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    acked = httpx.post(f"{url}/v1/chat", headers=customer, timeout=30, json={
        "message": "Was kostet der Expressversand?"}).json()
    sid = acked["session_id"]
    owner = {**customer, "X-Session-Secret": acked["session_secret"]}
    _extra_docs(home["corpus"] / "modelle", 150)

    ingest = threading.Thread(target=lambda: _quietly(httpx.post, f"{url}/v1/ingest",
                                                       headers=admin, timeout=300,
                                                       json={"paths": [str(home["corpus"])]}))
    ingest.start()
    deadline = time.monotonic() + 120
    # The writer's folder appears when the new generation is begun, before any embedding.
    while not _unfinished(store_dir):
        assert proc.poll() is None and time.monotonic() < deadline, "no ingest began"
        time.sleep(0.05)
    # Well inside embedding and writing: records have reached the new generation's files.
    while sum(f.stat().st_size for g in _unfinished(store_dir) for f in g.rglob("*")
              if f.is_file()) < 200_000:
        assert proc.poll() is None and time.monotonic() < deadline, "nothing was written"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    ingest.join(timeout=30)
    assert (store_dir / "CURRENT").read_text() == before

    proc, url, banner = start_lotse_serve(home["env"])
    try:
        assert httpx.get(f"{url}/healthz").json()["generation"] == before
        reply = httpx.post(f"{url}/v1/chat", headers=owner, timeout=30, json={
            "session_id": sid, "message": "Wie lange habe ich Zeit für eine Rücksendung?"})
        assert reply.status_code == 200 and "30 Tagen" in reply.json()["answer"]
        report = httpx.post(f"{url}/v1/ingest", headers=admin, timeout=600,
                            json={"paths": [str(home["corpus"])]}).json()
        assert report["published"] and report["added"] == 150 and report["failed"] == 0
        assert httpx.get(f"{url}/healthz").json()["generation"] == report["generation"]
        new = httpx.post(f"{url}/v1/chat", headers=customer, timeout=30, json={
            "message": "In wie vielen Farben gibt es das Zelt Nordlicht42?"}).json()
        assert "modelle/modell-042.md" in [c["source"] for c in new["citations"]]
        assert _unfinished(store_dir) == []  # the killed writer's folder was pruned
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    with sqlite3.connect(home["home"] / "state.db") as db:
        texts = [r[0] for r in db.execute(
            "SELECT text FROM messages WHERE session_id = ? ORDER BY id", (sid,))]
    assert texts[0] == "Was kostet der Expressversand?" and texts[1] == acked["answer"]


def _quietly(call, *args, **kw) -> None:
    """The request whose server gets killed: its failure is the point, not an error."""
    try:
        call(*args, **kw)
    except httpx.HTTPError:
        pass


def test_kill_during_conversation_writes_loses_nothing_acknowledged(home):
    proc, url, banner = start_lotse_serve(home["env"])
    token = banner.split("REST token (customer): ")[1].split()[0]
    headers = {"Authorization": f"Bearer {token}"}
    acked = {"messages": [], "tickets": [], "feedback": []}
    lock = threading.Lock()
    stop = threading.Event()

    def customer(worker: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for turn in range(10_000):
                if stop.is_set():
                    return
                try:
                    reply = client.post("/v1/chat", json={
                        "message": "Das ist eine Frechheit, ich will sofort einen Menschen "
                                   "sprechen! Meine Mail ist kunde@example.de"}).json()
                    sid = reply["session_id"]
                    with lock:
                        acked["messages"].append(reply["message_id"])
                        acked["tickets"].append(reply["ticket"])
                    fb = client.post("/v1/feedback", headers={
                        "X-Session-Secret": reply["session_secret"]}, json={
                        "session_id": sid, "rating": -1, "message_id": reply["message_id"],
                        "comment": f"Kommentar {worker}-{turn}"}).json()
                    with lock:
                        acked["feedback"].append(fb["feedback_id"])
                except (httpx.TransportError, KeyError, ValueError):
                    return  # the server is gone: what was not acknowledged may be lost

    threads = [threading.Thread(target=customer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    # Killed while the customers are busy: after some of everything was acknowledged.
    busy_until = time.monotonic() + 60
    while not (len(acked["feedback"]) >= 6 and len(acked["tickets"]) >= 6):
        assert time.monotonic() < busy_until, f"too little was acknowledged: {acked}"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    print("acknowledged before the kill:", {k: len(v) for k, v in acked.items()})
    assert len(acked["tickets"]) >= 5 and len(acked["feedback"]) >= 5

    db = sqlite3.connect(home["home"] / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    message_ids = {r[0] for r in db.execute("SELECT id FROM messages")}
    tickets = {f"LT-{r[0]:06d}" for r in db.execute("SELECT id FROM tickets")}
    feedback = {r[0] for r in db.execute("SELECT id FROM feedback")}
    assert set(acked["messages"]) <= message_ids
    assert set(acked["tickets"]) <= tickets
    assert set(acked["feedback"]) <= feedback
    db.close()

    proc, url, banner = start_lotse_serve(home["env"])
    try:
        agent = banner.split("REST token (agent): ")[1].split()[0]
        queue = httpx.get(f"{url}/v1/handoffs", headers={"Authorization": f"Bearer {agent}"},
                          timeout=30).json()
        assert set(acked["tickets"]) <= {t["number"] for t in queue}
        reply = httpx.post(f"{url}/v1/chat", headers=headers, timeout=30,
                           json={"message": "Wie lange habe ich Zeit für eine Rücksendung?"})
        assert reply.status_code == 200 and "30 Tagen" in reply.json()["answer"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
