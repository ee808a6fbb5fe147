from bot.followup import Turn, rewrite

PRODUCTS = ["AlpinPro 35", "AlpinPro 50", "Fjell 2 Expedition", "Sommerbrise 3", "Carbon Flex"]


def test_followup_carries_the_product_over():
    assert rewrite("Und in Größe L?", ["Wie schwer ist der AlpinPro 35?"], PRODUCTS) == \
        "AlpinPro 35 Und in Größe L?"


def test_most_recent_product_wins():
    history = ["Was kostet der AlpinPro 35?", "Und das Fjell 2 Expedition?"]
    assert rewrite("Wie schwer ist es?", history, PRODUCTS) == "Fjell 2 Expedition Wie schwer ist es?"


def test_product_from_the_answer_counts_when_the_question_named_none():
    history = [Turn("Welches Zelt für Norwegen im Oktober?",
                    "Für Norwegen im Oktober empfehlen wir das Fjell 2 Expedition. [1]")]
    assert rewrite("Was kostet es?", history, PRODUCTS) == "Fjell 2 Expedition Was kostet es?"


def test_question_naming_a_product_is_left_alone():
    assert rewrite("Und der AlpinPro 50?", ["Wie schwer ist der AlpinPro 35?"], PRODUCTS) == \
        "Und der AlpinPro 50?"


def test_standalone_question_is_left_alone():
    history = ["Wie schwer ist der AlpinPro 35?"]
    question = "Wie lange habe ich Zeit für eine Rücksendung meiner Bestellung?"
    assert rewrite(question, history, PRODUCTS) == question


def test_reply_to_an_ask_back_completes_the_original_question():
    history = [Turn("Welche Größen gibt es beim AlpinPro?", "Welches Produkt meinst du: …",
                    ("AlpinPro 35", "AlpinPro 50"))]
    assert rewrite("den 50er", history, PRODUCTS) == "AlpinPro 50 Welche Größen gibt es beim AlpinPro?"
    assert rewrite("AlpinPro 35", history, PRODUCTS) == "AlpinPro 35 Welche Größen gibt es beim AlpinPro?"


def test_no_history_no_change():
    assert rewrite("Und in Größe L?", [], PRODUCTS) == "Und in Größe L?"
