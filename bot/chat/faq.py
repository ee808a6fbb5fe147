"""Agents' answers teach the bot: a sent reply becomes an FAQ proposal, an admin edits and
approves it, and approved entries are written as an FAQ file and ingested.

    >>> loop = FaqLoop(state, admin)
    >>> proposal = loop.propose(ticket_id, "agent1")   # the ticket's question + the reply
    >>> loop.approve(proposal.id, "admin", answer="Edited answer")   # file written, ingested

The file lives in the upload folder (``faq/``, public), so it is re-ingested with the
uploads and its source is recognisable: the KPIs count later answers that cite it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.chat.admin import AdminService
from bot.chat.state import FaqProposal, StateError, StateStore
from ingest.sync import SyncReport
from kb.markup import plain_text, public_markdown

TEAM_FAQ_FILE = "faq-aus-teamantworten.yaml"
_SALUTATION = re.compile(r"^(hallo|hi|hey|guten (tag|morgen|abend)|liebe[rs]?|sehr geehrte[rs]?|"
                         r"hello|dear|good (morning|afternoon|evening))\b[^\n]{0,60}$", re.I)
_SIGN_OFF = re.compile(r"^(viele|beste|freundliche|liebe|mit freundlichen) grüße|^(best|kind) "
                       r"regards|^(cheers|thanks)\b", re.I)


def reply_body(text: str) -> str:
    """An agent's reply without the salutation and the sign-off, which fit one customer and
    not an FAQ."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if lines and _SALUTATION.match(lines[0]):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if _SIGN_OFF.match(line):
            lines = lines[:i]
            break
    return "\n".join(lines).strip() or text.strip()


@dataclass(frozen=True)
class Approved:
    proposal: FaqProposal
    report: SyncReport


class FaqLoop:
    """Proposals from agents' replies, the admin's decision, and the FAQ file they feed."""

    def __init__(self, state: StateStore, admin: AdminService) -> None:
        self.state = state
        self.admin = admin

    @property
    def path(self) -> Path:
        return self.admin.upload_dir / "faq" / TEAM_FAQ_FILE

    def propose(self, ticket_id: int, agent: str) -> FaqProposal:
        """The ticket's latest agent reply and the customer question it answers, as a draft
        FAQ entry (both redacted). ``StateError`` when no agent has replied yet."""
        ticket = self.state.ticket(ticket_id)
        transcript = self.state.transcript(ticket.session_id)
        replies = [i for i, m in enumerate(transcript) if m.role == "agent"]
        if not replies:
            raise StateError(f"ticket {ticket.number} has no agent reply to propose yet")
        before = [m.text for m in transcript[: replies[-1]] if m.role == "customer"]
        asked = [t for t in before if t.rstrip().endswith("?")]
        question = asked[-1] if asked else ticket.question or (before[-1] if before else "")
        return self.state.propose_faq(agent, question, reply_body(transcript[replies[-1]].text))

    def pending(self) -> list[FaqProposal]:
        return self.state.faq_proposals("proposed")

    def approve(self, proposal_id: int, by: str, question: str | None = None,
                answer: str | None = None) -> Approved:
        """Approve with the admin's edits, rewrite the team FAQ file, ingest the uploads.

        What is approved is what gets published, cleaned first: the question (a customer's
        words, and the entry's title) as plain text, the answer as Markdown without images,
        HTML or links that lead anywhere but the web. An entry with nothing left is refused.
        """
        current = next((p for p in self.state.faq_proposals(None) if p.id == proposal_id), None)
        if current is not None:
            question = plain_text(current.question if question is None else question)
            answer = public_markdown(current.answer if answer is None else answer)
        proposal = self.state.decide_faq(proposal_id, "approved", by, question, answer)
        try:
            self._write()
            return Approved(proposal, self.admin.ingest([self.admin.upload_dir]))
        except BaseException:
            # Not published: the proposal stays open, so the admin can approve it again.
            self.state.reopen_faq(proposal_id)
            self._write()
            raise

    def reject(self, proposal_id: int, by: str) -> FaqProposal:
        return self.state.decide_faq(proposal_id, "rejected", by)

    def _write(self) -> None:
        # Entries approved before answers were cleaned are cleaned whenever the file is written.
        entries = [{"question": plain_text(p.question), "answer": public_markdown(p.answer),
                    "category": "team"} for p in self.state.faq_proposals("approved")]
        entries = [e for e in entries if e["question"] and e["answer"]]
        document = {"audience": "public", "doc_type": "faq", "faq": entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{TEAM_FAQ_FILE}.{os.getpid()}.{id(entries)}.part")
        partial.write_text("# Aus Antworten des Serviceteams, von einer Admin freigegeben. "
                           "Wird bei jeder Freigabe neu geschrieben.\n"
                           + yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
        os.replace(partial, self.path)
