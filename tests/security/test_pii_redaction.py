"""Redaction, measured on a labelled set (tests/security/pii_cases.py): recall at least 0.95
and precision at least 0.90 for every kind, and look-alikes (order numbers, tickets, prices,
delivery dates) left alone. The table is printed with ``-s``."""

from __future__ import annotations

from collections import Counter

from bot.chat.pii import redact
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
            if secret not in out:
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
