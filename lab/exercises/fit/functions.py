"""Exercise 1 data: noisy training points, a held-out noisy set, the dense grid
of the noise-free function, and the k folds used for tuning.

Everything random is driven by the run's seed, one independent stream per
purpose, so the training points of seed 2019 are the same whether or not a
held-out set or the folds are drawn beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

Tensor = torch.Tensor
Function = Callable[[Tensor], Tensor]

STREAMS = ("train", "heldout", "init", "split")


@dataclass(frozen=True)
class Points:
    """x and y as float64 vectors of equal length."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return self.x.numel()

    def subset(self, index: Tensor) -> Points:
        return Points(self.x[index], self.y[index])


def seeded_generator(seed: int, stream: str) -> torch.Generator:
    """A torch generator for one purpose (a name in STREAMS) under ``seed``."""
    state = np.random.SeedSequence([int(seed), STREAMS.index(stream)]).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


def noisy_points(
    f: Function, x_range: tuple[float, float], count: int, noise_std: float, generator: torch.Generator
) -> Points:
    """x ~ U[lo, hi], y = f(x) + N(0, noise_std²)."""
    lo, hi = (float(v) for v in x_range)
    x = lo + (hi - lo) * torch.rand(count, generator=generator, dtype=torch.float64)
    noise = torch.randn(count, generator=generator, dtype=torch.float64) * noise_std
    return Points(x, f(x).to(torch.float64) + noise)


def training_points(f: Function, x_range, samples: int, noise_std: float, seed: int) -> Points:
    return noisy_points(f, x_range, samples, noise_std, seeded_generator(seed, "train"))


def heldout_points(f: Function, x_range, count: int, noise_std: float, seed: int) -> Points:
    """A second noisy draw like the training points, never trained on."""
    return noisy_points(f, x_range, count, noise_std, seeded_generator(seed, "heldout"))


def dense_grid(f: Function, x_range, points: int) -> Points:
    """``points`` evenly spaced x over [lo, hi] and the noise-free f(x)."""
    lo, hi = (float(v) for v in x_range)
    x = torch.linspace(lo, hi, points, dtype=torch.float64)
    return Points(x, f(x).to(torch.float64))


def kfold_indices(count: int, folds: int, seed: int) -> list[Tensor]:
    """The validation indices of each of ``folds`` folds, each sorted: a random
    partition of range(count) into parts whose sizes differ by at most one."""
    order = torch.randperm(count, generator=seeded_generator(seed, "split"))
    return [part.sort().values for part in torch.tensor_split(order, folds)]
