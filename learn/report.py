"""Model cards: what a fitted artifact was made from and how it does on data it never saw."""

from __future__ import annotations

import json
from pathlib import Path

from learn.data import REPO

LICENCE = ("written for this project (bench/corpora: blind-written cases and utterances), "
           "Apache-2.0 like the repository")


def write_card(path: Path, title: str, what: str, files: list[tuple[Path, str]], chosen: str,
               figures: dict, trained_on: int, day: str, extra: str = "") -> None:
    """``path`` (Markdown): data files with their hashes and licences, features, date and
    the held-out figures, each named by the split it was scored on."""
    lines = [f"# {title}", "", f"Made by `make train` on {day}. {what}", "",
             f"Fitted on {trained_on} examples; hyper-parameters chosen: {chosen}.", "",
             "## Data", "", "| file | sha256 | licence |", "|---|---|---|"]
    lines += [f"| `{f.relative_to(REPO)}` | `{digest[:16]}…` | {LICENCE} |" for f, digest in files]
    lines += ["", "## Held-out figures", ""]
    for split, result in figures.items():
        lines += [f"### {split}", "", "```json", json.dumps(result, indent=1, ensure_ascii=False),
                  "```", ""]
    if extra:
        lines += [extra, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
