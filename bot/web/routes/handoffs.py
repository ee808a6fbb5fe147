"""The agents' side of REST: tickets handed off by the bot, the FAQ loop, the KPIs.

    GET  /v1/handoffs                    agent
    POST /v1/handoffs/{id}/reply         agent
    POST /v1/handoffs/{id}/faq           agent: propose the ticket's latest reply as an FAQ entry
    GET  /v1/faq-proposals               admin
    POST /v1/faq-proposals/{id}          admin: approve (with edits; written and ingested) or reject
    GET  /v1/kpis                        agent

A ticket or proposal changed over REST is logged as made by the token's role
(``token_holder``), since a token names no person.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.web.auth import token_holder
from bot.web.routes.dependencies import Admin, Agent, RecordId, Services

router = APIRouter()


class ReplyRequest(BaseModel):
    text: str = Field(..., min_length=1, max_length=8000)
    close: bool = Field(False, description="Close the ticket after sending.")
    resolved: bool = Field(True, description="With close: was the customer's issue resolved?")


class FaqDecision(BaseModel):
    action: Literal["approve", "reject"]
    question: str | None = Field(None, max_length=2000, description="The admin's edit.")
    answer: str | None = Field(None, max_length=8000, description="The admin's edit.")


@router.get("/v1/handoffs")
def get_handoffs(services: Services, _: Agent, status: str | None = "open") -> list[dict]:
    """Tickets: ``open`` (not closed, the default), ``taken``, ``closed`` or empty for all."""
    return [{"id": t.id, "number": t.number, "session_id": t.session_id, "reason": t.reason,
             "question": t.question, "status": t.status, "assignee": t.assignee,
             "draft": t.draft, "sources": t.sources,
             "transcript": [{"role": m.role, "text": m.text} for m in transcript]}
            for t, transcript in services.chat.queue_details(status or None)]


@router.post("/v1/handoffs/{ticket_id}/reply")
def post_reply(ticket_id: RecordId, body: ReplyRequest, services: Services, who: Agent) -> dict:
    chat, by = services.chat, token_holder(who)
    sent = chat.agent_reply(ticket_id, by, body.text)
    ticket = chat.close_ticket(ticket_id, body.resolved, by=by) if body.close \
        else chat.ticket(ticket_id)
    return {"message_id": sent.message_id, "ticket": ticket.number, "status": ticket.status,
            "emailed_to": sent.emailed_to, "mail_error": sent.mail_error}


@router.post("/v1/handoffs/{ticket_id}/faq")
def post_faq_proposal(ticket_id: RecordId, services: Services, who: Agent) -> dict:
    return asdict(services.faq.propose(ticket_id, token_holder(who)))


@router.get("/v1/faq-proposals")
def get_faq_proposals(services: Services, _: Admin) -> list[dict]:
    return [asdict(p) for p in services.faq.pending()]


@router.post("/v1/faq-proposals/{proposal_id}")
def decide_faq_proposal(proposal_id: RecordId, body: FaqDecision, services: Services,
                        who: Admin) -> dict:
    if body.action == "reject":
        return {"proposal": asdict(services.faq.reject(proposal_id, token_holder(who)))}
    approved = services.faq.approve(proposal_id, token_holder(who), body.question, body.answer)
    return {"proposal": asdict(approved.proposal), "ingest": approved.report.to_dict()}


@router.get("/v1/kpis")
def get_kpis(services: Services, _: Agent) -> dict:
    return services.chat.kpis()
