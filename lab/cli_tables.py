"""The tables the commands print: what a run did (run, build), the matrix of runs (list), a report's checks (verify)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.core.progress import format_seconds
from lab.core.session import Session, plan_for_render, unplanned_status


def summary_table(outcomes) -> Table:
    """What `run` and `build` did to each run."""
    table = Table(title="runs", title_justify="left")
    for column in ("run", "key", "result", "time"):
        table.add_column(column)
    for outcome in outcomes:
        result = "cached (already done)" if outcome.status == "cached" else outcome.status
        style = {"failed": "red", "diverged": "yellow"}.get(outcome.status, "")
        table.add_row(
            outcome.spec.name,
            outcome.spec.key,
            f"[{style}]{result}[/]" if style else result,
            format_seconds(outcome.seconds) if outcome.status != "cached" else "-",
        )
    return table


def runs_table(session: Session) -> Table:
    """`labreport list`: every run of the matrix with its status and time."""
    specs = plan_for_render(session)
    table = Table(title=f"runs in {session.store.root}", title_justify="left")
    for column in ("run", "key", "status", "time", "finished"):
        table.add_column(column)
    listed = {spec.name for spec in specs}
    for spec in specs:
        record = session.store.read_record(spec.name, spec.key) or {}
        seconds = record.get("duration_s")
        status = session.store.status(spec.name, spec.key)
        if status == "stale":
            status = f"stale ({session.store.why_stale(spec)})"
        table.add_row(
            spec.name, spec.key, status, format_seconds(seconds) if seconds else "-", record.get("finished") or "-"
        )
    for name in session.decl.run_names:
        if name not in listed:
            table.add_row(name, "-", unplanned_status(session.store, name), "-", "-")
    return table


SHOWN_DIFFERENCES = 5


def verify_table(verdict) -> Table:
    """`labreport verify`: one line per check."""
    table = Table(title=f"verify {verdict.report}", title_justify="left")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for check in verdict.checks:
        result = {True: "[green]agrees[/]", False: "[red]differs[/]", None: "-"}[check.ok]
        table.add_row(check.name, result, escape(check.detail))
    return table


def show_verdict(console: Console, verdict, as_json: bool) -> None:
    """verify's table, its notes and the first differences; or all of it as JSON."""
    if as_json:
        print(json.dumps(verdict.as_json(), indent=2, ensure_ascii=False))
        return
    console.print(verify_table(verdict))
    for note in verdict.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for difference in verdict.differences[:SHOWN_DIFFERENCES]:
        console.print(
            f"page {difference['page']}: PDF {escape(repr(difference['pdf']))}, "
            f"evidence {escape(repr(difference['evidence']))} (in: {escape(difference['context'])})"
        )
