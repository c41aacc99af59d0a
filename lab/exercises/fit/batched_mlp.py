"""M independent 1-D MLPs (1 → hidden… → 1, ReLU) trained together as one batch.

Each model is a row of the batch: its own initial weights, data and learning
rate. The forward and backward passes are written by hand with batched matrix
products (for the default 1→64→64→1: three 64-wide matmuls, which are ~60% of
a step, two ReLU masks, and cheap products for the 1-wide input and output),
and Adam updates one flat buffer holding every weight of every model in place.
That keeps one training step at ~25 tensor ops, needs no compilation, and is
exactly the same sequence of ops whatever the number of epochs: a run stopped
at epoch N is bit for bit the snapshot at N of a longer run.

Adam is elementwise and bmm keeps batch rows apart, so every model follows
(to float rounding) the trajectory it would follow alone; a model that blows
up to NaN/inf poisons only its own row.

Weights are stored transposed, ``[M, fan_in, fan_out]``, so a layer is
``h @ W + b`` without transposes in the forward pass.

Why hand-written: autograd_mlp.py is the same model with autograd and
torch.optim.Adam(fused=True). On the whole of Exercise 1 (1A, 1B and 1C's
cross-validation, 5 seeds) this one took 45.8 s of CPU against 94.1 s for
autograd, 2.05x faster (wall 73.1 s against 172.1 s, 2.35x), measured with
``python bench/fit.py --direct --skip-baseline --impl handwritten`` and
``--impl autograd`` one after the other on 2 cores of an AMD EPYC (Zen 4,
avx512_bf16, no AMX; torch 2.14.1; a shared machine, load average ~5, both
runs at nice 19). Through the CLI (``flock /tmp/cpu.lock python bench/fit.py
--skip-baseline --impl ...``, load average 6-8 from other work): 54.3 s of CPU
against 121.6 s, 2.24x. It keeps its two private ops (aten.threshold_backward,
torch._fused_adam_, with a public fallback for the latter) for that
factor; the issue's bar for keeping them was 1.3x.

Step time (issue 28) on "Intel(R) Xeon(R) Processor" (lscpu; AVX-512, AMX; 2 cores
of a shared KVM guest), torch 2.14.1, one thread: ``flock /tmp/cpu.lock python
bench/fit_step.py --against 964176d`` (blocks of 250 steps, the two codes taking
turns, so a neighbour's load falls on both). 1A's step (5 models, 200 points,
[64, 64]): 385 -> 330 us (min), 539 -> 505 (median) with the other core busy,
367 -> 342 (min) in a quieter spell, bit for bit the same; 1C's batches (75
models, 3 lrs) did not change. ``labreport run --only fit --force``, old -> new:
31.7 -> 30.4 s wall; fit.epochs 26 -> 23 s (four pairs: 30/24/26/26 -> 26/24/24/23).
Per op inside the step (475 us, loaded): the three 64-wide bmm 210 us (near the
core's fp32 peak), the output product 46, Adam 46, each ReLU backward 24, each
small op 4-12 (~2 us of it dispatch). What helped: deltas written into dead
activation buffers (_Workspace), one Adam call over the flat buffers
(BatchedAdam), 2/N as a float32 tensor. Tried and dropped:
- the output product with the last weight as a row-major [M, 1, H] view (what
  torch.matmul hands MKL): 29.5 -> 11.6 us alone, the step 6-7 % faster, but MKL
  then sums in another order and training amplifies the last-bit differences:
  final losses after 2,000-3,000 steps moved by up to 7 % (bar for a change in
  rounding: 10 %). Other forms round differently too: h @ w 22 us, a contiguous
  copy of h^T 33, addmv per model 51, mul + sum 15.
- bool ReLU masks + masked_fill_ to drop the last delta buffer: le (32 us) and
  masked_fill_ (259 us) on [5, 200, 64] are not vectorised (step 420 -> 666 us).
- 1C's models in chunks that fit the L2 cache: per model the step costs the same at
  5, 15 or 75 models (77, 77, 72 us at [64, 64], 160 points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

Tensor = torch.Tensor

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
ADAM_ALIGNMENT = 16  # float32 elements in 64 bytes; see _vector_aligned


def layer_shapes(hidden: list[int]) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of each linear layer of a 1 → hidden… → 1 network."""
    widths = [1, *hidden, 1]
    return list(zip(widths[:-1], widths[1:]))


def parameter_count(hidden: list[int]) -> int:
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in layer_shapes(hidden))


def initial_parameters(hidden: list[int], generator: torch.Generator) -> list[Tensor]:
    """One model's weights, drawn like ``nn.Linear``: U(±1/sqrt(fan_in)) for W and b.

    Returned per layer as W ``[fan_out, fan_in]`` then b ``[fan_out]`` (nn.Linear's
    layout), float32.
    """
    tensors = []
    for fan_in, fan_out in layer_shapes(hidden):
        bound = 1.0 / math.sqrt(fan_in)
        weight = (torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        bias = (torch.rand(fan_out, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        tensors += [weight.float(), bias.float()]
    return tensors


@dataclass
class Layer:
    weight: Tensor  # [M, fan_in, fan_out]  (a view into the flat buffer)
    bias: Tensor  # [M, 1, fan_out]


def _layer_views(flat: Tensor, models: int, hidden: list[int]) -> list[Layer]:
    """Slice the flat buffer into per-layer views; each parameter is contiguous."""
    layers, offset = [], 0
    for fan_in, fan_out in layer_shapes(hidden):
        size = models * fan_in * fan_out
        weight = flat[offset : offset + size].view(models, fan_in, fan_out)
        offset += size
        bias = flat[offset : offset + models * fan_out].view(models, 1, fan_out)
        offset += models * fan_out
        layers.append(Layer(weight, bias))
    return layers


class BatchedMLP:
    """M MLPs with identical shape; parameters and gradients in flat buffers."""

    def __init__(self, per_model: list[list[Tensor]], hidden: list[int]):
        """``per_model[i]`` is model i's tensors as ``initial_parameters`` returns them."""
        self.hidden = list(hidden)
        self.models = len(per_model)
        stacked = []
        for index in range(len(per_model[0])):
            tensors = [params[index] for params in per_model]
            if index % 2 == 0:  # weight [out, in] → stored as [in, out]
                tensors = [t.t() for t in tensors]
            stacked.append(torch.stack(tensors).reshape(-1))
        self.flat = torch.cat(stacked).contiguous()
        self.grad = torch.zeros_like(self.flat)
        self.layers = _layer_views(self.flat, self.models, self.hidden)
        self.grads = _layer_views(self.grad, self.models, self.hidden)
        self._buffers: _Workspace | None = None

    def state(self) -> dict:
        return {"flat": self.flat.clone()}

    def load_state(self, state: dict) -> None:
        """Copy a ``state()`` back in place (the layer views share the buffer)."""
        self.flat.copy_(state["flat"])

    def model_slices(self) -> Tensor:
        """For each flat element, the index of the model it belongs to."""
        owner = torch.empty(self.flat.numel(), dtype=torch.long)
        offset = 0
        for fan_in, fan_out in layer_shapes(self.hidden):
            for per_model in (fan_in * fan_out, fan_out):
                size = self.models * per_model
                owner[offset : offset + size] = torch.arange(self.models).repeat_interleave(per_model)
                offset += size
        return owner

    def model_parameters(self, index: int) -> list[Tensor]:
        """Model ``index``'s tensors in nn.Linear layout (copies)."""
        tensors = []
        for layer in self.layers:
            tensors += [layer.weight[index].t().clone(), layer.bias[index, 0].clone()]
        return tensors

    def forward(self, x: Tensor) -> Tensor:
        """x ``[M, N, 1]`` (or ``[1, N, 1]``, shared) → predictions ``[M, N, 1]``."""
        return self._output(self._hidden_activations(x)[-1])

    def dead_unit_share(self, x: Tensor) -> Tensor:
        """Per model, the share of its hidden ReLU units that output 0 at every point of x (``[M]``)."""
        return dead_unit_share(self._hidden_activations(x))

    def _hidden_activations(self, x: Tensor, buffers: list[Tensor] | None = None) -> list[Tensor]:
        outs: list[Tensor | None] = list(buffers) if buffers else [None] * len(self.hidden)
        first = self.layers[0]
        h = torch.addcmul(first.bias, x, first.weight, out=outs[0]).relu_()
        activations = [h]
        for layer, out in zip(self.layers[1:-1], outs[1:]):
            h = torch.baddbmm(layer.bias, h, layer.weight, out=out).relu_()
            activations.append(h)
        return activations

    def _output(self, h: Tensor, out: Tensor | None = None) -> Tensor:
        # [M, 1, N] as a row vector times h^T: MKL is slow at the one-column
        # product h @ w, fast at the one-row one
        last = self.layers[-1]
        return torch.baddbmm(last.bias, last.weight.transpose(1, 2), h.transpose(1, 2), out=out).transpose(1, 2)

    def _workspace(self, count: int) -> _Workspace:
        if self._buffers is None or self._buffers.count != count:
            self._buffers = _Workspace(self, count)
        return self._buffers

    def loss_and_gradient(self, x: Tensor, y: Tensor, loss_out: Tensor) -> None:
        """One full-batch MSE forward/backward for x, y ``[M, N, 1]``.

        Writes each model's sum of squared errors (N × its MSE) into ``loss_out``
        ``[M]`` and the gradient of the MSE into ``self.grad``. The first layer
        (one input) is a broadcasting product; products with a one-wide side
        are written as row-vector bmm, which MKL does fast. Every intermediate
        goes into a buffer kept between steps, and every view of a buffer or a
        weight is made once (see _Workspace). The ops do not depend on how many
        epochs the run has, which is what makes snapshots exact.
        """
        work = self._workspace(x.shape[1])
        h = self._hidden_activations(x, work.activations)[-1]
        torch.baddbmm(self.layers[-1].bias, work.last_row, work.last_hidden_columns, out=work.output)
        residual = work.residual.sub_(y)
        torch.bmm(work.output, residual, out=loss_out.view(self.models, 1, 1))
        delta = residual.mul_(work.mse_scale)  # d(mean squared error)/d(output), [M, N, 1]

        grads = self.grads
        torch.bmm(work.output, h, out=work.last_weight_grad)
        torch.sum(delta, dim=1, keepdim=True, out=grads[-1].bias)
        delta = _relu_backward(torch.mul(delta, work.last_row, out=work.deltas[-1]), h)
        for grad, inputs, inputs_columns, weight_columns, upstream in work.inner_layers:
            torch.bmm(inputs_columns, delta, out=grad.weight)
            torch.sum(delta, dim=1, keepdim=True, out=grad.bias)
            delta = _relu_backward(torch.bmm(delta, weight_columns, out=upstream), inputs)
        torch.sum(delta, dim=1, keepdim=True, out=grads[0].bias)
        torch.sum(delta.mul_(x), dim=1, keepdim=True, out=grads[0].weight)


def dead_unit_share(activations: list[Tensor]) -> Tensor:
    """Per model, the share of hidden units (all hidden layers together) whose ReLU output is 0
    at every point: activations per layer ``[M, N, width]`` → ``[M]``. Such a unit passes no
    gradient back on these points, so full-batch training on them does not move its weights in."""
    dead = torch.cat([(h <= 0).all(dim=1) for h in activations], dim=1)  # [M, units]
    return dead.double().mean(dim=1)


def _relu_backward(grad: Tensor, activation: Tensor) -> Tensor:
    """grad where activation > 0, else 0; in place."""
    return torch.ops.aten.threshold_backward.grad_input(grad, activation, 0, grad_input=grad)


class _Workspace:
    """The step's intermediates for M models and N points, allocated once, and the views of
    them and of the weights the step reads, made once.

    Allocating and freeing them every step made glibc hand the memory back to
    the kernel and fault it in again (~600 page faults a step at M=10 or 20,
    doubling the step time); reusing them costs nothing. Making the step's ~10
    views (transposes, reshapes) once instead of every step took the default 1A
    step (5 models, 200 points, [64, 64], one thread) from 423 to 385 us (minimum
    of 4 × 2,000 steps, Intel Xeon), with bit-identical losses and weights after
    3,000 steps. Hidden layer i's delta goes into layer i+1's activation buffer, dead
    by then, where widths agree: a [5, 200, 64] buffer fewer, 479 -> 443 us (median).
    """

    def __init__(self, model: BatchedMLP, count: int):
        models, hidden = model.models, model.hidden
        self.count = count
        # a float32 tensor, not a Python float: a float scalar is cast to float32 every step
        self.mse_scale = torch.tensor(2.0 / count, dtype=torch.float32)
        self.activations = [torch.empty(models, count, width) for width in hidden]
        self.deltas = [
            self.activations[index + 1]
            if index + 1 < len(hidden) and hidden[index + 1] == width
            else torch.empty(models, count, width)
            for index, width in enumerate(hidden)
        ]
        self.output = torch.empty(models, 1, count)  # the output as rows, then the residual
        self.residual = self.output.transpose(1, 2)  # [M, N, 1]
        self.last_hidden_columns = self.activations[-1].transpose(1, 2)
        self.last_row = model.layers[-1].weight.transpose(1, 2)  # [M, 1, H]
        self.last_weight_grad = model.grads[-1].weight.view(models, 1, -1)
        # the hidden layers above the first, top down: (gradient, input, input transposed,
        # weight transposed, the buffer of the delta it passes down)
        self.inner_layers = [
            (
                model.grads[depth],
                self.activations[depth - 1],
                self.activations[depth - 1].transpose(1, 2),
                model.layers[depth].weight.transpose(1, 2),
                self.deltas[depth - 1],
            )
            for depth in range(len(model.layers) - 2, 0, -1)
        ]


class BatchedAdam:
    """torch.optim.Adam's update (L2 weight decay as Adam's ``weight_decay``, no
    amsgrad) with one learning rate and weight decay per model.

    Models that share them must be consecutive: each such run of models is a
    contiguous slice of every parameter, updated by PyTorch's fused CPU Adam
    kernel (the one behind ``torch.optim.Adam(fused=True)``), one call per run;
    one over the flat buffers if a run covers all (see _vector_aligned). That
    kernel is private API, so if it is missing we fall back to the same update
    written with tensor ops (about 4x slower).
    """

    def __init__(
        self,
        model: BatchedMLP,
        lrs: list[float],
        weight_decays: list[float] | None = None,
        betas: tuple[float, float] = ADAM_BETAS,
        eps: float = ADAM_EPS,
    ):
        if len(lrs) != model.models:
            raise ValueError(f"{len(lrs)} learning rates for {model.models} models")
        decays = weight_decays or [0.0] * len(lrs)
        self.model = model
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.exp_avg = torch.zeros_like(model.flat)
        self.exp_avg_sq = torch.zeros_like(model.flat)
        self.step_count = torch.zeros((), dtype=torch.float32)
        self.groups = [
            (
                lr,
                decay,
                [
                    _slice_views(views, start, stop)
                    for views in (
                        model.layers,
                        model.grads,
                        self._state_views(self.exp_avg),
                        self._state_views(self.exp_avg_sq),
                    )
                ],
            )
            for (lr, decay), start, stop in consecutive_runs(list(zip(lrs, decays)))
        ]
        if len(self.groups) == 1 and _vector_aligned(self.groups[0][2][0]):
            lr, decay, _ = self.groups[0]
            self.groups = [(lr, decay, [[model.flat], [model.grad], [self.exp_avg], [self.exp_avg_sq]])]
        owner = model.model_slices()
        self.lr_per_element = torch.tensor(lrs, dtype=torch.float32)[owner]
        self.decay_per_element = torch.tensor(decays, dtype=torch.float32)[owner]
        self.fused = hasattr(torch, "_fused_adam_")

    def state(self) -> dict:
        return {"exp_avg": self.exp_avg.clone(), "exp_avg_sq": self.exp_avg_sq.clone(), "step": self.step_count.clone()}

    def load_state(self, state: dict) -> None:
        """Copy a ``state()`` back in place (the per-learning-rate views share the buffers)."""
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
        self.step_count.copy_(state["step"])

    def _state_views(self, flat: Tensor) -> list[Layer]:
        return _layer_views(flat, self.model.models, self.model.hidden)

    def step(self) -> None:
        self.step_count.add_(1)
        if self.fused:
            for lr, decay, (params, grads, exp_avgs, exp_avg_sqs) in self.groups:
                torch._fused_adam_(
                    params,
                    grads,
                    exp_avgs,
                    exp_avg_sqs,
                    [],
                    [self.step_count] * len(params),
                    lr=lr,
                    beta1=self.beta1,
                    beta2=self.beta2,
                    weight_decay=decay,
                    eps=self.eps,
                    amsgrad=False,
                    maximize=False,
                )
        else:
            self._step_unfused()

    def _step_unfused(self) -> None:
        steps = float(self.step_count)
        grad = self.model.grad.addcmul(self.decay_per_element, self.model.flat)
        bias1 = 1 - self.beta1**steps
        bias2 = 1 - self.beta2**steps
        self.exp_avg.lerp_(grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        denom = self.exp_avg_sq.sqrt().div_(math.sqrt(bias2)).add_(self.eps)
        update = torch.mul(self.exp_avg, self.lr_per_element).div_(denom)
        self.model.flat.add_(update, alpha=-1.0 / bias1)


def consecutive_runs(values: list) -> list[tuple]:
    """Maximal runs of equal consecutive values: (value, start, stop)."""
    runs: list[tuple[float, int, int]] = []
    for index, value in enumerate(values):
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1], index + 1)
        else:
            runs.append((value, index, index + 1))
    return runs


def _vector_aligned(tensors: list[Tensor]) -> bool:
    """Can one fused Adam call over these consecutive tensors stand in for one call each, bit for bit?

    The kernel runs each tensor in whole vectors, then its tail elementwise (other
    rounding); if every tensor but the last is a whole number of 64-byte units (the
    kernel's unit of work, the widest vector it uses: AVX-512), the same elements
    fall in vectors and tail either way. 1A's Adam step: 20.7 -> 16.9 us alone.
    """
    return all(tensor.numel() % ADAM_ALIGNMENT == 0 for tensor in tensors[:-1])


def _slice_views(layers: list[Layer], start: int, stop: int) -> list[Tensor]:
    """Models start..stop of every parameter, as contiguous tensors."""
    return [tensor[start:stop] for layer in layers for tensor in (layer.weight, layer.bias)]
