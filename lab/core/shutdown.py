"""Leaving a process quickly."""

import atexit
import gc


def skip_final_collection() -> None:
    """At exit, skip the garbage collector's last passes over every object still alive.

    Memory goes back to the system with the process; nothing is lost that those passes
    would have freed (open files close by reference counting and atexit handlers run
    first). With torch imported they took about 0.25 s of every exit: `python -c "import
    torch"` plus a matmul left 0.48-0.50 s after its last statement, 0.23 s with
    `gc.freeze()` registered (Intel Xeon, 2 cores). `labreport build --no-run` of the full
    report ends 0.03 s after writing the PDF instead of 0.3 s; Lab 13's three side-by-side
    runs, forced (a parent and two worker processes), 0.55 s after the last instead of 1.5 s.
    """
    atexit.register(gc.freeze)
