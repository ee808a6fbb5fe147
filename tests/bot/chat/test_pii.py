"""Redaction recall and precision on German and English samples."""

import datetime

import pytest

from bot.chat.pii import redact

SAMPLES = [
    ("Meine Mail ist anna.muster@example.de, danke!", "anna.muster@example.de"),
    ("Bitte an max_mustermann+shop@web-mail.co.uk schreiben", "max_mustermann+shop@web-mail.co.uk"),
    ("Ruf mich an: 0171 2345678", "0171 2345678"),
    ("Telefon +49 761 1234567 tagsüber", "+49 761 1234567"),
    ("Tel. 0761/123456-78", "0761/123456-78"),
    ("Meine Nummer: 0049 (0)30 12345678", "0049 (0)30 12345678"),
    ("call me at +44 20 7946 0958", "+44 20 7946 0958"),
    ("IBAN DE89 3704 0044 0532 0130 00 für die Erstattung", "DE89 3704 0044 0532 0130 00"),
    ("Konto: DE89370400440532013000", "DE89370400440532013000"),
    ("Ich wohne in der Kaiser-Joseph-Straße 12, 79098 Freiburg", "Kaiser-Joseph-Straße 12"),
    ("Lieferadresse Hauptstr. 5a bitte", "Hauptstr. 5a"),
    ("Schickt es an Am Hang 3, 12345 Berlin", "Am Hang 3"),
    ("Lindenweg 17 ist meine Adresse", "Lindenweg 17"),
    ("Send it to 221 Baker Street please", "221 Baker Street"),
]


@pytest.mark.parametrize("text,secret", SAMPLES)
def test_personal_data_is_redacted(text, secret):
    out = redact(text)
    assert secret not in out, out
    assert "[" in out


@pytest.mark.parametrize("text", [
    "Der AlpinPro 35 kostet 139,90 € und wiegt 1,25 kg.",
    "Bestellnummer 2026-4711, Lieferung in 3 Werktagen.",
    "Rückenlänge 46 bis 53 cm, Größe L.",
    "Das Fjell 2 Expedition ist bis Kalenderwoche 49 ausverkauft.",
    "Deine Ticketnummer ist LT-000001.",
    "Charge 2409 betroffen, Ersatzteil 26-TA-02.",
])
def test_ordinary_shop_text_is_left_alone(text):
    assert redact(text) == text


def test_invalid_iban_checksum_is_not_treated_as_iban():
    assert "[IBAN]" not in redact("Code DE00 1234 5678 9012 3456 78")


# Shapes an outside test found missed or garbled (issue 31). Each value is written for these
# tests; the pair is (message, what must be gone) or (message, what must stay as written).
MISSED = [
    # phone: a bracketed area code, a slash with spaces, digits in pairs, Vienna's one-digit code
    ("Rückruf bitte unter (09131) 812345, danke", "(09131) 812345", "[TELEFON]"),
    ("Mein Handy: 0176 / 98765432", "0176 / 98765432", "[TELEFON]"),
    ("Festnetz 0351 87 65 43 ab 18 Uhr", "0351 87 65 43", "[TELEFON]"),
    ("Büro in Wien, +43 1 5877 123", "+43 1 5877 123", "[TELEFON]"),
    ("Ruft mich in Wien an: 01 5877123", "01 5877123", "[TELEFON]"),
    # street: a name without a street ending, and names led by "Auf der" / "An den"
    ("Neue Lieferadresse: Rosenhöhe 14, bitte ändern", "Rosenhöhe 14", "[ADRESSE]"),
    ("Ich wohne Kirchbühl 7, 88212 Ravensburg", "Kirchbühl 7", "[ADRESSE]"),
    ("Bitte schickt den Ersatz an Auf der Schanz 3 in Bingen", "Schanz 3", "[ADRESSE]"),
    ("Wir sind umgezogen, jetzt An den Weiden 21", "Weiden 21", "[ADRESSE]"),
    # birth date: the word after the date, the word far before it, English month names
    ("17.11.1972 ist mein Geburtsdatum, falls das hilft", "17.11.1972", "[GEBURTSDATUM]"),
    ("Geburtsdatum laut meinem Personalausweis, falls ihr das braucht: 21.06.1983",
     "21.06.1983", "[GEBURTSDATUM]"),
    ("For the account: I was born on 9 October 1977.", "9 October 1977", "[GEBURTSDATUM]"),
    ("DOB: July 4, 1981", "July 4, 1981", "[GEBURTSDATUM]"),
    # IBAN: the last block of four is followed by a word
    ("Erstattung auf BE68 5390 0754 7034 bitte", "5390 0754 7034", "[IBAN]"),
    ("Konto AT48 3200 0000 1234 5864 danke", "3200 0000 1234 5864", "[IBAN]"),
]
KEPT = [
    # phrases after a small preposition with a number
    "Die Rechnung zum Auftrag 2231 kommt per Post",
    "Wir haben im Regal 14 nachgesehen und nichts gefunden",
    "Kann ich das in der Filiale 12 abholen?",
    # product names ending like a street ("weg", "steig")
    "Ist der Wanderweg 12 Rucksack wasserdicht?",
    "Den Gipfelsteig 2 gibt es auch in Grün?",
    # five digits before a capitalised word that is no town
    "Wir haben über 12000 Kunden in Europa",
    # numbers with a leading 0 that a reference word names
    "Rechnungsnummer 0815 2026 17 ist doppelt",
    "Meine Kundennummer lautet 0123 4567 89",
]


@pytest.mark.parametrize("text,secret,placeholder", MISSED)
def test_the_shapes_found_missed_are_redacted(text, secret, placeholder):
    out = redact(text)
    assert secret not in out and placeholder in out, out


@pytest.mark.parametrize("text", KEPT)
def test_the_look_alikes_found_lost_are_kept(text):
    assert redact(text) == text


def test_a_birth_word_names_only_its_own_date():
    text = "Lieferung am 28.11.2025, Geburtsdatum 12.03.1985, Rückgabe bis 10.01.2026"
    assert redact(text) == "Lieferung am 28.11.2025, Geburtsdatum [GEBURTSDATUM], Rückgabe bis 10.01.2026"
    # "Geburtstag" with a date of this year or the last names the party, not a birth.
    last_year = datetime.date.today().year - 1
    gift = f"Die Lieferung zum Geburtstag am 24.12.{last_year} kam zu spät"
    assert redact(gift) == gift
    assert redact("Er ist am 24.12.1990 geboren") == "Er ist am [GEBURTSDATUM] geboren"


def test_the_birth_word_decides_not_the_year():
    """A child's birth date is personal data however recent; only a date still to come,
    or a birthday party's, is none."""
    this_year = datetime.date.today().year
    for year in (this_year, this_year - 1, this_year - 3):
        baby = f"Unser Sohn ist am 02.01.{year} geboren, passt ihm Größe 62?"
        assert redact(baby) == "Unser Sohn ist am [GEBURTSDATUM] geboren, passt ihm Größe 62?"
    born_later = f"Geburtsdatum 02.01.{this_year + 1} steht im Formular, ein Tippfehler"
    assert redact(born_later) == born_later
    party = f"Zur Geburtstagsfeier am 14.03.{this_year} brauchen wir das Zelt"
    assert redact(party) == party
    assert redact(f"Ihr Geburtstag ist der 14.03.{this_year - 30}") == \
        "Ihr Geburtstag ist der [GEBURTSDATUM]"


def test_a_street_keeps_its_postcode_and_a_phone_number_stops_before_the_order_number():
    assert redact("Lange Reihe 12, 20099 Hamburg") == "[ADRESSE]"
    assert redact("Tel. 0171 2345678 4711") == "Tel. [TELEFON] 4711"
    assert redact("Bitte 0171 2345678) (3 Stück)") == "Bitte [TELEFON]) (3 Stück)"


# Second round (issue 31, the blind-written set): shapes of each kind it found missed,
# and look-alikes it found lost. Values written for these tests.
MISSED_SECOND = [
    # Austrian and Swiss streets, Vienna's stair and door, French and Italian names
    ("Lieferadresse: Zieglergasse 45, 1070 Wien", "Zieglergasse 45", "[ADRESSE]"),
    ("Ich wohne Laudongasse 19/2/11, 1080 Wien", "19/2/11", "[ADRESSE]"),
    ("Bitte an Siebenbrunnengasse 4/Top 9 schicken", "Top 9", "[ADRESSE]"),
    ("Neue Anschrift ab März: Gerbergasse 7, 4001 Basel", "4001 Basel", "[ADRESSE]"),
    ("Bitte an Rue des Alpes 14, 1201 Genève senden", "Rue des Alpes 14", "[ADRESSE]"),
    ("Ich wohne Avenue de Rumine 21 in Lausanne", "Avenue de Rumine 21", "[ADRESSE]"),
    ("Spedire a Via Soldino 8, 6900 Lugano per favore", "Via Soldino 8", "[ADRESSE]"),
    # a name with no street ending, where the context says address
    ("Ich wohne in Sandanger 9", "Sandanger 9", "[ADRESSE]"),
    ("Anschrift Bauernfeld 11, bitte notieren", "Bauernfeld 11", "[ADRESSE]"),
    ("Martin Roth\nMühlhof 2\n73728 Esslingen", "Mühlhof 2", "[ADRESSE]"),
    ("Paket für Sabine Ott, Rosengarten 15", "Rosengarten 15", "[ADRESSE]"),
    ("Bitte an Schlosshof 6 liefern", "Schlosshof 6", "[ADRESSE]"),
    ("wohne in der clara-zetkin-allee 41", "clara-zetkin-allee 41", "[ADRESSE]"),
    ("neue adresse: bergmannstraße 3, 10961 berlin", "10961 berlin", "[ADRESSE]"),
    ("Lieferadresse Alte Frankfurter Str. 27", "Frankfurter Str. 27", "[ADRESSE]"),
    # phones: dots, spaced dashes, a spaced area code, the UK, after a reference's number
    ("Handy: 0160.7788990", "0160.7788990", "[TELEFON]"),
    ("Erreichbar unter 0911 - 48 29 17", "0911 - 48 29 17", "[TELEFON]"),
    ("Rückruf an (0 72 1) 93 18 44", "(0 72 1) 93 18 44", "[TELEFON]"),
    ("ring me on +44 7700 900318", "+44 7700 900318", "[TELEFON]"),
    ("my landline is 0044 113 496 0542", "0044 113 496 0542", "[TELEFON]"),
    ("Bestellung 88123, meine Nummer ist 0162 3344556", "0162 3344556", "[TELEFON]"),
    ("Zu Auftrag 5521: 0151 9988776 bitte zurückrufen", "0151 9988776", "[TELEFON]"),
    # birth dates: American order, year first, the word a line or some words away
    ("DOB 09/27/1991", "09/27/1991", "[GEBURTSDATUM]"),
    ("born 1988/06/30", "1988/06/30", "[GEBURTSDATUM]"),
    ("Geburtsdatum:\n30.06.1988", "30.06.1988", "[GEBURTSDATUM]"),
    ("Ich kam am 8.8.1968 in Graz zur Welt", "8.8.1968", "[GEBURTSDATUM]"),
    ("06.11.1981 – das ist, falls ihr fragt, mein Geburtsdatum", "06.11.1981", "[GEBURTSDATUM]"),
]
KEPT_SECOND = [
    # product names with a street word and a number
    "Passt der Tagesrucksack Kammweg 25 ins Handgepäck?",
    "Das Ecksofa Rheinstraße 3-Sitzer gibt es in Anthrazit",
    "Der Schlafsack Moorweg 180 ist mir zu warm",
    "Zelt Wiesenpfad 2 in Grün bitte",
    "Höhenweg 38 in Größe L ist weg",
    "Wie viel kostet Sandweg 30?",
    "Ich hätte gern 2 Stück vom Gipfelweg 28",
    # a postcode and place of a branch, a warehouse, a region, a parcel locker
    "Unser Abholpunkt ist die Filiale in 4051 Basel",
    "Wir liefern aus dem Lager 36251 Bad Hersfeld",
    "Gehört 50667 Köln noch zum Liefergebiet?",
    "Die Packstation 112 in 80331 München war voll",
    "Do you ship to 1030 Vienna?",
    "Unsere Filiale in der Marktgasse 12 hat samstags geöffnet",
    # a business's freephone number, and words that only look like a street
    "Die Hotline 0800 3344556 ist kostenlos",
    "Via DHL 2 Pakete verschickt",
]


@pytest.mark.parametrize("text,secret,placeholder", MISSED_SECOND)
def test_the_shapes_the_blind_set_found_missed_are_redacted(text, secret, placeholder):
    out = redact(text)
    assert secret not in out and placeholder in out, out


@pytest.mark.parametrize("text", KEPT_SECOND)
def test_the_look_alikes_the_blind_set_found_lost_are_kept(text):
    assert redact(text) == text


def test_a_postcode_goes_with_its_street_and_stays_with_a_shop():
    assert redact("Meine Adresse: Lange Reihe 12\n20099 Hamburg") == "Meine Adresse: [ADRESSE]"
    assert redact("Ich wohne in 8045 Zürich") == "Ich wohne in [ADRESSE]"
    shop = "Adresse der Filiale: 8045 Zürich"
    assert redact(shop) == shop


# One shape per pattern's weak spot: runs of separators, digits, names and numbers.
HOSTILE = ["a-", "0 ", "0 / ", "Am Aa 1 ", "Aa 1 ", "Straße 1 ", "DE89 ", "March 3 ",
           "geboren 1.1.1980 ", "12345 Aa ", "Adresse Aa 1 ", "Rue de Aa 1 ", "Aa Aa\nAa 1\n",
           "Aa 1/2/3/4 ", "(0 1) ", "0.0 ", "Feb 1 ", "Rucksack Aaweg 123 ", "aa-aa-weg 1 "]


@pytest.mark.parametrize("unit", HOSTILE)
def test_redaction_time_grows_with_the_length_not_faster(unit):
    """8,000 characters of one shape cost about eight times 1,000 of it (a quadratic
    pattern would cost sixty-four), and twice what a message may hold well under two
    seconds. CPU time, the best of three, so other processes on the machine do not count."""
    import time

    redact("79098 Freiburg")  # the town list loads once per process, not per message

    def cost(n: int) -> float:
        text = (unit * (n // len(unit) + 1))[:n]
        runs = []
        for _ in range(3):
            start = time.process_time()
            redact(text)
            runs.append(time.process_time() - start)
        return min(runs)

    short, long = cost(1000), cost(8000)
    assert long < 20 * short + 0.05, (unit, short, long)
    assert long < 2.0, (unit, long)
