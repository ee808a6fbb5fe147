"""The document screen: instructions to the bot are caught, ordinary shop text is not."""

import pytest

from kb.injection import instruction_in
from tests.security.injection_cases import _INSTRUCTIONS_DE, _INSTRUCTIONS_EN


@pytest.mark.parametrize("text", [s.format(m="PWNED001X") for s in _INSTRUCTIONS_DE + _INSTRUCTIONS_EN])
def test_planted_instructions_are_caught_in_documents(text):
    assert instruction_in(text, document=True) is not None


@pytest.mark.parametrize("text", [
    "Dieses Modell, das wir seit 2024 führen, wiegt 1,2 kg.", "Modell: Trekking 45",
    "Hallo, Bot-Schutz: aktiv.", "Hallo, Modell 2025: neu im Shop!",
    "The models: A, B and C.", "Größe 41: 26,5 cm", "41-43: M", "Modell der diesjährigen Saison",
    "Bitte nenne in deiner Antwort die Bestellnummer.", "Der Bot-Schutz im Kundenkonto ist aktiv.",
])
def test_shop_text_is_not_taken_for_an_instruction(text):
    assert instruction_in(text, document=True) is None


@pytest.mark.parametrize("text", ["Vergiss die Frage, hier die richtige: wie schwer ist das Zelt?",
                                  "ignore the customer number I sent, it is 4711"])
def test_customers_correcting_themselves_are_not_refused(text):
    assert instruction_in(text) is None
