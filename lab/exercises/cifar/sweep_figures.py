"""The sweep's figure: test accuracy by epoch, the course schedule's seeds as a band, each variant a line."""

from __future__ import annotations

from pathlib import Path

from lab.exercises.cifar.sweep import SweepFacts
from lab.report.messages import Messages
from lab.report.plotting import PALETTE, new_figure, styled, to_svg

msg = Messages(Path(__file__).parent)


def sweep_curves(sweep: SweepFacts, lang: str) -> str:
    by_seed = sweep.test_by_seed
    with styled(lang):
        fig = new_figure(2.6)
        ax = fig.subplots()
        epochs = by_seed.index.to_numpy()
        if sweep.several_seeds:
            ax.fill_between(
                epochs,
                by_seed.min(axis=1),
                by_seed.max(axis=1),
                color=PALETTE[0],
                alpha=0.2,
                lw=0,
                label=msg(lang, "sweep_band", n=len(sweep.seeds)),
            )
            ax.plot(epochs, by_seed.mean(axis=1), marker="s", ms=3, color=PALETTE[0], label=msg(lang, "sweep_mean"))
        else:
            ax.plot(epochs, by_seed.iloc[:, 0], marker="s", ms=3, color=PALETTE[0], label=msg(lang, "sweep_course"))
        for color, variant in zip(PALETTE[1:], sweep.variants[1:]):
            frame = variant.epochs
            ax.plot(frame["epoch"], frame["test_acc"], marker="o", ms=3, color=color, label=variant.name)
        ax.set_xlabel(msg(lang, "epoch_axis"))
        ax.set_ylabel(msg(lang, "test_accuracy"))
        ax.set_xticks(epochs)
        fig.legend(loc="outside lower center", ncol=3)
        return to_svg(fig)
