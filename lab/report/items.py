"""Numbered figures and tables as the page shows them, tables as HTML, and the figure cache."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

from lab.core import fingerprint
from lab.core.atomic import write_text_atomic
from lab.core.errors import UserError
from lab.report.wording import real_minus


@dataclass
class NumberedItem:
    """A figure or table as the page shows it: caption, number, label and HTML."""

    key: str
    kind: str  # "figure" | "table"
    caption: str
    number: int = 0
    html: Markup = Markup("")
    label: str = ""  # "Table 2", in the report's language
    css_class: str = ""


def lazy_module(name: str):
    """Module `name`, executed on first attribute access (importlib's LazyLoader).

    The figure modules import matplotlib; a build that finds every figure in the
    cache never touches them, so never pays for that import.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"{name} not found")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def svg_html(svg: str) -> Markup:
    """An <img> with the SVG inlined as a data URI, at its natural size (so text keeps its point size)."""
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
    style = f' style="width: {float(width.group(1)):.1f}pt"' if width else ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup(f'<img class="figure-image" alt="" src="data:image/svg+xml;base64,{data}"{style}>')


class FigureCache:
    """SVGs keyed by figure, language, drawing code and the checksums of the run's files."""

    def __init__(self, folder: Path | None, modules: list[str], texts: Sequence[Path] = ()):
        self.folder = folder
        # The modules and all they import, read, not imported: a build whose figures all
        # come from the cache never imports matplotlib (most of a second).
        versions = [f"matplotlib {importlib.metadata.version('matplotlib')}"]
        self.code_hash = fingerprint.code_digest(modules, files=texts, extra=versions)  # with message catalogues

    def key(self, figure: str, lang: str, runs: list, inputs: str = "") -> str:
        """The cache key of figure `figure` (its item key) in `lang`, drawn from `runs` and `inputs`."""
        parts = [figure, lang, self.code_hash]
        for run in runs:
            parts += [run.key, json.dumps(run.record.get("files", {}), sort_keys=True)]
        parts += [inputs] if inputs else []
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def get(self, key: str) -> str | None:
        path = self.folder / f"{key}.svg" if self.folder else None
        try:
            return path.read_text(encoding="utf-8") if path and path.exists() else None
        except OSError:
            return None

    def put(self, key: str, svg: str) -> None:
        if not self.folder:
            return
        try:
            write_text_atomic(self.folder / f"{key}.svg", svg)
        except UserError:
            pass  # a read-only store only costs speed


def cache_folder(runs: dict) -> Path | None:
    """``<store>/.figure-cache`` next to the run folders (``<store>/<name>/<key>``)."""
    for run in runs.values():
        if run is not None:
            return Path(run.dir).resolve().parent.parent / ".figure-cache"
    return None


@dataclass
class Parameters:
    """(label, value) rows: a table with its labels down the left and no header row."""

    rows: list[tuple[str, str]]

    def html(self) -> Markup:
        body = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in self.rows)
        return Markup(f'<table class="params"><tbody>{body}</tbody></table>')


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    highlight: set[int] = field(default_factory=set)  # row indexes to emphasise

    def html(self) -> Markup:
        head = "".join(f'<th class="{"num" if n else ""}">{escape(c)}</th>' for c, n in zip(self.columns, self.numeric))
        body = []
        for i, row in enumerate(self.rows):
            cells = "".join(
                f'<td class="{"num" if n else ""}">{escape(real_minus(v) if n else v)}</td>'
                for v, n in zip(row, self.numeric)  # a number's sign, never a command's option
            )
            body.append(f'<tr class="{"chosen" if i in self.highlight else ""}">{cells}</tr>')
        return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
