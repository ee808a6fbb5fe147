"""The retrieval test ("Trefferprüfung"): what Lotse does with one question, laid open.

    >>> check = check_retrieval(engine, "Wie lange dauert der Versand nach Österreich?")
    >>> check["views"]["customer"]["handoff_reason"]

For the customer view and the agent view it runs the real answer chain and shows the
retrieved chunks with every signal and the fused score, the confidence and its parts,
the answer with its citations, and the handoff decision with its reason and threshold.
That is how staff find out why a question went to a person and which document to fix.
Nothing is stored and no KPI counts it.
"""

from __future__ import annotations

import time
from typing import Any

from bot.answer.question import Question
from bot.chat.documents import document_key
from bot.chat.engine import Engine

VIEWS = ("customer", "agent")


def check_retrieval(engine: Engine, question: str) -> dict[str, Any]:
    """Both views' retrieval and answer for ``question`` (``InvalidQuestion`` when it is
    empty or too long)."""
    asked = Question.of(question)
    started = time.perf_counter()
    views = {view: _view(engine, asked, view) for view in VIEWS}
    return {"question": asked.text, "language": asked.language, "views": views,
            "handoff_below": engine.chain.thresholds()[0],
            "ms": round(1000 * (time.perf_counter() - started), 1)}


def _view(engine: Engine, question: Question, view: str) -> dict[str, Any]:
    started = time.perf_counter()
    answer = engine.chain.ask(question, view=view)
    hits = []
    for rank, hit in enumerate(answer.hits, start=1):
        meta = hit.chunk.metadata
        hits.append({"rank": rank, "source": hit.chunk.source, "title": hit.chunk.title,
                     "section": hit.chunk.section, "audience": hit.chunk.audience,
                     "doc_key": document_key(str(meta.get("root", "")), hit.chunk.source),
                     "score": round(float(hit.score), 4),
                     "signals": {k: round(float(v), 4) for k, v in hit.signals.items()},
                     "text": hit.chunk.text})
    return {"answer": answer.text, "kind": answer.kind,
            "confidence": round(float(answer.confidence), 4),
            "confidence_parts": {k: round(float(v), 4) for k, v in answer.signals.items()},
            "handoff": answer.handoff, "handoff_reason": answer.handoff_reason,
            "retrieval_query": answer.retrieval_query,
            "citations": [c.to_dict() for c in answer.citations], "hits": hits,
            "ms": round(1000 * (time.perf_counter() - started), 1)}
