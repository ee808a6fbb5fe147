"""Generated answers through a fake langchain chat model on docs_corpus/: what the citation
check drops, and exactly what the customer then sees."""

from __future__ import annotations

import logging

import pytest
from fastapi import Request  # module level: the fake endpoint's annotation must resolve
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.answer.chain import AnswerChain
from bot.answer.extractive import ExtractiveAnswerer
from bot.answer.generative import (
    DONT_KNOW,
    GenerativeAnswerer,
    build_messages,
    renumber,
)
from bot.answer.llm import make_chat_model
from bot.chat.service import ChatService
from bot.chat.state import StateStore
from kb.settings import LLMSettings, LotseSettings
from bench.servers import uvicorn_thread


def chain_with(engine, *replies: str) -> AnswerChain:
    settings = LotseSettings(llm={"mode": "openai"})  # the mode only names the backend here
    writer = GenerativeAnswerer(FakeListChatModel(responses=list(replies)), settings.llm, "Bergpfad")
    return AnswerChain(engine.retriever, ExtractiveAnswerer(settings.answer), settings.answer,
                       writer, settings.grounding)


def dropped(answer) -> list[tuple[str, str]]:
    return [(d["sentence"], d["reason"]) for d in answer.grounding["dropped"]]


def test_a_correct_answer_passes_unchanged(default_engine):
    reply = ("Du kannst Artikel innerhalb von 30 Tagen ab Erhalt ohne Angabe von Gründen "
             "zurücksenden. [1]")
    answer = chain_with(default_engine, reply).ask("Wie lange habe ich Zeit für eine Rücksendung?")
    assert answer.text == reply and not answer.handoff and answer.kind == "answer"
    assert answer.grounding["dropped"] == [] and answer.grounding["sentences"] == 1
    assert answer.citations[0].n == 1
    assert answer.citations[0].source == "faq/ruecksendung-versand-zahlung.csv"


def test_a_wrong_number_is_dropped_and_the_quote_stands_in(default_engine):
    """Gemma-3-270M's measured mistake: "14 Tage" where the source says 30."""
    answer = chain_with(default_engine, "Du hast 14 Tage Zeit für die Rücksendung. [1]").ask(
        "Wie lange habe ich Zeit für eine Rücksendung?")
    assert dropped(answer) == [("Du hast 14 Tage Zeit für die Rücksendung [1].", "number_not_in_source")]
    assert "14 Tage" not in answer.text and "30 Tagen" in answer.text
    assert answer.grounding["fallback"] == "extractive" and not answer.handoff


def test_an_unsupported_yes_is_dropped_and_the_customer_hears_what_the_sources_say(default_engine):
    """Gemma-3-270M's other measured mistake: "Ja" to PayPal, which no source mentions. The
    sentence is dropped; the extractive answer says PayPal is not in the documents, and
    nothing else."""
    answer = chain_with(default_engine, "Ja, du kannst mit PayPal bezahlen. [1]").ask(
        "Kann ich mit PayPal bezahlen?")
    assert [r for _, r in dropped(answer)] == ["name_not_in_source"]
    assert answer.kind == "not_found" and answer.grounding["fallback"] == "extractive"
    assert answer.text.startswith("Zu „PayPal“ steht in unseren Unterlagen nichts")
    assert "Ja," not in answer.text and not answer.citations


def test_an_invented_product_is_dropped(default_engine):
    answer = chain_with(default_engine,
                        "Für Norwegen im Oktober empfehlen wir das Fjell 3 Expedition. [1]").ask(
        "Welches Zelt empfehlt ihr für Norwegen im Oktober?")
    assert [r for _, r in dropped(answer)] == ["unknown_product"]
    assert "Fjell 3" not in answer.text and "Fjell 2 Expedition" in answer.text


def test_a_sentence_without_citation_is_dropped_and_the_rest_shown(default_engine):
    answer = chain_with(default_engine,
                        "Der Versand innerhalb Deutschlands kostet 4,95 €. [1] "
                        "Wir liefern auch nach Japan.").ask("Was kostet der Versand?")
    assert dropped(answer) == [("Wir liefern auch nach Japan.", "no_citation")]
    assert answer.text == "Der Versand innerhalb Deutschlands kostet 4,95 €. [1]"
    assert "versand" in answer.citations[0].source


def test_a_citation_out_of_range_is_dropped(default_engine):
    answer = chain_with(default_engine,
                        "Der Expressversand kostet 12,90 €. [1] Bestellst du bis 12 Uhr, kommt "
                        "die Bestellung am nächsten Werktag. [9]").ask("Gibt es einen Expressversand?")
    assert [r for _, r in dropped(answer)] == ["unknown_source"]
    assert answer.text == "Der Expressversand kostet 12,90 €. [1]"


def test_citations_are_renumbered_in_order_of_use():
    from kb.types import Chunk, Hit

    hits = [Hit(Chunk(f"c{i}", f"d{i}", f"Text {i}", 0, None, {}), 1.0) for i in range(1, 4)]
    text, cited = renumber("Erst drei. [3] Dann eins. [1] Wieder drei. [3]", hits)
    assert text == "Erst drei. [1] Dann eins. [2] Wieder drei. [1]"
    assert [(n, h.chunk.id) for n, h in cited] == [(1, "c3"), (2, "c1")]


def test_i_dont_know_falls_back_to_the_quote_or_a_person(default_engine):
    unknown = chain_with(default_engine, DONT_KNOW["de"]).ask(
        "Welche Skier passen zu meinen Tourenschuhen?")
    assert unknown.route in ("handoff", "suggest") and not unknown.citations
    assert unknown.grounding["fallback"] == unknown.route
    assert unknown.grounding["dropped"] == []  # saying "I don't know" is no hallucination
    known = chain_with(default_engine, DONT_KNOW["de"]).ask("Was kostet der Versand?")
    assert "4,95 €" in known.text and known.grounding["fallback"] == "extractive"


def test_a_clarifying_question_needs_no_citation(default_engine):
    answer = chain_with(default_engine, "Gern! Für welche Jahreszeit suchst du den Schlafsack?").ask(
        "Ich brauche einen Schlafsack, was habt ihr?")
    assert answer.kind == "ask_back" and answer.text.endswith("?") and not answer.handoff


def test_an_unreachable_backend_falls_back_with_a_warning(default_engine, caplog):
    settings = LLMSettings(mode="openai", base_url="http://127.0.0.1:9/v1", timeout_seconds=2)
    writer = GenerativeAnswerer(make_chat_model(settings), settings)
    chain = AnswerChain(default_engine.retriever, ExtractiveAnswerer(LotseSettings().answer),
                        LotseSettings().answer, writer)
    with caplog.at_level(logging.WARNING):
        answer = chain.ask("Was kostet der Versand?")
    assert "4,95 €" in answer.text and not answer.handoff
    assert "error" in answer.grounding
    assert any("answering extractively" in r.message for r in caplog.records)


def test_the_prompt_numbers_sources_with_audience_and_language(default_engine):
    hits = default_engine.retriever.retrieve("Welchen Gutscheincode gibt es bei Verzögerung?",
                                               view="agent").hits
    messages = build_messages("Welchen Gutscheincode gibt es?", hits, "agent", "en", "Bergpfad")
    system, last = messages[0].content, messages[-1].content
    assert "[1]" in system and "keine verlässliche Information" not in system  # English asked
    assert "I don't have reliable information on this." in system and "Englisch" in system
    assert last.startswith("Quellen:\n[1] (") and "Frage: Welchen Gutscheincode gibt es?" in last
    assert "(intern, Deutsch)" in last  # agents' prompts may carry internal notes
    customer = build_messages("Was kostet der Versand?",
                              default_engine.retriever.retrieve("Was kostet der Versand?").hits,
                              "customer", "de", "Bergpfad")
    assert "(intern" not in customer[-1].content
    assert sum(1 for m in messages if m.type == "ai") == 3  # the German examples


def test_streamed_sentences_are_released_only_after_the_check(default_engine, tmp_path):
    reply = ("Der Versand innerhalb Deutschlands kostet 4,95 €. [1] Ab 50 € Bestellwert ist er "
             "kostenlos. [1] Nach Japan liefern wir für 2 €. [1]")
    engine = default_engine
    chain = chain_with(engine, reply)
    items = list(chain.stream("Was kostet der Versand?"))
    deltas = [item for item in items if isinstance(item, str)]
    assert deltas and all("Japan" not in d for d in deltas)
    assert deltas[0] == "Der Versand innerhalb Deutschlands kostet 4,95 €. [1]"
    assert "".join(deltas) == items[-1].text


def test_llm_mode_switches_the_service_and_counts_blocked_sentences(default_engine, tmp_path):
    from dataclasses import replace

    engine = replace(default_engine, chain=chain_with(
        default_engine, "Du hast 14 Tage Zeit. [1]",
        "Was kostet der Versand einer Rücksendung innerhalb Deutschlands?",  # the rewrite
        "Innerhalb Deutschlands ist die Rücksendung kostenlos. [1]"))
    chat = ChatService(engine, StateStore(f"sqlite:///{tmp_path / 'state.db'}"))
    sid = chat.state.new_session()
    first = chat.send(sid, "Wie lange habe ich Zeit für eine Rücksendung?")
    second = chat.send(sid, "Und was kostet das?")
    assert "14 Tage" not in first.text and "30 Tagen" in first.text
    assert second.text == "Innerhalb Deutschlands ist die Rücksendung kostenlos. [1]"
    transcript = chat.state.transcript(sid)
    assert transcript[1].answer["grounding"]["dropped"][0]["reason"] == "number_not_in_source"
    # The model turned the follow-up into a standalone question before retrieval.
    assert transcript[3].answer["retrieval_query"] == \
        "Was kostet der Versand einer Rücksendung innerhalb Deutschlands?"
    from bot.chat.analytics import kpis

    k = kpis(chat.state)
    assert k["hallucinations_blocked"] == 1 and k["generated_answers"] == 2


@pytest.fixture
def openai_compatible_server():
    """A tiny OpenAI-compatible endpoint over real HTTP that answers from a queue."""
    import json

    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    replies: list[str] = []
    seen: list[dict] = []
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        seen.append(body)
        text = replies.pop(0) if replies else "Dazu habe ich keine verlässliche Information."
        if not body.get("stream"):
            return {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}]}

        def events():
            for word in text.split(" "):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                         "model": body["model"], "choices": [
                             {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    with uvicorn_thread(app) as url:
        yield {"url": f"{url}/v1", "replies": replies, "seen": seen}


def test_switching_llm_mode_in_settings_changes_the_answers(default_engine, use_embedder,
                                                            openai_compatible_server, tmp_path):
    """No code change: the same store, once extractive, once through an OpenAI-compatible server."""
    from bot.wiring import build_engine

    home = default_engine.settings.home
    question = "Was kostet der Versand?"
    extractive = build_engine(LotseSettings(home=home), embedder=use_embedder).chain.ask(question)
    settings = LotseSettings(home=home, llm={"mode": "openai", "model": "local-model",
                                             "base_url": openai_compatible_server["url"]})
    engine = build_engine(settings, embedder=use_embedder)
    openai_compatible_server["replies"].append(
        "Bei uns kostet der Versand innerhalb Deutschlands 4,95 €. [1]")
    generated = engine.chain.ask(question)
    assert generated.text == "Bei uns kostet der Versand innerhalb Deutschlands 4,95 €. [1]"
    assert generated.text != extractive.text and generated.grounding["backend"] == "openai"
    request = openai_compatible_server["seen"][-1]
    assert request["model"] == "local-model" and request["stream"] is True
    assert "[1] (öffentlich, Deutsch)" in request["messages"][-1]["content"]
