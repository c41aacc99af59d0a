"""The page's own two tables: the machine the report was built on, and where and how long each run ran."""

from __future__ import annotations

from pathlib import Path

from lab.core.environment import Environment, current_environment
from lab.report.answers import status_word
from lab.report.items import Table
from lab.report.messages import Messages
from lab.report.reading import Reading
from lab.report.wording import seconds_text

msg = Messages(Path(__file__).parent)


def run_titles(reading: Reading, lang: str) -> dict[str, str]:
    """A title per run in the exercises' order, as each exercise's report names it."""
    titles = {}
    for exercise in reading.exercises:
        text = Messages(exercise.folder).bound(lang)
        for name in reading.groups[exercise.name]:
            titles[name] = reading.report(exercise).run_title(name, text)
    return titles


def environment_table(lang: str, env: Environment | None = None) -> Table:
    """The machine that built the report (`env`: the one a verified report names)."""
    env = env or current_environment()
    memory = f"{env.memory_gb:.0f} GB" if env.memory_gb else "—"
    rows = [
        [msg(lang, "operating_system"), env.os],
        [msg(lang, "cpu"), msg(lang, "cpu_value", cpu=env.cpu, cores=env.cores)],
        [msg(lang, "memory"), memory],
        ["GPU", env.gpu or msg(lang, "none_or_not_detected")],
        ["Python", env.python],
        ["PyTorch", env.torch],
        ["torchvision", env.torchvision],
    ]
    return Table([msg(lang, "item"), msg(lang, "value")], rows, [False, False])


def runs_table(reading: Reading, titles: dict[str, str], lang: str) -> Table:
    rows = []
    for name, title in titles.items():
        run = reading.runs.get(name)
        if run is None:
            reason = status_word(reading.missing.get(name, "missing"), lang)
            rows.append([title, "—", "—", "—", msg(lang, "not_available", reason=reason)])
            continue
        record = run.record
        finished = str(record.get("finished", "—"))[:19].replace("T", " ")
        rows.append(
            [
                title,
                str(record.get("device", "—")),
                str(record.get("torch", "—")),
                seconds_text(record.get("duration_s"), lang),
                finished,
            ]
        )
    columns = [msg(lang, "experiment"), msg(lang, "device"), "PyTorch", msg(lang, "wall_time"), msg(lang, "finished")]
    return Table(columns, rows, [False, False, False, True, False])
