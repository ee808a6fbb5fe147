"""A labelled set of customer messages for the redactor, German and English.

Built from templates and values written for this set (not from the redactor's own tests):
each case is a message, the personal data in it with their kinds, and the look-alikes that
must stay (order and ticket numbers, prices, delivery dates, article numbers). The random
choices are seeded, so the set is the same on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    text: str
    secrets: tuple[tuple[str, str], ...]  # (kind, the text that must disappear)
    keep: tuple[str, ...]  # look-alikes that must stay as they are


EMAILS = ["jana.krueger@example.de", "t.oezdemir@mail.example.com", "info+shop@firma-beispiel.at",
          "peter_mueller84@web.example", "a.b@c-d.example.ch", "MAX.Mustermann@Example.ORG",
          "lea-sophie.schmidt@uni-example.de", "kundenkonto2024@beispiel.net"]
PHONES = ["0171 2345678", "+49 171 2345678", "0049 171 2345678", "0171/2345678",
          "030 12345678", "+49 (0)30 1234567", "0761 123 45 67", "+43 664 1234567",
          "0049 (0)89 98765432", "01521-1234567", "+41 44 123 45 67", "0221 9876543"]
IBANS = ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "AT61 1904 3002 3457 3201",
         "CH93 0076 2011 6238 5295 7", "DE02 1203 0000 0000 2020 51", "DE02120300000000202051"]
CARDS = ["4111 1111 1111 1111", "5500 0000 0000 0004", "4012-8888-8888-1881",
         "3782 822463 10005", "4111111111111111", "5105 1051 0510 5100"]
STREETS = ["Kaiser-Joseph-Straße 12", "Hauptstr. 5a", "Am Mühlbach 3", "Lindenweg 17",
           "Bahnhofstraße 101", "Goethestr. 8, 79098 Freiburg", "Im Winkel 4",
           "Marktplatz 2", "Schillerallee 33b", "221 Baker Street", "Zur Alten Mühle 9"]
BIRTHS = [("geboren am 12.03.1985", "12.03.1985"), ("Geburtsdatum: 01.07.1990", "01.07.1990"),
          ("geb. 3. Mai 1979", "3. Mai 1979"), ("born on 14/02/1988", "14/02/1988"),
          ("date of birth 1992-11-05", "1992-11-05"), ("Geburtstag ist der 24.12.2001", "24.12.2001"),
          ("DOB: 07.08.1975", "07.08.1975")]
LOOKALIKES = ["Bestellnummer 2026-4711", "Auftrag 100234567", "Ticket LT-000042",
              "der Preis war 139,90 €", "Lieferung am 28.11.2026", "geliefert am 03.12.2026",
              "Artikel 26-TA-02", "Rechnung RE-2026-0815", "order no. 558812",
              "Sendungsnummer 00340434161094042557", "Rückenlänge 46 bis 53 cm",
              "delivered on 02/12/2026", "Gutscheincode WINTER26", "Charge 2409",
              "Kalenderwoche 49", "PLZ-Bereich 79", "Modell BH 26", "3 Stück à 49,90 €"]

TEMPLATES_DE = {
    "email": ["Meine Mail ist {v}, bitte dorthin antworten.", "Schreibt mir an {v} ({k})",
              "Kontakt: {v}. {k} betrifft das Zelt.", "E-Mail {v} – {k}"],
    "phone": ["Ruf mich bitte unter {v} an, es geht um {k}.", "Tel.: {v} ({k})",
              "Erreichbar bin ich ab 18 Uhr: {v}. {k}", "Handy {v}, {k} ist falsch angekommen"],
    "iban": ["Bitte die Erstattung auf {v} überweisen ({k}).", "Meine IBAN lautet {v}. {k}",
             "Konto {v} für {k}"],
    "card": ["Ich habe mit der Karte {v} bezahlt, {k}.", "Kreditkarte {v} wurde doppelt "
             "belastet ({k})", "Kartennummer: {v} – {k}"],
    "street": ["Meine neue Adresse ist {v}, {k}.", "Bitte an {v} liefern ({k}).",
               "Ich wohne {v}. {k}", "Lieferadresse: {v} / {k}"],
    "birth": ["Für das Kundenkonto: {v}, {k}.", "Ich bin {v} ({k})."],
}
TEMPLATES_EN = {
    "email": ["My email is {v}, please reply there.", "Contact me at {v} about {k}."],
    "phone": ["Please call me on {v} about {k}.", "Phone: {v} ({k})"],
    "iban": ["Please refund to {v} ({k}).", "My IBAN is {v}. {k}"],
    "card": ["I paid with card {v}, {k}.", "Card number {v} was charged twice ({k})."],
    "street": ["Ship it to {v} please, {k}.", "My address is {v}. {k}"],
    "birth": ["For my account: {v}, {k}."],
}
VALUES = {"email": EMAILS, "phone": PHONES, "iban": IBANS, "card": CARDS, "street": STREETS,
          "birth": BIRTHS}


def cases(seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    out: list[Case] = []
    for templates, per in ((TEMPLATES_DE, 40), (TEMPLATES_EN, 14)):
        for kind, forms in templates.items():
            for i in range(per):
                value = VALUES[kind][i % len(VALUES[kind])]
                shown, secret = value if isinstance(value, tuple) else (value, value)
                keep = rng.choice(LOOKALIKES)
                form = forms[i % len(forms)]
                text = form.format(v=shown, k=keep)
                out.append(Case(text, ((kind, secret),), (keep,) if "{k}" in form else ()))
    # Messages with nothing personal in them: look-alikes only.
    for i in range(40):
        a, b = rng.sample(LOOKALIKES, 2)
        out.append(Case(f"Frage zu {a}: wann kommt {b}?" if i % 2 else
                        f"Question about {a}, and {b}.", (), (a, b)))
    return out
