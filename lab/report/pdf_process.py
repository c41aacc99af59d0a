"""The PDF engine in a process of its own, started as soon as a command knows it will render:
first thing in `build --no-run`, else when rendering begins (after the runs).

Importing WeasyPrint (Pango, HarfBuzz and fontTools through cffi) took 0.38-0.41 s of a
3.6 s `build --no-run` of the full Lab 13 report, and no page could be laid out before it.
Started early, a spawned process imports it on the second core while this one reads the
runs and writes the HTML (0.7 s), then lays out and writes the PDF. On that
report (AMD EPYC, 2 cores, five runs each under flock) `build --no-run` took 3.58-3.72 s
before and 3.12-3.36 s after, the process then started when rendering began; started first
thing, and without the CLI imported in it (lab/__main__.py), the median of 10 alternating
runs went from 3.17 to 2.98 s. Not kept: also laying out a sample page in the report's
stylesheet while waiting, to load its fonts early (3.22-3.37 s against 3.10-3.43 s without,
seven alternating runs each; writing that page too was slower still, 3.44-3.59 s).
Where WeasyPrint cannot load, the write raises PdfEngineMissing here as before.
"""

from __future__ import annotations

import atexit

from lab.core.workers import WorkerPool, call_in
from lab.report.pdf_engine import PdfEngineMissing, load_weasyprint

_process: WorkerPool | None = None


def start() -> None:
    """Start the process now, unless it is running; the next `call`s run in it (one at a time, in order)."""
    global _process
    if _process is not None:
        return
    _process = WorkerPool(1, ("lab.report.render",))
    _process.executor.submit(import_engine)
    atexit.register(stop)


def import_engine() -> None:
    try:
        load_weasyprint()
    except PdfEngineMissing:  # the task that needs the engine raises it again, with its fix
        pass


def call(function, *args):
    """`function(*args)` in the process where one was started, else here; its exceptions are raised here."""
    return call_in(_process, function, *args)


def stop() -> None:
    global _process
    if _process is not None:
        _process.discard()
    _process = None
