"""Lotse's LangChain parts with real langchain-core objects over the shared corpus store."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from bot.integrations.langchain import CitationFilter, LotseChain, LotseRetriever
from kb.settings import get_settings

INTERNAL = "Interner Gutscheincode Mitarbeiterrabatt BP-TEAM-30"


def test_the_retriever_returns_documents_with_their_provenance(default_engine):
    docs = LotseRetriever(engine=default_engine, k=3).invoke("Was kostet der Expressversand?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert {"source", "title", "section", "score", "audience"} <= set(docs[0].metadata)
    assert "12,90" in docs[0].page_content
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_the_retriever_keeps_the_audience_it_was_built_for(default_engine):
    customer = LotseRetriever(engine=default_engine, k=10).invoke(INTERNAL)
    assert customer and all(d.metadata["audience"] == "public" for d in customer)
    agent = LotseRetriever(engine=default_engine, view="agent", k=10).invoke(INTERNAL)
    assert agent[0].metadata["audience"] == "internal"
    assert agent[0].metadata["source"] == "internal/gutscheincodes.md"
    with pytest.raises(ValueError, match="view must be one of"):
        LotseRetriever(engine=default_engine, view="admin")


def test_the_chain_answers_with_the_json_contract_in_every_runnable_form(default_engine):
    chain = LotseChain(default_engine)
    answer = chain.invoke("Was kostet der Expressversand?")
    assert "12,90 €" in answer["answer"] and answer["citations"] and not answer["handoff"]
    both = chain.batch(["Was kostet der Expressversand?", "Ich will mit einem Menschen sprechen"])
    assert not both[0]["handoff"] and both[1]["handoff"]
    streamed = list(chain.stream("Was kostet der Expressversand?"))
    assert streamed[-1]["answer"] == answer["answer"]  # extractive: the whole answer at once
    assert asyncio.run(chain.ainvoke("Was kostet der Expressversand?"))["answer"] == answer["answer"]

    async def collect():
        return [item async for item in chain.astream("Was kostet der Expressversand?")]

    assert asyncio.run(collect())[-1]["answer"] == answer["answer"]


def test_the_chain_takes_the_conversation_so_far(default_engine):
    chain = LotseChain(default_engine)
    follow_up = chain.invoke({"question": "Und in Größe L?", "history": [
        {"question": "Wie schwer ist der AlpinPro 35?", "answer": "Er wiegt 1,25 kg in Größe M."}]})
    assert "1,32 kg" in follow_up["answer"]
    assert follow_up["citations"][0]["title"].startswith("AlpinPro 35")
    alone = chain.invoke("Und in Größe L?")  # without the history it is a different question
    assert "1,32 kg" not in alone["answer"]
    with pytest.raises(TypeError, match="question"):
        chain.invoke({"frage": "?"})


def test_a_small_lcel_pipeline_composes_lotse_with_other_runnables(default_engine):
    tidy = RunnableLambda(lambda text: " ".join(text.split()))
    pipeline = tidy | LotseChain(default_engine) | RunnableLambda(lambda a: a["answer"])
    assert "12,90 €" in pipeline.invoke("  Was kostet   der Expressversand?  ")


def test_the_citation_filter_keeps_what_another_chains_documents_support(default_engine):
    """Retriever -> prompt -> some chat model -> citation check, all in LCEL."""
    retriever = LotseRetriever(engine=default_engine, k=2)
    model = FakeListChatModel(responses=[
        "Der Expressversand kostet 12,90 € [1]. Der Expressversand kostet 99 € [1]. "
        "Er kommt mit dem Hubschrauber."])
    prompt = ChatPromptTemplate.from_messages([("human", "{question}\n\n{context}")])
    generate = ({"question": lambda q: q, "context": retriever} | prompt | model)
    pipeline = {"text": generate | (lambda m: m.content), "documents": retriever} | \
        CitationFilter(default_engine)
    out = pipeline.invoke("Was kostet der Expressversand?")
    assert out["text"] == "Der Expressversand kostet 12,90 € [1]."
    assert [v["ok"] for v in out["verdicts"]] == [True, False, False]


def test_built_without_arguments_it_reads_the_settings_as_the_cli_does(default_engine,
                                                                        monkeypatch):
    monkeypatch.setenv("LOTSE_HOME", str(default_engine.settings.home))
    get_settings.cache_clear()
    try:
        docs = LotseRetriever(k=1).invoke("Was kostet der Expressversand?")
    finally:
        get_settings.cache_clear()
    assert "12,90" in docs[0].page_content


def test_k_and_where_given_with_a_call_are_honoured(default_engine):
    retriever = LotseRetriever(engine=default_engine)  # k=5 when built
    question = "Wie schwer ist der AlpinPro 35?"
    assert len(retriever.invoke(question)) == 5  # the control: the built k
    assert len(retriever.invoke(question, k=1)) == 1
    assert len(retriever.batch([question, question], k=2)[1]) == 2
    assert len(asyncio.run(retriever.ainvoke(question, k=3))) == 3
    products = retriever.invoke(question, k=4, where={"doc_type": "product"})
    assert len(products) == 4 and {d.metadata["doc_type"] for d in products} == {"product"}
    only = retriever.invoke(question, k=3, where={"product": "AlpinPro 35"})
    assert only and {d.metadata["product"] for d in only} == {"AlpinPro 35"}
    assert {d.metadata["doc_type"] for d in retriever.invoke(question, k=10)} != {"product"}
    with pytest.raises(ValueError, match="k must be"):
        retriever.invoke(question, k=0)


@pytest.mark.parametrize("kwargs", [
    {"view": "agent"}, {"audience": "internal"}, {"where": {"audience": "internal"}},
    {"where": {"$or": [{"audience": "internal"}, {"doc_type": "note"}]}},
    {"where": {}}, {"filter": {"audience": "internal"}}, {"search_kwargs": {"view": "agent"}},
], ids=["view", "audience", "where-audience", "where-or", "where-empty", "filter", "search"])
def test_no_argument_of_a_call_shows_a_customer_retriever_an_internal_note(default_engine,
                                                                          kwargs):
    retriever = LotseRetriever(engine=default_engine, k=10)
    # The control: the agent's retriever finds the note with this query.
    agent = LotseRetriever(engine=default_engine, view="agent", k=10).invoke(INTERNAL)
    assert agent[0].metadata["source"] == "internal/gutscheincodes.md"
    with pytest.raises((TypeError, ValueError), match="view|where|k and where"):
        retriever.invoke(INTERNAL, **kwargs)
    assert all(d.metadata["audience"] == "public" for d in retriever.invoke(INTERNAL, k=10))
