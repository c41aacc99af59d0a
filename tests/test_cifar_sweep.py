"""CIFAR sweeps in the declaration: several seeds of the course schedule, and named variants."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import torch

from lab.core import declaration
from lab.exercises.cifar import EXERCISE
from lab.exercises.cifar.lr_schedule import StepLr
from lab.exercises.cifar.steps import set_lr
from lab.exercises.cifar.variants import VARIANTS
from tests.conftest import labreport, start_labreport, wait_until_held
from tests.test_cli_outcomes import pdf_pages
from tests.test_reliability import kill_held, records, table, twin

TUNED = VARIANTS["tuned"]["changes"]
PEAK_LR = VARIANTS["tuned"]["peak_lr"]
SWEEP = ["--set", "cifar.seeds=[0, 5]", "--set", 'cifar.variants=["tuned"]']


def keys_listed(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"│ (cifar\S*)\s+│ (\S+)\s+│", stdout))


def test_each_seed_and_variant_is_its_own_run_and_the_course_run_keeps_its_key(tiny_lab):
    alone = keys_listed(labreport(tiny_lab, "list", check=0).stdout)
    swept = keys_listed(labreport(tiny_lab, "list", *SWEEP, check=0).stdout)
    assert list(alone) == ["cifar"]
    assert list(swept) == ["cifar", "cifar.seed5", "cifar.tuned"]
    section = declaration.load(tiny_lab / "lab13.toml", []).values["cifar"]
    with_sweep = {**section, "seeds": [0, 5], "variants": ["tuned"]}
    assert EXERCISE.params("cifar", with_sweep, False) == EXERCISE.params("cifar", section, False)
    assert EXERCISE.params("cifar.seed5", with_sweep, False) == {**EXERCISE.params("cifar", section, False), "seed": 5}


def test_a_variant_trains_with_its_recipe_and_only_its_own_run(tiny_lab):
    four_epochs = ["--set", "cifar.phases=[{lr=0.1, epochs=2}, {lr=0.01, epochs=2}]"]
    run = labreport(tiny_lab, "run", "--only", "cifar.tuned", *SWEEP, *four_epochs, check=0)
    assert "cifar.tuned: epoch 4/4" in run.stdout  # as many epochs as the course schedule
    [folder] = [p.parent for p in (tiny_lab / "reports" / "runs" / "cifar.tuned").glob("*/record.json")]
    params = json.loads((folder / "record.json").read_text())["params"]
    assert {key: params[key] for key in TUNED} == TUNED
    assert params["variant"] == "tuned" and params["seed"] == 0
    summary = json.loads((folder / "record.json").read_text())["summary"]
    assert 0 <= summary["test_acc_mirrored"] <= 100  # the final pass with mirrored images
    lrs = pd.read_csv(folder / "epochs.csv")["lr"].tolist()
    assert params["phases"] == [{"lr": PEAK_LR, "epochs": 4}] and params["warmup_epochs"] == 1
    assert lrs[0] == pytest.approx(PEAK_LR / 10) and max(lrs) == pytest.approx(PEAK_LR)  # warm-up to the peak
    assert lrs[1:] == sorted(lrs[1:], reverse=True) and lrs[-1] < lrs[1]  # then down
    assert not (tiny_lab / "reports" / "runs" / "cifar").exists()  # --only picked the one cell


def test_a_variant_trains_for_as_many_epochs_as_the_declared_course(tiny_lab):
    section = declaration.load(tiny_lab / "lab13.toml", ["cifar.phases.0.epochs=9"]).values["cifar"]  # 9 + 1
    params = EXERCISE.params("cifar.tuned", {**section, "variants": ["tuned"]}, False)
    assert params["phases"] == [{"lr": PEAK_LR, "epochs": 10}] and params["warmup_epochs"] == 2
    quick = declaration.load(tiny_lab / "lab13.toml", [], quick=True).values["cifar"]
    assert EXERCISE.params("cifar.tuned", quick, True)["phases"] == [{"lr": PEAK_LR, "epochs": 2}]


@pytest.mark.parametrize("run", ["cifar.tuned", "cifar.seed1"])
def test_a_sweep_run_killed_after_its_first_epoch_resumes_to_the_numbers_of_an_uninterrupted_one(
    tiny_lab, tmp_path_factory, run
):
    """The tuned variant's lr moves every step (warm-up, then decay): a resumed run must go on
    at the step where it stopped. A seed run must keep its own seed."""
    only = ["--only", run, "--set", "cifar.seeds=[0, 1]", "--set", 'cifar.variants=["tuned"]']
    process = start_labreport(tiny_lab, "run", *only, hold=f"{run}:checkpoint:1")
    held_pid, _ = wait_until_held(process)
    kill_held(process, held_pid)
    assert [r["status"] for r in records(tiny_lab, run)] == ["partial"]
    resumed = labreport(tiny_lab, "run", *only, check=0).stdout
    assert f"{run}: resuming after epoch 1" in resumed and f"{run}: epoch 2/2" in resumed, resumed
    assert f"{run}: epoch 1/2" not in resumed
    reference = twin(tiny_lab, tmp_path_factory)
    labreport(reference, "run", *only, check=0)
    columns = ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(
        table(tiny_lab, run, "epochs.csv")[columns], table(reference, run, "epochs.csv")[columns]
    )
    [record], [uninterrupted] = records(tiny_lab, run), records(reference, run)
    assert record["params"]["seed"] == uninterrupted["params"]["seed"] == (1 if run == "cifar.seed1" else 0)
    assert record["summary"].get("test_acc_mirrored") == uninterrupted["summary"].get("test_acc_mirrored")


def test_warm_up_then_linear_decay_reaches_zero_on_the_last_step():
    params = {"phases": [{"lr": 0.2, "epochs": 10}], "lr_schedule": "warmup_linear", "warmup_epochs": 2}
    steps = StepLr(params, 100, set_lr=None)
    assert steps.lr_at(0) == pytest.approx(0.02)
    assert steps.lr_at(200) == pytest.approx(0.2)
    assert steps.lr_at(600) == pytest.approx(0.1)
    assert steps.lr_at(1000) == 0.0


def test_a_schedule_started_at_a_later_epoch_goes_on_at_that_epoch_s_first_step():
    """What a resumed run does: a fresh schedule starting at epoch 3 sets the lr an
    uninterrupted one reaches after two epochs of steps."""
    params = {"phases": [{"lr": 0.2, "epochs": 4}], "lr_schedule": "warmup_linear", "warmup_epochs": 1}
    uninterrupted, resumed = [], []
    through = StepLr(params, 10, uninterrupted.append)
    for epoch in (1, 2):
        through.start_epoch(epoch)
        advance = through.after_batch(lambda: None)
        for _ in range(10):
            advance()
    assert through.start_epoch(3) == StepLr(params, 10, resumed.append).start_epoch(3)
    assert resumed == [uninterrupted[-1]] == [pytest.approx(0.2 * 20 / 30)]


def test_the_course_schedule_is_constant_within_each_phase():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    steps = StepLr(
        {"phases": [{"lr": 0.1, "epochs": 5}, {"lr": 0.01, "epochs": 5}]}, 100, lambda lr: set_lr(optimizer, lr)
    )
    assert steps.start_epoch(6) == 0.01
    progress = []
    steps.after_batch(lambda: progress.append(1))()
    assert optimizer.param_groups[0]["lr"] == 0.01 and progress == [1]


def test_the_report_grows_with_the_sweep_and_stays_as_it_was_without_one(tiny_lab):
    labreport(tiny_lab, "build", "--quick", *SWEEP, check=0)
    swept = " ".join(pdf_pages(tiny_lab / "reports" / "lab13-quick.pdf"))
    assert "Over 2 seeds of this schedule (0, 5) the jump at the drop was" in swept
    assert "Over 2 seeds the final gap was" in swept
    assert "Beyond the lab" in swept and "The tuned schedule trains the same ResNet-20" in swept
    sweep = pd.read_csv(tiny_lab / "reports" / "lab13-quick-tables" / "cifar_sweep.csv")
    assert set(sweep["schedule"]) == {"course", "tuned"}
    labreport(tiny_lab, "build", "--quick", "--no-run", check=0)
    alone = " ".join(pdf_pages(tiny_lab / "reports" / "lab13-quick.pdf"))
    assert "Over 2 seeds" not in alone and "Beyond the lab" not in alone
