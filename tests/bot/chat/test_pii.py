"""Redaction recall and precision on German and English samples."""

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
