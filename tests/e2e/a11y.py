"""Accessibility checks in the browser: axe-core (from npm, installed by the Makefile into
tests/e2e/node_modules) put into the page under test, and what it finds."""

from __future__ import annotations

from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
GRAVE = ("serious", "critical")

_RUN = """async (scope) => {
    const result = await axe.run(scope ? {include: [scope]} : document,
                                 {resultTypes: ['violations']});
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`)}));
}"""


def axe_violations(page, scope: str | None = None) -> list[dict]:
    """Every axe-core rule the page (or the part ``scope`` selects) breaks right now, with
    its impact and the elements that break it; shadow roots (the widget's) included."""
    if not AXE_JS.exists():
        pytest.skip(f"axe-core not installed at {AXE_JS}: run `make browser-deps`")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(_RUN, scope)


def grave(violations: list[dict]) -> list[dict]:
    """The serious and critical ones: what a customer or agent cannot get past."""
    return [v for v in violations if v["impact"] in GRAVE]


def focused(page) -> str:
    """What has the keyboard focus, as a short description (shadow roots looked into)."""
    return page.evaluate("""() => {
        let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        if (!el) return '';
        const name = el.getAttribute('aria-label') || el.innerText || el.value || '';
        const within = el.closest('[id]') ? el.closest('[id]').id : '';
        return `${el.tagName.toLowerCase()} in #${within} .${el.className}|${name.trim().slice(0, 80)}`;
    }""")


def tab_to(page, matches, limit: int = 40, key: str = "Tab") -> str:
    """Press Tab until the focused element's description satisfies ``matches``; fails
    when ``limit`` presses do not get there (the element is not reachable by keyboard)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        seen.append(now)
        if matches(now):
            return now
    raise AssertionError(f"not reachable with {key} in {limit} presses; focus went {seen}")
