"""Generate the HTML, PDF and DOCX documents of docs_corpus/ from the texts below.

The binary formats are written by code, never by hand, so anyone can check and
regenerate them:

    python scripts/make_corpus_binaries.py [--out docs_corpus]

Needs reportlab (PDF) and python-docx (DOCX); ``pip install -e .[test]`` has both.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

SIZE_GUIDE = {
    "title": "Rucksack-Größenberatung: M oder L?",
    "meta": {"doc_type": "guide", "product": "AlpinPro 35", "audience": "public",
             "updated": "2026-09-14"},
    "sections": [
        ("Rucksack-Größenberatung: M oder L?", [
            "Ein Rucksack trägt sich nur gut, wenn seine Rückenlänge zu deinem Rücken passt. "
            "Die Körpergröße allein sagt wenig darüber aus.",
        ]),
        ("Rückenlänge messen", [
            "Neige den Kopf nach vorn und ertaste den hervorstehenden siebten Halswirbel. "
            "Lege die Hände auf die Beckenknochen, die Daumen zeigen zur Wirbelsäule. "
            "Der Abstand vom Halswirbel bis zur Höhe der Daumen ist deine Rückenlänge.",
        ]),
        ("Größentabelle AlpinPro", [
            "AlpinPro 35 in Größe M: Rückenlänge 40 bis 47 cm.",
            "AlpinPro 35 in Größe L: Rückenlänge 46 bis 53 cm.",
            "AlpinPro 50 in Größe M: Rückenlänge 42 bis 48 cm.",
            "AlpinPro 50 in Größe L: Rückenlänge 47 bis 54 cm.",
        ]),
        ("Zwischen zwei Größen", [
            "Liegst du genau zwischen zwei Größen, nimm die größere Größe. "
            "In unserer Filiale in Freiburg messen wir deine Rückenlänge kostenlos.",
        ]),
    ],
}

TENT_MANUAL = {
    "title": "Fjell 2 Expedition – Aufbauanleitung",
    "keywords": "doc_type=manual; product=Fjell 2 Expedition; audience=public; updated=2026-08-30",
    "sections": [
        ("Lieferumfang", [
            "Zum Fjell 2 Expedition gehören das Zelt mit eingehängtem Innenzelt, drei "
            "Gestängebögen aus Aluminium, 16 Heringe, 12 Abspannleinen und ein Reparaturröhrchen.",
        ]),
        ("Aufbau in fünf Schritten", [
            "Breite das Zelt mit dem Heck in Windrichtung aus und stecke die beiden Heckheringe. "
            "Schiebe die drei Gestängebögen in die farbig markierten Kanäle, den längsten in die Mitte. "
            "Spanne das Zelt nach vorn und stecke die beiden Frontheringe. "
            "Spanne danach alle 12 Abspannleinen ab, bei Sturm zuerst die Leinen auf der Windseite. "
            "Ziehe zuletzt die Spannbänder an den Gestängeenden nach.",
        ]),
        ("Abbau und Lagerung", [
            "Baue das Zelt in umgekehrter Reihenfolge ab und schiebe das Gestänge aus den Kanälen, "
            "statt es zu ziehen. Lagere das Zelt nur trocken, sonst kann sich Schimmel bilden.",
        ]),
    ],
}

DRILL_SAFETY = {
    "title": "BH 26 – Sicherheitshinweise",
    "keywords": "doc_type=manual; product=BH 26; audience=public; updated=2026-03-10",
    "sections": [
        ("Vor der Arbeit", [
            "Prüfe vor jedem Einsatz das Netzkabel auf Schäden. "
            "Suche die Wand mit einem Leitungssucher nach Strom-, Gas- und Wasserleitungen ab.",
        ]),
        ("Schutzausrüstung", [
            "Trage beim Arbeiten mit dem BH 26 eine Schutzbrille, einen Gehörschutz und bei "
            "Staub eine FFP2-Maske. Halte das Gerät immer mit beiden Händen und benutze den Zusatzhandgriff.",
        ]),
        ("Nach der Arbeit", [
            "Ziehe den Netzstecker, bevor du den Bohrer wechselst. Der Bohrer kann nach dem Bohren "
            "sehr heiß sein. Schmiere das SDS-plus-Einsteckende der Bohrer regelmäßig mit Bohrerfett.",
        ]),
    ],
}


def write_html(out: Path) -> Path:
    doc = SIZE_GUIDE
    metas = "\n".join(f'  <meta name="{k}" content="{html.escape(v)}">' for k, v in doc["meta"].items())
    body = []
    for i, (heading, paragraphs) in enumerate(doc["sections"]):
        tag = "h1" if i == 0 else "h2"
        body.append(f"<{tag}>{html.escape(heading)}</{tag}>")
        if heading.startswith("Größentabelle"):
            body.append("<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in paragraphs) + "</ul>")
        else:
            body += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    page = (
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n  <meta charset=\"utf-8\">\n"
        f"  <title>{html.escape(doc['title'])}</title>\n{metas}\n"
        "  <style>body { font-family: sans-serif; }</style>\n"
        "  <script>window.tracking = 'nicht indexieren';</script>\n</head>\n<body>\n"
        "<nav>Startseite &gt; Ratgeber</nav>\n<main>\n" + "\n".join(body) + "\n</main>\n"
        "<footer>© Bergpfad Outdoor</footer>\n</body>\n</html>\n"
    )
    path = out / "ratgeber" / "rucksack-groessenberatung.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_pdf(out: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    doc = TENT_MANUAL
    path = out / "produkte" / "fjell-2-aufbauanleitung.pdf"
    headings = "|".join(h for h, _ in doc["sections"])
    pdf = SimpleDocTemplate(str(path), pagesize=A4, title=doc["title"], author="Bergpfad Outdoor",
                            keywords=f"{doc['keywords']}; headings={headings}", invariant=1)
    styles = getSampleStyleSheet()
    story = [Paragraph(doc["title"], styles["Title"])]
    for heading, paragraphs in doc["sections"]:
        story += [Paragraph(heading, styles["Heading2"])]
        story += [Paragraph(html.escape(p), styles["BodyText"]) for p in paragraphs]
        story.append(Spacer(1, 8))
    pdf.build(story)
    return path


def write_docx(out: Path) -> Path:
    from docx import Document

    doc = DRILL_SAFETY
    document = Document()
    document.core_properties.title = doc["title"]
    document.core_properties.keywords = doc["keywords"]
    document.core_properties.author = "Bergpfad Outdoor"
    document.add_heading(doc["title"], level=1)
    for heading, paragraphs in doc["sections"]:
        document.add_heading(heading, level=2)
        for p in paragraphs:
            document.add_paragraph(p)
    path = out / "produkte" / "bh-26-sicherheitshinweise.docx"
    document.save(str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs_corpus")
    args = parser.parse_args()
    for write in (write_html, write_pdf, write_docx):
        print(write(args.out))


if __name__ == "__main__":
    main()
