"""Markup taken out of text that others wrote before it is shown to customers.

A citation's title and snippet come from documents, and a team FAQ entry's question is a
customer's message: every channel shows them (the JSON contract, the chat page, the
widget, OpenAI clients, Chatwoot), and several of those render Markdown or HTML. So what
becomes public is cleaned once, here: Markdown images and HTML tags (with the content of
scripts and styles) are removed, and a link keeps its text but loses a target that is
not http(s) (``javascript:``, ``data:``, a relative path like ``/logout``). ``plain_text``
also drops http(s) targets: a citation is plain text in every format.

    >>> plain_text('Versand ![x](https://evil.example/t.png)<img src=x onerror=alert(1)> '
    ...            '[Gutschein](javascript:alert(1))')
    'Versand Gutschein'
    >>> public_markdown('Siehe [Versand](https://shop.example/versand) oder [hier](javascript:x)')
    'Siehe [Versand](https://shop.example/versand) oder hier'
"""

from __future__ import annotations

import html
import re

# A link target: anything but brackets and blanks, with one level of balanced brackets
# (https://de.wikipedia.org/wiki/Rucksack_(Ausrüstung)), and an optional "title".
_TARGET = r"\s*<?((?:[^()\s<>]|\([^()\s]*\))*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*"
_IMAGE = re.compile(r"!\[[^\]]*\]\(" + _TARGET + r"\)")
_LINK = re.compile(r"\[([^\]]*)\]\(" + _TARGET + r"\)")
# A reference definition ("[ref]: target"): without it "[text][ref]" is no link at all.
_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[^\n]*$", re.M)
_AUTOLINK = re.compile(r"<(https?://[^<>\s]+)>", re.I)
_RAW_BLOCK = re.compile(r"<(script|style|iframe|object|embed|template|noscript|textarea|svg|math)"
                        r"\b.*?(?:</\1\s*>|$)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_TAG = re.compile(r"</?[A-Za-z][^>]*(?:>|$)|<[!?][^>]*(?:>|$)")
_WEB = re.compile(r"https?://", re.I)
_GAP = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")  # left where something was taken out


def _link(match: re.Match, keep_web: bool) -> str:
    text, target = match[1], match[2]
    if keep_web and _WEB.match(target) and text.strip():
        return f"[{text}]({target})"
    return text


def _once(text: str, keep_web: bool) -> str:
    text = html.unescape(text)  # "&lt;img …&gt;" is a tag to whatever decodes it later
    text = _COMMENT.sub("", _RAW_BLOCK.sub("", text))
    text = _TAG.sub("", _AUTOLINK.sub(r"\1", text))  # <https://…> is a link, not a tag
    text = _LINK.sub(lambda m: _link(m, keep_web), _IMAGE.sub("", text))
    return _DEFINITION.sub("", text)


def strip_markup(text: str, keep_web_links: bool = False) -> str:
    """``text`` without images, HTML and links that go anywhere but the web; with
    ``keep_web_links`` a Markdown link to an http(s) address stays a link."""
    # Until nothing changes: taking one construct out can complete another
    # ("<<b>img src=x onerror=…>", "[![x](y)](javascript:z)"). A pass that changes the
    # text makes it shorter, so this ends.
    while (cleaned := _once(text, keep_web_links)) != text:
        text = cleaned
    return "\n".join(_GAP.sub(" ", line).rstrip() for line in text.split("\n")).strip()


def plain_text(text: str) -> str:
    """``text`` as plain text: no image, no HTML, and links reduced to their text."""
    return strip_markup(text, keep_web_links=False)


def public_markdown(text: str) -> str:
    """``text`` as Markdown fit to publish: no image, no HTML, only http(s) links."""
    return strip_markup(text, keep_web_links=True)
