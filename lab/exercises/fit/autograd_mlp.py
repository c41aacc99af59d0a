"""The same M batched 1-D MLPs as batched_mlp.py, with autograd and torch.optim.Adam.

Parameters are batched tensors (W ``[M, fan_in, fan_out]``, b ``[M, 1, fan_out]``),
the forward pass is ``baddbmm`` with ReLU, autograd computes the gradient, and
PyTorch's own Adam (fused where this build has it, else foreach) updates it.
Models that share a learning rate and weight decay form one parameter group;
each group holds its own leaf tensors and the forward pass concatenates them
(a copy of the weights per step, small next to the matmuls).

It is the reference the hand-written engine is measured against (see
batched_mlp.py's docstring: about 2x slower on Exercise 1 here); the runs use it
when LABREPORT_FIT_IMPL=autograd (``bench/fit.py --impl autograd``).
"""

from __future__ import annotations

import torch

from lab.exercises.fit.batched_mlp import ADAM_BETAS, ADAM_EPS, consecutive_runs, dead_unit_share

Tensor = torch.Tensor


class AutogradMLP:
    """M MLPs of one shape; ``loss_and_gradient`` and ``forward`` as BatchedMLP's."""

    def __init__(self, per_model: list[list[Tensor]], hidden: list[int], bounds: list[tuple[int, int]] | None = None):
        """``bounds``: (start, stop) of each group of models that share an optimizer setting."""
        self.hidden = list(hidden)
        self.models = len(per_model)
        self.groups = [self._leaves(per_model, start, stop) for start, stop in bounds or [(0, self.models)]]

    @staticmethod
    def _leaves(per_model: list[list[Tensor]], start: int, stop: int) -> list[Tensor]:
        """Models start..stop as one leaf per parameter: W stored ``[in, out]``, b ``[1, out]``."""
        leaves = []
        for index in range(len(per_model[0])):
            tensors = [params[index] for params in per_model[start:stop]]
            stacked = torch.stack([t.t() for t in tensors]) if index % 2 == 0 else torch.stack(tensors).unsqueeze(1)
            leaves.append(stacked.clone().requires_grad_(True))
        return leaves

    def _parameters(self) -> list[Tensor]:
        if len(self.groups) == 1:
            return self.groups[0]
        return [torch.cat(tensors) for tensors in zip(*self.groups)]

    def forward(self, x: Tensor) -> Tensor:
        """x ``[M, N, 1]`` (or ``[1, N, 1]``, shared) → predictions ``[M, N, 1]``."""
        params = self._parameters()
        h = self._hidden_activations(x, params)[-1]
        return torch.baddbmm(params[-1], h, params[-2])

    def dead_unit_share(self, x: Tensor) -> Tensor:
        """Per model, the share of its hidden ReLU units that output 0 at every point of x (``[M]``)."""
        return dead_unit_share(self._hidden_activations(x, self._parameters()))

    @staticmethod
    def _hidden_activations(x: Tensor, params: list[Tensor]) -> list[Tensor]:
        h = torch.addcmul(params[1], x, params[0]).relu()
        activations = [h]
        for index in range(2, len(params) - 2, 2):
            h = torch.baddbmm(params[index + 1], h, params[index]).relu()
            activations.append(h)
        return activations

    def loss_and_gradient(self, x: Tensor, y: Tensor, loss_out: Tensor) -> None:
        """Each model's sum of squared errors into ``loss_out`` [M]; the MSE's gradient into ``.grad``."""
        with torch.enable_grad():
            squared = (self.forward(x) - y).square().sum(dim=(1, 2))
            (squared.sum() / x.shape[1]).backward()
        loss_out.copy_(squared.detach())

    def leaves(self) -> list[Tensor]:
        return [leaf for group in self.groups for leaf in group]

    def state(self) -> dict:
        return {"flat": torch.cat([leaf.detach().reshape(-1) for leaf in self.leaves()])}

    def load_state(self, state: dict) -> None:
        offset = 0
        with torch.no_grad():
            for leaf in self.leaves():
                leaf.copy_(state["flat"][offset : offset + leaf.numel()].view_as(leaf))
                offset += leaf.numel()


def autograd_engine(
    per_model: list[list[Tensor]], hidden: list[int], lrs: list[float], weight_decays: list[float]
) -> tuple[AutogradMLP, AutogradAdam]:
    """The model and its optimizer: one group per run of models with equal (lr, weight decay)."""
    runs = consecutive_runs(list(zip(lrs, weight_decays)))
    model = AutogradMLP(per_model, hidden, [(start, stop) for _, start, stop in runs])
    return model, AutogradAdam(model, [setting for setting, _, _ in runs])


class AutogradAdam:
    """torch.optim.Adam (fused), one parameter group per group of the model."""

    def __init__(self, model: AutogradMLP, settings: list[tuple[float, float]]):
        groups = [
            {"params": leaves, "lr": lr, "weight_decay": decay} for (lr, decay), leaves in zip(settings, model.groups)
        ]
        self.optimizer = torch.optim.Adam(groups, betas=ADAM_BETAS, eps=ADAM_EPS, fused=True)

    def step(self) -> None:
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=False)

    def state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
