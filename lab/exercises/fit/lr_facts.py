"""Exercise 1's facts of 1B: how training went at each learning rate, from its loss curves.

Facts tolerate partial data (a quick build with one seed): a comparison that the data
cannot support is ``None``, never a guess.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lab.exercises.fit.seed_curves import FLAT_TOLERANCE, SeedTail, Spike, largest_spike, seed_tail
from lab.exercises.fit.sweep_facts import Sweep
from lab.report.frames import finite, mean_std

# A learning rate "oscillates" when, for the median seed, the training loss
# climbs back to at least this multiple of the best loss it had reached. (Adam
# with a fitting step size wobbles by a few percent; lr 0.1 on the course
# function climbs ~2.5x, lr 1 by orders of magnitude.)
OSCILLATION_REBOUND = 1.5

# Loss-curve classification for 1B. A healthy full-batch Adam curve falls almost
# monotonically (wobbles of a few percent); these thresholds separate that from
# bouncing and from stalling. A learning rate oscillates when its median seed's
# rebound reaches OSCILLATION_REBOUND: from rebound.csv (every epoch) when the run
# wrote it, else from the thinned loss.csv curves.
STALLED_FRACTION = 0.8  # final loss above 80 % of the first: not decreasing
STILL_FALLING_FRACTION = 0.9  # final loss below 90 % of the mid-run loss: still converging


@dataclass
class LrBehaviour:
    """How training went at one learning rate, judged from its loss curves."""

    lr: float
    status: str  # diverged | stuck | oscillating | stalled | slow | converged
    seeds: int
    diverged_seeds: int
    diverged_epoch: int | None  # earliest over seeds
    oscillating_seeds: int
    stalled_seeds: int
    still_falling_seeds: int
    true_error: float
    train_loss: float
    # over the seeds that rebounded, the median of each one's last epoch with a rebound (loss.csv)
    oscillating_until: int | None = None
    plateau_from: int | None = None  # the median seed's first epoch of its final flat stretch
    final_losses: list[float] = field(default_factory=list)  # per seed, at the last epoch
    stuck: bool = False  # flat on a plateau well above the best rate's training loss
    stuck_seeds: int = 0  # seeds whose final loss is above STUCK_FACTOR x the best rate's
    # median over seeds of the largest loss / best-so-far ratio (rebound.csv; None without it)
    max_rebound: float | None = None
    # per seed, at the last epoch: % of hidden ReLU units that output 0 for every training x
    # (snapshots.csv's dead_units; empty for runs that did not write it)
    dead_units: list[float] = field(default_factory=list)
    tails: list[SeedTail] = field(default_factory=list)  # per seed that did not diverge (loss.csv)
    spikes: list[Spike] = field(default_factory=list)  # per seed whose loss rebounded (loss.csv)

    @property
    def flat_tolerance(self) -> float:
        return FLAT_TOLERANCE

    @property
    def flat_tails(self) -> list[SeedTail]:
        """The seeds whose loss stayed within FLAT_TOLERANCE of its final value over the last third."""
        return [t for t in self.tails if t.flat]

    @property
    def moving_tails(self) -> list[SeedTail]:
        return [t for t in self.tails if not t.flat]

    @property
    def all_flat(self) -> bool:
        return bool(self.tails) and not self.moving_tails

    @property
    def flat_from_all(self) -> int | None:
        """The epoch from which every seed's loss stays within FLAT_TOLERANCE (the latest seed's)."""
        return max(t.flat_from or 0 for t in self.tails) if self.all_flat else None

    @property
    def typical_spike(self) -> Spike | None:
        """The spike of the median seed by size, quoted as an example."""
        ranked = sorted(self.spikes, key=lambda s: s.ratio)
        return ranked[(len(ranked) - 1) // 2] if ranked else None

    @property
    def dead_share(self) -> float | None:
        """Mean over the seeds of ``dead_units`` (%), None when not measured."""
        return float(np.mean(self.dead_units)) if self.dead_units else None

    @property
    def troubled_seeds(self) -> int:
        """The seeds that show its status (0 for a status that is not a trouble)."""
        return {
            "diverged": self.diverged_seeds,
            "stuck": self.stuck_seeds,
            "oscillating": self.oscillating_seeds,
            "stalled": self.stalled_seeds,
        }.get(self.status, 0)

    @property
    def steady(self) -> bool:
        return self.status in ("converged", "slow")


@dataclass
class LrFacts:
    """1B: how the fit changes with the learning rate (fixed epochs)."""

    epochs: int
    lrs: list[float]  # largest first, as in the question
    behaviour: dict[float, LrBehaviour]
    best_lr: float | None
    best_true_error: float | None
    largest: float
    smallest: float

    # What the answer to 1B may claim (answers/1B.html.j2 words it).
    def most_dead_converged(self, lr: float) -> LrBehaviour | None:
        """Of the converged (or slowly converging) rates other than ``lr`` with a measured share
        of dead units, the one with the largest share."""
        measured = [b for b in self.behaviour.values() if b.steady and b.lr != lr and b.dead_share is not None]
        return max(measured, key=lambda b: b.dead_share or 0.0, default=None)

    def dead_units_verdict(self, lr: float) -> str | None:
        """What rate ``lr``'s dead units say about its high loss: "many" (at least
        MANY_DEAD_PERCENT dead and DEAD_MARGIN_POINTS more than at every rate that converged),
        "also_converged" (as many, but a rate that converged had about as many or more dead),
        "few" (under MANY_DEAD_PERCENT), or None when the run did not measure it."""
        share = self.behaviour[lr].dead_share
        if share is None:
            return None
        if share < MANY_DEAD_PERCENT:
            return "few"
        rival = self.most_dead_converged(lr)
        if rival is not None and share < (rival.dead_share or 0.0) + DEAD_MARGIN_POINTS:
            return "also_converged"
        return "many"

    @property
    def stuck_factor(self) -> float:
        return STUCK_FACTOR

    @property
    def rebound_threshold(self) -> float:
        """The loss / best-so-far ratio from which a rise counts as a rebound."""
        return OSCILLATION_REBOUND

    @property
    def middle(self) -> list[LrBehaviour]:
        """The rates between the largest and the smallest, largest first."""
        return [self.behaviour[lr] for lr in self.lrs if lr not in (self.largest, self.smallest)]

    @property
    def steady_others(self) -> list[LrBehaviour]:
        """The converged (or slowly converging) rates other than the smallest."""
        return [self.behaviour[lr] for lr in self.lrs if lr != self.smallest and self.behaviour[lr].steady]

    @property
    def smallest_fit_least(self) -> bool:
        """The smallest rate fit the true function best while fitting the points least (its
        training loss above every other converged rate's): slow convergence as early stopping."""
        others = self.steady_others
        return (
            self.best_lr is not None
            and self.best_lr == self.smallest
            and bool(others)
            and self.behaviour[self.smallest].train_loss > max(b.train_loss for b in others)
        )


def curve_shape(losses: np.ndarray) -> str:
    """diverged / oscillating / stalled / still_falling / settled for one seed's curve."""
    if losses.size == 0 or not np.all(np.isfinite(losses)):
        return "diverged"
    if losses.size > 1:
        best_before = np.maximum(np.minimum.accumulate(losses)[:-1], 1e-300)
        if np.max(losses[1:] / best_before) >= OSCILLATION_REBOUND:
            return "oscillating"
    if losses[-1] > STALLED_FRACTION * losses[0]:
        return "stalled"
    middle = losses[len(losses) // 2]
    if losses[-1] < STILL_FALLING_FRACTION * middle:
        return "still_falling"
    return "settled"


PLATEAU_BAND = 0.1  # a flat stretch: every later loss within 10 % of the final one
STUCK_FACTOR = 1.5  # stuck: flat at over 1.5 times the best rate's training loss
MANY_DEAD_PERCENT = 25.0  # dead units explain a plateau only when at least a quarter of the units are dead
DEAD_MARGIN_POINTS = 10.0  # ... and clearly more than at any rate that converged
EARLY_BOUNCE = 0.02  # rebounds only in the first 2 % of the epochs are a start-up bounce, not oscillation


def last_rebound_epoch(epochs: np.ndarray, losses: np.ndarray) -> int | None:
    """The last logged epoch at which the loss climbed back to OSCILLATION_REBOUND x its best so far."""
    if losses.size < 2 or not np.all(np.isfinite(losses)):
        return None
    best_before = np.maximum(np.minimum.accumulate(losses)[:-1], 1e-300)
    rebounds = np.flatnonzero(losses[1:] / best_before >= OSCILLATION_REBOUND)
    return int(epochs[rebounds[-1] + 1]) if rebounds.size else None


def plateau_epoch(epochs: np.ndarray, losses: np.ndarray) -> int | None:
    """The first logged epoch from which the loss stays within PLATEAU_BAND of its final value,
    when that stretch covers at least the last fifth of the run (else it is still moving)."""
    if losses.size < 5 or not np.all(np.isfinite(losses)):
        return None
    inside = np.abs(losses / losses[-1] - 1) <= PLATEAU_BAND
    outside = np.flatnonzero(~inside)
    start = outside[-1] + 1 if outside.size else 0
    return int(epochs[start]) if epochs[start] <= 0.8 * epochs[-1] else None


def median_epoch(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return int(np.median(known)) if len(known) * 2 > len(values) else None


def curves_of(loss: pd.DataFrame, lr: float, diverged: AbstractSet[int]):
    """(seed, its loss rows) at one learning rate, leaving out the seeds that diverged: loss.csv
    keeps only their finite start, which would pass for a curve that oscillated or stalled."""
    for seed, group in loss[np.isclose(loss["lr"], lr)].groupby("seed"):
        if seed not in diverged:
            yield seed, group


def curve_timeline(
    loss: pd.DataFrame, lr: float, diverged: AbstractSet[int] = frozenset()
) -> tuple[int | None, int | None, list[float]]:
    """(oscillating until, plateau from, final loss per seed) for one learning rate."""
    rebounds, plateaus, finals = [], [], []
    for _, group in curves_of(loss, lr, diverged):
        group = group.sort_values("epoch")
        epochs, losses = group["epoch"].to_numpy(), group["train_loss"].to_numpy(dtype=float)
        rebounds.append(last_rebound_epoch(epochs, losses))
        plateaus.append(plateau_epoch(epochs, losses))
        finals.append(float(losses[-1]))
    known = [r for r in rebounds if r is not None]
    until = int(np.median(known)) if known else None
    return until, median_epoch(plateaus), finals


def seed_readings(loss: pd.DataFrame, lr: float, diverged: AbstractSet[int]) -> tuple[list[SeedTail], list[Spike]]:
    """Per seed: its loss over the last third, and its largest spike (if any)."""
    tails, spikes = [], []
    for seed, group in curves_of(loss, lr, diverged):
        group = group.sort_values("epoch")
        epochs, losses = group["epoch"].to_numpy(), group["train_loss"].to_numpy(dtype=float)
        tail, spike = seed_tail(seed, epochs, losses), largest_spike(seed, epochs, losses, OSCILLATION_REBOUND)
        tails += [tail] if tail else []
        spikes += [spike] if spike else []
    return tails, spikes


def curve_shapes(loss: pd.DataFrame, lr: float, diverged: AbstractSet[int] = frozenset()) -> list[str]:
    shapes = []
    for _, group in curves_of(loss, lr, diverged):
        shapes.append(curve_shape(group.sort_values("epoch")["train_loss"].to_numpy(dtype=float)))
    return shapes


def rebounds_of(rebound: pd.DataFrame | None, lr: float) -> pd.Series | None:
    """Per seed, the largest loss / best-so-far ratio at every epoch (rebound.csv); None when
    the run did not write the table."""
    if rebound is None:
        return None
    return rebound.loc[np.isclose(rebound["lr"], lr), "rebound"].dropna()


def oscillating_by_rebound(rebound: pd.DataFrame | None, lr: float) -> bool | None:
    """The verdict from the loss at every epoch (rebound.csv): the median seed's rebound
    reaches OSCILLATION_REBOUND. None when the run did not write the table."""
    values = rebounds_of(rebound, lr)
    if values is None:
        return None
    return bool(len(values) and values.median() >= OSCILLATION_REBOUND)


def dead_units_at_end(rows: pd.DataFrame) -> list[float]:
    """Per seed (by seed), the % of hidden units dead at the last snapshot; [] if not measured."""
    if "dead_units" not in rows or not len(rows):
        return []
    last = rows[rows["epochs"] == rows["epochs"].max()].sort_values("seed")
    return [100.0 * float(v) for v in last["dead_units"] if np.isfinite(v)]


def diverged_seeds(snapshots: pd.DataFrame) -> set[tuple[float, int]]:
    """(lr, seed) of every model that diverged, as the snapshots record it."""
    rows = snapshots[snapshots["diverged"].fillna(0).astype(int) == 1]
    return {(float(lr), int(seed)) for lr, seed in zip(rows["lr"], rows["seed"])}


def lr_behaviour(sweep: Sweep, lr: float, best_lr: float | None) -> LrBehaviour:
    rows = sweep.snapshots[sweep.snapshots["lr"] == lr]
    gone = {seed for _, seed in diverged_seeds(rows)}
    shapes = curve_shapes(sweep.loss, lr, gone) if sweep.loss is not None else []
    diverged = len(gone) + shapes.count("diverged")
    epochs = finite(rows["diverged_epoch"]) if "diverged_epoch" in rows else np.array([])
    seeds = int(rows["seed"].nunique())
    majority = lambda shape: shapes.count(shape) * 2 > len(shapes)  # noqa: E731
    oscillating = oscillating_by_rebound(sweep.rebound, lr)
    if oscillating is None:
        oscillating = majority("oscillating")
    until, plateau, finals = curve_timeline(sweep.loss, lr, gone) if sweep.loss is not None else (None, None, [])
    epochs_run = int(rows["epochs"].max()) if len(rows) else 0
    if oscillating and until is not None and until < EARLY_BOUNCE * epochs_run:
        oscillating = False  # a bounce in the first steps only, then a steady descent
    if diverged:
        status = "diverged"
    elif oscillating:
        status = "oscillating"
    elif majority("stalled"):
        status = "stalled"
    elif majority("still_falling") and lr != best_lr:
        status = "slow"
    else:
        status = "converged"
    true_error, _ = mean_std(rows["true_error"])
    train_loss, _ = mean_std(rows["train_loss"])
    rebounds = rebounds_of(sweep.rebound, lr)
    tails, spikes = seed_readings(sweep.loss, lr, gone) if sweep.loss is not None else ([], [])
    return LrBehaviour(
        lr=lr,
        status=status,
        seeds=seeds,
        diverged_seeds=diverged,
        diverged_epoch=int(epochs.min()) if epochs.size else None,
        oscillating_seeds=(
            shapes.count("oscillating") if rebounds is None else int((rebounds >= OSCILLATION_REBOUND).sum())
        ),
        stalled_seeds=shapes.count("stalled"),
        still_falling_seeds=shapes.count("still_falling"),
        true_error=true_error,
        train_loss=train_loss,
        oscillating_until=until,
        plateau_from=plateau,
        final_losses=finals,
        dead_units=dead_units_at_end(rows),
        max_rebound=float(rebounds.median()) if rebounds is not None and len(rebounds) else None,
        tails=tails,
        spikes=spikes,
    )


def mark_stuck(behaviour: dict[float, LrBehaviour], best_lr: float | None) -> None:
    """A rate that did not diverge, stopped bouncing and then sat flat at well above the best
    rate's training loss is stuck, not oscillating."""
    if best_lr is None:
        return
    reference = behaviour[best_lr].train_loss
    for b in behaviour.values():
        settled = b.oscillating_until is None or (b.plateau_from is not None and b.oscillating_until <= b.plateau_from)
        flat_and_high = b.plateau_from is not None and np.median(b.final_losses) > STUCK_FACTOR * reference
        b.stuck = bool(b.status != "diverged" and settled and flat_and_high and b.lr != best_lr)
        b.stuck_seeds = int(sum(loss > STUCK_FACTOR * reference for loss in b.final_losses))
        if b.stuck:
            b.status = "stuck"


def lr_facts(sweep: Sweep) -> LrFacts:
    settings = sweep.settings
    lrs = sorted((float(lr) for lr in settings["lr"].unique()), reverse=True)
    healthy = settings[(settings["diverged"] == 0) & np.isfinite(settings["true_error_mean"])]
    best = healthy.loc[healthy["true_error_mean"].idxmin()] if len(healthy) else None
    best_lr = float(best["lr"]) if best is not None else None
    behaviour = {lr: lr_behaviour(sweep, lr, best_lr) for lr in lrs}
    mark_stuck(behaviour, best_lr)
    return LrFacts(
        epochs=int(settings["epochs"].iloc[0]),
        lrs=lrs,
        behaviour=behaviour,
        best_lr=best_lr,
        best_true_error=float(best["true_error_mean"]) if best is not None else None,
        largest=lrs[0],
        smallest=lrs[-1],
    )
