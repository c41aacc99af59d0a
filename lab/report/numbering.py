"""Each exercise's items -> the numbered figures and tables of the page, and what ref() cites.

The page's own two tables come first (the machine, the runs); then each exercise's items in
the order its `ExerciseReport` lists them, which is their numbering. An item whose run is
missing, or whose `shown` does not hold, is left out and takes no number. Figures are drawn
once and cached by the files of the runs they show and the code that draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.core.api import Exercise
from lab.core.exercise_report import Item
from lab.report.items import FigureCache, NumberedItem, Table, svg_html
from lab.report.messages import Messages
from lab.report.reading import Reading

msg = Messages(Path(__file__).parent)
PAGE_ITEMS = {"tab:environment": "environment_caption", "tab:runs": "runs_caption"}  # key -> caption


def numbered_items(
    reading: Reading, lang: str, cache: FigureCache, page_tables: dict[str, Table]
) -> dict[str, NumberedItem]:
    """The page's tables and every exercise's items that can be shown, numbered in document order."""
    items = {
        key: NumberedItem(key, "table", msg(lang, PAGE_ITEMS[key]), html=table.html(), css_class=key.split(":")[1])
        for key, table in page_tables.items()
    }
    for exercise in reading.exercises:
        items.update(exercise_items(reading, exercise, lang, cache))
    number(items, lang, list(PAGE_ITEMS) + [item.key for e in reading.exercises for item in reading.report(e).items])
    return items


def exercise_items(reading: Reading, exercise: Exercise, lang: str, cache: FigureCache) -> dict[str, NumberedItem]:
    facts, text = reading.facts[exercise.name], Messages(exercise.folder).bound(lang)
    made = {}
    for item in reading.report(exercise).items:
        if any(run in reading.missing for run in item.runs) or not item.shown(facts):
            continue
        html = (
            figure_html(item, facts, reading, lang, cache) if item.kind == "figure" else item.make(facts, lang).html()
        )
        values = item.caption_values(facts) if callable(item.caption_values) else item.caption_values
        caption = text(item.caption, **values)
        made[item.key] = NumberedItem(item.key, item.kind, caption, html=html, css_class=item.key.split(":")[1])
    return made


def figure_html(item: Item, facts, reading: Reading, lang: str, cache: FigureCache):
    key = cache.key(item.key, lang, [reading.runs[run] for run in item.runs], item.inputs(facts))
    svg = cache.get(key)
    if svg is None:
        svg = item.make(facts, lang)
        cache.put(key, svg)
    return svg_html(svg)


def number(items: dict[str, NumberedItem], lang: str, order: list[str]) -> None:
    """Figures and tables numbered apart, in `order`; an item left out takes no number."""
    counters = {"figure": 0, "table": 0}
    for key in order:
        item = items.get(key)
        if item is None:
            continue
        counters[item.kind] += 1
        item.number = counters[item.kind]
        item.label = f"{msg(lang, item.kind)} {item.number}"


def reference(items: dict[str, NumberedItem], appendix_letters: dict[str, str], lang: str) -> Callable[[str], str]:
    """ref(key): a figure or table as a link with its label; an appendix by its label (Appendix A)."""

    def ref(key: str) -> str:
        if key in appendix_letters:
            return msg(lang, "appendix_label", letter=appendix_letters[key])
        item = items[key]
        return f'<a href="#{item.key.replace(":", "-")}">{item.label}</a>'

    return ref


def figure_code(exercises: list[Exercise]) -> list[str]:
    """The modules whose code may draw the figures: every module of each exercise's
    package (its facts and figures import several), so a change to any redraws."""
    modules = ["lab.report.plotting"]
    for exercise in exercises:
        package = exercise.report.rpartition(".")[0]
        modules += [f"{package}.{path.stem}" for path in sorted(exercise.folder.glob("*.py"))]
    return modules


def figure_cache(folder: Path | None, exercises: list[Exercise]) -> FigureCache:
    catalogues = sorted(path for exercise in exercises for path in (exercise.folder / "messages").glob("*.toml"))
    return FigureCache(folder, figure_code(exercises), catalogues)
