"""The markup cleaner at the citation boundary (``kb.markup``), on its own: what it takes
out (images, HTML, links that lead off the web) and what it leaves (text, a lone "<",
https links where Markdown may stay). In the fast tier."""

from __future__ import annotations

import doctest

import pytest

import kb.markup
from kb.markup import plain_text, public_markdown
from kb.types import Citation

HOSTILE = [
    "![Gutschein](https://evil.example/pixel.png)",
    "![x](<https://evil.example/a b.png> \"titel\")",
    "<img src=x onerror=alert(1)>",
    "<<b>img src=x onerror=alert(1)>",                         # one tag hides the next
    "&lt;img src=x onerror=alert(1)&gt;",                      # entities decode to a tag
    "&#33;[x](https://evil.example/t.png)",                    # "!" as an entity
    "[Gutschein](javascript:alert(1))",
    "[Gutschein]( JaVaScRiPt:alert(1) )",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[![x](https://evil.example/t.png)](javascript:alert(1))",  # an image inside a link
    "<a href=\"javascript:alert(1)\">x</a>",
    "<javascript:alert(1)>",
    "<script>alert(1)</script>",
    "<svg><script>alert(1)</script></svg>",
    "<!-- <img src=x onerror=alert(1)> -->",
    "\n[ref]: javascript:alert(1)\n",                         # a reference definition
]


@pytest.mark.parametrize("markup", HOSTILE)
def test_no_image_tag_or_script_link_survives(markup):
    for cleaned in (plain_text(f"Versand {markup} heute"),
                    public_markdown(f"Versand {markup} heute")):
        lowered = cleaned.lower()
        assert "<" not in cleaned and "![" not in cleaned, cleaned
        assert "javascript" not in lowered and "onerror" not in lowered, cleaned
        assert "evil.example" not in lowered and "data:" not in lowered, cleaned
        assert cleaned.startswith("Versand") and cleaned.endswith("heute"), cleaned


def test_a_tag_never_closed_takes_the_rest_of_the_text_with_it():
    assert plain_text("Versand <IMG SRC=x OnError=alert(1) heute") == "Versand"


def test_a_links_text_stays_and_only_an_https_target_may_stay_in_markdown():
    text = "Siehe [Versand](https://shop.example/versand) und [Login](/logout)."
    assert plain_text(text) == "Siehe Versand und Login."
    assert public_markdown(text) == "Siehe [Versand](https://shop.example/versand) und Login."
    assert public_markdown("[a](https://de.wikipedia.org/wiki/Rucksack_(Ausrüstung))") == \
        "[a](https://de.wikipedia.org/wiki/Rucksack_(Ausrüstung))"
    assert plain_text("<https://shop.example/versand>") == "https://shop.example/versand"


def test_plain_text_is_left_as_it_is():
    for text in ("Gewicht < 2 kg, Preis > 10 €", "AlpinPro 35 – Größe L: 1,32 kg",
                 "Frage [1] und Antwort", "Zeile eins\nZeile zwei", "**fett** # Titel", ""):
        assert plain_text(text) == text
        assert public_markdown(text) == text


def test_a_citation_is_plain_text_however_it_is_made():
    c = Citation(n=1, source="faq/team.yaml",
                 title="Helgoland? ![x](https://evil.example/t.png)<img src=x onerror=alert(1)>",
                 section="<b>Versand</b>", snippet="[mehr](javascript:alert(1)) lesen")
    assert (c.title, c.section, c.snippet) == ("Helgoland?", "Versand", "mehr lesen")
    assert c.to_dict()["title"] == "Helgoland?" and c.source == "faq/team.yaml"
    assert Citation(n=2, source="a.md", title="T", section=None, snippet="s").section is None


def test_the_examples_in_the_docstring_hold():
    assert doctest.testmod(kb.markup).failed == 0
