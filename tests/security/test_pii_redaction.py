"""Redaction, measured on a labelled set (tests/security/pii_cases.py): recall at least 0.95
and precision at least 0.90 for every kind, and look-alikes (order numbers, tickets, prices,
delivery dates) left alone. The table is printed with ``-s``.

A value counts as redacted only where its kind's placeholder took its place (a value that
merely vanished, with the text around it, is a miss), and a served conversation shows
that `lotse serve` stores what the redactor returns: read back with its secret, it holds
the placeholders and the rest of the message as written. (While a ticket is open its
agents see the original, kept apart until it closes: ``bot.chat.state``.)"""

from __future__ import annotations

from collections import Counter

import httpx

from bot.chat.pii import redact
from tests.security.conftest import NOT_YOURS, answered, bearer
from tests.security.pii_cases import cases

PLACEHOLDER = {"email": "[E-MAIL]", "phone": "[TELEFON]", "iban": "[IBAN]", "card": "[KARTE]",
               "street": "[ADRESSE]", "birth": "[GEBURTSDATUM]"}


def measure() -> tuple[dict[str, tuple[float, float, int]], float, list[str]]:
    found, total, placed, right = Counter(), Counter(), Counter(), Counter()
    kept = seen = 0
    problems = []
    for case in cases():
        out = redact(case.text)
        removed = Counter()
        for kind, secret in case.secrets:
            total[kind] += 1
            if secret not in out and PLACEHOLDER[kind] in out:
                found[kind] += 1
                removed[kind] += 1
            else:
                problems.append(f"missed {kind}: {case.text!r} -> {out!r}")
        for kind, mark in PLACEHOLDER.items():
            n = out.count(mark)
            placed[kind] += n
            right[kind] += min(n, removed[kind])
            if n > removed[kind]:
                problems.append(f"extra {mark}: {case.text!r} -> {out!r}")
        for look in case.keep:
            seen += 1
            kept += look in out
    table = {k: (found[k] / total[k], right[k] / placed[k] if placed[k] else 1.0, total[k])
             for k in PLACEHOLDER}
    return table, kept / seen, problems


def test_every_kind_of_personal_data_is_redacted_and_look_alikes_stay():
    table, kept, problems = measure()
    print("\n| kind | n | recall | precision |\n|---|---|---|---|")
    for kind, (recall, precision, n) in table.items():
        print(f"| {kind} | {n} | {recall:.3f} | {precision:.3f} |")
    print(f"look-alikes kept: {kept:.3f}")
    print("\n".join(problems[:40]))
    assert len(cases()) >= 300
    for kind, (recall, precision, n) in table.items():
        assert recall >= 0.95 and precision >= 0.90, (kind, recall, precision)
    assert kept >= 0.95


def test_a_served_conversation_keeps_the_placeholders_not_the_data(proxied):
    values = {"email": "jana.krueger@example.de", "phone": "0171 2345678",
              "iban": "DE89 3704 0044 0532 0130 00", "card": "4111 1111 1111 1111",
              "street": "Lindenweg 17", "birth": "12.03.1985"}
    message = (f"Bestellnummer 2026-4711: Mail {values['email']}, Tel. {values['phone']}, "
               f"IBAN {values['iban']}, Karte {values['card']}, Adresse {values['street']}, "
               f"geboren am {values['birth']}. Was kostet der Versand?")
    reply = answered(httpx.post(f"{proxied['url']}/v1/chat", timeout=60, json={
        "message": message}, headers=bearer(proxied, **{"X-Forwarded-For": "192.0.2.47"})))
    assert not reply["ticket"], reply  # no ticket: nobody is shown the original
    url = f"{proxied['url']}/v1/conversations/{reply['session_id']}"
    refused = httpx.get(url, headers=bearer(proxied, **{"X-Session-Secret": "falsch"}))
    assert refused.status_code == 403 and refused.json()["error"] == NOT_YOURS
    # The control: with its secret the conversation is read, the message in it.
    mine = httpx.get(url, headers=bearer(proxied, **{"X-Session-Secret": reply["session_secret"]}))
    assert mine.status_code == 200, mine.text
    stored = mine.json()["messages"][0]["text"]
    assert stored.startswith("Bestellnummer 2026-4711: Mail ") and \
        stored.endswith("Was kostet der Versand?"), stored
    assert not [v for v in values.values() if v in stored], stored
    assert all(PLACEHOLDER[kind] in stored for kind in values), stored
