"""Model cards: what a fitted artifact was made from and how it does on data it never saw."""

from __future__ import annotations

import json
from pathlib import Path

from learn.data import REPO

LICENCE = ("written for this project (bench/corpora: blind-written cases and utterances), "
           "Apache-2.0 like the repository")
OUTSIDE = {"xquad": "XQuAD (Artetxe, Ruder, Yogatama 2019), CC BY-SA 4.0, read from "
                    "../shared/data/xquad/, not in the repository"}


def _row(path: Path, digest: str) -> str:
    """A data file's table row: its path from the repository, or for an outside data set
    the path beside it, with the licence."""
    if path.is_relative_to(REPO):
        return f"| `{path.relative_to(REPO)}` | `{digest[:16]}…` | {LICENCE} |"
    licence = next((text for key, text in OUTSIDE.items() if key in path.name), "see its README")
    return f"| `../shared/data/{path.parent.name}/{path.name}` | `{digest[:16]}…` | {licence} |"


def write_card(path: Path, title: str, what: str, files: list[tuple[Path, str]], chosen: str,
               figures: dict, trained_on: int, day: str, extra: str = "") -> None:
    """``path`` (Markdown): data files with their hashes and licences, features, date and
    the held-out figures, each named by the split it was scored on."""
    lines = [f"# {title}", "", f"Made by `make train` on {day}. {what}", "",
             f"Fitted on {trained_on} examples; hyper-parameters chosen: {chosen}.", "",
             "## Data", "", "| file | sha256 | licence |", "|---|---|---|"]
    lines += [_row(f, digest) for f, digest in files]
    lines += ["", "## Held-out figures", ""]
    for split, result in figures.items():
        lines += [f"### {split}", "", "```json", json.dumps(result, indent=1, ensure_ascii=False),
                  "```", ""]
    if extra:
        lines += [extra, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
