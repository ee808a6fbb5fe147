from bot.chat.analytics import content_gaps, kpis
from bot.chat.state import StateStore
from kb.embedders import FakeEmbedder


def test_kpis_from_recorded_events(tmp_path):
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    a, b, c = (state.new_session() for _ in range(3))
    state.record("answer", a, 40.0, handoff=False, question="Versandkosten?")
    state.record("answer", a, 60.0, handoff=False, question="Und nach Österreich?")
    state.record("answer", b, 80.0, handoff=True, reason="low_confidence", question="PayPal?")
    state.record("answer", c, 100.0, handoff=True, reason="negative_sentiment", question="Frechheit")
    state.record("feedback", a, 1.0)
    state.record("feedback", b, -1.0, question="PayPal?")
    state.record("feedback", c, 1.0)
    state.record("ticket_closed", b, 1.0)
    state.record("ticket_closed", c, 0.0)
    k = kpis(state, FakeEmbedder())
    assert k["conversations"] == 3 and k["answers"] == 4
    assert abs(k["deflection_rate"] - 1 / 3) < 1e-9 and abs(k["handoff_rate"] - 2 / 3) < 1e-9
    assert k["handoffs_by_reason"] == {"low_confidence": 1, "negative_sentiment": 1}
    assert abs(k["csat"] - 2 / 3) < 1e-9 and k["first_contact_resolution"] == 0.5
    assert k["latency_p50_ms"] == 70.0
    assert k["content_gaps"][0] == {"question": "PayPal?", "count": 2, "examples": ["PayPal?"]}


def test_content_gaps_cluster_similar_questions():
    questions = ["Kann ich mit PayPal zahlen?", "Kann ich mit PayPal bezahlen?",
                 "Habt ihr Kajaks?", "Kann ich mit Paypal zahlen"]
    gaps = content_gaps(questions, FakeEmbedder(), threshold=0.6)
    assert gaps[0].count == 3 and "PayPal" in gaps[0].question
    assert gaps[1].question == "Habt ihr Kajaks?" and gaps[1].count == 1


def test_advice_kpis_count_conversations_products_and_the_ones_that_ended_with_a_person(tmp_path):
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    a, b, c = (state.new_session() for _ in range(3))
    # a: asked back, then two products recommended, then thanks: solved by the adviser.
    state.record("answer", a, 5.0, kind="ask_back", advice="ask", products=0)
    state.record("answer", a, 5.0, kind="advice", advice="recommend", products=2)
    # b: a recommendation, then the customer wants a person.
    state.record("answer", b, 5.0, kind="advice", advice="nothing_fits", products=1)
    state.record("answer", b, None, kind="handoff", handoff=True, reason="asked_for_human")
    # c: handed off without any advice; it is not an advice conversation.
    state.record("answer", c, 5.0, handoff=True, reason="low_confidence", question="Kajak?")
    k = kpis(state)
    assert k["advice_conversations"] == 2
    assert k["recommendations_shown"] == 3
    assert k["advice_ended_with_person"] == 1 and k["advice_handoff_rate"] == 0.5
    assert kpis(StateStore(f"sqlite:///{tmp_path / 'empty.db'}"))["advice_handoff_rate"] is None
