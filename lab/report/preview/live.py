"""Watch what a student edits while restyling, render on each change, publish to the page.

Watched: the template folders (./templates first, then the packaged and the lab's own, for
``.j2`` and ``.css`` files), the answers folder, the reflections file and the declaration.
A change to the declaration loads the runs again (the student's name, a ``--set``-able value
or the answers folder may have changed); any other change re-runs only the template step.
`watchfiles` (inotify, FSEvents, ReadDirectoryChangesW underneath) reports a save within its
``step``, without polling the disk.
"""

from __future__ import annotations

import os
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

import watchfiles
from rich.console import Console
from rich.markup import escape

from lab.core.session import Session, missing_notes
from lab.report.preview.renderer import Rendered, WarmRenderer
from lab.report.preview.server import PreviewServer, PreviewState

TEMPLATE_SUFFIXES = (".j2", ".css")
STEP_MS = 20  # how long a burst of writes (an editor's save) is gathered before rendering


class Sources:
    """The files a render reads that a student edits, and the folders to watch for them.

    Each folder is watched on its own (not recursively): the lab folder holds the run store and
    perhaps a data set or a virtual environment, thousands of folders nobody restyles. A folder
    added to a watched one (./templates, answers/, a section folder in ./templates) makes the preview
    watch again.
    """

    def __init__(self, renderer: WarmRenderer):
        decl = renderer.session.decl
        report = decl.values.get("report", {})
        self.declaration = Path(decl.path).resolve()
        self.reflections = decl.resolve(report.get("reflections", "reflections.md")).resolve()
        self.answers = decl.resolve(report.get("answers", "answers")).resolve()
        self.templates = [folder.resolve() for folder in renderer.template_folders]

    def folders(self) -> list[Path]:
        folders = {self.declaration.parent, self.reflections.parent}
        for root in (*self.templates, self.answers):
            folders.update(folder for folder in subfolders(root))
        return sorted(folder for folder in folders if folder.is_dir())

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        file = Path(path).resolve()
        return (
            file in (self.declaration, self.reflections)
            or self.answers in file.parents
            or (file.suffix in TEMPLATE_SUFFIXES and any(folder in file.parents for folder in self.templates))
            or (change == watchfiles.Change.added and file.is_dir() and not file.name.startswith((".", "__")))
        )

    def shown(self, path: str) -> str:
        """A changed file as the terminal names it: relative to the working folder when inside it."""
        try:
            return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return path


def subfolders(root: Path) -> list[Path]:
    """``root`` and the folders below it, without caches and hidden ones."""
    if not root.is_dir():
        return []
    found = [root]
    for folder, names, _ in os.walk(root):
        names[:] = [name for name in names if not name.startswith((".", "__"))]
        found += [Path(folder) / name for name in names]
    return found


def run_preview(
    open_session: Callable[[], Session],
    lang: str | None,
    port: int,
    open_browser: bool,
    console: Console,
    errors: Console,
) -> None:
    """Serve the report until Ctrl-C; each save of a source re-renders it."""
    state = PreviewState()
    server = PreviewServer(state, port)  # a port in use is said before the runs are read
    try:
        renderer = WarmRenderer(open_session, lang)
        print_missing(renderer, errors)
        publish(state, renderer.attempt(), "first render", console, errors)
        server.start()
        console.print(f"preview: {server.url}  (renders again when you save; Ctrl-C stops it)")
        if open_browser:
            webbrowser.open(server.url)
        follow(renderer, state, console, errors)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a preview ends
    finally:
        server.stop()
    console.print("preview stopped")


def follow(renderer: WarmRenderer, state: PreviewState, console: Console, errors: Console) -> None:
    """Render and publish on every change, for ever."""
    while True:  # a new declaration may name other files, a new folder needs watching: watch again
        sources = Sources(renderer)
        for changes in watchfiles.watch(*sources.folders(), watch_filter=sources, step=STEP_MS, recursive=False):
            reload = any(Path(path).resolve() == sources.declaration for _, path in changes)
            names = ", ".join(sorted({sources.shown(path) for _, path in changes}))
            publish(state, renderer.attempt(reload), names, console, errors)
            if reload:
                print_missing(renderer, errors)
            if reload or any(Path(path).is_dir() for _, path in changes):
                break


def publish(state: PreviewState, rendered: Rendered, what: str, console: Console, errors: Console) -> None:
    state.publish(rendered)
    stamp = time.strftime("%H:%M:%S")
    if rendered.error is None:
        console.print(f"{stamp} rendered in {rendered.seconds:.2f} s ({escape(what)})")
    else:
        errors.print(f"{stamp} [red]error:[/] {escape(rendered.error)}")
        errors.print("         the page shows it, over the last good render")


def print_missing(renderer: WarmRenderer, errors: Console) -> None:
    """The notes `build --no-run` prints for runs that are not there."""
    for note in missing_notes(renderer.session, renderer.reading.missing):
        errors.print(f"[yellow]missing:[/] {escape(note)}")
