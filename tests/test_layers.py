"""The layers' import rules, read from the source with ``ast`` (imports inside functions too).

    kb  <-  ingest  <-  bot.answer  <-  bot.chat  <-  bot.web
                                    ^-- bot.integrations (LangChain parts)
                                                       ^ the CLI and bot.wiring sit on top

``bot/answer`` knows no database and no HTTP; gradio, fastapi, starlette and uvicorn
are imported only under ``bot/web/``; the web layer talks to the services in
``bot/chat`` and uses only the *types* those return from lower layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WEB_ONLY = {"gradio", "fastapi", "starlette", "uvicorn"}
STORAGE = {"sqlalchemy", "chromadb"}

# Which of our own packages each room may import (by module-name prefix).
ALLOWED = {
    "kb": ("kb",),
    "ingest": ("kb", "ingest"),
    "bot.understand": ("kb", "bot.understand"),
    "bot.answer": ("kb", "bot.understand", "bot.answer"),
    "bot.chat": ("kb", "ingest", "bot.answer", "bot.chat"),
    # Channels read customers' messages as the chat does, within the question's limits.
    "bot.channels": ("kb", "bot.chat", "bot.channels", "bot.answer.question"),
    # Types the services hand up: errors, answers, the question's limits, the ingest report.
    # For developers: the answer layer and the knowledge base, built through the one wiring.
    "bot.integrations": ("kb", "bot.answer", "bot.integrations", "bot.wiring"),
    # The web layer also takes a web source in the settings' own model as a request body.
    "bot.web": ("bot.chat", "bot.channels", "bot.web", "kb.errors", "kb.types", "bot.answer.question",
                "ingest.sync", "kb.settings"),
}
OURS = ("kb", "ingest", "bot", "bench", "tests", "learn")


def modules() -> list[tuple[str, Path]]:
    out = []
    for package in ("kb", "ingest", "bot"):
        for path in sorted((REPO / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            out.append((name.removesuffix(".__init__"), path))
    return out


def imports(path: Path, members: bool = False) -> set[str]:
    """The modules ``path`` imports; with ``members`` also "from kb import pipes" as
    ``kb.pipes`` (it may name a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if members:
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def room(module: str) -> str | None:
    for name in sorted(ALLOWED, key=len, reverse=True):
        if module == name or module.startswith(f"{name}."):
            return name
    return None


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def violations() -> list[str]:
    out = []
    for module, path in modules():
        mine = room(module)
        for name in imports(path):
            top = name.split(".")[0]
            if top in WEB_ONLY and mine != "bot.web":
                out.append(f"{module} imports {name}: web libraries belong in bot/web")
            if top in STORAGE and mine == "bot.answer":
                out.append(f"{module} imports {name}: bot/answer knows no database")
            if mine is None or top not in OURS:
                continue
            if not _within(name, ALLOWED[mine]):
                out.append(f"{module} ({mine}) imports {name}")
    return out


def circles() -> list[list[str]]:
    """Groups of modules that import each other, directly or round about (Tarjan's
    strongly connected components of the import graph; imports inside functions count)."""
    paths = dict(modules())
    edges = {m: (imports(p, members=True) & set(paths)) - {m} for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        for n in edges[m]:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            group = []
            while True:
                n = stack.pop()
                group.append(n)
                if n == m:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    return found


def test_no_module_imports_itself_round_about():
    assert circles() == []


def test_benchmarks_import_nothing_from_the_tests():
    wrong = [f"{path.relative_to(REPO)} imports {name}"
             for path in sorted((REPO / "bench").rglob("*.py")) for name in imports(path)
             if name == "tests" or name.startswith("tests.")]
    assert wrong == []


def test_the_rooms_exist():
    names = {m for m, _ in modules()}
    assert {"bot.answer.chain", "bot.chat.service", "bot.web.api", "bot.web.customer_ui",
            "bot.wiring", "bot.cli"} <= names
    assert not any(room(m) is None and m.startswith("bot.") and m.count(".") > 1 for m in names)


def test_imports_point_one_way():
    assert violations() == []


@pytest.mark.parametrize("bad, expected", [
    ("from bot.chat.state import StateStore\n", "bot.answer.bad (bot.answer) imports bot.chat.state"),
    ("import gradio\n", "web libraries belong in bot/web"),
    ("def f():\n    from bot.web.api import create_api\n", "imports bot.web.api"),
])
def test_the_rule_catches_a_wrong_import(tmp_path, monkeypatch, bad, expected):
    """The walk would see a violation: a module planted in bot/answer breaks the rule."""
    planted = REPO / "bot" / "answer" / "bad.py"
    original = modules

    def with_planted():
        return [*original(), ("bot.answer.bad", planted)]

    monkeypatch.setattr(Path, "read_text", _reader(planted, bad))
    monkeypatch.setitem(globals(), "modules", with_planted)
    assert any(expected in v for v in violations())


def _reader(planted: Path, text: str):
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        return text if self == planted else real(self, *args, **kwargs)
    return read_text
