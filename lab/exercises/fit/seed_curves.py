"""Exercise 1B's per-seed readings of a loss curve (loss.csv), so that a sentence about a learning
rate holds for every seed it counts: where each seed's loss levelled off, and its largest spike.

Both read the logged epochs only (loss.csv is thinned on a log scale: dense early, sparse late).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# "On a plateau": every logged loss over the last third of the run within 5 % of the final one.
FLAT_TOLERANCE = 0.05
FLAT_SPAN = 1 / 3


@dataclass
class SeedTail:
    """One seed's loss over the last FLAT_SPAN of the run."""

    seed: int
    start_epoch: int  # the first logged epoch of the last third
    start_loss: float
    end_epoch: int
    end_loss: float
    flat_from: int | None  # first logged epoch from which every later loss is within FLAT_TOLERANCE of the final
    departure: float = 0.0  # the largest |loss / final - 1| over the last third

    @property
    def flat(self) -> bool:
        return self.flat_from is not None and self.flat_from <= self.start_epoch

    @property
    def drifted(self) -> bool:
        """Not flat, and its last-third start and end differ by FLAT_TOLERANCE or more (else it went
        up and down and came back)."""
        return abs(self.end_loss / self.start_loss - 1) >= FLAT_TOLERANCE

    @property
    def fell(self) -> bool:
        return self.end_loss < self.start_loss


@dataclass
class Spike:
    """One seed's largest rise of the loss over its lowest value so far."""

    seed: int
    before_epoch: int  # where the lowest loss before the peak was logged
    before_loss: float
    peak_epoch: int
    peak_loss: float
    recovered_epoch: int | None  # first logged epoch after the peak at or below before_loss
    later_rebound_epoch: int | None  # last logged rebound (same threshold) after recovering

    @property
    def ratio(self) -> float:
        return self.peak_loss / self.before_loss

    @property
    def recovery_epochs(self) -> int | None:
        return None if self.recovered_epoch is None else self.recovered_epoch - self.peak_epoch


def seed_tail(seed: int, epochs: np.ndarray, losses: np.ndarray) -> SeedTail | None:
    if losses.size < 2 or not np.all(np.isfinite(losses)):
        return None
    start = int(np.flatnonzero(epochs >= (1 - FLAT_SPAN) * epochs[-1])[0])
    inside = np.abs(losses / losses[-1] - 1) < FLAT_TOLERANCE
    outside = np.flatnonzero(~inside)
    flat_index = outside[-1] + 1 if outside.size else 0
    return SeedTail(
        seed=int(seed),
        start_epoch=int(epochs[start]),
        start_loss=float(losses[start]),
        end_epoch=int(epochs[-1]),
        end_loss=float(losses[-1]),
        flat_from=int(epochs[flat_index]) if flat_index < losses.size else None,
        departure=float(np.max(np.abs(losses[start:] / losses[-1] - 1))),
    )


def largest_spike(seed: int, epochs: np.ndarray, losses: np.ndarray, threshold: float) -> Spike | None:
    """The logged epoch where the loss stood highest over its best so far, when that reaches
    ``threshold`` times the best; None for a curve without such a rise."""
    if losses.size < 2 or not np.all(np.isfinite(losses)):
        return None
    best_before = np.maximum(np.minimum.accumulate(losses)[:-1], 1e-300)
    ratios = losses[1:] / best_before
    peak = int(np.argmax(ratios)) + 1
    if ratios[peak - 1] < threshold:
        return None
    before = int(np.argmin(losses[:peak]))
    after = np.flatnonzero(losses[peak:] <= losses[before])
    recovered = peak + int(after[0]) if after.size else None
    later = None
    if recovered is not None and recovered + 1 < losses.size:
        rises = np.flatnonzero(ratios[recovered:] >= threshold)
        later = int(epochs[recovered + 1 + rises[-1]]) if rises.size else None
    return Spike(
        seed=int(seed),
        before_epoch=int(epochs[before]),
        before_loss=float(losses[before]),
        peak_epoch=int(epochs[peak]),
        peak_loss=float(losses[peak]),
        recovered_epoch=int(epochs[recovered]) if recovered is not None else None,
        later_rebound_epoch=later,
    )


def span(values: list) -> tuple:
    """(lowest, highest) of the values, for a sentence that states a range over seeds."""
    return (min(values), max(values)) if values else (None, None)
