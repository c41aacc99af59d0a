"""Spacing between Chinese and Latin text, applied once to the rendered HTML of a Chinese report:
a space between a CJK character and a Latin letter or digit (figure 6 and table 4 read
"\u56fe 6 \u548c\u8868 4", never "\u56fe 6\u548c"), none around full-width punctuation (no
space after "\u3002"), and none from line breaks in the templates between two Chinese
characters. Tags, and the text of <style>, <pre>, <code> and <script>, are left as they are;
the rules see the text across inline tags (``<a>figure 6</a>`` followed by a character).

pangu (the maintained library for this) also spaces "f(x)" before a Chinese character into
"f (x)"; these rules leave a formula alone.
"""

from __future__ import annotations

import re

IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
FULL_WIDTH_PUNCTUATION = (
    "\u3002\uff0c\uff1b\uff1a\u3001\uff01\uff1f\uff08\uff09\u300c\u300d\u300e\u300f\u3010\u3011\u300a\u300b"
)
LATIN_AFTER_CJK = re.compile(r"[A-Za-z0-9]")  # starts a Latin run after a CJK character
LATIN_BEFORE_CJK = re.compile(r"[A-Za-z0-9%)\]]")  # ends a Latin run before a CJK character
VERBATIM = {"style", "pre", "code", "script"}
BLOCK = {"p", "li", "td", "th", "div", "h1", "h2", "h3", "h4", "h5", "h6", "br", "figcaption", "tr", "ul", "table"}
TOKEN = re.compile(r"(<[^>]*>)")
TAG_NAME = re.compile(r"</?\s*([a-zA-Z0-9]+)")


def needs_space(before: str, after: str) -> bool:
    """A CJK character meets a Latin letter or digit (or the end of a Latin run) without a space."""
    return bool(
        (IDEOGRAPH.match(before) and LATIN_AFTER_CJK.match(after))
        or (LATIN_BEFORE_CJK.match(before) and IDEOGRAPH.match(after))
    )


def tight(before: str, after: str) -> bool:
    """No space belongs between these two: full-width punctuation, or two Chinese characters."""
    return (
        before in FULL_WIDTH_PUNCTUATION
        or after in FULL_WIDTH_PUNCTUATION
        or bool(IDEOGRAPH.match(before) and IDEOGRAPH.match(after))
    )


def space_text(text: str, before: str = "", after: str = "") -> str:
    """`text` respaced; `before` and `after` are the visible characters around it ('' at a block edge)."""
    out: list[str] = []
    last = before
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            j = i
            while j < len(text) and text[j].isspace():
                j += 1
            following = text[j] if j < len(text) else after
            if not (last and following and tight(last, following)):
                chunk = text[i:j]
                out.append(" " if last and following and "\n" in chunk else chunk)
                last = " "
            i = j
            continue
        if last and needs_space(last, char):
            out.append(" ")
        out.append(char)
        last = char
        i += 1
    return "".join(out)


def tag_name(piece: str) -> str:
    match = TAG_NAME.match(piece)
    return match.group(1).lower() if match else ""


def next_visible(pieces: list[str], index: int) -> str:
    """The first visible character after pieces[index], across inline tags ('' at a block edge)."""
    for piece in pieces[index + 1 :]:
        if piece.startswith("<"):
            if tag_name(piece) in BLOCK | VERBATIM:
                return ""
            continue
        if piece.strip():
            return piece.lstrip()[0]
    return ""


def space_cjk_html(html: str) -> str:
    """The rules above over the text of `html`, across inline tags."""
    pieces = TOKEN.split(html)
    verbatim, last = 0, ""
    for index, piece in enumerate(pieces):
        if piece.startswith("<"):
            name = tag_name(piece)
            if name in VERBATIM:
                verbatim += -1 if piece.startswith("</") else (0 if piece.endswith("/>") else 1)
                verbatim = max(verbatim, 0)
            if name in BLOCK:
                last = ""
            continue
        if verbatim or not piece:
            continue
        pieces[index] = respaced = space_text(piece, last, next_visible(pieces, index))
        if respaced:
            last = " " if respaced[-1].isspace() else respaced[-1]
    return "".join(pieces)
