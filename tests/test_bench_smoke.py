"""The benchmarks run end to end on tiny data and keep their output contract."""

from __future__ import annotations

import json

import pytest

from bench import xquad


def _squad(path, paragraphs):
    data = {"version": "1", "data": [{"title": "t", "paragraphs": [
        {"context": c, "qas": [{"id": f"{i}", "question": q, "answers": []}]}
        for i, (c, q) in enumerate(paragraphs)]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_xquad_skips_without_data(tmp_path, capsys):
    assert xquad.main(["--de", str(tmp_path / "no.json"), "--en", str(tmp_path / "no.json")]) == 0
    assert "SKIPPED" in capsys.readouterr().out


@pytest.mark.usefixtures("use_embedder")  # the benchmark embeds with the real model
def test_xquad_json_shape(tmp_path):
    topics = ["Zelt", "Rucksack", "Schlafsack", "Stirnlampe", "Regenjacke", "Bohrhammer"]
    de = [(f"Der {t} kostet {10 * i} Euro und wiegt {i} Kilogramm.", f"Was kostet der {t}?")
          for i, t in enumerate(topics, 1)]
    en = [(c, f"How much is the {t}?") for (c, _), t in zip(de, topics)]
    _squad(tmp_path / "de.json", de)
    _squad(tmp_path / "en.json", en)
    out = tmp_path / "out.json"
    assert xquad.main(["--de", str(tmp_path / "de.json"), "--en", str(tmp_path / "en.json"),
                       "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result) == {"de", "en_de", "handoff"}
    for part in ("de", "en_de"):
        assert set(result[part]) == {"bm25", "dense", "rrf", "lotse"}
        for metrics in result[part].values():
            assert set(metrics) == {"r@1", "r@5", "mrr@10"}
            assert all(isinstance(v, float) and 0 <= v <= 1 for v in metrics.values())
    assert set(result["handoff"]) == {"bm25", "dense", "rrf", "lotse"}
    assert all(set(m) == {"auroc", "f1"} for m in result["handoff"].values())
    assert result["de"]["lotse"]["r@1"] >= 0.8


def test_reingest_load_skips_without_data(tmp_path, capsys):
    from bench import reingest_load

    assert reingest_load.main(["--xquad", str(tmp_path / "none")]) == 0
    assert "SKIPPED" in capsys.readouterr().out


def test_reingest_load_counts_stale_citations_only_after_publish_and_refresh():
    from bench.reingest_load import REFRESH_SECONDS, Cycle, Request, summarise

    cycle = Cycle(instance=0, started=100.0, ended=110.0, deleted={"old.md"})
    cycle.seen_at = {0: 110.05, 1: 110.9}
    log = [
        Request(90.0, 90.2, 0, 200, ("old.md",)),                       # before: fine
        Request(105.0, 106.0, 1, 200, ("old.md",)),                     # during: fine
        Request(110.0 + REFRESH_SECONDS / 2, 111.0, 1, 200, ("old.md",)),  # in the window
        Request(112.0, 112.3, 0, 200, ("old.md", "new.md")),            # stale
        Request(113.0, 113.2, 1, 200, ("new.md",)),
        Request(114.0, 114.1, 0, 429, (), "too many"),
    ]
    res = summarise("persistent", log, [cycle], sessions=2, initial_ingest_s=1.0, questions=3)
    assert res["stale_after_refresh"] == 1 and res["checked_after_refresh"] == 3
    assert res["stale_inside_refresh_window"] == 1
    assert res["phases"]["before"]["requests"] == 1 and res["phases"]["during"]["requests"] == 1
    assert res["phases"]["after"] == {"requests": 4, "failed": 1, "p50_ms": 300.0,
                                      "p95_ms": 480.0, "max_ms": 500.0}
    assert res["failed_total"] == 1 and res["failures"] == ["too many"]
    assert [v["seen_after_s"] for v in res["visibility"]] == [0.05, 0.9]


def test_answers_bench_skips_without_data(tmp_path, capsys):
    from bench import answers

    assert answers.main(["--de", str(tmp_path / "no.json"), "--en", str(tmp_path / "no.json")]) == 0
    assert "SKIPPED" in capsys.readouterr().out


def test_answer_level_scoring_counts_spans_handoffs_and_honest_not_found():
    from bench.answers import contains_span, score

    def row(kept, answer, handoff=False, confidence=0.9, reason=None):
        return {"kept": kept, "spans": ["1885"], "answer": {
            "answer": answer, "handoff": handoff, "confidence": confidence,
            "handoff_reason": reason}}

    rows = [row(True, "Er kam 1885 an. [1]"), row(True, "Er kam spät an. [1]"),
            row(True, "…", True, 0.2, "low_confidence"), row(False, "Er kam 1885 an. [1]", confidence=0.5),
            row(False, "Zu „Tesla“ steht in unseren Unterlagen nichts. Dazu steht dort: …"),
            row(False, "…", True, 0.1, "low_confidence")]
    assert contains_span("Er kam im Jahr 1885 an.", ["1885"])
    result = score(rows)
    assert result["span"] == 1 / 3 and result["false_handoff"] == 1 / 3
    assert result["held_out_handoff"] == 1 / 3 and result["held_out_not_answered"] == 2 / 3
    # At a threshold of 0.6 the held-out answer with confidence 0.5 counts as handed off.
    assert score(rows, 0.6)["held_out_handoff"] == 2 / 3


def test_corpora_bench_judges_the_sentence_that_holds_the_fact():
    from bench.corpora.judge import judge

    case = {"kind": "answerable", "source": "faq.md", "fact": "bis zu 20 Endgeräten",
            "accept": []}
    right = {"answer": "Das geht. Bis zu 20 Endgeräten [2].", "handoff": False, "route": "answer",
             "citations": [{"n": 1, "source": "intro.md"}, {"n": 2, "source": "faq.md"}]}
    assert judge(case, right) == "right"
    # The fact from another page, or another page's sentence cited for it: wrong.
    assert judge(case, {**right, "answer": "Bis zu 20 Endgeräten [1]."}) == "wrong"
    assert judge(case, {**right, "answer": "Das geht [2]."}) == "wrong"
    assert judge(case, {**right, "handoff": True}) == "handoff"
    offered = {**right, "route": "suggest", "suggestions": [{"title": "FAQ", "source": "faq.md"}]}
    assert judge(case, offered) == "suggested"
    unanswerable = {"kind": "unanswerable"}
    assert judge(unanswerable, right) == "wrong"
    assert judge(unanswerable, {**right, "handoff": True}) == "handled"
    # "Not in our documents" handles it only when it quotes nothing else.
    honest = {**right, "answer": "Zu „Miete“ steht in unseren Unterlagen nichts.", "citations": []}
    assert judge(unanswerable, honest) == "handled"
    assert judge(unanswerable, {**honest, "citations": right["citations"]}) == "wrong"


def test_a_numeric_fact_restated_in_another_language_counts():
    from bench.corpora.judge import judge

    case = {"kind": "answerable", "source": "talgrund.md", "fact": "Das Zelt wiegt 11,2 kg"}
    said = {"answer": "The Talgrund 4 weighs 11.2 kg [1].", "handoff": False, "route": "answer",
            "citations": [{"n": 1, "source": "talgrund.md"}]}
    assert judge(case, said) == "right"
    assert judge(case, {**said, "answer": "The Talgrund 4 weighs 12.4 kg [1]."}) == "wrong"
    assert judge(case, {**said, "citations": [{"n": 1, "source": "other.md"}]}) == "wrong"
    # In the same language the words must match too, not only a number.
    german = {**said, "answer": "Die Lieferung dauert 11,2 Tage [1]."}
    assert judge(case, german) == "wrong"


def test_corpora_bench_judges_advice_and_dialogue_acts():
    from bench.corpora.judge import judge

    advice = {"kind": "advice", "products": ["zelte/a.md"], "clarify": False}
    picked = {"answer": "…", "handoff": False, "citations": [], "options": [],
              "products": [{"source": "zelte/a.md"}]}
    assert judge(advice, picked) == "right"
    assert judge(advice, {**picked, "products": [{"source": "zelte/b.md"}]}) == "wrong"
    asking = {**picked, "products": [], "options": ["2 Personen", "3 Personen"]}
    assert judge({**advice, "clarify": True}, asking) == "right"
    assert judge(advice, asking) == "wrong"
    person = {"kind": "ask_human", "act": "ask_human"}
    assert judge(person, {"act": "ask_human", "handoff": True}) == "right"
    assert judge(person, {"act": "ask_human", "handoff": False}) == "wrong"
    assert judge({"kind": "smalltalk", "act": "greeting"}, {"act": "greeting",
                                                            "handoff": True}) == "wrong"


def test_ingest_and_soak_skip_without_data(tmp_path, capsys):
    from bench import ingest, soak

    assert ingest.main(["--xquad", str(tmp_path / "none")]) == 0
    assert soak.main(["--xquad", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert out.count("SKIPPED") == 2


def test_the_plain_pipeline_splits_at_sentence_ends_near_900_characters():
    from bench.ingest import split_plain

    sentence = "Das ist ein Satz mit einigen Wörtern darin. "
    pieces = split_plain(sentence * 60)
    assert len(pieces) == 3 and all(len(p) <= 900 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == (sentence * 60).strip()


def test_the_soak_counts_absent_citations_after_each_flip_and_rollback():
    from bench.reingest_load import Request
    from bench.soak import REFRESH_SECONDS, Event, summarise

    events = [Event("ingest", 0, 0.0, 0.0, frozenset()),
              Event("ingest", 0, 100.0, 110.0, frozenset({"gone.md"})),
              Event("rollback", 1, 200.0, 201.0, frozenset())]
    log = [
        Request(50.0, 50.1, 0, 200, ("gone.md",)),                        # still live then
        Request(110.0 + REFRESH_SECONDS / 2, 111.5, 0, 200, ("gone.md",)),  # in the window
        Request(150.0, 150.2, 0, 200, ("gone.md",)),                      # stale
        Request(150.0, 150.2, 0, 200, ("kept.md",)),
        Request(105.0, 105.3, 0, 503, ()),                                # a failure, during
        Request(210.0, 210.2, 0, 200, ("gone.md",)),                      # back after rollback
    ]
    res = summarise(log, events, sessions=1, minutes=1, initial_ingest_s=1.0,
                    samples=[{"t_s": 0.0, "A": 1.0}, {"t_s": 60.0, "A": 2.0}])
    assert res["stale_citations"] == 1 and res["absent_cited_inside_refresh_window"] == 1
    assert res["cited_later_deleted_before_first_flip"] == 1
    assert res["during_reingests"]["requests"] == 1 and res["during_reingests"]["failed"] == 1
    assert res["all"]["failed"] == 1 and res["rss_mb"]["A"]["start"] == 1.0


def test_the_soak_reads_growth_per_half_from_the_minute_before_each_mark():
    from bench.soak import growth_check, memory

    # Every 30 s for an hour: A climbs for 20 minutes and then stays (one spike at 50 min);
    # B keeps growing by 1 MB a minute.
    samples = [{"t_s": float(t), "A": 400.0 + min(t, 1200) / 60 + (30 if t == 3000 else 0),
                "B": 400.0 + t / 60, "chroma": None if t == 0 else 200.0}
               for t in range(0, 3601, 30)]
    rss = memory(samples, 3600, ["A", "B", "chroma"])
    assert rss["A"]["start"] == 400.0 and rss["A"]["half"] == 420.0 and rss["A"]["end"] == 420.0
    assert rss["A"]["second_half_growth"] == 0.0 and rss["A"]["max"] == 450.0
    assert rss["B"]["first_half_growth"] == 29.5 and rss["B"]["second_half_growth"] == 30.0
    assert rss["chroma"]["start"] == 200.0  # the first sample that has it
    check = growth_check({"rss_mb": rss}, 15)
    assert not check["met"] and check["largest"] == 30.0
    del rss["B"]
    assert growth_check({"rss_mb": rss}, 15)["met"]
