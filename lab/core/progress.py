"""Progress for long steps: rich bars with ETA on a terminal, plain lines elsewhere."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

PLAIN_EVERY_S = 15.0  # how often a plain-line task reports when nothing else happens


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class BarTask:
    """One run's bar in a rich Progress."""

    def __init__(self, progress: Progress, console: Console, label: str):
        self.progress, self.console, self.label = progress, console, label
        self.task = progress.add_task(label, total=None)

    def start(self, total: int, description: str = "") -> None:
        text = f"{self.label}: {description}" if description else self.label
        self.progress.reset(self.task, total=total, description=text)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)

    def update(self, completed: int) -> None:
        self.progress.update(self.task, completed=completed)

    def log(self, message: str) -> None:
        self.console.print(f"  [dim]{self.label}[/]  {message}")


class LineTask:
    """The same interface, as occasional plain lines (logs, CI, pipes)."""

    def __init__(self, console: Console, label: str):
        self.console, self.label = console, label
        self.total, self.done, self.began, self.last = 0, 0, time.monotonic(), 0.0

    def start(self, total: int, description: str = "") -> None:
        self.total, self.done = total, 0
        self.began = self.last = time.monotonic()
        self.console.print(f"{self.label}: {description or 'started'} ({total} steps)")

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def update(self, completed: int) -> None:
        self.done = completed
        now = time.monotonic()
        if now - self.last >= PLAIN_EVERY_S and self.total:
            self.last = now
            elapsed = now - self.began
            eta = elapsed / max(self.done, 1) * (self.total - self.done)
            self.console.print(
                f"{self.label}: {100 * self.done / self.total:.0f}% "
                f"({self.done}/{self.total}), ETA {format_seconds(eta)}"
            )

    def log(self, message: str) -> None:
        self.console.print(f"{self.label}: {message}")


class Reporter:
    """Hands out one progress task per run; on a terminal they share one live display."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.live = self.console.is_terminal
        self.display: Progress | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """One live display for every task opened inside (runs may go on side by side)."""
        if not self.live or self.display is not None:
            yield
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console) as self.display:
            try:
                yield
            finally:
                self.display = None

    @contextlib.contextmanager
    def task(self, label: str) -> Iterator[BarTask | LineTask]:
        if not self.live:
            yield LineTask(self.console, label)
            return
        with self.session():
            assert self.display is not None  # the session opened it
            yield BarTask(self.display, self.console, label)
