"""XQuAD's development half as training questions for the answer models.

Only the articles ``bench.xquad.fitted_article`` names are used (half of them); the others
are left for the figures ``bench.answers`` reports. The paragraphs of those articles that
the benchmark's protocol holds out (``bench.answers.held_out``) are not written, so their
questions are unanswerable here too. Every German question comes with its parallel
English one, both judged by the German answer spans, as the benchmark does.

Source: XQuAD (Artetxe, Ruder, Yogatama 2019), github.com/google-deepmind/xquad,
CC BY-SA 4.0; read from ``../shared/data/xquad/``, never copied into the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import XQUAD
from bench.answers import held_out
from bench.xquad import fitted_article

NAME = "xquad"
FILES = (XQUAD / "xquad.dev.de.json", XQUAD / "xquad.dev.en.json")


def available() -> bool:
    return all(path.is_file() for path in FILES)


def _articles(path: Path) -> list[list[dict]]:
    return [article["paragraphs"]
            for article in json.loads(path.read_text(encoding="utf-8"))["data"]]


def write_docs(folder: Path) -> list[dict]:
    """Write the kept paragraphs of the fitted articles to ``folder`` as Markdown (as the
    benchmark does) and return their questions in the shape of ``learn.answers.questions``."""
    german, english = (_articles(path) for path in FILES)
    count = sum(len(paragraphs) for paragraphs in german)
    gone = held_out(count)
    folder.mkdir(parents=True, exist_ok=True)
    items: list[dict] = []
    index = -1
    for a, (de_paragraphs, en_paragraphs) in enumerate(zip(german, english, strict=True)):
        for de_para, en_para in zip(de_paragraphs, en_paragraphs, strict=True):
            index += 1
            if not fitted_article(a):
                continue
            source = f"p{index:03d}.md"
            if index not in gone:
                (folder / source).write_text(
                    f"---\ntitle: Absatz\ndoc_type: article\nlanguage: de\n---\n"
                    f"{de_para['context']}\n", encoding="utf-8")
            kind = "unanswerable" if index in gone else "answerable"
            for de_qa, en_qa in zip(de_para["qas"], en_para["qas"], strict=True):
                spans = [answer["text"] for answer in de_qa["answers"]]
                target = {"fact": spans[0], "accept": spans[1:], "source": source}
                for language, qa in (("de", de_qa), ("en", en_qa)):
                    items.append({"corpus": NAME, "id": f"{qa['id']}-{language}", "kind": kind,
                                  "text": qa["question"], "target": target})
    return items
