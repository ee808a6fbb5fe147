"""The typed objects that flow between the layers.

Library types (langchain documents, chroma result dicts) are converted to these
at the ``kb`` boundary and never passed further up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kb.markup import plain_text

Audience = Literal["public", "internal"]
AUDIENCES: tuple[Audience, ...] = ("public", "internal")


@dataclass(frozen=True)
class Document:
    """One file, or one FAQ entry.

    ``source`` is the path relative to the ingest root; ``metadata`` holds
    ``audience``, ``doc_type``, ``language``, ``updated``, ``product`` and
    ``content_hash``.
    """

    id: str
    text: str
    source: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def audience(self) -> str:
        return self.metadata.get("audience", "")


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document. The id derives from content and position."""

    id: str
    doc_id: str
    text: str
    position: int
    section: str | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.metadata.get("source", "")

    @property
    def title(self) -> str:
        return self.metadata.get("title", "")

    @property
    def audience(self) -> str:
        return self.metadata.get("audience", "")

    @property
    def search_text(self) -> str:
        """What retrieval indexes: title and section too, since questions name products and topics."""
        head = " – ".join(p for p in (self.title, self.section or "") if p and p != self.text)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk; ``signals`` holds the per-retriever scores fused into ``score``."""

    chunk: Chunk
    score: float
    signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    section: str | None
    snippet: str
    score: float = 0.0
    audience: str = "public"

    def __post_init__(self) -> None:
        # Every channel shows a citation, and several render Markdown or HTML; its title
        # can be a customer's question (a team FAQ entry): plain text from here on.
        for name in ("title", "section", "snippet"):
            value = getattr(self, name)
            if value:
                object.__setattr__(self, name, plain_text(value))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "snippet": self.snippet,
            "score": round(float(self.score), 4),
        }


HandoffReason = Literal[
    "low_confidence", "no_sources", "negative_sentiment", "asked_for_human", "policy"
]


@dataclass(frozen=True)
class Answer:
    """What the answer chain returns for one question."""

    text: str
    citations: tuple[Citation, ...]
    confidence: float
    handoff: bool
    handoff_reason: HandoffReason | None
    language: str
    # "refused": the message tried to instruct the bot (kb.injection) and got a polite no;
    # "smalltalk": a greeting, thanks, "who are you" and the like, answered without sources.
    # "not_found": the asked-for name is in no document; the answer says so, with what is.
    # "advice": a product recommendation, comparison or size from the catalog of facts.
    kind: Literal["answer", "faq", "ask_back", "handoff", "refused", "smalltalk",
                  "not_found", "advice"] = "answer"
    question: str = ""
    retrieval_query: str = ""
    hits: tuple[Hit, ...] = ()
    signals: dict[str, float] = field(default_factory=dict)
    options: tuple[str, ...] = ()  # quick replies: the products an ask-back offers, or the
    # answers to an advice question
    products: tuple[dict[str, Any], ...] = ()  # recommended or compared products, with facts
    advice: dict[str, Any] = field(default_factory=dict)  # the advice thread, for the next turn
    # With an LLM: backend, sentences generated, the ones the citation check dropped and why,
    # and whether the answer fell back to the extractive one or a handoff.
    grounding: dict[str, Any] = field(default_factory=dict)
    # The route the message took (``bot.answer.route``) and the dialogue act read from it,
    # named as in the JSON contract; the likely topics offered on the "suggest" route.
    route: str = "answer"
    act: str = "question"
    suggestions: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``lotse ask --json`` and the REST API."""
        return {
            "question": self.question,
            "answer": self.text,
            "language": self.language,
            "citations": [c.to_dict() for c in self.citations],
            "confidence": round(float(self.confidence), 4),
            "handoff": self.handoff,
            "handoff_reason": self.handoff_reason,
            "products": [dict(p) for p in self.products],
            "options": list(self.options),
            "route": self.route,
            "act": self.act,
            "suggestions": [dict(s) for s in self.suggestions],
        }
