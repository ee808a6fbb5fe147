"""The benchmarks run end to end on tiny data and keep their output contract."""

from __future__ import annotations

import json

from bench import xquad


def _squad(path, paragraphs):
    data = {"version": "1", "data": [{"title": "t", "paragraphs": [
        {"context": c, "qas": [{"id": f"{i}", "question": q, "answers": []}]}
        for i, (c, q) in enumerate(paragraphs)]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_xquad_skips_without_data(tmp_path, capsys):
    assert xquad.main(["--de", str(tmp_path / "no.json"), "--en", str(tmp_path / "no.json")]) == 0
    assert "SKIPPED" in capsys.readouterr().out


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
