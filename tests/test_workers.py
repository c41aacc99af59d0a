"""Worker processes started early for side-by-side runs (lab.core.workers, lab.core.runner)."""

from __future__ import annotations

import importlib.metadata
import os
import socket
from multiprocessing.connection import wait

import pytest

from lab.core import runner, workers
from lab.core.matrix import RunSpec
from lab.core.store import Store
from tests.conftest import imports_seen, labreport


def side_by_side(name: str, entry: str = "json:loads") -> RunSpec:
    return RunSpec(name, {}, f"key-{name}", entry=entry, side_by_side=True)


@pytest.fixture(autouse=True)
def no_pool_left():
    yield
    workers.discard_early()


def test_two_pending_side_by_side_runs_start_their_workers_before_the_plan_is_done(tmp_path):
    store = Store(tmp_path / "runs")
    runner.start_workers_early(
        store, [side_by_side("a"), side_by_side("b")], device="auto", force=False, executor="local"
    )
    early = workers._early
    assert early is not None and early.workers == min(2, os.cpu_count() or 1)
    assert workers.take_pool(early.workers) is early  # the runs get these workers
    assert workers._early is None
    with early.executor as pool:
        assert pool.submit(os.getpid).result() != os.getpid()


@pytest.mark.parametrize(
    "device, executor, specs",
    [
        ("cuda", "local", [side_by_side("a"), side_by_side("b")]),  # side-by-side only on the CPU
        ("auto", "ray", [side_by_side("a"), side_by_side("b")]),  # another executor places them itself
        ("auto", "local", [side_by_side("a"), RunSpec("c", {}, "key-c")]),  # one run needs no second worker
    ],
)
def test_no_early_workers_where_the_runs_would_not_use_them(tmp_path, device, executor, specs):
    runner.start_workers_early(Store(tmp_path), specs, device=device, force=False, executor=executor)
    assert workers._early is None


def test_workers_nobody_takes_are_stopped_in_the_middle_of_their_imports(tmp_path, monkeypatch):
    """A declaration error after the early start: the workers, held in an import, are stopped at once."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        (tmp_path / "held_import.py").write_text(  # connects, then waits for the test's end to close
            f"import socket\nheld = socket.create_connection(('127.0.0.1', {server.getsockname()[1]}))\nheld.recv(1)\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers start with this process's sys.path
        workers.start_early(2, ("held_import",))
        processes = list(workers._early.executor._processes.values())
        server.settimeout(120)  # only a failing test waits that long
        held = [server.accept()[0] for _ in processes]  # every worker held at a known point
        try:
            assert all(process.is_alive() for process in processes)
            workers.discard_early()
            # A process's sentinel is ready once it has ended (the pool's own thread may reap its exit code).
            for process in processes:
                assert wait([process.sentinel], timeout=60), f"worker {process.pid} still runs"
        finally:
            for connection in held:  # should the test fail: no worker left waiting
                connection.close()


def finished_before(store: Store, name: str, key: str, seconds: float, finished: str, status: str = "done") -> None:
    store.write_record(name, key, {"name": name, "status": status, "duration_s": seconds, "finished": finished})


def test_the_workers_get_the_runs_never_run_first_then_the_longest(tmp_path):
    store = Store(tmp_path / "runs")
    finished_before(store, "short", "k1", 2.0, "2026-12-05T01:00:00")
    finished_before(store, "long", "k2", 22.0, "2026-12-05T01:00:00")
    finished_before(store, "long", "k3", 21.0, "2026-12-05T02:00:00")  # newer: this one counts
    finished_before(store, "middle", "k4", 9.0, "2026-12-05T01:00:00")
    store.set_aside("middle", "k4")  # a forced rerun sets the last result aside: its time still counts
    finished_before(store, "failed", "k5", 99.0, "2026-12-05T01:00:00", status="failed")
    specs = [side_by_side(name) for name in ("short", "new", "middle", "long", "failed", "newer")]
    order = [spec.name for spec in workers.longest_first(store, specs)]
    assert order == ["new", "failed", "newer", "long", "middle", "short"]


def test_a_spawned_process_does_not_import_the_command_line_again(tiny_lab, tmp_path):
    """A spawned process first re-runs its parent's main module, here the `labreport` script as
    pip writes it from the project's entry point: it imports lab/__main__.py, which imports
    nothing more, so the PDF engine's process imports WeasyPrint but not typer and the CLI."""
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name="labreport")
    module, function = entry.value.split(":")
    script = tmp_path / "labreport-script.py"
    script.write_text(
        f"import sys\nfrom {module} import {function}\nif __name__ == '__main__':\n    sys.exit({function}())\n"
    )
    options = ("-X", "importtime")
    result = labreport(
        tiny_lab, "build", "--no-run", "--lang", "en", python_options=options, main=(str(script),), check=0
    )
    imported = imports_seen(result.stderr)
    assert imported.count("weasyprint") == 1  # the PDF process's imports are seen too
    assert imported.count("typer") == 1  # the command's process only
    assert imported.count("lab.cli") == 1
