"""--device: auto takes cuda, then mps, then the CPU; Exercise 2's path on an Apple GPU; checkpoints
that move between devices. Which devices are here is injected: no test machine has an Apple GPU."""

from __future__ import annotations

import pytest
import torch

from lab.core import devices
from lab.core.errors import UserError
from lab.core.store import RunContext
from lab.exercises.cifar import evaluation, numerics, steps

NONE = {"cuda": False, "mps": False}


def here(**found):
    return lambda: {**NONE, **found}


@pytest.mark.parametrize(
    ("found", "chosen"),
    [({"cuda": True, "mps": True}, "cuda"), ({"mps": True}, "mps"), ({"cuda": True}, "cuda"), ({}, "cpu")],
)
def test_auto_takes_cuda_then_mps_then_the_cpu(found, chosen):
    assert devices.resolve("auto", here(**found)) == chosen


def test_an_asked_for_device_is_used_when_it_is_here():
    assert devices.resolve("mps", here(mps=True)) == "mps"
    assert devices.resolve("cuda", here(cuda=True)) == "cuda"
    assert devices.resolve("cpu", here(cuda=True, mps=True)) == "cpu"


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("mps", r"--device mps: no Apple GPU \(MPS\) is available here .*use --device cpu or auto"),
        ("cuda", "--device cuda: no CUDA device is available here; use --device cpu or auto"),
        ("tpu", "--device 'tpu': choose auto, cpu, cuda or mps"),
    ],
)
def test_a_missing_or_unknown_device_is_one_clear_error(asked, message):
    with pytest.raises(UserError, match=message):
        devices.resolve(asked, here())


def test_a_result_is_rechecked_on_its_own_device_when_it_is_here():
    assert devices.usable("mps", here(mps=True)) == "mps"
    assert devices.usable("mps", here(cuda=True)) == "cpu"
    assert devices.usable("cuda", here(cuda=True)) == "cuda"
    assert devices.usable(None, here(cuda=True)) == "cpu"


def test_an_apple_gpu_is_named_after_its_chip():
    assert devices.name("mps").endswith(" GPU (MPS)")


# --- Exercise 2 on an Apple GPU ------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "name", "scaler"),
    [([torch.bfloat16, torch.float16], "bf16", False), ([torch.float16], "fp16", True), ([], "fp32", False)],
)
def test_mps_trains_in_the_reduced_precision_its_autocast_accepts(monkeypatch, accepted, name, scaler):
    monkeypatch.setattr(numerics, "mps_autocast_dtypes", lambda: accepted)
    chosen = numerics.choose_numerics("auto", "mps")
    assert (chosen.name, chosen.grad_scaler, chosen.layout) == (name, scaler, "contiguous")
    assert chosen.autocast_dtype == (accepted[0] if accepted else None)


def test_mps_in_fp32_and_bf16_on_request(monkeypatch):
    monkeypatch.setattr(numerics, "mps_autocast_dtypes", lambda: [torch.float16])
    assert numerics.choose_numerics("fp32", "mps").name == "fp32"
    with pytest.raises(UserError, match="precision = 'bf16' but this torch's MPS autocast has no bf16"):
        numerics.choose_numerics("bf16", "mps")


def test_this_torch_accepts_fp16_autocast_on_mps_and_bf16_only_from_macos_14(monkeypatch):
    """The probe asks the installed torch (torch.autocast warns and disables itself for a dtype it refuses)."""
    monkeypatch.setattr(numerics.platform, "mac_ver", lambda: ("13.6", ("", "", ""), "arm64"))
    assert numerics.mps_autocast_dtypes() == [torch.float16]
    monkeypatch.setattr(numerics.platform, "mac_ver", lambda: ("14.5", ("", "", ""), "arm64"))
    assert torch.float16 in numerics.mps_autocast_dtypes()


def test_mps_keeps_the_data_on_the_device_and_steps_eager():
    assert steps.choose_step("mps", None, grad_scaler=False) == "eager"
    assert steps.choose_step("mps", "graph", grad_scaler=True) == "eager"
    assert evaluation.evaluation_batch_size("mps", 128) == evaluation.EVAL_BATCH_GPU


# --- checkpoints move between devices --------------------------------------------------------


@pytest.mark.parametrize("written_on", ["cuda:0", "mps"])
def test_a_checkpoint_written_on_a_gpu_resumes_on_the_cpu(tmp_path, monkeypatch, written_on):
    """A checkpoint whose tensors say they live on a GPU (as one written there does) loads here."""
    writer = RunContext("cifar", "k", {}, tmp_path / "run")
    model = torch.nn.Linear(3, 2)
    with monkeypatch.context() as patched:
        patched.setattr(torch.serialization, "location_tag", lambda storage: written_on)
        writer.save_checkpoint({"epoch": 4, "model": model.state_dict()})
    with pytest.raises(RuntimeError):  # what a plain torch.load does here
        torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=False)
    state = RunContext("cifar", "k", {}, tmp_path / "run").load_checkpoint()
    assert state is not None and state["epoch"] == 4
    resumed = torch.nn.Linear(3, 2)
    resumed.load_state_dict(state["model"])
    assert torch.equal(resumed.weight, model.weight) and resumed.weight.device.type == "cpu"
