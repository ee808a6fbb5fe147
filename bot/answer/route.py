"""One decision per message: which route it takes, and so which handler answers it.

    >>> understood = read("Ich will mit einem Menschen sprechen", "de")
    >>> decide(understood, view="customer", replying=False, advice=lambda: None)
    Route(name='escalate', reason='asked_for_human', advice=None)

| route       | when                                                        | handoff |
|-------------|-------------------------------------------------------------|---------|
| `refuse`    | an instruction to the bot                                   | no      |
| `escalate`  | anger, or an explicit request for a person                  | yes     |
| `smalltalk` | greeting, thanks, goodbye, acknowledgement, about the bot   | no      |
| `advise`    | a need for a product, a refinement, a comparison, a size    | no      |
| `answer`    | a question the documents answer                             | no      |
| `suggest`   | unsure: likely topics offered, a person one click away      | no      |
| `handoff`   | the documents do not answer it, or there are no sources     | yes     |
| `forward`   | with a ticket open, a message that only adds to the ticket  | no      |

Order matters: an instruction to the bot reaches no answerer; an angry customer or one
who asks for a person goes to a human however good the retrieval is; courtesy is never
searched. What is left is decided by the catalog (advice) or, after retrieval, by how
well the documents answer it (``settle``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.answer.understanding import Understanding

RouteName = Literal["refuse", "escalate", "smalltalk", "advise", "answer", "suggest",
                    "handoff", "forward"]
ROUTES: tuple[RouteName, ...] = ("refuse", "escalate", "smalltalk", "advise", "answer",
                                 "suggest", "handoff", "forward")


@dataclass(frozen=True)
class Route:
    """A route and what its handler needs: the handoff reason, or the adviser's answer."""

    name: RouteName
    reason: str | None = None
    advice: Any = None

    @property
    def handoff(self) -> bool:
        return self.name in ("escalate", "handoff")


def decide(understood: Understanding, view: str, replying: bool,
           advice: Callable[[], Any]) -> Route:
    """The route decided on the message itself, before anything is retrieved.

    ``replying`` is true while the adviser waits for an answer to its question ("egal" is
    then an answer, no goodbye); ``advice`` asks the adviser, only when nothing before it
    took the message. Staff see every answer: they ask about angry customers and lawyers
    as a matter of course, and may quote instructions."""
    customer = view == "customer"
    if customer and understood.instruction:
        return Route("refuse")
    if customer and understood.escalation:
        return Route("escalate", understood.escalation)
    # Off-topic depends on what the shop sells: the adviser and, in the small-talk
    # handler, the documents are asked first.
    if understood.act and understood.act != "smalltalk" and not replying:
        return Route("smalltalk")
    advised = advice()
    if advised is not None:
        return Route("advise", advice=advised)
    if understood.act and not replying:
        return Route("smalltalk")
    return Route("answer")


def settle(has_sources: bool, confidence: float, handoff_below: float) -> Route:
    """After retrieval: answer from the documents, or hand the question to a person."""
    if not has_sources:
        return Route("handoff", "no_sources")
    if confidence < handoff_below:
        return Route("handoff", "low_confidence")
    return Route("answer")


def forwards(understood: Understanding, handoff: bool, smalltalk: bool) -> bool:
    """With a ticket open: does the message only add to it? What the customer tells the
    team ("Meine Bestellnummer ist 4711", "Danke, die Sendungsnummer habe ich aber nicht")
    is for the team; questions and plain courtesy are still answered, unless the answer
    would itself be a handoff."""
    asks = understood.text.endswith("?") or bool(understood.answer_type) \
        or (smalltalk and understood.courtesy_only)
    return handoff or not asks
