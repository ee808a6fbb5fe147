"""Each shop sets its own risk: the answer threshold refitted on its own rated answers.

    lotse calibrate [--wrong-cost 1.0] [--write lotse.toml]

The shipped threshold between answering and offering topics or a person
(``answer.handoff_below``, unset: the model's own) was chosen on foreign help centers. An
installation has better evidence: answers its customers rated (thumbs up: right, thumbs
down: wrong) and low-confidence handoffs a person resolved (questions the documents did
not answer, which an answer would have got wrong). For each threshold the trade-off counts
what would still be answered; the one chosen gains most, a right answer +1 and a wrong one
``-wrong_cost`` (ties go to the higher threshold). Thresholds below the least confident
rated answer have no evidence for them and are not chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import LotseError

MIN_RATED = 30  # fewer rated answers than this say more about chance than about the shop
GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))


@dataclass(frozen=True)
class Point:
    """What answering at ``threshold`` would have given."""

    threshold: float
    right: int  # rated up and still answered
    wrong: int  # rated down and still answered
    tickets: int  # resolved low-confidence handoffs that would be answered instead
    withheld: int  # rated up but no longer answered
    gain: float


def tradeoff(rated: list[tuple[float, int]], handed: list[float], wrong_cost: float,
             grid: tuple[float, ...] = GRID) -> list[Point]:
    """The trade-off at every threshold of ``grid``."""
    points = []
    for t in grid:
        right = sum(1 for c, r in rated if c >= t and r > 0)
        wrong = sum(1 for c, r in rated if c >= t and r < 0)
        tickets = sum(1 for c in handed if c >= t)
        withheld = sum(1 for c, r in rated if c < t and r > 0)
        points.append(Point(t, right, wrong, tickets, withheld,
                            right - wrong_cost * (wrong + tickets)))
    return points


def choose(rated: list[tuple[float, int]], handed: list[float], wrong_cost: float
           ) -> tuple[Point, list[Point]]:
    """The threshold that gains most, and the whole trade-off; refused with too little data."""
    if len(rated) < MIN_RATED:
        raise LotseError(f"calibrate: {len(rated)} rated answers, at least {MIN_RATED} are "
                         "needed (customers rate answers with the thumbs in the chat)")
    lowest = min(c for c, _ in rated)
    points = tradeoff(rated, handed, wrong_cost)
    evidenced = [p for p in points if p.threshold >= lowest - 0.05] or points
    return max(evidenced, key=lambda p: (p.gain, p.threshold)), points


def table(points: list[Point], chosen: Point) -> str:
    lines = ["| answer at | rated right, answered | rated wrong, answered | resolved tickets "
             "answered instead | rated right, withheld | gain |", "|---|---|---|---|---|---|"]
    lines += [f"| {p.threshold:.2f}{' ←' if p is chosen else ''} | {p.right} | {p.wrong} | "
              f"{p.tickets} | {p.withheld} | {p.gain:g} |" for p in points]
    return "\n".join(lines)
