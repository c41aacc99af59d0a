"""ResNet-20 and the CIFAR-10 training run, on tiny made-up data."""

import contextlib
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from lab.core.errors import UserError
from lab.core.store import RunContext
from lab.exercises.cifar import checkpoint, epochs, evaluation, numerics
from lab.exercises.cifar import data as cifar_data
from lab.exercises.cifar import facts as cifar_facts
from lab.exercises.cifar import train as cifar
from lab.exercises.cifar.data.synthetic import make_tiny_cifar
from lab.exercises.cifar.model import BasicBlock, parameter_count, resnet20

PARAMS = {
    "phases": [{"lr": 0.1, "epochs": 1}, {"lr": 0.01, "epochs": 2}],
    "batch_size": 32,
    "weight_decay": 5e-4,
    "momentum": 0.9,
    "seed": 3,
    "precision": "fp32",
    "data_fingerprint": "",
    "train_subset": None,
    "test_subset": None,
    "quick": True,
}


class RecordingProgress:
    def __init__(self, fail_at: int | None = None):
        self.fail_at, self.completed, self.total, self.lines = fail_at, 0, None, []

    def start(self, total, description=""):
        self.total, self.completed = total, 0

    def advance(self, n=1):
        self.completed += n
        if self.completed == self.fail_at:
            raise KeyboardInterrupt("simulated kill")

    def update(self, completed):
        self.completed = completed

    def log(self, message):
        self.lines.append(message)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny batches gain nothing from a second thread, and on a shared machine
    two threads that wait for each other can be ten times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    # 8 train and 6 test images per class: 80 train images = 32 + 32 + a partial 16.
    make_tiny_cifar(root / "data", "pickle", n_per_class=8, test_per_class=6)
    return root


def context(folder, data_root, params=PARAMS, progress=None):
    options = {"data": str(data_root / "data"), "download": False, "cache_dir": str(data_root / "cache")}
    return RunContext("cifar", "key", dict(params), folder, options=options, progress=progress or RecordingProgress())


# --- the model ---------------------------------------------------------------


def test_resnet20_has_the_option_a_parameter_count():
    model = resnet20()
    assert parameter_count(model) == 269_722
    # Option A shortcuts add nothing: every block holds exactly its two convs and BNs.
    for block in (b for stage in model.stages for b in stage):
        assert parameter_count(block) == parameter_count(block.conv1) + parameter_count(block.bn1) + parameter_count(
            block.conv2
        ) + parameter_count(block.bn2)


def test_resnet20_shapes_through_the_stages():
    model = resnet20(seed=0).eval()
    shapes = []
    for stage in model.stages:
        stage.register_forward_hook(lambda m, i, out: shapes.append(tuple(out.shape)))
    logits = model(torch.randn(5, 3, 32, 32))
    assert logits.shape == (5, 10)
    assert shapes == [(5, 16, 32, 32), (5, 32, 16, 16), (5, 64, 8, 8)]
    channels_last = model.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    assert channels_last(x).shape == (2, 10)


def cpu_flags() -> set[str]:
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split()}


# What the hardware says, not the torch probe the code asks (numerics.cpu_supports_bf16):
# were that probe to vanish, the code would quietly fall back to fp32.
NATIVE_BF16 = bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def bf16_or_skip() -> None:
    """A bf16 test skips where oneDNN has no bf16, except on a CPU whose flags say native bf16:
    there the bf16 path being unavailable is the failure."""
    if numerics.cpu_supports_bf16():
        return
    if NATIVE_BF16:
        pytest.fail(
            "/proc/cpuinfo lists avx512_bf16 or amx_bf16, yet numerics.cpu_supports_bf16() is False: "
            "the default bf16 path is gone (check torch.ops.mkldnn._is_mkldnn_bf16_supported)"
        )
    pytest.skip("oneDNN has no bf16 on this CPU")


def test_onednn_layout_is_as_close_to_fp32_as_autocast():
    """The CPU bf16 path (oneDNN tensors, no autocast) differs from fp32 no
    more than bf16 autocast on ordinary tensors does: logits, gradients of
    the first and last convolution, BatchNorm statistics."""
    bf16_or_skip()
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    targets = torch.arange(16) % 10

    def step(numerics):
        model = resnet20(seed=0).train()
        inputs = numerics.prepare(images, "cpu")
        with numerics.autocast("cpu"):
            logits = model(inputs)
        F.cross_entropy(logits.float(), targets).backward()
        return [
            logits.float(),
            model.conv1.weight.grad,
            model.stages[2][2].conv2.weight.grad,
            model.stages[1][0].bn1.running_var,
        ]

    onednn = numerics.Numerics("bf16", None, "onednn", grad_scaler=False)
    assert onednn.prepare(images, "cpu").is_mkldnn
    exact = step(numerics.Numerics("fp32", None, "contiguous", grad_scaler=False))
    autocast = step(numerics.Numerics("bf16", torch.bfloat16, "contiguous", grad_scaler=False))
    ours = step(onednn)

    def error(a, b):
        return ((a - b).norm() / b.norm()).item()

    for mine, theirs, reference in zip(ours, autocast, exact):
        assert error(mine, reference) <= 1.5 * error(theirs, reference) + 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_onednn_shortcut_equals_the_sliced_and_padded_one(dtype):
    if dtype == torch.bfloat16:
        bf16_or_skip()
    block = BasicBlock(16, 32, stride=2)
    x = torch.randn(4, 16, 8, 8).to(dtype)
    expected = block.shortcut(x)
    assert expected.shape == (4, 32, 4, 4) and expected[:, :8].abs().sum() == 0
    assert torch.equal(block.shortcut(x.to_mkldnn()).to_dense(), expected)
    assert "selection" not in block.state_dict()  # checkpoints stay as they were


def test_resnet20_seed_fixes_the_initial_weights():
    a, b, c = resnet20(seed=1), resnet20(seed=1), resnet20(seed=2)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_a_few_sgd_steps_reduce_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    images, labels = torch.randn(16, 3, 32, 32), torch.arange(16) % 10
    model = resnet20(seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# --- pieces of the run -------------------------------------------------------


def test_evaluate_counts_correct_answers_and_averages_the_loss():
    class Fixed(torch.nn.Module):  # predicts class (sum of pixels > 0)
        def forward(self, x):
            positive = (x.flatten(1).sum(1) > 0).float()
            return torch.stack([1 - positive, positive], dim=1) * 4.0

    images = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0]).view(5, 1, 1, 1)
    labels = torch.tensor([1, 0, 0, 0, 1])
    loss, acc, predictions = evaluation.evaluate(Fixed(), images, labels, 2, prepare=lambda x: x)
    assert acc == pytest.approx(80.0)
    assert predictions.tolist() == [1, 0, 1, 0, 1]
    expected = F.cross_entropy(Fixed()(images), labels).item()
    assert loss == pytest.approx(expected, rel=1e-6)


def test_a_mirrored_test_pass_averages_each_image_with_its_mirror():
    model = resnet20(seed=0).eval()
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(6)
    prepare = cifar_data.normalize
    _, _, predicted = evaluation.evaluate(model, images, labels, 4, prepare, mirrored=True)
    with torch.no_grad():
        expected = ((model(prepare(images)) + model(prepare(images.flip(3)))) / 2).argmax(1)
    assert torch.equal(predicted, expected)
    _, _, of_mirrors = evaluation.evaluate(model, images.flip(3), labels, 4, prepare, mirrored=True)
    assert torch.equal(of_mirrors, predicted)  # the average does not care which view came first


def test_the_drop_facts_measure_the_accuracy_jump_where_the_lr_changes():
    epochs = pd.DataFrame(
        [(1, 1, 0.1, 40, 45, 1.0), (2, 1, 0.1, 50, 52, 0.9), (3, 2, 0.01, 60, 61, 0.7), (4, 3, 0.001, 62, 61.5, 0.6)],
        columns=["epoch", "phase", "lr", "train_acc", "test_acc", "test_loss"],
    )
    drop = cifar_facts.drop_facts(epochs)
    assert (drop.epoch_before, drop.epoch_after) == (2, 3)
    assert drop.test_jump == pytest.approx(9) and drop.train_jump == pytest.approx(10)
    assert (drop.lr_before, drop.lr_after) == (0.1, 0.01)


def test_misclassified_sample_takes_turns_across_true_classes():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    predictions = torch.tensor([1, 1, 0, 0, 1, 0, 0, 2])
    chosen = evaluation.misclassified_indices(labels, predictions, limit=4)
    assert chosen.tolist() == [0, 3, 5, 1]


def test_epoch_generators_differ_by_epoch_and_repeat_by_seed():
    def draw(s, e):
        return torch.randint(0, 1000, (8,), generator=epochs.epoch_generator(s, e))

    assert torch.equal(draw(0, 1), draw(0, 1))
    assert not torch.equal(draw(0, 1), draw(0, 2))
    assert not torch.equal(draw(0, 1), draw(1, 1))


def test_numerics_follow_precision_and_hardware(monkeypatch):
    fp32 = numerics.choose_numerics("fp32", "cpu")
    assert (fp32.autocast_dtype, fp32.layout) == (None, "contiguous")

    monkeypatch.setattr(numerics, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(numerics, "cpu_supports_bf16", lambda: False)
    plain_cpu = numerics.choose_numerics("auto", "cpu")
    assert (plain_cpu.name, plain_cpu.layout) == ("fp32", "channels_last")
    with pytest.raises(UserError, match="precision = 'bf16'"):
        numerics.choose_numerics("bf16", "cpu")

    monkeypatch.setattr(numerics, "cpu_has_native_bf16", lambda: True)
    native = numerics.choose_numerics("auto", "cpu")
    assert (native.name, native.layout, native.autocast_dtype) == ("bf16", "onednn", None)

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    old_gpu = numerics.choose_numerics("auto", "cuda")
    assert (old_gpu.name, old_gpu.grad_scaler, old_gpu.layout) == ("fp16", True, "channels_last")
    assert numerics.choose_numerics("fp32", "cuda").autocast_dtype is None


@pytest.mark.parametrize(
    "change, key",
    [
        ("cifar.precision=fp8", "cifar.precision"),
        ("cifar.phases=[]", "cifar.phases"),
        ("cifar.phases.0.lr=-1", "cifar.phases.0.lr"),
        ("cifar.phases.0.epochs=0", "cifar.phases.0.epochs"),
        ("cifar.batch_size=0", "cifar.batch_size"),
        ("cifar.momentum=-0.9", "cifar.momentum"),
    ],
)
def test_bad_params_are_user_errors_naming_the_key(tmp_path, change, key):
    """The schema checks a run's parameters once, when the declaration loads: before any run."""
    from lab.core import declaration

    with pytest.raises(UserError, match=re.escape(key)):
        declaration.load(None, [change], cwd=tmp_path)


def test_data_with_another_fingerprint_is_a_user_error(tmp_path, tiny_data):
    with pytest.raises(UserError, match="fingerprint"):
        cifar.run(context(tmp_path, tiny_data, {**PARAMS, "data_fingerprint": "0123456789abcdef"}))


# --- whole runs --------------------------------------------------------------


def run_files(folder) -> dict:
    epochs = pd.read_csv(folder / "epochs.csv")
    with np.load(folder / "misclassified.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    return {
        "epochs": epochs,
        "confusion": pd.read_csv(folder / "confusion.csv"),
        "misclassified": arrays,
        "state": torch.load(folder / "checkpoints/last.pt"),
        "folder": folder,
    }


def run_facts(files: dict, params: dict):
    """The facts the report takes from a run's files and parameters (the one place they are computed)."""
    return cifar_facts.read_cifar(SimpleNamespace(dir=files["folder"], params=params, record={}))


def uninterrupted_run(folder, data_root, precision: str):
    progress = RecordingProgress()
    summary = cifar.run(context(folder, data_root, {**PARAMS, "precision": precision}, progress))
    return summary, run_files(folder), progress


@contextlib.contextmanager
def native_bf16(value: bool | None):
    """As on a CPU with (True) or without (False) native bf16; None: this CPU."""
    with pytest.MonkeyPatch.context() as patch:
        if value is not None:
            patch.setattr(numerics, "cpu_has_native_bf16", lambda: value)
        yield


@pytest.fixture(scope="module")
def uninterrupted_runs(tmp_path_factory, tiny_data):
    """(precision, native bf16) -> an uninterrupted run's (summary, files, progress), made once."""
    runs = {}

    def get(precision: str, native: bool | None = None):
        if (precision, native) not in runs:
            with native_bf16(native):
                runs[precision, native] = uninterrupted_run(tmp_path_factory.mktemp("whole"), tiny_data, precision)
        return runs[precision, native]

    return get


@pytest.fixture(scope="module")
def uninterrupted(uninterrupted_runs):
    return uninterrupted_runs("fp32")


def test_a_run_writes_the_contract_files(uninterrupted):
    summary, files, progress = uninterrupted
    epochs = files["epochs"]
    assert list(epochs.columns) == cifar.EPOCH_COLUMNS
    assert epochs["epoch"].tolist() == [1, 2, 3]
    assert epochs["phase"].tolist() == [1, 2, 2]
    assert epochs["lr"].tolist() == [0.1, 0.01, 0.01]
    assert epochs[["train_acc", "test_acc"]].stack().between(0, 100).all()

    confusion = files["confusion"]
    assert list(confusion.columns) == ["true_class", "predicted_class", "count"]
    assert len(confusion) == 100 and confusion["count"].sum() == 60
    assert (confusion.groupby("true_class")["count"].sum() == 6).all()

    wrong = files["misclassified"]
    assert wrong["images"].dtype == np.uint8 and wrong["images"].shape[1:] == (32, 32, 3)
    assert len(wrong["images"]) == len(wrong["true"]) == len(wrong["pred"]) <= 36
    assert (wrong["true"] != wrong["pred"]).all()
    assert list(wrong["classes"]) == list(cifar.cifar_data.CLASSES)
    assert wrong["classes"].dtype.kind == "U"  # readable with allow_pickle=False
    correct = confusion[confusion.true_class == confusion.predicted_class]["count"].sum()
    facts = run_facts(files, PARAMS)
    assert facts.facts.final_test == pytest.approx(100 * correct / 60) == epochs["test_acc"].iloc[-1]
    diagonal = confusion[confusion.true_class == confusion.predicted_class].set_index("true_class")
    per_class = facts.per_class.set_index("class")["accuracy"].dropna().to_dict()
    assert per_class == pytest.approx({name: 100 * count / 6 for name, count in diagonal["count"].items()})

    assert summary["epochs"] == 3 and summary["parameters"] == 269_722
    assert summary["precision"] == "fp32" and summary["layout"] == "contiguous"
    assert (facts.facts.drop.epoch_before, facts.facts.drop.epoch_after) == (1, 2)
    assert progress.total == 9 and progress.completed == 9  # 3 batches x 3 epochs
    assert len([line for line in progress.lines if line.startswith("epoch ")]) == 3


def test_the_state_checkpointed_each_epoch_is_complete(uninterrupted):
    state = uninterrupted[1]["state"]
    assert state["epoch"] == 3 and len(state["rows"]) == 3
    assert set(state) == checkpoint.CHECKPOINT_KEYS


# Every numerics the CPU path can choose (see numerics.choose_numerics): fp32 as
# asked, auto on a CPU without native bf16, and bf16 in oneDNN's layout (what
# auto picks on CPUs with native bf16).
CPU_NUMERICS = [
    pytest.param("fp32", None, "fp32, contiguous", id="fp32"),
    pytest.param("auto", False, "fp32, channels_last", id="auto-without-native-bf16"),
    pytest.param("bf16", None, "bf16, onednn", id="bf16-onednn"),
]


@pytest.mark.parametrize("precision, native, numerics", CPU_NUMERICS)
def test_a_killed_run_resumes_to_the_same_numbers_bitwise(
    tmp_path, tiny_data, uninterrupted_runs, precision, native, numerics
):
    if precision == "bf16":
        bf16_or_skip()
    _, whole, _ = uninterrupted_runs(precision, native)
    params = {**PARAMS, "precision": precision}
    # Killed in the middle of epoch 2 (3 batches per epoch), after epoch 1's checkpoint.
    with native_bf16(native), pytest.raises(KeyboardInterrupt):
        cifar.run(context(tmp_path, tiny_data, params, RecordingProgress(fail_at=5)))
    assert len(pd.read_csv(tmp_path / "epochs.csv")) == 1

    progress = RecordingProgress()
    with native_bf16(native):
        cifar.run(context(tmp_path, tiny_data, params, progress))
    assert "resuming after epoch 1" in progress.lines
    resumed = run_files(tmp_path)
    assert resumed["state"]["numerics"] == whole["state"]["numerics"] == numerics

    numbers = ["epoch", "phase", "lr", "train_loss", "train_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(resumed["epochs"][numbers], whole["epochs"][numbers], check_exact=True)
    pd.testing.assert_frame_equal(resumed["confusion"], whole["confusion"])
    for name, array in whole["misclassified"].items():
        assert np.array_equal(resumed["misclassified"][name], array)
    for name, tensor in whole["state"]["model"].items():
        assert torch.equal(resumed["state"]["model"][name], tensor), name


def test_a_finished_checkpoint_only_redoes_the_final_analysis(tmp_path, tiny_data, uninterrupted):
    params = {**PARAMS, "phases": [{"lr": 0.1, "epochs": 1}]}
    first = cifar.run(context(tmp_path, tiny_data, params))
    (tmp_path / "confusion.csv").unlink()
    progress = RecordingProgress()
    again = cifar.run(context(tmp_path, tiny_data, params, progress))
    assert progress.completed == progress.total == 3
    assert not [line for line in progress.lines if line.startswith("epoch ")]
    assert (tmp_path / "confusion.csv").exists()
    assert again == first


def test_the_fast_path_trains_with_the_numerics_auto_picks(tmp_path, tiny_data):
    """auto is bf16 in oneDNN's layout where the CPU does bf16 natively, else fp32 channels-last."""
    expected = ("bf16", "onednn") if NATIVE_BF16 else ("fp32", "channels_last")
    params = {**PARAMS, "precision": "auto", "phases": [{"lr": 0.1, "epochs": 1}]}
    summary = cifar.run(context(tmp_path, tiny_data, params))
    assert (summary["precision"], summary["layout"]) == expected
    assert torch.load(tmp_path / "checkpoints/last.pt")["numerics"] == ", ".join(expected)
    epochs = pd.read_csv(tmp_path / "epochs.csv")
    assert np.isfinite(epochs[["train_loss", "test_loss"]].to_numpy()).all()
