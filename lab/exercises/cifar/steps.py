"""Exercise 2's training step (forward, backward, SGD update) in three forms.

- "eager": the step as written, one kernel launch per operation; the only
  form on the CPU.
- "graph" (CUDA): the whole step captured once in a CUDA graph and replayed
  per batch, with static input buffers and the learning rate as a device
  tensor, so a phase change needs no new capture. ResNet-20 at batch 128 is
  bound by kernel launches on a large GPU, not by arithmetic.
- "compile" (CUDA): the model under torch.compile(mode="reduce-overhead"),
  which also replays CUDA graphs, after a compilation that costs tens of
  seconds.

Every form sums the loss and the correct answers on the device; the epoch
reads them once (`totals`), so no batch waits for the GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lab.core.errors import UserError

STEP_KINDS = ("graph", "compile", "eager")
DEFAULT_CUDA_STEP = "graph"  # not yet measured against "compile" on a GPU: see bench/gpu_check.sh
STEP_ENV = "LABREPORT_CIFAR_STEP"
WARMUP_STEPS = 3  # before a capture: lazy initialisation (cuBLAS, cuDNN plans, momentum buffers)


def choose_step(device: str, requested: str | None, grad_scaler: bool) -> str:
    """The step's form: CUDA-only forms only on CUDA; `requested` (None: the
    default) otherwise. A gradient scaler (fp16) checks for overflow on the
    host each step, which a captured graph cannot do, so it runs eager."""
    if requested is not None and requested not in STEP_KINDS:
        raise UserError(f"{STEP_ENV}={requested!r} is not one of {', '.join(STEP_KINDS)}; set one of those or unset it")
    if device != "cuda":
        return "eager"
    kind = requested or DEFAULT_CUDA_STEP
    return "eager" if kind == "graph" and grad_scaler else kind


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def make_step(
    kind: str, model, optimizer, scaler, numerics, device: str, batch_size: int, label_smoothing: float = 0.0
):
    if kind == "graph":
        return GraphedStep(model, optimizer, numerics, device, batch_size, label_smoothing)
    return EagerStep(model, optimizer, scaler, numerics, device, kind == "compile", label_smoothing)


class EagerStep:
    """One SGD step per call on a uint8 batch, as the course writes it."""

    def __init__(
        self, model, optimizer, scaler, numerics, device: str, compiled: bool = False, label_smoothing: float = 0.0
    ):
        self.label_smoothing = label_smoothing
        self.model = torch.compile(model, mode="reduce-overhead") if compiled else model
        self.compiled = compiled
        self.optimizer, self.scaler, self.numerics, self.device = optimizer, scaler, numerics, device
        self.loss_sum: float | torch.Tensor = 0.0  # a device tensor after the first step
        self.correct: int | torch.Tensor = 0

    def set_lr(self, lr: float) -> None:
        set_lr(self.optimizer, lr)

    def __call__(self, images_uint8: torch.Tensor, targets: torch.Tensor) -> None:
        if self.compiled:  # the compiled graphs' outputs of the last step may be overwritten now
            torch.compiler.cudagraph_mark_step_begin()
        inputs = self.numerics.prepare(images_uint8, self.device)
        with self.numerics.autocast(self.device):
            outputs = self.model(inputs)
            loss = F.cross_entropy(outputs, targets, label_smoothing=self.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.loss_sum += loss.detach() * len(targets)
        self.correct += (outputs.argmax(dim=1) == targets).sum()

    def totals(self) -> tuple[float, int]:
        """The loss summed over the images since the last call, and the correct answers."""
        totals = float(self.loss_sum), int(self.correct)
        self.loss_sum, self.correct = 0.0, 0
        return totals


class GraphedStep:
    """The whole training step captured in one CUDA graph, replayed per full
    batch; a last, smaller batch runs eager (same kernels, same numbers on
    every run of the same schedule). Capture after any resume: loading a
    state dict replaces the tensors the graph reads."""

    def __init__(self, model, optimizer, numerics, device: str, batch_size: int, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing
        self.model, self.optimizer, self.numerics, self.device = model, optimizer, numerics, device
        self.batch_size = batch_size
        self.lr = torch.tensor(float(optimizer.param_groups[0]["lr"]), device=device)
        for group in optimizer.param_groups:
            group["lr"] = self.lr  # fused SGD reads a tensor lr on the device: set_lr needs no capture
        self.images = torch.zeros((batch_size, 3, 32, 32), dtype=torch.uint8, device=device)
        self.targets = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.long, device=device)
        no_scaler = torch.amp.GradScaler(device, enabled=False)
        self.eager = EagerStep(model, optimizer, no_scaler, numerics, device, label_smoothing=label_smoothing)
        self.graph = self.capture()

    def compute(self) -> None:
        inputs = self.numerics.prepare(self.images, self.device)
        with self.numerics.autocast(self.device, cache=False):
            outputs = self.model(inputs)
            loss = F.cross_entropy(outputs, self.targets, label_smoothing=self.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_sum.add_(loss.detach().float() * self.batch_size)
        self.correct.add_((outputs.argmax(dim=1) == self.targets).sum())

    def capture(self) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream (as torch.cuda.graph requires), undo what the
        warm-up changed, then capture one step."""
        saved = snapshot(self.model, self.optimizer)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self.compute()
        torch.cuda.current_stream().wait_stream(side)
        restore(self.model, self.optimizer, saved)
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            self.compute()
        self.loss_sum.zero_()
        self.correct.zero_()
        return graph

    def set_lr(self, lr: float) -> None:
        self.lr.fill_(lr)

    def __call__(self, images_uint8: torch.Tensor, targets: torch.Tensor) -> None:
        if len(targets) != self.batch_size:
            self.eager(images_uint8, targets)
            return
        self.images.copy_(images_uint8)
        self.targets.copy_(targets)
        self.graph.replay()

    def totals(self) -> tuple[float, int]:
        loss, correct = self.eager.totals()
        totals = float(self.loss_sum) + loss, int(self.correct) + correct
        self.loss_sum.zero_()
        self.correct.zero_()
        return totals


def snapshot(model, optimizer) -> dict:
    """Copies of the weights, BatchNorm statistics and momentum buffers."""
    return {
        "model": {name: value.detach().clone() for name, value in model.state_dict().items()},
        "momentum": {
            param: state["momentum_buffer"].clone()
            for param, state in optimizer.state.items()
            if state.get("momentum_buffer") is not None
        },
    }


def restore(model, optimizer, saved: dict) -> None:
    """Put back what `snapshot` copied, in place (the graph keeps the same tensors).
    A momentum buffer the warm-up created starts at zero: with no dampening,
    momentum * 0 + grad is exactly the first step's buffer."""
    with torch.no_grad():
        for name, value in model.state_dict().items():
            value.copy_(saved["model"][name])
        for param, state in optimizer.state.items():
            buffer = state.get("momentum_buffer")
            if buffer is not None:
                buffer.copy_(saved["momentum"][param]) if param in saved["momentum"] else buffer.zero_()
