"""The one service layer the CLI, the REST API and the UI format: chat, handoff, tickets.

    >>> chat = ChatService(services, state)
    >>> reply = chat.send(session_id, "Wie schwer ist der AlpinPro 35?")
    >>> reply = chat.send(session_id, "Und in Größe L?")   # follow-up keeps the product
    >>> reply.ticket                                       # set when a person takes over

A handoff opens a ticket with the transcript, the reason, the question, the
sources and a suggested reply drafted with the agent's view of the knowledge
base. From then on the customer's messages go to the ticket, not to the bot,
until an agent closes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from bot.chain import MAX_QUESTION_CHARS, clean_question
from bot.followup import Turn, is_followup, rewrite
from bot.handoff import handoff_message
from bot.ratelimit import RateLimiter
from bot.state import Message, StateStore, Ticket
from bot.wiring import Services
from kb.text import detect_language
from kb.types import Answer

_TICKET_NOTE = {
    "de": "Deine Ticketnummer ist {number}.",
    "en": "Your ticket number is {number}.",
}
_FORWARDED = {
    "de": "Danke, deine Nachricht ist beim Serviceteam angekommen (Ticket {number}).",
    "en": "Thanks, your message has reached our service team (ticket {number}).",
}
_CLOSED = {
    "de": "Das Serviceteam hat Ticket {number} abgeschlossen. Ab jetzt antwortet wieder Lotse; "
          "„Mit Mitarbeiter sprechen“ bringt dich jederzeit zurück zum Team.",
    "en": "The service team has closed ticket {number}. Lotse answers again from now on; "
          "“Talk to a person” brings you back to the team at any time.",
}
_DRAFT = {
    "de": {"hello": "Hallo, danke für deine Nachricht!",
           "sorry": "Hallo, es tut mir leid, dass du Ärger hattest. Ich kümmere mich jetzt darum.",
           "gap": "[Hierzu gibt es keine passende Quelle: bitte selbst ergänzen.]",
           "closing": "Viele Grüße\ndein Serviceteam von {brand}"},
    "en": {"hello": "Hello, thanks for your message!",
           "sorry": "Hello, I'm sorry for the trouble. I'm taking care of it now.",
           "gap": "[No matching source for this: please write this part yourself.]",
           "closing": "Best regards\nyour {brand} service team"},
}


@dataclass(frozen=True)
class Reply:
    """What the customer sees for one message, plus what the UI needs to show it."""

    text: str
    answer: Answer | None
    message_id: int | None
    ticket: Ticket | None
    forwarded: bool = False  # the message went to the agent queue, not to the bot

    def to_dict(self) -> dict:
        data = self.answer.to_dict() if self.answer else {
            "question": "", "answer": self.text, "language": "de", "citations": [],
            "confidence": 0.0, "handoff": True, "handoff_reason": None}
        data["answer"] = self.text
        data["message_id"] = self.message_id
        data["ticket"] = self.ticket.number if self.ticket else None
        data["forwarded"] = self.forwarded
        return data


class ChatService:
    """Conversations over the answer chain, with state, follow-ups and tickets."""

    def __init__(self, services: Services, state: StateStore) -> None:
        self.services = services
        self.state = state
        server = services.settings.server
        self.limits = RateLimiter(server.messages_per_minute, server.client_messages_per_minute)

    def send(self, session_id: str, text: str, view: str = "customer",
             client: str | None = None) -> Reply:
        """Answer one message in a session (created on first use)."""
        reply = None
        for _, reply in self.stream(session_id, text, view, client):
            pass
        assert reply is not None
        return reply

    def stream(self, session_id: str, text: str, view: str = "customer",
               client: str | None = None) -> Iterator[tuple[str, Reply | None]]:
        """The reply as it grows, for streaming UIs and SSE; the last item carries the Reply.

        With an LLM the text grows by checked sentences; the extractive answer is
        revealed word by word. A message that is empty or too long raises
        ``InvalidQuestion``, one over the rate limit ``RateLimited``: both before
        anything is stored."""
        text = clean_question(text)
        self.limits.check(session_id, client)
        self.state.ensure_session(session_id, role=view)
        open_ticket = self.state.open_ticket_of(session_id)
        if open_ticket is not None and view == "customer":
            self.state.add_message(session_id, "customer", text)
            self.state.record("forwarded", session_id)
            language = detect_language(text)
            forwarded = _FORWARDED[language].format(number=open_ticket.number)
            yield forwarded, Reply(forwarded, None, None, open_ticket, forwarded=True)
            return

        turns = self.state.turns(session_id)
        started = time.perf_counter()
        query = self._standalone(text, turns, view)
        answer = None
        generated = False
        for item in self.services.chain.stream(text, view=view, retrieval_query=query,
                                               history=turns):
            if isinstance(item, Answer):
                answer = item
            else:
                generated = True
                yield item, None
        assert answer is not None
        latency_ms = 1000 * (time.perf_counter() - started)
        self.state.add_message(session_id, "customer", text)

        ticket = None
        shown = answer.text
        if answer.handoff and view == "customer":
            ticket = self._open_ticket(session_id, answer)
            shown = f"{answer.text} {_TICKET_NOTE[answer.language].format(number=ticket.number)}"
        record = {**answer.to_dict(), "retrieval_query": query, "kind": answer.kind,
                  "options": list(answer.options), "grounding": answer.grounding}
        message_id = self.state.add_message(session_id, "bot", shown, answer=record,
                                            latency_ms=latency_ms)
        self.state.record("answer", session_id, latency_ms, kind=answer.kind,
                          handoff=answer.handoff, reason=answer.handoff_reason,
                          confidence=answer.confidence, question=text,
                          generated=bool(answer.grounding.get("backend")),
                          blocked=len(answer.grounding.get("dropped", [])))
        reply = Reply(shown, answer, message_id, ticket)
        if not generated:
            words = shown.split(" ")
            for i in range(1, len(words)):
                yield " ".join(words[:i]), None
        yield shown, reply

    def _standalone(self, text: str, turns: list[Turn], view: str) -> str:
        """The question to search for: with an LLM, its standalone rewrite of a follow-up;
        otherwise (or when it fails) the rule-based rewrite."""
        if not turns:
            return text
        writer = self.services.chain.writer
        if writer is not None and self.services.settings.llm.rewrite_followups and is_followup(text):
            standalone = writer.standalone(text, turns)
            if standalone:
                return standalone
        return rewrite(text, turns, self.services.retriever.products(view))

    def request_human(self, session_id: str, language: str = "de") -> Reply:
        """The "talk to a person" button: a ticket without a bot answer first."""
        self.state.ensure_session(session_id)
        existing = self.state.open_ticket_of(session_id)
        if existing:
            return Reply(_FORWARDED[language].format(number=existing.number), None, None, existing,
                         forwarded=True)
        turns = self.state.turns(session_id)
        question = turns[-1].question if turns else ""
        draft, sources = self._draft(question, "asked_for_human")
        ticket = self.state.open_ticket(session_id, "asked_for_human", question, sources, draft)
        text = (f"{handoff_message('asked_for_human', language)} "
                f"{_TICKET_NOTE[language].format(number=ticket.number)}")
        message_id = self.state.add_message(session_id, "bot", text,
                                            answer={"kind": "handoff", "handoff": True,
                                                    "handoff_reason": "asked_for_human"})
        self.state.record("answer", session_id, None, kind="handoff", handoff=True,
                          reason="asked_for_human", question=question, button=True)
        return Reply(text, None, message_id, ticket)

    def feedback(self, session_id: str, rating: int, message_id: int | None = None,
                 comment: str = "", client: str | None = None) -> int:
        """Store a rating; it counts against the same per-minute limit as messages."""
        self.limits.check(session_id, client)
        feedback_id = self.state.add_feedback(session_id, rating, message_id, comment)
        question = ""
        if message_id is not None:
            transcript = self.state.transcript(session_id)
            ids = [m.id for m in transcript]
            if message_id in ids:
                before = [m for m in transcript[: ids.index(message_id)] if m.role == "customer"]
                question = before[-1].text if before else ""
        self.state.record("feedback", session_id, float(rating), question=question)
        return feedback_id

    def copilot(self, question: str) -> Answer:
        """An agent's own question, answered from public and internal documents.

        Always the best quoted answer with its confidence, never a handoff (the agent
        is the human). Not part of any customer conversation, so it counts in no
        customer KPI.
        """
        answer = self.services.chain.suggest(question, view="agent")
        self.state.record("copilot", "", kind=answer.kind, handoff=answer.handoff)
        return answer

    def queue(self, status: str | None = "open") -> list[Ticket]:
        """Tickets not yet closed (``status=None``: all), newest first."""
        if status == "open":
            return [t for t in self.state.tickets() if t.status != "closed"]
        return self.state.tickets(status)

    def ticket_detail(self, ticket_id: int) -> tuple[Ticket, list[Message]]:
        """A ticket with its transcript; unredacted only while the ticket is open."""
        ticket = self.state.ticket(ticket_id)
        return ticket, self.state.transcript(ticket.session_id,
                                             unredacted=ticket.status != "closed")

    def take(self, ticket_id: int, agent: str) -> Ticket:
        ticket = self.state.take(ticket_id, agent)
        self.state.record("ticket_taken", ticket.session_id)
        return ticket

    def agent_reply(self, ticket_id: int, agent: str, text: str) -> int:
        message_id = self.state.reply(ticket_id, agent, text)
        self.state.record("agent_reply", self.state.ticket(ticket_id).session_id)
        return message_id

    def close_ticket(self, ticket_id: int, resolved: bool) -> Ticket:
        """Close with a resolution flag (first-contact resolution); the customer is told
        that Lotse answers again from now on."""
        ticket = self.state.close(ticket_id, resolved)
        self.state.record("ticket_closed", ticket.session_id, 1.0 if resolved else 0.0)
        language = detect_language(ticket.question) if ticket.question else "de"
        self.state.add_message(ticket.session_id, "notice",
                               _CLOSED[language].format(number=ticket.number))
        return ticket

    def _open_ticket(self, session_id: str, answer: Answer) -> Ticket:
        draft, sources = self._draft(answer.retrieval_query or answer.question,
                                     answer.handoff_reason or "low_confidence")
        return self.state.open_ticket(session_id, answer.handoff_reason or "low_confidence",
                                      answer.question, sources, draft)

    def _draft(self, question: str, reason: str) -> tuple[str, list[dict]]:
        """A suggested reply for the agent, with citations, from the agent's view.

        Always a complete message in the customer's language: an opening that fits
        why the customer came, the best quoted sentences with [n], a closing. When
        nothing fits, a marked gap for the agent to fill instead of a guess.
        """
        if not question.strip():
            return "", []
        suggestion = self.services.chain.suggest(question[:MAX_QUESTION_CHARS], view="agent")
        language = suggestion.language if suggestion.language in _DRAFT else "de"
        texts = _DRAFT[language]
        sources = [{**c.to_dict(), "audience": c.audience} for c in suggestion.citations]
        if not sources:
            sources = [{"n": i + 1, "source": h.chunk.source, "title": h.chunk.title,
                        "section": h.chunk.section, "snippet": h.chunk.text[:240],
                        "score": round(h.score, 4), "audience": h.chunk.audience}
                       for i, h in enumerate(suggestion.hits[:3])]
        body = suggestion.text or texts["gap"]
        opening = texts["sorry"] if reason == "negative_sentiment" else texts["hello"]
        closing = texts["closing"].format(brand=self.services.settings.server.brand)
        return f"{opening}\n\n{body}\n\n{closing}", sources
