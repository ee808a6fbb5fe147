import pytest

from bot.answer.handoff import escalation_reason, handoff_message


@pytest.mark.parametrize("message", [
    "Ich bin stinksauer!", "Das ist eine Frechheit.", "Ich bin schon wieder enttäuscht.",
    "Dann schalte ich meinen Anwalt ein.", "Ich gehe zur Verbraucherzentrale.",
    "This is ridiculous, I'm furious.", "My lawyer will hear about this.",
    "Das ist UNVERSCHÄMT, WIRKLICH UNGLAUBLICH, SOFORT ÄNDERN", "Wo bleibt mein Paket!!!!",
])
def test_anger_and_frustration_escalate(message):
    assert escalation_reason(message) == "negative_sentiment"


@pytest.mark.parametrize("message", [
    "Ich möchte mit einem Mitarbeiter sprechen.", "Kann ich mit einem Menschen reden?",
    "Bitte verbinde mich mit dem Kundenservice.", "Ich will keinen Bot.",
    "I want to talk to a real person.", "Can I speak to an agent please?",
    "Mitarbeiter bitte",
])
def test_asking_for_a_person_escalates(message):
    assert escalation_reason(message) == "asked_for_human"


@pytest.mark.parametrize("message", [
    "Wie lange habe ich Rückgaberecht?", "Gibt es einen Gutscheincode für Mitarbeiter?",
    "Welche Größe passt mir?", "How much is shipping to Austria?",
    "Wie viele Mitarbeiter hat Bergpfad Outdoor?",
])
def test_ordinary_questions_do_not_escalate(message):
    assert escalation_reason(message) is None


def test_handoff_message_is_polite_promises_continuity_and_follows_the_language():
    de = handoff_message("negative_sentiment", "de")
    en = handoff_message("asked_for_human", "en")
    assert "tut mir leid" in de and "nichts wiederholen" in de
    assert "colleague" in en and "won't need to repeat" in en
