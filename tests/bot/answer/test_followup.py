from bot.answer.followup import Turn, rewrite

PRODUCTS = ["AlpinPro 35", "AlpinPro 50", "Fjell 2 Expedition", "Sommerbrise 3", "Carbon Flex"]


def test_elliptic_followup_keeps_the_earlier_question():
    assert rewrite("Und in Größe L?", ["Wie schwer ist der AlpinPro 35?"], PRODUCTS) == \
        "Wie schwer ist der AlpinPro 35? Und in Größe L?"
    assert rewrite("And in size L?", ["How heavy is the AlpinPro 35?"], PRODUCTS) == \
        "How heavy is the AlpinPro 35? And in size L?"


def test_elliptic_followup_naming_another_product_swaps_it_in():
    assert rewrite("Und der AlpinPro 50?", ["Wie schwer ist der AlpinPro 35?"], PRODUCTS) == \
        "Wie schwer ist der AlpinPro 50?"


def test_followup_that_asks_by_itself_gets_only_the_product():
    assert rewrite("Und wie teuer ist er?", ["Wie schwer ist der AlpinPro 35?"], PRODUCTS) == \
        "AlpinPro 35 Und wie teuer ist er?"


def test_most_recent_product_wins():
    history = ["Was kostet der AlpinPro 35?", "Und das Fjell 2 Expedition?"]
    assert rewrite("Wie schwer ist es?", history, PRODUCTS) == "Fjell 2 Expedition Wie schwer ist es?"


def test_product_from_the_answer_counts_when_the_question_named_none():
    history = [Turn("Welches Zelt für Norwegen im Oktober?",
                    "Für Norwegen im Oktober empfehlen wir das Fjell 2 Expedition. [1]")]
    assert rewrite("Was kostet es?", history, PRODUCTS) == "Fjell 2 Expedition Was kostet es?"


def test_question_naming_a_product_is_left_alone():
    assert rewrite("Was kostet der AlpinPro 50?", ["Wie schwer ist der AlpinPro 35?"], PRODUCTS) == \
        "Was kostet der AlpinPro 50?"


def test_standalone_question_is_left_alone():
    history = ["Wie schwer ist der AlpinPro 35?"]
    question = "Wie lange habe ich Zeit für eine Rücksendung meiner Bestellung?"
    assert rewrite(question, history, PRODUCTS) == question


def test_a_complete_short_question_is_not_spoiled_by_history():
    """"Was kostet der Versand?" after a backpack question is about shipping, not the pack."""
    history = ["Wie schwer ist der AlpinPro 35?"]
    for question in ("Was kostet der Versand?", "Wie lange dauert die Lieferung?",
                     "How much is shipping?", "Kann ich auf Rechnung zahlen?"):
        assert rewrite(question, history, PRODUCTS) == question
    for question, expected in (("Was kostet das?", "AlpinPro 35 Was kostet das?"),
                               ("Is it waterproof?", "AlpinPro 35 Is it waterproof?"),
                               ("Preis?", "AlpinPro 35 Preis?")):
        assert rewrite(question, history, PRODUCTS) == expected


def test_reply_to_an_ask_back_completes_the_original_question():
    history = [Turn("Welche Größen gibt es beim AlpinPro?", "Welches Produkt meinst du: …",
                    ("AlpinPro 35", "AlpinPro 50"))]
    assert rewrite("den 50er", history, PRODUCTS) == "AlpinPro 50 Welche Größen gibt es beim AlpinPro?"
    assert rewrite("AlpinPro 35", history, PRODUCTS) == "AlpinPro 35 Welche Größen gibt es beim AlpinPro?"


def test_no_history_no_change():
    assert rewrite("Und in Größe L?", [], PRODUCTS) == "Und in Größe L?"
