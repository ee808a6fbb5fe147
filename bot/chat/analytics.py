"""KPIs from the recorded events: deflection, handoffs by reason, CSAT, FCR, latency, content
gaps, and how product advice went.

Content gaps are the questions that were handed off or rated down, grouped by
meaning (greedy clustering on the embedder's vectors), most frequent first, so
staff see which article is missing.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.chat.faq import TEAM_FAQ_FILE
from bot.chat.state import EventRecord, StateStore
from kb.embedders import Embedder


@dataclass(frozen=True)
class Gap:
    question: str
    count: int
    examples: tuple[str, ...]


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def content_gaps(questions: list[str], embedder: Embedder, threshold: float = 0.7,
                 top: int = 10) -> list[Gap]:
    """Cluster questions by cosine similarity; each cluster is named by its first question."""
    questions = [q for q in questions if q.strip()]
    if not questions:
        return []
    vectors = embedder.embed_batch(questions)
    clusters: list[list[int]] = []
    centroids: list[np.ndarray] = []
    for i, vec in enumerate(vectors):
        sims = [float(vec @ c) / (np.linalg.norm(c) or 1.0) for c in centroids]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= threshold:
            clusters[best].append(i)
            centroids[best] = centroids[best] + vec
        else:
            clusters.append([i])
            centroids.append(vec.copy())
    clusters.sort(key=len, reverse=True)
    return [Gap(questions[c[0]], len(c), tuple(dict.fromkeys(questions[i] for i in c))[:5])
            for c in clusters[:top]]


def advice_kpis(answers: list) -> dict:
    """Conversations with product advice, the products recommended in them, and how many of
    those conversations still ended with a person (a handoff after the first advice turn)."""
    advised: set[str] = set()
    ended_with_person: set[str] = set()
    shown = 0
    for e in answers:  # in the order they happened
        if e.data.get("advice"):
            advised.add(e.session_id)
            if e.data["advice"] in ("recommend", "nothing_fits"):
                shown += int(e.data.get("products") or 0)
        elif e.data.get("handoff") and e.session_id in advised:
            ended_with_person.add(e.session_id)
    return {"advice_conversations": len(advised), "recommendations_shown": shown,
            "advice_ended_with_person": len(ended_with_person),
            "advice_handoff_rate": len(ended_with_person) / len(advised) if advised else None}


def email_kpis(events: list[EventRecord]) -> dict:
    """The e-mail channel: messages read, what became of them, and the time from reading a
    message to the SMTP server taking Lotse's reply."""
    mail = [e for e in events if e.kind == "mail"]
    outcomes = Counter(e.data.get("outcome") for e in mail)
    replied = [e.value for e in mail if e.value is not None]
    return {"received": len(mail), "answered": outcomes["answered"],
            "handed_off": outcomes["handed_off"], "forwarded": outcomes["forwarded"],
            "ignored": dict(Counter(e.data.get("why") for e in mail
                                    if e.data.get("outcome") == "ignored")),
            "reply_p50_ms": _percentile(replied, 50), "reply_p95_ms": _percentile(replied, 95)}


def kpis(state: StateStore, embedder: Embedder | None = None, since: float = 0.0) -> dict:
    """Every KPI the dashboard and ``GET /v1/kpis`` show."""
    events = state.events(since)
    # Small talk ("Hallo", "Danke", "Wer bist du?") is neither deflected nor handed off.
    smalltalk = [e for e in events if e.kind == "answer" and e.data.get("kind") == "smalltalk"]
    answers = [e for e in events if e.kind == "answer" and e.data.get("kind") != "smalltalk"]
    conversations = {e.session_id for e in answers}
    handed_off = {e.session_id for e in answers if e.data.get("handoff")}
    reasons = Counter(e.data.get("reason") for e in answers if e.data.get("handoff"))
    ratings = [e.value for e in events if e.kind == "feedback" and e.value is not None]
    closed = [e.value for e in events if e.kind == "ticket_closed" and e.value is not None]
    latencies = [e.value for e in answers if e.value is not None]
    gap_questions = [e.data.get("question", "") for e in answers if e.data.get("handoff")
                     and e.data.get("reason") in ("low_confidence", "no_sources")]
    gap_questions += [e.data.get("question", "") for e in events
                      if e.kind == "feedback" and (e.value or 0) < 0]
    gaps = content_gaps(gap_questions, embedder) if embedder else []
    days: dict[str, dict[str, set]] = {}
    for e in answers:
        day = days.setdefault(time.strftime("%Y-%m-%d", time.localtime(e.created_at)),
                              {"conversations": set(), "handoffs": set()})
        day["conversations"].add(e.session_id)
        if e.data.get("handoff"):
            day["handoffs"].add(e.session_id)
    team_faq = [e for e in answers if not e.data.get("handoff") and any(
        Path(str(source)).name == TEAM_FAQ_FILE for source in e.data.get("sources", []))]
    return {
        "conversations": len(conversations),
        # Customer questions answered from FAQ entries that agents' replies became.
        "answered_from_team_faq": len(team_faq),
        "answers": len(answers),
        "smalltalk": len(smalltalk),
        "deflection_rate": (len(conversations - handed_off) / len(conversations)
                            if conversations else 0.0),
        "handoff_rate": len(handed_off) / len(conversations) if conversations else 0.0,
        "handoffs_by_reason": dict(reasons),
        "csat": sum(1 for r in ratings if r > 0) / len(ratings) if ratings else None,
        "ratings": len(ratings),
        "first_contact_resolution": sum(closed) / len(closed) if closed else None,
        "tickets_closed": len(closed),
        # The middle way: likely topics offered instead of a handoff, and clicks on them.
        "suggestions_offered": sum(1 for e in answers if e.data.get("route") == "suggest"),
        "suggestions_taken": sum(1 for e in answers if e.data.get("topic_chosen")),
        "answers_by_route": dict(Counter(e.data.get("route") for e in answers + smalltalk
                                         if e.data.get("route"))),
        "generated_answers": sum(1 for e in answers if e.data.get("generated")),
        "hallucinations_blocked": sum(int(e.data.get("blocked", 0)) for e in answers),
        "latency_p50_ms": _percentile(latencies, 50),
        "latency_p95_ms": _percentile(latencies, 95),
        **advice_kpis(answers),
        "email": email_kpis(events),
        "daily": [{"day": d, "conversations": len(v["conversations"]),
                   "handoffs": len(v["handoffs"])} for d, v in sorted(days.items())],
        "content_gaps": [{"question": g.question, "count": g.count, "examples": list(g.examples)}
                         for g in gaps],
    }
