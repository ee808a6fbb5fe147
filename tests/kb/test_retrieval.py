"""Hybrid retrieval on docs_corpus with the offline default embedder."""

import numpy as np


def test_audience_filter_is_inside_retrieval(default_engine):
    retriever = default_engine.retriever
    question = "Interner Gutscheincode Mitarbeiterrabatt BP-TEAM-30"
    customer = retriever.retrieve(question, view="customer", k=20).hits
    agent = retriever.retrieve(question, view="agent", k=20).hits
    assert customer and all(h.chunk.audience == "public" for h in customer)
    assert agent[0].chunk.source == "internal/gutscheincodes.md"


def test_unknown_view_reads_public_only(default_engine):
    hits = default_engine.retriever.retrieve("Kulanzregeln Gutschrift", view="admin", k=20).hits
    assert hits and all(h.chunk.audience == "public" for h in hits)


def test_metadata_filters(default_engine):
    retriever = default_engine.retriever
    faq = retriever.retrieve("Versand", where={"doc_type": "faq"}, k=10).hits
    assert faq and all(h.chunk.metadata["doc_type"] == "faq" for h in faq)
    tents = retriever.retrieve("Wie schwer ist es?", where={"product": "Sommerbrise 3"}, k=10).hits
    assert tents and all(h.chunk.metadata["product"] == "Sommerbrise 3" for h in tents)


def test_english_question_finds_the_german_document(default_engine):
    hits = default_engine.retriever.retrieve("Which tent for Norway in October?").hits
    assert hits[0].chunk.metadata["product"] == "Fjell 2 Expedition"


def test_hits_carry_every_signal(default_engine):
    hit = default_engine.retriever.retrieve("Wassersäule Storm Pro").hits[0]
    assert set(hit.signals) >= {"bm25", "bm25_ngram", "dense", "dense_sentence", "coverage"}
    assert hit.chunk.metadata["product"] == "Storm Pro"


def test_lexical_index_scores_as_bm25s_does_on_its_own_token_lists():
    """The index stores term ids, not token strings (memory of big builds); its scores
    must be those of bm25s indexing the same token lists directly."""
    import bm25s

    from kb.lexical import _Bm25
    from kb.text import ngram_tokens, word_tokens

    texts = ["Das Zelt Fjell 2 wiegt 2,1 kg und ist wasserdicht.",
             "Rücksendungen sind 30 Tage kostenlos.", "", "Zelte und Wanderstöcke im Angebot."]
    for tokenize in (word_tokens, ngram_tokens):
        corpus = [tokenize(t) for t in texts]
        ours = _Bm25.build(iter(corpus))
        direct = bm25s.BM25(k1=1.2, b=0.75)
        direct.index([c or ["\x00"] for c in corpus], show_progress=False)
        for query in ("Zelt wasserdicht", "Rücksendung kostenlos", "Stöcke"):
            q = tokenize(query)
            known = [t for t in q if t in direct.vocab_dict]
            expected = direct.get_scores(known) if known else np.zeros(len(texts))
            assert np.allclose(ours.scores(q), expected)
    assert _Bm25.build(iter([[], []])).model is None
