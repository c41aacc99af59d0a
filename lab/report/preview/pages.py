"""The print stylesheet's page geometry, for the preview's page boxes: the ``@page`` size,
margins and margin boxes (``@top-right``, ``@bottom-center``…) of the rendered report.

Read from the report's own ``<style>`` blocks (report.css and the template's page rules),
so a restyled page size or margin shows in the preview as it will in the PDF. Only what
the preview draws is read: the page size, its margins, and the margin boxes' ``content``
(strings, ``counter(page)``, ``counter(pages)``) and other declarations, for all pages
and for ``:first``; named, ``:left``/``:right`` and ``:blank`` pages are the PDF's alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MM_PER = {"mm": 1.0, "cm": 10.0, "q": 0.25, "in": 25.4, "pt": 25.4 / 72, "pc": 25.4 / 6, "px": 25.4 / 96}
PAGE_SIZES_MM = {  # CSS Paged Media's named sizes (portrait)
    "a5": (148, 210),
    "a4": (210, 297),
    "a3": (297, 420),
    "b5": (176, 250),
    "b4": (250, 353),
    "jis-b5": (182, 257),
    "jis-b4": (257, 364),
    "letter": (215.9, 279.4),
    "legal": (215.9, 355.6),
    "ledger": (279.4, 431.8),
}
DEFAULT_SIZE, DEFAULT_MARGIN = PAGE_SIZES_MM["a4"], 75 * MM_PER["px"]  # WeasyPrint's defaults
BOXES = ("top-left", "top-center", "top-right", "bottom-left", "bottom-center", "bottom-right")
STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
CONTENT_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|counter\(\s*(pages?)\s*\)|(none|normal)')


@dataclass
class PageGeometry:
    """What the preview draws of the page: sizes in millimetres, boxes as declarations."""

    width: float = DEFAULT_SIZE[0]
    height: float = DEFAULT_SIZE[1]
    margin: list[float] = field(default_factory=lambda: [DEFAULT_MARGIN] * 4)  # top, right, bottom, left
    boxes: dict[str, dict[str, str]] = field(default_factory=dict)  # box -> property -> value (all pages)
    first: dict[str, dict[str, str]] = field(default_factory=dict)  # what :first changes

    def as_json(self) -> dict:
        """For the page's script: each box's content as tokens, its other declarations as a style attribute."""
        return {
            "width": self.width,
            "height": self.height,
            "margin": self.margin,
            "boxes": {name: box_json(box) for name, box in self.boxes.items()},
            "first": {name: box_json({**self.boxes.get(name, {}), **box}) for name, box in self.first.items()},
        }


def box_json(declarations: dict[str, str]) -> dict:
    style = "; ".join(f"{name}: {value}" for name, value in declarations.items() if name != "content")
    return {"content": content_tokens(declarations.get("content", "none")), "style": style}


def content_tokens(value: str) -> list[list[str]] | None:
    """``"Page " counter(page)`` -> [["text", "Page "], ["counter", "page"]]; None for no box."""
    tokens: list[list[str]] = []
    for match in CONTENT_TOKEN.finditer(value):
        double, single, counter, keyword = match.groups()
        if keyword:
            return None
        if counter:
            tokens.append(["counter", counter])
        else:
            tokens.append(["text", unescape_css(double if double is not None else single)])
    return tokens or None


def unescape_css(text: str) -> str:
    """CSS string escapes: ``\\3c `` (a code point in hex) and ``\\"``."""
    return re.sub(
        r"\\([0-9a-fA-F]{1,6}) ?|\\(.)", lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), text
    )


def page_geometry(html: str) -> PageGeometry:
    """The geometry the report's stylesheets give its pages (later rules win, as in CSS)."""
    geometry = PageGeometry()
    css = COMMENT.sub("", "\n".join(STYLE.findall(html)))
    for selector, body in page_rules(css):
        declarations, boxes = split_page_body(body)
        if selector == "":
            apply_page_declarations(geometry, declarations)
            for name, box in boxes.items():
                geometry.boxes.setdefault(name, {}).update(box)
        elif selector == ":first":
            for name, box in boxes.items():
                geometry.first.setdefault(name, {}).update(box)
    return geometry


def page_rules(css: str) -> list[tuple[str, str]]:
    """Each top-level ``@page SELECTOR { BODY }`` as (selector, body)."""
    rules, at = [], 0
    while (start := css.find("@page", at)) >= 0:
        opening = css.find("{", start)
        if opening < 0:
            break
        closing = matching_brace(css, opening)
        rules.append((css[start + len("@page") : opening].strip(), css[opening + 1 : closing]))
        at = closing + 1
    return rules


def matching_brace(text: str, opening: int) -> int:
    depth, quote = 0, ""
    for index in range(opening, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


def split_page_body(body: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """A page rule's own declarations, and its margin boxes' (``@top-center { … }``)."""
    boxes: dict[str, dict[str, str]] = {}
    own, at = [], 0
    for match in re.finditer(r"@([a-z-]+)\s*\{", body):
        if match.start() < at:
            continue
        closing = matching_brace(body, match.end() - 1)
        own.append(body[at : match.start()])
        if match.group(1) in BOXES:
            boxes[match.group(1)] = declarations_of(body[match.end() : closing])
        at = closing + 1
    own.append(body[at:])
    return declarations_of(";".join(own)), boxes


def declarations_of(text: str) -> dict[str, str]:
    """``name: value; …`` split at semicolons outside strings and parentheses."""
    parts: list[str] = []
    current: list[str] = []
    quote, depth = "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == ";" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    declarations = {}
    for part in parts:
        name, colon, value = part.partition(":")
        if colon and name.strip():
            declarations[name.strip().lower()] = " ".join(value.split())
    return declarations


def apply_page_declarations(geometry: PageGeometry, declarations: dict[str, str]) -> None:
    if "size" in declarations:
        size = page_size(declarations["size"])
        if size:
            geometry.width, geometry.height = size
    if "margin" in declarations:
        values = [length_mm(v) for v in declarations["margin"].split()]
        if 1 <= len(values) <= 4 and None not in values:
            geometry.margin = margin_shorthand(values)
    for index, side in enumerate(("top", "right", "bottom", "left")):
        value = length_mm(declarations.get(f"margin-{side}", ""))
        if value is not None:
            geometry.margin[index] = value


def margin_shorthand(values: list) -> list[float]:
    """``margin: 1 to 4 values`` -> [top, right, bottom, left], by CSS's rule."""
    top = values[0]
    right = values[1] if len(values) > 1 else top
    bottom = values[2] if len(values) > 2 else top
    left = values[3] if len(values) > 3 else right
    return [top, right, bottom, left]


def page_size(value: str) -> tuple[float, float] | None:
    words = value.lower().split()
    orientation = next((w for w in words if w in ("portrait", "landscape")), None)
    rest = [w for w in words if w not in ("portrait", "landscape")]
    if not rest or rest == ["auto"]:
        width, height = DEFAULT_SIZE
    elif rest[0] in PAGE_SIZES_MM:
        width, height = PAGE_SIZES_MM[rest[0]]
    else:
        lengths = [length for word in rest if (length := length_mm(word)) is not None]
        if len(lengths) != len(rest) or len(lengths) > 2:
            return None
        width, height = lengths[0], lengths[-1]
    if orientation == "landscape" and width < height or orientation == "portrait" and width > height:
        width, height = height, width
    return float(width), float(height)


def length_mm(value: str) -> float | None:
    match = re.fullmatch(r"(-?[\d.]+)(mm|cm|q|in|pt|pc|px)", value.strip().lower())
    if match:
        return float(match.group(1)) * MM_PER[match.group(2)]
    return 0.0 if value.strip() == "0" else None
