"""The staff's knowledge-base routes (/v1/admin/…) over real HTTP: documents and their
chunks, excluding and re-audiencing a document, the retrieval test, usage, generations
and rollback, ingesting a local web site, the schedule and the audit log."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import httpx
import pytest

from bot.wiring import build_engine
from kb.settings import LotseSettings
from bench.help_center import HelpCenter
from bench.servers import lotse_api, uvicorn_thread

CORPUS = Path(__file__).resolve().parents[3] / "docs_corpus"
VERSAND = "service/versand-und-lieferung.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_embedder):
    home = tmp_path_factory.mktemp("admin-home")
    corpus = home / "corpus"
    shutil.copytree(CORPUS, corpus, ignore=shutil.ignore_patterns("eval"))
    settings = LotseSettings(home=home, store={"refresh_seconds": 0},
                             ingest={"web_delay_seconds": 0, "max_file_mb": 0.5,
                                     "schedule_minutes": 60, "web_hosts": ["127.0.0.1"],
                                     "web_allow_loopback": True})
    engine = build_engine(settings, embedder=use_embedder)
    engine.syncer.sync([corpus])
    site = HelpCenter.sample()
    with lotse_api(engine, home, [corpus]) as api, uvicorn_thread(site.app()) as site_url:
        yield {**api, "corpus": corpus, "engine": engine, "site": site, "site_url": site_url}


def call(server, method: str, path: str, role: str = "admin", **kwargs) -> httpx.Response:
    token = server["creds"].token_for(role)
    return httpx.request(method, f"{server['url']}{path}", timeout=120,
                         headers={"Authorization": f"Bearer {token}"}, **kwargs)


def document(server, source: str) -> dict:
    return next(d for d in call(server, "GET", "/v1/admin/documents").json()
                if d["source"] == source)


def cited(server, question: str, role: str = "customer") -> set[str]:
    body = call(server, "POST", "/v1/chat", role=role, json={"message": question}).json()
    return {c["source"] for c in body["citations"]}


def test_only_admins_reach_the_routes(server):
    for role in ("customer", "agent"):
        assert call(server, "GET", "/v1/admin/documents", role=role).status_code == 403
        assert call(server, "POST", "/v1/admin/retrieval-test", role=role,
                    json={"question": "Versand?"}).status_code == 403
    assert httpx.get(f"{server['url']}/v1/admin/documents").status_code == 401


def test_the_document_list_and_a_document_s_chunks(server):
    docs = call(server, "GET", "/v1/admin/documents").json()
    versand = next(d for d in docs if d["source"] == VERSAND)
    assert versand["title"] == "Versand und Lieferung" and versand["audience"] == "public"
    assert versand["doc_type"] and versand["language"] == "de" and versand["chunks"] >= 2
    assert versand["status"] == "live" and versand["changed_at"] > time.time() - 3600
    assert any(d["audience"] == "internal" for d in docs)
    body = call(server, "GET", f"/v1/admin/documents/{versand['key']}/chunks").json()
    assert len(body["chunks"]) == versand["chunks"]
    assert any("Österreich" in c["text"] for c in body["chunks"])
    assert [c["position"] for c in body["chunks"]] == sorted(c["position"] for c in body["chunks"])
    assert call(server, "GET", "/v1/admin/documents/nope/chunks").status_code == 404


def test_excluding_a_document_takes_it_out_of_answers_until_it_is_included(server):
    question = "Fallen für ein Zelt Sperrgutzuschläge an?"  # only the shipping page says
    assert VERSAND in cited(server, question)
    key = document(server, VERSAND)["key"]
    changed = call(server, "PATCH", f"/v1/admin/documents/{key}", json={"excluded": True})
    assert changed.status_code == 200 and changed.json()["document"]["status"] == "excluded"
    assert VERSAND not in cited(server, question)
    # A full re-ingest (as the CLI or the schedule does it) keeps it out.
    report = server["engine"].syncer.sync([server["corpus"]])
    assert (VERSAND, "excluded by api (admin token)") in report.skipped
    assert VERSAND not in cited(server, question)
    back = call(server, "PATCH", f"/v1/admin/documents/{key}", json={"excluded": False})
    assert back.json()["document"]["status"] == "live" and VERSAND in cited(server, question)
    log = call(server, "GET", "/v1/admin/audit").json()
    assert [e["action"] for e in log[:2]] == ["include", "exclude"]
    assert log[0]["who"] == "api (admin token)" and log[0]["target"] == VERSAND


def test_an_audience_set_by_staff_wins_over_the_file(server):
    question = "Fallen für ein Zelt Sperrgutzuschläge an?"
    key = document(server, VERSAND)["key"]
    call(server, "PATCH", f"/v1/admin/documents/{key}", json={"audience": "internal"})
    try:
        assert document(server, VERSAND)["audience"] == "internal"
        assert VERSAND not in cited(server, question)
        assert VERSAND in cited(server, question, role="agent")
    finally:
        call(server, "PATCH", f"/v1/admin/documents/{key}", json={"audience": "public"})
    assert VERSAND in cited(server, question)
    assert call(server, "PATCH", f"/v1/admin/documents/{key}", json={}).status_code == 400


def test_the_retrieval_test_shows_both_views_signals_and_the_handoff_decision(server):
    body = call(server, "POST", "/v1/admin/retrieval-test",
                json={"question": "Wie lange dauert die Lieferung nach Österreich?"}).json()
    customer, agent = body["views"]["customer"], body["views"]["agent"]
    top = customer["hits"][0]
    assert VERSAND in {h["source"] for h in customer["hits"]} and top["score"] > 0
    assert [h["score"] for h in customer["hits"]] == sorted(
        (h["score"] for h in customer["hits"]), reverse=True)
    assert {"bm25", "dense", "dense_sentence", "coverage"} <= set(top["signals"])
    assert {"similarity", "coverage"} <= set(customer["confidence_parts"])
    assert customer["handoff"] is False and "Werktage" in customer["answer"]
    assert all(h["audience"] == "public" for h in customer["hits"])
    assert set(agent) == set(customer) and agent["hits"] and agent["ms"] > 0
    assert body["handoff_below"] > 0 and body["ms"] > 0
    unsure = call(server, "POST", "/v1/admin/retrieval-test",
                  json={"question": "Verkauft ihr auch Fahrräder?"}).json()
    assert unsure["views"]["customer"]["handoff"] is True
    assert unsure["views"]["customer"]["handoff_reason"] in ("low_confidence", "no_sources")
    internal = call(server, "POST", "/v1/admin/retrieval-test",
                    json={"question": "Welche Kulanz gilt intern bei Reklamationen?"}).json()
    assert any(h["audience"] == "internal" for h in internal["views"]["agent"]["hits"])
    assert not any(h["audience"] == "internal" for h in internal["views"]["customer"]["hits"])
    assert call(server, "POST", "/v1/admin/retrieval-test", json={"question": ""}).status_code == 400


def test_usage_counts_citations_and_ratings(server):
    token = {"Authorization": f"Bearer {server['creds'].token_for('customer')}"}
    answer = httpx.post(f"{server['url']}/v1/chat", headers=token, timeout=60,
                        json={"message": "Was kostet der Expressversand?"}).json()
    httpx.post(f"{server['url']}/v1/feedback", timeout=30,
               headers={**token, "X-Session-Secret": answer["session_secret"]},
               json={"session_id": answer["session_id"], "rating": 1,
                     "message_id": answer["message_id"]}).raise_for_status()
    usage = call(server, "GET", "/v1/admin/usage").json()
    row = next(d for d in usage["documents"] if d["source"] == VERSAND)
    assert row["cited"] >= 1 and row["helpful"] >= 1
    never = {d["source"] for d in usage["never_cited"]}
    assert VERSAND not in never and never  # most of the corpus was never asked about
    assert call(server, "GET", "/v1/admin/usage?days=0").status_code == 400


def test_a_web_site_from_the_admin_route_with_its_failures_in_the_list(server):
    url = server["site_url"]
    report = call(server, "POST", "/v1/admin/ingest",
                  json={"urls": [{"url": url + "/", "mode": "crawl"}]}).json()
    assert report["added"] == 6 and report["failed"] == 1
    docs = {d["source"]: d for d in call(server, "GET", "/v1/admin/documents").json()}
    assert docs[f"{url}/hilfe/versand"]["status"] == "live"
    assert docs[f"{url}/gross"]["status"] == "failed"
    assert "over the limit" in docs[f"{url}/gross"]["failure"]
    runs = call(server, "GET", "/v1/admin/runs").json()
    assert runs[0]["targets"] == [url + "/"] and runs[0]["by"] == "api (admin token)"
    assert call(server, "POST", "/v1/admin/ingest", json={}).status_code == 400
    bad = call(server, "POST", "/v1/admin/ingest", json={"urls": [{"url": "file:///etc/passwd"}]})
    assert bad.status_code == 422
    # A misspelt key is refused, never ignored (an ignored "audiance" would publish).
    typo = call(server, "POST", "/v1/admin/ingest",
                json={"urls": [{"url": url + "/hilfe/wartung", "audiance": "internal"}]})
    assert typo.status_code == 422 and "audiance" in str(typo.json()["problems"])
    key = docs[f"{url}/hilfe/versand"]["key"]
    for body in ({"exclude": True}, {"excluded": "yes"}):
        assert call(server, "PATCH", f"/v1/admin/documents/{key}", json=body).status_code == 422
    other = call(server, "POST", "/v1/admin/ingest",
                 json={"urls": [{"url": "http://localhost:1/"}]})
    assert other.status_code == 403 and "ingest.web_hosts" in other.json()["error"]


def test_without_web_hosts_the_server_s_own_network_is_refused(server):
    from bot.chat.admin import AdminService, PathRefused

    engine = server["engine"]
    settings = engine.settings.model_copy(deep=True)
    settings.ingest.web_hosts = []
    settings.ingest.web_allow_loopback = False  # the default
    admin = AdminService(dataclasses.replace(engine, settings=settings),
                         engine.settings.home / "uploads", [])
    for url in ("http://127.0.0.1:8080/", "http://localhost/", "http://10.1.2.3/",
                "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                "http://100.64.0.1/", "http://192.0.0.8/", "http://224.0.0.1/"):
        with pytest.raises(PathRefused, match="refused: address not allowed"):
            admin.allowed_url(url)


def test_generations_and_a_rollback(server):
    gens = call(server, "GET", "/v1/admin/generations").json()
    assert gens[0]["live"] and len(gens) >= 2
    back = call(server, "POST", "/v1/admin/generations/rollback", json={}).json()
    assert back["was"] == gens[0]["generation"] and back["generation"] == gens[1]["generation"]
    assert call(server, "GET", "/v1/admin/generations").json()[1]["live"]
    again = call(server, "POST", "/v1/admin/generations/rollback",
                 json={"to": gens[0]["generation"]}).json()
    assert again["generation"] == gens[0]["generation"]
    assert call(server, "POST", "/v1/admin/generations/rollback",
                json={"to": "nope"}).status_code == 400
    assert call(server, "GET", "/v1/admin/audit").json()[0]["action"] == "rollback"


def test_the_schedule_shows_the_last_and_next_run(server):
    [folders] = call(server, "GET", "/v1/admin/schedule").json()
    assert folders["target"] == "folders" and folders["every_minutes"] == 60
    scheduler = server["services"].scheduler
    assert scheduler.run_due() == ["folders"]
    [folders] = call(server, "GET", "/v1/admin/schedule").json()
    assert folders["last_run"]["trigger"] == "schedule" and folders["last_run"]["error"] is None
    assert abs(folders["next_at"] - (folders["last_run"]["started_at"] + 3600)) < 1
    assert scheduler.run_due() == []  # not due again for an hour


def test_two_processes_run_a_due_target_once(server, tmp_path):
    import threading

    from bot.chat.admin import AdminService
    from bot.chat.schedule import IngestScheduler
    from bot.chat.state import StateStore

    engine, url = server["engine"], f"sqlite:///{tmp_path / 'shared.db'}"
    schedulers = []
    for _ in range(2):
        state = StateStore(url)
        admin = AdminService(engine, engine.settings.home / "uploads", [server["corpus"]],
                             state=state)
        schedulers.append(IngestScheduler(admin, state, engine.settings.ingest))
    done: list = []
    threads = [threading.Thread(target=lambda s=s: done.append(s.run_due())) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert sorted(done) == [[], ["folders"]]
    assert len(StateStore(url).ingest_runs()) == 1
