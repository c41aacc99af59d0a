"""Exercise 2's training step forms: which one runs where, and (on a GPU) that
the CUDA graph trains as the eager step does and resumes bitwise."""

import os

import pandas as pd
import pytest
import torch

from lab.core import devices, runner
from lab.core.errors import UserError
from lab.exercises.cifar import evaluation, numerics, steps
from lab.exercises.cifar import train as cifar
from tests.test_cifar_train import PARAMS, RecordingProgress, context, one_thread, tiny_data  # noqa: F401

NUMBERS = ["epoch", "phase", "lr", "train_loss", "train_acc", "test_loss", "test_acc"]


@pytest.mark.parametrize("requested", [None, "graph", "compile", "eager"])
def test_the_cpu_always_runs_the_eager_step(requested):
    assert steps.choose_step("cpu", requested, grad_scaler=False) == "eager"


def test_cuda_runs_a_cuda_graph_unless_told_otherwise_or_fp16_scales_the_loss():
    assert steps.choose_step("cuda", None, grad_scaler=False) == steps.DEFAULT_CUDA_STEP == "graph"
    assert steps.choose_step("cuda", "compile", grad_scaler=False) == "compile"
    assert steps.choose_step("cuda", "eager", grad_scaler=False) == "eager"
    assert steps.choose_step("cuda", None, grad_scaler=True) == "eager"
    assert steps.choose_step("cuda", "compile", grad_scaler=True) == "compile"


def test_an_unknown_step_is_a_user_error_naming_the_variable():
    with pytest.raises(UserError, match=f"{steps.STEP_ENV}='graphs'.*graph, compile, eager"):
        steps.choose_step("cpu", "graphs", grad_scaler=False)


def test_without_cuda_auto_picks_the_cpu_and_the_cpu_path(monkeypatch):
    monkeypatch.setattr(devices, "available", lambda: {"cuda": False, "mps": False})
    device = runner.resolve_device("auto")
    assert device == "cpu"
    assert steps.choose_step(device, "graph", grad_scaler=False) == "eager"
    assert evaluation.evaluation_batch_size(device, 128) == 128
    assert numerics.choose_numerics("auto", device).backend_flags(device).__class__.__name__ == "nullcontext"


def test_a_gpu_evaluates_in_large_batches():
    assert evaluation.evaluation_batch_size("cuda", 128) == evaluation.EVAL_BATCH_GPU
    assert evaluation.evaluation_batch_size("cuda", 8192) == 8192


def test_a_cpu_run_asked_for_a_cuda_graph_trains_eager(tmp_path, tiny_data, monkeypatch):  # noqa: F811
    monkeypatch.setenv(steps.STEP_ENV, "graph")
    params = {**PARAMS, "phases": [{"lr": 0.1, "epochs": 1}]}
    assert cifar.run(context(tmp_path, tiny_data, params))["training_step"] == "eager"


def test_snapshot_and_restore_undo_training_steps_in_place():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    addresses = {name: value.data_ptr() for name, value in model.state_dict().items()}
    saved = steps.snapshot(model, optimizer)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(8, 4)).square().mean().backward()
        optimizer.step()
    assert not torch.equal(model.state_dict()["0.weight"], before["0.weight"])
    steps.restore(model, optimizer, saved)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]) and value.data_ptr() == addresses[name], name
    assert all((state["momentum_buffer"] == 0).all() for state in optimizer.state.values())


# --- on a GPU ------------------------------------------------------------------


def gpu_run(folder, data_root, progress=None, step="graph", precision="auto"):
    ctx = context(folder, data_root, {**PARAMS, "precision": precision}, progress)
    ctx.device = "cuda"
    os.environ[steps.STEP_ENV] = step
    try:
        return cifar.run(ctx)
    finally:
        os.environ.pop(steps.STEP_ENV)


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_the_cuda_graph_trains_as_the_eager_step_does(tmp_path, tiny_data, precision):  # noqa: F811
    graphed = gpu_run(tmp_path / "graph", tiny_data, step="graph", precision=precision)
    eager = gpu_run(tmp_path / "eager", tiny_data, step="eager", precision=precision)
    assert (graphed["training_step"], eager["training_step"]) == ("graph", "eager")
    first, second = (pd.read_csv(tmp_path / name / "epochs.csv") for name in ("graph", "eager"))
    pd.testing.assert_frame_equal(first[NUMBERS], second[NUMBERS], rtol=1e-4)
    weights = [torch.load(tmp_path / name / "checkpoints/last.pt")["model"] for name in ("graph", "eager")]
    for name, tensor in weights[0].items():
        torch.testing.assert_close(tensor, weights[1][name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.cuda
def test_a_killed_gpu_run_resumes_to_the_same_numbers_bitwise(tmp_path, tiny_data):  # noqa: F811
    gpu_run(tmp_path / "whole", tiny_data)
    with pytest.raises(KeyboardInterrupt):  # in the middle of epoch 2 (3 batches per epoch)
        gpu_run(tmp_path / "killed", tiny_data, RecordingProgress(fail_at=5))
    progress = RecordingProgress()
    gpu_run(tmp_path / "killed", tiny_data, progress)
    assert "resuming after epoch 1" in progress.lines
    whole, resumed = (pd.read_csv(tmp_path / name / "epochs.csv") for name in ("whole", "killed"))
    pd.testing.assert_frame_equal(whole[NUMBERS], resumed[NUMBERS], check_exact=True)
    confusion = [pd.read_csv(tmp_path / name / "confusion.csv") for name in ("whole", "killed")]
    pd.testing.assert_frame_equal(*confusion)
