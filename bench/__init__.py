"""Benchmarks: each prints a table and can write JSON (``--json OUT``)."""

from pathlib import Path

# Data sets are read from ../shared beside the repository, never copied into it.
XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad"


def xquad_missing(folder: Path) -> bool:
    """True, after saying so, when ``folder`` lacks the XQuAD paragraphs (the caller skips)."""
    if (folder / "xquad.dev.de.json").is_file():
        return False
    print(f"SKIPPED: the XQuAD paragraphs are read from {folder} (../shared/data/xquad "
          "beside the repository, never copied into it), which is absent here.")
    return True
