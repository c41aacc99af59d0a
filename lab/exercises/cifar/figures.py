"""Exercise 2's figures: its facts -> matplotlib figures as SVG strings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from lab.exercises.cifar.facts import Cifar, phases_of
from lab.exercises.cifar.names import class_name
from lab.report.messages import Messages
from lab.report.plotting import PALETTE, SMALLEST_PT, TEXT_WIDTH_IN, new_figure, styled, to_svg

msg = Messages(Path(__file__).parent)


# --- Exercise 2 ------------------------------------------------------------------


def mark_phases(ax, epochs, lang: str) -> None:
    """Shade each learning-rate phase and label it with its rate."""
    for k, phase in enumerate(phases_of(epochs)):
        start, end = phase["epoch"].iloc[0] - 0.5, phase["epoch"].iloc[-1] + 0.5
        if k % 2:
            ax.axvspan(start, end, color="#eef1f5", lw=0)
        if k:
            ax.axvline(start, color="#555555", lw=0.9, ls="--")
        ax.text(
            (start + end) / 2,
            1.0,
            f"lr = {phase['lr'].iloc[0]:g}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=SMALLEST_PT,
            color="#333333",
        )


# (split, marker, colour, legend) of the two curves on each panel of cifar_curves
CURVES = [
    ("train", "o", PALETTE[1], "train_curve"),
    ("test", "s", PALETTE[0], "test_curve"),
]


def cifar_curves(cifar: Cifar, lang: str) -> str:
    epochs = cifar.epochs
    with styled(lang):
        fig = new_figure(2.6)
        loss_ax, acc_ax = fig.subplots(1, 2)
        for ax, metric, ylabel in (
            (loss_ax, "loss", msg(lang, "cross_entropy_loss")),
            (acc_ax, "acc", msg(lang, "accuracy")),
        ):
            mark_phases(ax, epochs, lang)
            for split, marker, color, label in CURVES:
                ax.plot(
                    epochs["epoch"],
                    epochs[f"{split}_{metric}"],
                    marker=marker,
                    ms=3,
                    color=color,
                    label=msg(lang, label),
                )
            ax.set_xlabel(msg(lang, "epoch_axis"))
            ax.set_ylabel(ylabel)
            ax.set_xticks(epochs["epoch"])
            ax.set_xlim(epochs["epoch"].min() - 0.5, epochs["epoch"].max() + 0.5)
        handles, labels = acc_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        return to_svg(fig)


def confusion_matrix(cifar: Cifar, lang: str) -> str:
    matrix = cifar.confusion
    assert matrix is not None  # drawn only when the run wrote it (FIGURES)
    names = [class_name(c, lang) for c in matrix.index]
    counts = matrix.to_numpy()
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    with styled(lang):
        fig = new_figure(4.3, TEXT_WIDTH_IN * 0.75)
        ax = fig.subplots()
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                f"{count}",
                ha="center",
                va="center",
                fontsize=SMALLEST_PT,
                color="white" if rates[i, j] > 0.5 else "#222222",
            )
        ax.set_xticks(
            range(len(names)), names, rotation=45 if lang != "zh" else 0, ha="right" if lang != "zh" else "center"
        )
        ax.set_yticks(range(len(names)), names)
        ax.grid(False)
        ax.set_xlabel(msg(lang, "predicted_class"))
        ax.set_ylabel(msg(lang, "true_class"))
        return to_svg(fig)


# A bar label's height with its gap, and the gap alone, as shares of the axis' height (the
# figure's axis is about 1.8 inches tall: a label of 8 pt takes about 8 % of it).
LABEL_SHARE, GAP_SHARE = 8 / 105, 1 / 105


def label_size(ax) -> tuple[float, float]:
    """(a label's height, its gap) in the axis' units, from its limits as they are set."""
    bottom, top = ax.get_ylim()
    return LABEL_SHARE * (top - bottom), GAP_SHARE * (top - bottom)


def label_clear_of(ax, x: float, value: float, line: float) -> None:
    """A bar's value above it, unless the reference line at `line` would strike through it:
    then inside the bar's top (white), or, for a bar too short to hold it, just above the line.
    Call it once the axis' limits are set: the label's size is read from them."""
    height, gap = label_size(ax)
    y, va, color = value + gap, "bottom", "#222222"
    if value <= line <= value + gap + height:  # the line would cross a label above the bar
        if value - ax.get_ylim()[0] >= height + 2 * gap:
            y, va, color = value - gap, "top", "white"
        else:
            y = line + 1.5 * gap
    ax.text(x, y, f"{value:.1f}", ha="center", va=va, fontsize=SMALLEST_PT, color=color)


def per_class_bars(cifar: Cifar, lang: str) -> str:
    table = cifar.per_class
    assert table is not None
    names = [class_name(c, lang) for c in table["class"]]
    overall = 100 * table["correct"].sum() / max(table["total"].sum(), 1)
    with styled(lang):
        fig = new_figure(2.3, TEXT_WIDTH_IN * 0.85)
        ax = fig.subplots()
        bars = ax.bar(names, table["accuracy"], color=PALETTE[0], width=0.65)
        ax.axhline(overall, color=PALETTE[1], lw=1, ls="--", label=msg(lang, "overall", overall=overall))
        ax.set_ylim(0, 105)
        for bar, value in zip(bars, table["accuracy"]):
            label_clear_of(ax, bar.get_x() + bar.get_width() / 2, float(value), overall)
        ax.set_ylabel(msg(lang, "test_accuracy"))
        ax.tick_params(axis="x", labelrotation=0 if lang == "zh" else 30)
        ax.grid(axis="x", visible=False)
        fig.legend(loc="outside upper right")
        return to_svg(fig)


def misclassified_grid(cifar: Cifar, lang: str, limit: int = 16) -> str:
    data = cifar.misclassified
    assert data is not None
    images, classes = data["images"][:limit], [str(c) for c in data["classes"]]
    cols = 8
    rows = int(np.ceil(len(images) / cols))
    with styled(lang):
        height = 1.15 * rows + 0.1
        fig = Figure(figsize=(TEXT_WIDTH_IN, height))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.32 / height, bottom=0.01, wspace=0.08, hspace=0.32 / 0.8)
        for ax in axes:
            ax.axis("off")
        for ax, image, true, pred in zip(axes, images, data["true"], data["pred"]):
            ax.imshow(image, interpolation="nearest")
            ax.set_title(
                f"{class_name(classes[int(true)], lang)}\n→ {class_name(classes[int(pred)], lang)}",
                fontsize=SMALLEST_PT,
                color="#222222",
                pad=2,
                linespacing=1.1,
            )
        return to_svg(fig)
