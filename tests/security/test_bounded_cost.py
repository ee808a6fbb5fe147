"""The work one request causes is bounded: what a message and a client's history bring into
understanding, retrieval and follow-up rewriting is cut at the chain's entry
(``bot.answer.bounds``), and long requests count as several against the rate limits.

CPU figures are measured by ``python -m bench.amplification``; these tests hold the
behaviour: how much reaches the chain, that hostile shapes are answered, and the units."""

from __future__ import annotations

import math
import random
import re

import httpx
import pytest

from bot.answer.bounds import bounded, clip
from bot.answer.followup import Turn
from bot.chat.service import MAX_CLIENT_TURNS
from kb.settings import ReadingSettings, ServerSettings

READING = ReadingSettings()
REPEATED = " ".join(["Versand"] * 500)[:4000]  # the outside test's message


def _distinct(text: str) -> int:
    return len({w.casefold() for w in re.findall(r"\w+", text)})


def test_sixty_repetitive_turns_reach_the_chain_as_a_few_cut_ones():
    history = [Turn(REPEATED, REPEATED) for _ in range(59)] + [Turn("Was kostet der Versand?")]
    text, turns = bounded("Wie lange dauert das?", history, READING)
    assert text == "Wie lange dauert das?"
    assert len(turns) == READING.max_turns
    assert turns[-1] == history[-1]  # the newest turns, the last one untouched
    for turn in turns[:-1]:
        for said in (turn.question, turn.answer):
            assert len(said) <= READING.max_turn_chars and REPEATED.startswith(said)
            assert said.endswith("Versand")  # cut after a whole word


def test_a_long_message_is_read_up_to_its_characters_and_distinct_words():
    assert len(bounded(REPEATED, [], READING)[0]) <= READING.max_chars
    rng = random.Random(3)
    gibberish = " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(4, 9)))
                         for _ in range(600))[:4000]
    read = bounded(gibberish, [], READING)[0]
    assert _distinct(read) == READING.max_terms and gibberish.startswith(read)
    assert clip("a" * 4000, 1500, 80) == "a" * 1500  # one endless word: its start


@pytest.mark.parametrize("message", [
    "Wie lange dauert der Versand nach Österreich?",
    "Hallo, ich habe letzte Woche den AlpinPro 35 bestellt und möchte wissen, ob ich die "
    "Hüftflossen nachkaufen kann, weil meine beim Zelten gerissen sind. Gibt es die einzeln, "
    "was kosten sie und wie lange dauert die Lieferung nach Wien? Vielen Dank im Voraus!",
])
def test_ordinary_messages_are_read_whole(message):
    history = [Turn("Was kostet der AlpinPro 35?", "Der AlpinPro 35 kostet 139,90 €.")]
    assert bounded(message, history, READING) == (message, tuple(history))


def test_only_the_bounded_input_reaches_retrieval_and_follow_up_rewriting(default_engine,
                                                                            monkeypatch):
    """The chain answers an elliptic follow-up after sixty repetitive turns: retrieval gets
    the rewritten question built from cut turns, the rewriting sees only the last turns."""
    import bot.answer.chain as chain_module

    chain = default_engine.chain
    queries: list[str] = []
    seen_turns: list[int] = []
    retrieve, rewrite = chain.retriever.retrieve, chain_module.rewrite

    def spy_retrieve(query, *args, **kwargs):
        queries.append(query)
        return retrieve(query, *args, **kwargs)

    def spy_rewrite(question, history, products):
        seen_turns.append(len(history))
        assert all(len(t.question) <= READING.max_turn_chars for t in history)
        return rewrite(question, history, products)

    monkeypatch.setattr(chain.retriever, "retrieve", spy_retrieve)
    monkeypatch.setattr(chain_module, "rewrite", spy_rewrite)
    answer = chain.ask("Und nach Österreich?", history=[Turn(REPEATED, REPEATED)] * 60)
    assert answer.text
    assert seen_turns == [READING.max_turns]
    assert queries and all(len(q) <= READING.max_chars + READING.max_turn_chars + 1
                           and _distinct(q) <= 2 * READING.max_terms for q in queries)


def _completion(url: str, token: str, address: str, messages: list[dict]) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
        "model": "lotse", "messages": messages},
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": address})


def test_a_huge_repetitive_history_is_answered_and_charged_by_its_size(proxied):
    """The outside test's request (60 messages of "Versand" x 500 and a short question)
    is answered; it costs the units of what is kept, so an address gets a handful of them
    a minute, not 120, while a short question still fits in what is left."""
    url, token = proxied["url"], proxied["tokens"]["customer"]
    server = ServerSettings()
    question = "Wie lange dauert das?"
    huge = [{"role": "user", "content": REPEATED} for _ in range(60)] + \
        [{"role": "user", "content": question}]
    kept = len(question) + MAX_CLIENT_TURNS * len(REPEATED)
    units = math.ceil(kept / server.rate_unit_chars)
    fits = server.client_messages_per_minute // units
    assert 1 < fits < 10  # the arithmetic this test relies on
    address = "198.51.100.23"
    for _ in range(fits):
        reply = _completion(url, token, address, huge)
        assert reply.status_code == 200, reply.text  # answered: the control
        assert reply.json()["choices"][0]["message"]["content"]
    refused = _completion(url, token, address, huge)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    short = _completion(url, token, address, [{"role": "user", "content": question}])
    assert short.status_code == 200, short.text  # units are left, just not that many


@pytest.mark.parametrize("message, address", [
    ("a-" * 2000, "198.51.100.31"),  # once exponential in the address redactor
    ("ä" * 4000, "198.51.100.32"),  # one endless word: every misspelling of it was looked up
    (REPEATED, "198.51.100.33"),
], ids=["hyphens", "one-word", "repeated"])
def test_hostile_message_shapes_are_answered(proxied, message, address):
    headers = {"Authorization": f"Bearer {proxied['tokens']['customer']}",
               "X-Forwarded-For": address}
    reply = httpx.post(f"{proxied['url']}/v1/chat", json={"message": message}, headers=headers,
                       timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json()["answer"]


@pytest.mark.parametrize("shared", [False, True], ids=["in-memory", "state-database"])
def test_the_rate_limits_count_units_and_a_request_never_costs_more_than_a_window(
        shared, tmp_path):
    from bot.chat.ratelimit import RateLimited, RateLimiter, units_of
    from bot.chat.state import StateStore

    assert [units_of(n, 2000) for n in (0, 1, 2000, 2001, 4000, 40_021)] == [1, 1, 1, 2, 2, 21]
    now = [1000.0]
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}") if shared else None
    limits = RateLimiter(per_session=20, per_client=50, clock=lambda: now[0], state=state)
    for _ in range(4):
        limits.check("long", "10.0.0.1", units=5)  # 20 units: the session's minute is full
    with pytest.raises(RateLimited, match="per session"):
        limits.check("long", "10.0.0.1")
    now[0] += 1
    limits.check("other", "10.0.0.1", units=25)  # 45 of the client's 50
    with pytest.raises(RateLimited, match="per client") as refused:
        limits.check("third", "10.0.0.1", units=6)
    assert refused.value.retry_after == 59  # when the first 5-unit message leaves
    limits.check("third", "10.0.0.1", units=5)  # what is left still fits
    limits.check("huge", "10.0.0.2", units=500)  # alone, even the largest request passes
    with pytest.raises(RateLimited):
        limits.check("huge-2", "10.0.0.2")
    if state is not None:
        state.engine.dispose()
