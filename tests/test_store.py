"""The run store and the runner, with a toy experiment: caching, resume, damage, lock."""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lab.core import executor, runner
from lab.core import store as store_module
from lab.core.atomic import write_atomic
from lab.core.errors import UserError
from lab.core.matrix import RunSpec
from lab.core.progress import Reporter
from lab.core.store import RunContext, Store

calls: list[int] = []  # epochs the toy experiment computed, across all calls
stop_after: list[int] = []  # simulate a kill after this epoch


def toy(ctx: RunContext) -> dict:
    """Counts to params['epochs'], one checkpoint per epoch, like the real experiments."""
    state = ctx.load_checkpoint() or {"epoch": 0, "rows": []}
    ctx.progress.start(ctx.params["epochs"], "toy")
    for epoch in range(state["epoch"] + 1, ctx.params["epochs"] + 1):
        calls.append(epoch)
        state["rows"].append({"epoch": epoch, "value": epoch * ctx.params["scale"]})
        state["epoch"] = epoch
        ctx.write_table("metrics.csv", pd.DataFrame(state["rows"]))
        ctx.save_checkpoint(state)
        ctx.progress.advance()
        if stop_after and epoch == stop_after[0]:
            raise KeyboardInterrupt
    if ctx.params.get("explode"):
        raise RuntimeError("boom")
    return {"last": state["rows"][-1]["value"]}


@pytest.fixture(autouse=True)
def toy_experiment(monkeypatch):
    calls.clear()
    stop_after.clear()
    monkeypatch.setattr(executor, "computation", lambda entry: toy)


def spec(name="cifar", **params) -> RunSpec:
    params = {"epochs": 4, "scale": 2, **params}
    return RunSpec(name, params, f"key{abs(hash(json.dumps(params, sort_keys=True))) % 10**8}")


def run(store, *specs, force=False):
    return runner.run_all(store, list(specs), device="cpu", force=force, reporter=Reporter())


def test_a_run_writes_a_complete_record(tmp_path):
    store, one = Store(tmp_path), spec()
    [outcome] = run(store, one)
    assert outcome.status == "done"
    record = json.loads((tmp_path / one.name / one.key / "record.json").read_text())
    assert record["status"] == "done" and record["key"] == one.key
    assert record["params"] == one.params and record["summary"] == {"last": 8}
    assert set(record["files"]) == {"metrics.csv"}
    for field in ("started", "finished", "duration_s", "device", "device_name", "torch", "python"):
        assert record[field], field
    assert store.status(one.name, one.key) == "done"
    assert store.load(one.name, one.key).record["summary"]["last"] == 8


def test_a_second_run_does_no_work(tmp_path):
    store, one = Store(tmp_path), spec()
    run(store, one)
    calls.clear()
    [outcome] = run(store, one)
    assert outcome.status == "cached" and calls == []


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    store, one = Store(tmp_path), spec()
    stop_after.append(2)
    with pytest.raises(KeyboardInterrupt):
        run(store, one)
    assert store.status(one.name, one.key) == "partial"
    assert store.load(one.name, one.key) is None  # nothing partial looks finished
    stop_after.clear()
    calls.clear()
    run(store, one)
    assert calls == [3, 4]
    resumed = pd.read_csv(store.run_dir(one.name, one.key) / "metrics.csv")
    fresh_store, fresh = Store(tmp_path / "fresh"), spec()
    run(fresh_store, fresh)
    pd.testing.assert_frame_equal(resumed, pd.read_csv(fresh_store.run_dir(fresh.name, fresh.key) / "metrics.csv"))


def test_a_changed_file_is_detected_and_only_that_run_recomputed(tmp_path, recwarn):
    store, first, second = Store(tmp_path), spec(), spec(scale=3)
    run(store, first, second)
    metrics = store.run_dir(first.name, first.key) / "metrics.csv"
    metrics.write_text(metrics.read_text()[:10])  # truncated
    assert store.status(first.name, first.key) == "damaged"
    assert store.load(first.name, first.key) is None
    assert "metrics.csv missing or changed" in str(recwarn.pop(UserWarning).message)
    calls.clear()
    outcomes = run(store, first, second)
    assert [o.status for o in outcomes] == ["done", "cached"]
    assert calls == [1, 2, 3, 4]
    assert (tmp_path / first.name / f".{first.key}.previous" / "metrics.csv").exists()


def test_an_invalid_record_is_recomputed(tmp_path):
    store, one = Store(tmp_path), spec()
    run(store, one)
    (store.run_dir(one.name, one.key) / "record.json").write_text("{not json")
    with pytest.warns(UserWarning, match="invalid record"):
        assert store.status(one.name, one.key) == "partial"
    with pytest.warns(UserWarning):
        run(store, one)
    assert store.status(one.name, one.key) == "done"


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path):
    store, bad, good = Store(tmp_path), spec(explode=True), spec(scale=5)
    outcomes = run(store, bad, good)
    assert [o.status for o in outcomes] == ["failed", "done"]
    assert "RuntimeError: boom" in outcomes[0].message
    assert store.read_record(bad.name, bad.key)["status"] == "failed"
    assert "boom" in (store.run_dir(bad.name, bad.key) / "error.txt").read_text()


def test_force_recomputes_and_keeps_the_previous_result(tmp_path):
    store, one = Store(tmp_path), spec()
    run(store, one)
    calls.clear()
    [outcome] = run(store, one, force=True)
    assert outcome.status == "done" and calls == [1, 2, 3, 4]
    assert (tmp_path / one.name / f".{one.key}.previous" / "record.json").exists()


def test_other_keys_of_a_run_make_it_stale(tmp_path):
    store, old, new = Store(tmp_path), spec(), spec(scale=9)
    run(store, old)
    assert store.status(new.name, new.key) == "stale"


def test_two_processes_cannot_hold_the_store(tmp_path):
    store = Store(tmp_path)
    with store.lock():
        with pytest.raises(UserError, match=r"in use by labreport \(pid \d+\); wait for it"):
            with Store(tmp_path).lock():
                pass
    with store.lock():  # released
        pass


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    target = tmp_path / "table.csv"
    write_atomic(target, b"old")

    with pytest.raises(TypeError):
        write_atomic(target, object())  # cannot be written
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_an_unreadable_checkpoint_means_start_over(tmp_path):
    ctx = RunContext("fit.lr", "k", {}, tmp_path / "run")
    ctx.save_checkpoint({"epoch": 3})
    assert ctx.load_checkpoint() == {"epoch": 3}
    (tmp_path / "run" / "checkpoints" / "last.pt").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable checkpoint"):
        assert ctx.load_checkpoint() is None


HOLDER = """
import sys
from lab.core.store import Store
with getattr(Store(sys.argv[1]), sys.argv[2])():
    print("holding", flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def held_by_another_process(root: Path, how: str):
    """Another process inside `Store(root).reading()` or `.changing()` until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), how], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "holding\n"
        yield
    finally:
        process.stdin.close()
        assert process.wait(timeout=60) == 0


def test_no_record_changes_and_no_run_moves_while_another_process_reads(tmp_path, monkeypatch):
    store, one = Store(tmp_path), spec()
    run(store, one)
    monkeypatch.setattr(store_module, "WRITE_WAIT_S", 0.2)
    with held_by_another_process(tmp_path, "reading"):
        with pytest.raises(UserError, match="reading the run store"):
            store.write_record(one.name, one.key, {"status": "partial"})
        with pytest.raises(UserError, match="reading the run store"):
            store.set_aside(one.name, one.key)
        assert store.status(one.name, one.key) == "done"
        with store.reading():  # readers share
            assert store.load(one.name, one.key) is not None
    assert store.set_aside(one.name, one.key) is not None


def test_a_reader_waits_for_a_change_in_progress(tmp_path, monkeypatch):
    store = Store(tmp_path)
    monkeypatch.setattr(store_module, "READ_WAIT_S", 0.2)
    with held_by_another_process(tmp_path, "changing"):
        with pytest.raises(UserError, match="changing the run store"):
            with store.reading():
                pass
    with store.reading():
        pass


def test_a_store_without_a_folder_is_read_without_creating_one(tmp_path):
    with Store(tmp_path / "none").reading():
        pass
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("command", [["list"], ["build", "--no-run", "--lang", "en"]])
def test_list_and_a_render_take_the_readers_lock(tiny_lab, monkeypatch, command):
    """While another process changes the store (replacing a record, setting a run aside), the
    commands that read it wait for it, and say so when it takes too long."""
    from typer.testing import CliRunner

    from lab.cli import app

    root = tiny_lab / "reports" / "runs"
    root.mkdir(parents=True)
    monkeypatch.setattr(store_module, "READ_WAIT_S", 0.2)
    monkeypatch.chdir(tiny_lab)
    with held_by_another_process(root, "changing"):
        result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "changing the run store" in result.output
