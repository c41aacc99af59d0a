"""Faults lose nothing; bad input gets one clear line, exit 2, and an untouched store.

Each case drives the real `labreport` command in a subprocess on a tiny lab.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import torch

from lab.core.atomic import write_atomic
from lab.core.errors import UserError
from lab.core.store import Store
from lab.exercises.fit.training import CHECKPOINT_EPOCHS_ENV
from tests.conftest import labreport, start_labreport, wait_until_held
from tests.helpers import pdf_pages, snapshot, tiny_lab_in

LONG_FIT = ["--only", "fit.epochs", "--set", "fit.epochs.values=[5, 20, 40000]"]
LONG_CIFAR = ["--only", "cifar", "--set", "cifar.phases=[{lr=0.1, epochs=2}, {lr=0.01, epochs=2}]"]


def records(lab: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in (lab / "reports" / "runs" / name).glob("*/record.json")]


def kill_held(process, held_pid: int) -> None:
    """SIGKILL the held run, whether it runs in the command's process or in a worker."""
    if held_pid != process.pid:
        os.kill(held_pid, signal.SIGKILL)
    process.kill()
    process.wait()


def cifar_after_first_checkpoint(lab: Path):
    """A CIFAR run held right after its first checkpoint: (the process, the run folder)."""
    process = start_labreport(lab, "run", *LONG_CIFAR, hold="cifar:checkpoint:1")
    wait_until_held(process)
    return process, lab / "reports" / "runs" / "cifar"


def same_cifar_numbers(lab: Path, reference: Path, columns: list[str]) -> None:
    labreport(reference, "run", *LONG_CIFAR, check=0)
    pd.testing.assert_frame_equal(
        table(lab, "cifar", "epochs.csv")[columns], table(reference, "cifar", "epochs.csv")[columns]
    )


def table(lab: Path, name: str, filename: str) -> pd.DataFrame:
    [folder] = [p.parent for p in (lab / "reports" / "runs" / name).glob("*/record.json")]
    return pd.read_csv(folder / filename)


def twin(tiny_lab: Path, tmp_path_factory) -> Path:
    """The same lab in another folder, for an uninterrupted reference run."""
    other = tmp_path_factory.mktemp("twin")
    (other / "lab13.toml").write_text((tiny_lab / "lab13.toml").read_text())
    (other / "data").symlink_to(tiny_lab / "data")
    return other


# --- kill and resume -----------------------------------------------------------------


def test_sigkill_during_exercise_1_then_resume(tiny_lab, tmp_path_factory):
    every = {CHECKPOINT_EPOCHS_ENV: "1000"}
    process = start_labreport(tiny_lab, "run", *LONG_FIT, hold="fit.epochs:checkpoint:1", env=every)
    held_pid, _ = wait_until_held(process)
    kill_held(process, held_pid)
    assert [r["status"] for r in records(tiny_lab, "fit.epochs")] == ["partial"]
    listed = labreport(tiny_lab, "list", *LONG_FIT[2:], check=0).stdout
    assert re.search(r"│ fit\.epochs +│ \w+ +│ partial ", listed), listed
    [checkpoint] = (tiny_lab / "reports" / "runs" / "fit.epochs").glob("*/checkpoints/last.pt")
    saved_at = torch.load(checkpoint, weights_only=False)["epoch"]
    assert 1000 <= saved_at < 2000  # the first whole progress chunk past 1000 epochs
    resumed = labreport(tiny_lab, "run", *LONG_FIT, check=0, env=every)
    assert f"fit.epochs: resumed at epoch {saved_at} of 40000" in resumed.stdout
    [record] = records(tiny_lab, "fit.epochs")
    assert record["summary"]["timings"]["resumed_at_epoch"] == saved_at
    reference = twin(tiny_lab, tmp_path_factory)
    uninterrupted = labreport(reference, "run", *LONG_FIT, check=0)
    assert "resumed" not in uninterrupted.stdout
    for filename in ("snapshots.csv", "curves.csv", "loss.csv"):
        pd.testing.assert_frame_equal(
            table(tiny_lab, "fit.epochs", filename).drop(columns="seconds", errors="ignore"),
            table(reference, "fit.epochs", filename).drop(columns="seconds", errors="ignore"),
        )


CUSTOM = ["--only", "fit.custom", "--set", "fit.lr.epochs=250"]
# The tiny lab's fit.custom: 40 points in 3 folds (validation sets of 13 and 14: two batched
# cross-validation trainings of 2 x 16 units, 30 epochs, scored every 10; then the same two for
# the mean of 2 networks of the best setting), then the chosen candidate and the defaults
# (fit.lr.epochs: 250) on all points. A checkpoint at the end of
# each progress step of at least 10 epochs: at 10, 20, 30 in cross-validation; 100, 200, 250.
IN_CROSS_VALIDATION, IN_RETRAINING = "fit.custom:cv-2x16-14:epoch:20", "fit.custom:baseline:epoch:100"
CROSS_VALIDATION = ["cv-2x16-13", "cv-2x16-14", "cv-mean2-2x16-13", "cv-mean2-2x16-14"]


def test_sigkill_during_cross_validation_and_retraining_then_resume_bit_for_bit(tiny_lab, tmp_path_factory):
    every = {CHECKPOINT_EPOCHS_ENV: "10"}
    for hold in (IN_CROSS_VALIDATION, IN_RETRAINING):
        process = start_labreport(tiny_lab, "run", *CUSTOM, hold=hold, env=every)
        held_pid, _ = wait_until_held(process)
        kill_held(process, held_pid)
        assert [r["status"] for r in records(tiny_lab, "fit.custom")] == ["partial"]
        [checkpoint] = (tiny_lab / "reports" / "runs" / "fit.custom").glob("*/checkpoints/last.pt")
        state = torch.load(checkpoint, weights_only=False)
        if hold == IN_CROSS_VALIDATION:  # the first training kept whole, the second under way
            assert (state["stage"], state["epoch"], list(state["finished"])) == ("cv-2x16-14", 20, ["cv-2x16-13"])
        else:
            assert (state["stage"], state["epoch"]) == ("baseline", 100)
            assert list(state["finished"]) == [*CROSS_VALIDATION, "chosen"]
    resumed = labreport(tiny_lab, "run", *CUSTOM, check=0, env=every)
    assert f"fit.custom: finished before the restart, kept: {', '.join(CROSS_VALIDATION)}, chosen" in resumed.stdout
    assert "fit.custom: resumed at epoch 100 of 250" in resumed.stdout, resumed.stdout
    reference = twin(tiny_lab, tmp_path_factory)
    assert "resumed" not in labreport(reference, "run", *CUSTOM, check=0).stdout
    for filename in ("cv_curves.csv", "search.csv", "snapshots.csv", "curves.csv", "loss.csv"):
        pd.testing.assert_frame_equal(
            table(tiny_lab, "fit.custom", filename).drop(columns="seconds", errors="ignore"),
            table(reference, "fit.custom", filename).drop(columns="seconds", errors="ignore"),
        )
    [record], [uninterrupted] = records(tiny_lab, "fit.custom"), records(reference, "fit.custom")
    assert record["summary"]["chosen"] == uninterrupted["summary"]["chosen"]


def test_sigkill_in_the_middle_of_a_cifar_epoch_resumes_to_the_same_numbers(tiny_lab, tmp_path_factory):
    process, _ = cifar_after_first_checkpoint(tiny_lab)
    process.kill()
    process.wait()
    assert [r["status"] for r in records(tiny_lab, "cifar")] == ["partial"]
    resumed = labreport(tiny_lab, "run", *LONG_CIFAR, check=0)
    assert "done" in resumed.stdout
    same_cifar_numbers(
        tiny_lab, twin(tiny_lab, tmp_path_factory), ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc"]
    )


@pytest.mark.parametrize("victim, args", [("snapshots.csv", LONG_FIT[:2]), ("epochs.csv", LONG_CIFAR)])
def test_sigkill_while_results_are_written(tiny_lab, victim, args):
    killed = labreport(tiny_lab, "run", *args, env={"LABREPORT_FAULT_KILL_WRITING": victim})
    assert killed.returncode == -signal.SIGKILL
    name = args[1]
    assert all(r["status"] == "partial" for r in records(tiny_lab, name))
    assert not any((tiny_lab / "reports" / "runs" / name).glob(f"*/{victim}"))  # only the temp file
    labreport(tiny_lab, "run", *args, check=0)
    assert [r["status"] for r in records(tiny_lab, name)] in (["done"], ["diverged"])


def test_ctrl_c_finishes_the_write_says_how_to_resume_and_exits_130(tiny_lab):
    process, checkpoints = cifar_after_first_checkpoint(tiny_lab)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, (out, err)
    assert "run the same command again to resume" in err
    assert not list(checkpoints.glob("*/checkpoints/.*.tmp"))
    [record] = records(tiny_lab, "cifar")
    assert record["status"] == "partial"
    labreport(tiny_lab, "run", *LONG_CIFAR, check=0)
    assert [r["status"] for r in records(tiny_lab, "cifar")] == ["done"]


# --- a damaged store -------------------------------------------------------------------


def damage_truncate(folder: Path):
    path = folder / "snapshots.csv"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def damage_record(folder: Path):
    (folder / "record.json").write_text('{"status": "done", ')


def damage_flip_a_byte(folder: Path):
    path = folder / "curves.csv"
    data = bytearray(path.read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")
    path.write_bytes(bytes(data))


def damage_delete(folder: Path):
    (folder / "loss.csv").unlink()


DAMAGED = "fit.epochs: damaged run previous result moved to {folder}; recomputing"
INVALID = "run fit.epochs ({record}): invalid record ("


@pytest.mark.parametrize(
    "damage, said",
    [(damage_truncate, DAMAGED), (damage_record, INVALID), (damage_flip_a_byte, DAMAGED), (damage_delete, DAMAGED)],
)
def test_a_damaged_run_is_named_and_recomputed_and_the_others_kept(tiny_lab, damage, said):
    labreport(tiny_lab, "run", "--only", "fit.epochs", "--only", "fit.lr", check=0)
    runs = tiny_lab / "reports" / "runs"
    [victim] = [p.parent for p in (runs / "fit.epochs").glob("*/record.json")]
    kept = snapshot(runs / "fit.lr")
    damage(victim)
    result = labreport(tiny_lab, "run", "--only", "fit.epochs", "--only", "fit.lr", check=0)
    moved_to = victim.parent / f".{victim.name}.previous"
    assert said.format(folder=moved_to, record=victim / "record.json") in result.stdout + result.stderr
    assert re.search(rf"│ fit\.epochs +│ {victim.name} +│ done ", result.stdout), result.stdout  # computed again
    assert re.search(r"│ fit\.lr +│ \w+ +│ cached \(already done\)", result.stdout), result.stdout
    assert Store(runs).load("fit.epochs", victim.name) is not None
    assert snapshot(runs / "fit.lr") == kept


def test_a_partial_cifar_run_without_its_checkpoint_starts_over(tiny_lab, tmp_path_factory):
    process, folder = cifar_after_first_checkpoint(tiny_lab)
    process.kill()
    process.wait()
    for checkpoint in folder.glob("*/checkpoints/last.pt"):
        checkpoint.unlink()
    labreport(tiny_lab, "run", *LONG_CIFAR, check=0)
    same_cifar_numbers(tiny_lab, twin(tiny_lab, tmp_path_factory), ["epoch", "train_loss", "test_acc"])


# --- the file system -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "out, message",
    [
        ("missing-folder/lab13.pdf", "does not exist; create it or choose another"),
        ("/proc/lab13.pdf", "is not writable; choose another --out"),
        ("reports/lab13.docx", "the report is a PDF"),
    ],
)
def test_bad_output_is_refused_before_any_training(tiny_lab, out, message):
    result = labreport(tiny_lab, "build", "--out", out, check=2)
    assert message in result.stderr
    assert not (tiny_lab / "reports" / "runs").exists()


def test_disk_full_gives_a_clear_message(tmp_path, monkeypatch):
    import lab.core.atomic

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    write_atomic(tmp_path / "a.csv", b"kept")
    monkeypatch.setattr(lab.core.atomic.os, "fsync", full)
    with pytest.raises(UserError, match=r"a.csv: cannot write \(No space left on device\); free some space"):
        write_atomic(tmp_path / "a.csv", b"new")
    assert (tmp_path / "a.csv").read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_an_unwritable_store_is_refused(tiny_lab):
    result = labreport(tiny_lab, "run", "--only", "fit.lr", "--store", "/proc/runs", check=2)
    assert "/proc/runs" in result.stderr


# --- two processes ------------------------------------------------------------------------


def test_a_second_process_on_the_same_store_exits_with_a_message(tiny_lab):
    first = start_labreport(tiny_lab, "run", *LONG_CIFAR, hold="cifar:start")
    held_pid, _ = wait_until_held(first)
    second = labreport(tiny_lab, "run", "--only", "fit.lr", check=2)
    assert "the run store is in use by labreport (pid" in second.stderr
    os.kill(held_pid, signal.SIGUSR1)
    assert first.wait(timeout=300) == 0
    assert [r["status"] for r in records(tiny_lab, "cifar")] == ["done"]
    assert not (tiny_lab / "reports" / "runs" / "fit.lr").exists()


def test_list_and_a_render_read_the_store_while_a_run_writes(tiny_lab):
    """Readers do not wait for a run: they see each record whole, and the held run unfinished."""
    labreport(tiny_lab, "run", "--only", "fit.lr", check=0)
    first = start_labreport(tiny_lab, "run", *LONG_CIFAR, hold="cifar:checkpoint:1")
    held_pid, _ = wait_until_held(first)
    try:
        listed = labreport(tiny_lab, "list", check=0)
        cells = [[cell.strip() for cell in line.split("│")] for line in listed.stdout.splitlines() if "│" in line]
        status = {row[1]: row[3] for row in cells if len(row) > 3}
        assert status["fit.lr"] == "diverged" and status["cifar"] not in ("done", "diverged")  # lr 1 diverges
        out = tiny_lab / "draft" / "lab13.pdf"
        out.parent.mkdir()
        built = labreport(tiny_lab, "build", "--no-run", "--lang", "en", "--out", str(out), check=0)
        assert "missing: cifar" in built.stderr and out.exists()
    finally:
        os.kill(held_pid, signal.SIGUSR1)
    assert first.wait(timeout=300) == 0


# --- bad input: one line naming what is wrong, exit 2, nothing in the store changes ----------


def corrupt_archive(lab: Path) -> list[str]:
    archive = lab / "broken.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00garbage" * 100)
    return ["--only", "cifar", "--data", str(archive)]


def wrong_layout(lab: Path) -> list[str]:
    (lab / "odd" / "images").mkdir(parents=True)
    (lab / "odd" / "images" / "a.txt").write_text("x")
    return ["--only", "cifar", "--data", str(lab / "odd")]


def folder_data(lab: Path, **kwargs) -> Path:
    from lab.exercises.cifar.data.synthetic import make_tiny_cifar

    return make_tiny_cifar(lab / "folder-data", "folder-png", n_per_class=2, **kwargs)


def wrong_size(lab: Path) -> list[str]:
    return ["--only", "cifar", "--data", str(folder_data(lab, size=28))]


def missing_class(lab: Path) -> list[str]:
    import shutil

    root = folder_data(lab)
    for split in ("train", "test"):
        shutil.rmtree(root / split / "truck")
    return ["--only", "cifar", "--data", str(root)]


def tarball_missing_class(lab: Path) -> list[str]:
    import shutil

    root = folder_data(lab)
    shutil.rmtree(root / "train" / "cat")
    archive = lab / "partial.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="cifar")
    return ["--only", "cifar", "--data", str(archive)]


def custom_function(expression: str) -> list[str]:
    """The arguments that run the student's own function with `expression`."""
    return ["--only", "fit.custom", "--set", f"fit.custom.function={expression}"]


BAD_FUNCTIONS = [  # (case, the student's own function, what the error says)
    ("code injection", "__import__('os').system('touch pwned')", "is not allowed: attribute access"),
    ("attribute access", "x.__class__", "is not allowed"),
    ("huge exponent", "x**2**2**2**2", "'2**2' at column 10 of 'x**2**2**2**2' is not allowed: power towers"),
    ("huge literal", "x*1e400", "'1e400' at column 3 of 'x*1e400' is not allowed: numbers larger than"),
    ("unknown function", "gamma(x)", "'gamma' at column 1 of 'gamma(x)' is not allowed: unknown function"),
    ("empty function", "''", "fit.custom.function: must not be empty"),
    (
        "lambda",
        "(lambda: 1)()",
        "fit.custom.function: 'lambda: 1' at column 2 of '(lambda: 1)()' is not allowed: lambda",
    ),
    ("not finite on the range", "log(x)", "fit.custom.function: 'log(x)' is not finite (NaN or infinite) at x = -5"),
]


BAD_INPUT = [
    # the declaration
    ("unknown key", ["--set", "fit.learning_rte=0.1"], "fit.learning_rte: unknown key"),
    ("string lr", ["--set", "fit.epochs.lr=fast"], "fit.epochs.lr: expected a number"),
    ("negative lr", ["--set", "fit.epochs.lr=-1"], "fit.epochs.lr: -1 is out of range"),
    ("zero lr in a sweep", ["--set", "fit.lr.values=[0.1, 0]"], "fit.lr.values.1: 0 is out of range"),
    ("nan lr", ["--set", "cifar.phases.0.lr=nan"], "cifar.phases.0.lr: expected a finite number"),
    ("inf lr", ["--set", "fit.epochs.lr=inf"], "fit.epochs.lr: expected a finite number"),
    ("zero epochs", ["--set", "fit.lr.epochs=0"], "fit.lr.epochs: 0 is out of range"),
    ("zero phase epochs", ["--set", "cifar.phases.1.epochs=0"], "cifar.phases.1.epochs: 0 is out of range"),
    ("empty sweep", ["--set", "fit.epochs.values=[]"], "fit.epochs.values: needs at least 1"),
    ("empty seeds", ["--set", "fit.seeds=[]"], "fit.seeds: needs at least 1"),
    ("empty phases", ["--set", "cifar.phases=[]"], "cifar.phases: needs at least 1"),
    ("absurd width", ["--set", "fit.hidden=[100000]"], "fit.hidden.0: 100000 is out of range"),
    ("absurd samples", ["--set", "fit.samples=1000000000"], "fit.samples: 1000000000 is out of range"),
    ("absurd epochs", ["--set", "fit.epochs.values=[10000000000]"], "fit.epochs.values.0: 10000000000 is out of range"),
    ("too many seeds", ["--set", f"fit.seeds={list(range(50))}"], "fit.seeds: at most 20 items"),
    ("reversed range", ["--set", "fit.x_range=[5, -5]"], "fit.x_range: the range must go from low to high"),
    ("negative noise", ["--set", "fit.noise_std=-1"], "fit.noise_std: -1 is out of range"),
    ("momentum 1", ["--set", "cifar.momentum=1"], "cifar.momentum: 1 is out of range"),
    ("bad precision", ["--set", "cifar.precision=fp8"], "cifar.precision: 'fp8' is not one of"),
    ("student id as number", ["--set", "student.id=123"], "student.id: expected a string"),
    # the command line
    ("unknown --only", ["--only", "exercise3"], "--only 'exercise3': unknown experiment"),
    ("--set without =", ["--set", "fit.lr.epochs"], "expected KEY=VALUE"),
    ("--set bad index", ["--set", "cifar.phases.9.lr=0.1"], "list index must be 0..1"),
    ("--set into a value", ["--set", "fit.samples.x=1"], "'fit.samples' is a value, not a table or list"),
    ("missing --config", ["--config", "nope.toml"], "nope.toml: no such declaration file"),
    ("bad --device", ["--device", "tpu"], "--device 'tpu': choose auto, cpu, cuda or mps"),
    ("--device mps without an Apple GPU", ["--device", "mps"], "--device mps: no Apple GPU (MPS) is available here"),
    # the data
    (
        "no data, no download",
        ["--only", "cifar", "--data", "nowhere", "--no-download"],
        "nowhere does not exist; put cifar-10-python.tar.gz",
    ),
    ("corrupt archive", corrupt_archive, "broken.tar.gz is not a .tar.gz/.tgz/.tar archive (corrupt"),
    ("wrong layout", wrong_layout, "no CIFAR-10 data in {lab}/odd; put cifar-10-python.tar.gz"),
    ("wrong image size", wrong_size, "0000.png is 28x28 pixels; CIFAR-10 images are 32x32"),
    ("missing class", missing_class, "train/ lacks images of the classes truck"),
    ("archive missing a class", tarball_missing_class, "cifar/train/ lacks images of the classes cat"),
    # the function
    *[(case, custom_function(function), error) for case, function, error in BAD_FUNCTIONS],
    (  # two runs to compute: checked in one of the workers started for them (lab.core.workers.in_early_worker)
        "not finite, with the runs' workers started",
        ["--only", "fit", "--set", "fit.custom.function=log(x)"],
        "fit.custom.function: 'log(x)' is not finite (NaN or infinite) at x = -5",
    ),
    (
        "course function broken",
        ["--only", "fit.lr", "--set", "fit.function=sqrt(x)"],
        "fit.function: 'sqrt(x)' is not finite (NaN or infinite) at x = -5",
    ),
]


@pytest.fixture(scope="module")
def lab_with_a_result(tmp_path_factory) -> Path:
    lab = tiny_lab_in(tmp_path_factory.mktemp("prepared"))
    labreport(lab, "run", "--only", "fit.lr", "--set", "fit.lr.values=[0.01]", check=0)
    return lab


@pytest.mark.parametrize("label, args, message", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_clear_line_and_changes_nothing(lab_with_a_result, tmp_path, label, args, message):
    import shutil

    tiny_lab = tmp_path / "lab"
    shutil.copytree(lab_with_a_result, tiny_lab)
    before = snapshot(tiny_lab / "reports")
    args = args(tiny_lab) if callable(args) else args
    if not any(a == "--only" for a in args):
        args = ["--only", "fit.lr", *args]
    result = labreport(tiny_lab, "run", *args, check=2)
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1, result.stderr
    assert error_lines[0].startswith("error: ")
    assert message.replace("{lab}", str(tiny_lab)) in result.stderr
    assert snapshot(tiny_lab / "reports") == before
    assert not (tiny_lab / "pwned").exists()


# --- divergence --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The tiny lab built end to end by the real command: (the lab, the PDF's text, spaces normalised)."""
    lab = tiny_lab_in(tmp_path_factory.mktemp("built"))
    result = labreport(lab, "build", "--out", "reports/lab13.pdf", check=0)
    assert "wrote" in result.stdout
    return lab, " ".join(pdf_pages(lab / "reports" / "lab13.pdf"))


def test_a_diverging_learning_rate_is_recorded_and_the_build_succeeds(built):
    lab, text = built
    snapshots = table(lab, "fit.lr", "snapshots.csv")
    wild = snapshots[snapshots.lr == 1000000]
    assert wild.diverged.all() and wild.diverged_epoch.notna().all()
    assert not snapshots[snapshots.lr == 0.01].diverged.any()
    assert "1e+06 — — — 2/2" in text  # its table row: no means, both seeds diverged
    first = int(wild.diverged_epoch.min())
    assert (
        "lr = 1e+06: steps too large, divergence. " in text
        and f"infinite or NaN at epoch {first} (2 of 2 seeds diverged)" in text
    )


def test_the_report_quotes_the_numbers_its_runs_wrote(built):
    """Each table row checked here is worked out from the run's own CSV files."""
    from lab.report.wording import pct, pm

    lab, text = built
    assert "Name Test Student Student ID 20240001 Class CS 2401" in text
    rates = table(lab, "fit.lr", "snapshots.csv").query("lr == 0.1")
    # mean ± SE over the seeds, as Exercise 1's tables give it
    means = [
        pm(rates[c].mean(), rates[c].std() / len(rates) ** 0.5) for c in ("train_loss", "true_error", "heldout_error")
    ]
    assert f"0.1 {' '.join(means)} 0/2" in text
    search = table(lab, "fit.custom", "search.csv").sort_values("cv_error").iloc[0]
    width = int(search.width)
    first = f"{search.lr:g} {search.weight_decay:g} [{width}, {width}] {int(search.networks)} {int(search.epochs):,}"
    header = "rank lr weight decay hidden networks averaged epochs (early stop) CV error diverged"
    assert f"{header} 1 {first} " in text
    last = table(lab, "cifar", "epochs.csv").iloc[-1]
    assert f"{last.test_loss:.3f} {pct(last.test_acc)}" in text
