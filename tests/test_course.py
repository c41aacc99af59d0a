"""2A: the course-style test(epoch) is real code, and it returns the accuracy the run reported."""

from pathlib import Path

import pytest
import torch
from test_cifar_train import PARAMS as TRAIN_PARAMS

from lab.core.store import LoadedRun, RunContext
from lab.exercises.cifar import course
from lab.exercises.cifar import train as cifar
from lab.exercises.cifar.course_check import cross_check
from lab.exercises.cifar.crosscheck import TOLERANCE
from lab.exercises.cifar.data.synthetic import make_tiny_cifar

# the training test's tiny run, with the course's schedule shape, no momentum and the automatic numerics
PARAMS = {
    **TRAIN_PARAMS,
    "phases": [{"lr": 0.1, "epochs": 1}, {"lr": 0.01, "epochs": 1}],
    "batch_size": 16,
    "momentum": 0.0,
    "precision": "auto",
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    make_tiny_cifar(root / "data", "pickle", n_per_class=6, test_per_class=7)
    options = {"data": str(root / "data"), "download": False, "cache_dir": str(root / "cache")}
    from lab.exercises.cifar import data as cifar_data

    params = dict(PARAMS, data_fingerprint=cifar_data.preflight(root / "data", root / "cache", download=False))
    ctx = RunContext("cifar", "key", params, root / "run", options=options)
    summary = cifar.run(ctx)
    run = LoadedRun("cifar", "key", params, ctx.dir, {"device": "cpu", "summary": summary})
    return run, root


def test_course_test_returns_the_reported_accuracy_on_the_final_checkpoint(tiny_run):
    run, root = tiny_run
    check = cross_check(run, root / "cache", str(root / "data"))
    assert check.checked and check.same_numerics, check.why
    assert check.images == 70
    assert abs(check.course - check.reported) <= TOLERANCE, (check.course, check.reported)
    assert check.matches


def test_a_different_model_gives_a_different_accuracy_so_the_check_can_fail(tiny_run, tmp_path):
    run, root = tiny_run
    state = torch.load(Path(run.dir) / "checkpoints/last.pt", weights_only=False)
    state["model"] = {k: torch.zeros_like(v) if k == "fc.bias" else v for k, v in state["model"].items()}
    state["model"]["fc.weight"] = torch.zeros_like(state["model"]["fc.weight"])
    state["model"]["fc.bias"][0] = 1.0  # every image is called class 0: 10 %
    (tmp_path / "checkpoints").mkdir()
    torch.save(state, tmp_path / "checkpoints/last.pt")
    (tmp_path / "epochs.csv").write_text((Path(run.dir) / "epochs.csv").read_text())
    other = LoadedRun("cifar", "key", run.params, tmp_path, run.record)
    check = cross_check(other, root / "cache", None)
    assert check.course == pytest.approx(10.0)
    assert check.matches == (abs(check.reported - 10.0) <= TOLERANCE)


def test_the_course_schedule_trains_two_phases_and_tests_after_each_epoch(tiny_run, capsys):
    from torch.utils.data import DataLoader

    from lab.exercises.cifar.course_check import TestImages
    from lab.exercises.cifar.model import resnet20

    _, root = tiny_run
    cached = torch.load(next((root / "cache").glob("cifar-*.pt")), weights_only=True)
    train = TestImages(cached["train_images"][:32], cached["train_labels"][:32], course.transform_test)
    test = TestImages(cached["test_images"][:16], cached["test_labels"][:16], course.transform_test)
    course.setup(resnet20(seed=0), DataLoader(train, batch_size=16), DataLoader(test, batch_size=16))
    course.schedule(phases=((0.1, 1), (0.01, 1)))
    printed = capsys.readouterr().out
    assert printed.count("Train Acc") == 2 and printed.count("Test Acc") == 2
    assert course.optimizer.param_groups[0]["lr"] == 0.01


def test_a_build_whose_code_does_not_return_the_reported_accuracy_stops_with_both_numbers(tiny_run, tmp_path):
    import shutil
    from types import SimpleNamespace

    import pandas as pd

    from lab.core.errors import UserError
    from lab.exercises.cifar.report import cross_check

    run, root = tiny_run
    copy = tmp_path / "runs" / "cifar" / "key"
    shutil.copytree(run.dir, copy)
    epochs = pd.read_csv(copy / "epochs.csv")
    reported = epochs.loc[epochs.index[-1], "test_acc"] = epochs["test_acc"].iloc[-1] + 5.0
    epochs.to_csv(copy / "epochs.csv", index=False)
    other = LoadedRun("cifar", "key", run.params, copy, run.record)
    inputs = SimpleNamespace(cache_dir=root / "cache", data=None)
    with pytest.raises(UserError, match=rf"returned {reported - 5:.2f}% .* reported {reported:.2f}%"):
        cross_check({"cifar": other}, inputs)
    assert cross_check({"cifar": run}, inputs).matches  # the real one passes
