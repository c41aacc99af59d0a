"""What every report figure shares: style, fonts, sizes, number formats, SVG output (text kept as text).

One palette, one set of sizes, drawn at the report's text width so a figure is
never scaled down until its labels are unreadable. The SVG names its fonts and
WeasyPrint draws the text with the report's fonts, so Chinese labels need a CJK
font installed (font_families below puts the report's own first).
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from xml.etree import ElementTree

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
import matplotlib.ticker  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lab.report import fonts  # noqa: E402

TEXT_WIDTH_IN = 6.3  # A4 minus the report's margins
# The smallest text a figure prints: tick labels, legends, labels on the data. A figure is
# drawn at most TEXT_WIDTH_IN wide and printed at the size it is drawn (lab.report.items.svg_html),
# so a size set here is the printed size (tests/test_report.py reads it back from the SVGs).
SMALLEST_PT = 8
MAX_CURVE_POINTS = 250  # per drawn curve: SVG paths stay small, so the PDF renders fast
RASTER_DPI = 200  # for the few artists drawn as images (scatter points, photos)
PALETTE = ["#1f5a96", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#3aa6b9", "#8c6d46", "#555555"]
TRUTH, POINTS, DIVERGED = "#222222", "#b9c0c8", "#c0392b"


def font_families(lang: str) -> list[str]:
    """The report's CJK sans first when one is installed (the family of its headings, captions
    and tables: lab.report.fonts; its Latin is clean too), DejaVu as fallback."""
    cjk = fonts.figure_family()
    return ([cjk] if cjk else []) + ["DejaVu Sans"]


# Figure text stays text ("svg.fonttype": "none"), drawn by WeasyPrint with the
# report's fonts: as outlines ("path") WeasyPrint re-parsed every glyph of every
# figure on each build, and `build --no-run` took 3.5 s instead of 2.7 s
# (tiny lab, zh, AMD EPYC, 2 cores; bench/everyday.py). The text is also
# selectable and searchable in the PDF.
#
# No tick marks: the grid already marks every labelled value, and each mark is an SVG <use>
# node that WeasyPrint draws one by one. On the full real report's 12 figures (537 marks,
# most of them minor ticks on log axes) drawing took 0.92 s of CPU with them and 0.67 s
# without (the 12 cached SVGs drawn by WeasyPrint in one process, minimum of 3; Intel Xeon).
#
# Measured on that report (WeasyPrint alone, zh, three rounds, Intel Xeon): the figures cost 0.8 s
# of its 1.2 s PDF writing, their 384 text nodes half of that; unwrapping matplotlib's id-only <g>
# groups alone (4,912 SVG nodes to 1,742) saved under 0.1 s there; with the rest of `slimmed` it
# saves 0.12-0.13 s (its docstring). Not kept: the figures as 200 dpi PNGs saved 0.3-0.4 s but
# doubled the PDF (1.16 to 2.24 MB) and made their text unselectable; text styles as attributes
# too saved 15 ms more but moved the font sizes tests/test_report.py reads.
NO_TICK_MARKS = {f"{axis}tick.{which}.size": 0 for axis in "xy" for which in ("major", "minor")}


def style(lang: str) -> dict:
    return {
        "font.family": font_families(lang),
        "font.size": 9,
        "axes.titlesize": 9,
        "axes.labelsize": 9,
        "xtick.labelsize": SMALLEST_PT,
        "ytick.labelsize": SMALLEST_PT,
        "legend.fontsize": SMALLEST_PT,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#444444",
        "axes.linewidth": 0.7,
        "axes.grid": True,
        "grid.color": "#e3e6ea",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=PALETTE),
        "lines.linewidth": 1.5,
        "legend.frameon": False,
        "svg.fonttype": "none",
        "svg.hashsalt": "labreport",
        "axes.unicode_minus": True,
        "figure.dpi": 100,
        **NO_TICK_MARKS,
    }


@contextmanager
def styled(lang: str):
    with matplotlib.rc_context(style(lang)):
        yield


def to_svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
    return slimmed(buffer.getvalue())


SVG = "http://www.w3.org/2000/svg"
# Drawing properties matplotlib writes in style="…" that SVG also takes as attributes; text keeps
# its style (font size and family stay where tests/test_report.py reads them).
AS_ATTRIBUTES = {
    "fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap", "stroke-linejoin",
    "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "opacity",
}  # fmt: skip
DEFAULT_STROKE = {"stroke-linejoin": "round", "stroke-linecap": "butt"}  # matplotlib's <style> rule for every node
ElementTree.register_namespace("", SVG)  # written back without prefixes, as matplotlib wrote it
ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def slimmed(svg: str) -> str:
    """The same drawing in fewer SVG nodes and no CSS for WeasyPrint to parse: no metadata, no
    empty groups, no groups that only carry an id, drawing properties as attributes (the
    stylesheet's defaults on the root), no rotation by 0.

    WeasyPrint draws a figure node by node and parses each style="…" with its CSS parser. On
    the full real report's 10 zh figures (drawn in one process, minimum of 5; AMD EPYC, 2 cores)
    drawing took 563 ms as matplotlib writes them (4,059 SVG nodes), 439 ms so (1,291 nodes);
    every page of that report printed at 150 dpi is the same, pixel for pixel (zh 14, en 15 pages).
    tests/test_report.py compares two figures so.
    """
    root = ElementTree.fromstring(svg)
    unwrap_groups(root)
    for node in root.iter():
        style_as_attributes(node)
        if node.get("transform", "").startswith("rotate(-0 "):
            del node.attrib["transform"]
    for defs in root.iter(f"{{{SVG}}}defs"):
        for rule in defs.findall(f"{{{SVG}}}style"):
            defs.remove(rule)
    root.attrib.update(DEFAULT_STROKE)
    return ElementTree.tostring(root, encoding="unicode")


def unwrap_groups(node: ElementTree.Element) -> None:
    """Each <g> below `node` that carries only an id replaced by its children (but a panel's, one
    per axes, which the figure's tests count); metadata and empty groups dropped."""
    children = []
    for child in node:
        unwrap_groups(child)
        tag = child.tag.removeprefix(f"{{{SVG}}}")
        if tag == "metadata" or (tag == "g" and len(child) == 0):
            continue
        id_only = tag == "g" and set(child.attrib) <= {"id"} and not child.get("id", "").startswith("axes_")
        children.extend(list(child) if id_only else [child])
    node[:] = children


def style_as_attributes(node: ElementTree.Element) -> None:
    declarations = [part.split(":", 1) for part in node.get("style", "").split(";") if ":" in part]
    properties = {name.strip(): value.strip() for name, value in declarations}
    if properties and properties.keys() <= AS_ATTRIBUTES:
        del node.attrib["style"]
        node.attrib.update(properties)


def new_figure(height: float, width: float = TEXT_WIDTH_IN) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def plain_number(value: float, _position=None) -> str:
    """1,000 or 0.01 for everyday magnitudes, 10⁶ beyond them."""
    if value <= 0:
        return f"{value:g}"
    exponent = np.log10(value)
    if (value >= 1e5 or value < 1e-3) and abs(exponent - round(exponent)) < 1e-9:
        return "10" + str(int(round(exponent))).translate(SUPERSCRIPTS)
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def power_of_ten(value: float) -> str:
    """10⁴ for a power of ten, 2×10⁴ otherwise."""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    mantissa = value / 10.0**exponent
    power = "10" + str(exponent).translate(SUPERSCRIPTS)
    return power if abs(mantissa - 1) < 1e-9 else f"{mantissa:g}×{power}"


class PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """matplotlib's choice of which log ticks to label, in one style per axis: plain numbers
    (1,000, 0.01) for everyday ranges, powers of ten on every tick when the axis reaches beyond
    them (never 10,000 next to 10⁶)."""

    def _num_to_string(self, x, vmin, vmax):
        low, high = sorted((abs(vmin), abs(vmax)))
        if x > 0 and (high >= 1e5 or 0 < low < 1e-3):
            return power_of_ten(x)
        return plain_number(x)


def plain_log_axis(axis) -> None:
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


def thinned(frame, points: int = MAX_CURVE_POINTS):
    """Every k-th row (and the last): a 1000-point grid looks the same at panel size with 250."""
    step = max(len(frame) // points, 1)
    return frame if step == 1 else frame.iloc[sorted(set(range(0, len(frame), step)) | {len(frame) - 1})]
