"""Exercise 1's figures: its facts -> matplotlib figures as SVG strings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lab.exercises.fit.custom_facts import Custom, layers_text
from lab.exercises.fit.lr_facts import diverged_seeds
from lab.exercises.fit.sweep_facts import Sweep
from lab.report.messages import Messages
from lab.report.plotting import (
    DIVERGED,
    PALETTE,
    POINTS,
    SMALLEST_PT,
    TEXT_WIDTH_IN,
    TRUTH,
    new_figure,
    plain_log_axis,
    plain_number,
    styled,
    thinned,
    to_svg,
)

msg = Messages(Path(__file__).parent)


def setting_label(column: str, value, lang: str) -> str:
    if column == "epochs":
        return msg(lang, "n_epochs", epochs=int(value))
    return f"lr = {value:g}"


# --- Exercise 1 ------------------------------------------------------------------


def first_seed_points(data, seed):
    points = data[data["seed"] == seed] if "seed" in data else data
    return points["x"].to_numpy(), points["y"].to_numpy()


def draw_fit(ax, grid, data, curves, seed, lang: str, color=PALETTE[0]) -> None:
    """Training points, the true curve and the mean learnt curve with a min-max band over seeds."""
    x, y = first_seed_points(data, seed)
    ax.scatter(x, y, s=4, color=POINTS, lw=0, rasterized=True, label=msg(lang, "training_points_one_seed"))
    grid = thinned(grid)
    ax.plot(grid["x"], grid["y_true"], color=TRUTH, lw=1.1, ls="--", label=msg(lang, "true_function"))
    if curves is None or curves.empty:
        return
    wide = thinned(curves.pivot_table(index="x", columns="seed", values="y_pred", aggfunc="first"))
    values = wide.to_numpy(dtype=float)
    values = values[:, np.isfinite(values).all(axis=0)]  # a seed whose weights blew up has no curve
    if values.shape[1] == 0:
        return
    ax.fill_between(
        wide.index,
        np.nanmin(values, 1),
        np.nanmax(values, 1),
        color=color,
        alpha=0.22,
        lw=0,
        label=msg(lang, "min_max_over_seeds"),
    )
    ax.plot(wide.index, np.nanmean(values, 1), color=color, lw=1.4, label=msg(lang, "learnt_curve_mean"))


def fit_limits(grid, data) -> tuple[float, float]:
    low = min(grid["y_true"].min(), np.percentile(data["y"], 1))
    high = max(grid["y_true"].max(), np.percentile(data["y"], 99))
    pad = 0.08 * (high - low)
    return low - pad, high + pad


def diverged_note(rows, lang: str) -> str | None:
    diverged = int(rows["diverged"].fillna(0).sum())
    if not diverged:
        return None
    epochs = rows["diverged_epoch"].dropna()
    at = f"{int(epochs.min())}" if len(epochs) else "?"
    if diverged == len(rows):
        return msg(lang, "diverged_at", at=at)
    return msg(lang, "seeds_diverged_from", diverged=diverged, seeds=len(rows), at=at)


def sweep_panels(sweep: Sweep, column: str, lang: str) -> str:
    """One panel per setting of the swept parameter."""
    values = sorted(sweep.snapshots[column].unique(), reverse=(column == "lr"))
    cols = min(len(values), 4 if len(values) != 3 else 3)
    rows = int(np.ceil(len(values) / cols))
    seed = sweep.seeds[0]
    with styled(lang):
        fig = new_figure(1.85 * rows + 0.35)
        axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
        ylim = fit_limits(sweep.grid, sweep.data)
        for ax, value in zip(axes, values):
            rows_here = sweep.snapshots[sweep.snapshots[column] == value]
            curves = sweep.curves[np.isclose(sweep.curves[column], value)] if sweep.curves is not None else None
            gone = rows_here.loc[rows_here["diverged"].fillna(0).astype(int) == 1, "seed"]
            if curves is not None:
                curves = curves[~curves["seed"].isin(gone)]
            draw_fit(ax, sweep.grid, sweep.data, curves, seed, lang)
            note = diverged_note(rows_here, lang)
            if note:
                ax.text(
                    0.5,
                    0.95,
                    note,
                    transform=ax.transAxes,
                    ha="center",
                    va="top",
                    color=DIVERGED,
                    fontsize=SMALLEST_PT,
                    fontweight="bold",
                    linespacing=1.2,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
                )
            ax.set_title(setting_label(column, value, lang))
            ax.set_ylim(*ylim)
            ax.set_xlabel("x")
        for ax in axes[len(values) :]:
            ax.set_visible(False)
        axes[0].set_ylabel("y")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4, markerscale=3)
        return to_svg(fig)


SCALE_APART = 10  # a rate whose loss peaks this many times above the calmest rate's peak gets its own panel


def apart(sweep: Sweep, lrs: list[float]) -> tuple[list[float], list[float]]:
    """(the rates drawn together, the rates whose peaks would squash them: drawn on their own)."""
    losses = sweep.loss["train_loss"].where(np.isfinite(sweep.loss["train_loss"]))
    peaks = losses.groupby(sweep.loss["lr"]).max()
    calm = peaks.min()
    wild = [lr for lr in lrs if peaks.get(lr, calm) > SCALE_APART * calm]
    return [lr for lr in lrs if lr not in wild], wild


def loss_curves(sweep: Sweep, lang: str) -> str:
    """Training loss vs epoch (log-log); the noise variance as a reference line. A rate whose
    loss peaks far above the others is drawn on a panel of its own, so the others stay apart."""
    by_lr = sweep.params.get("sweep") == "lr" or sweep.loss["lr"].nunique() > 1
    lrs = sorted(sweep.loss["lr"].unique(), reverse=True)
    together, wild = apart(sweep, lrs) if by_lr else (lrs, [])
    colors = {lr: PALETTE[i % len(PALETTE)] for i, lr in enumerate(lrs)}
    with styled(lang):
        fig = new_figure(2.3 if not wild else 2.5)
        groups = [together, wild] if wild and together else [lrs]
        axes = np.atleast_1d(fig.subplots(1, len(groups), width_ratios=[3, 2][: len(groups)], squeeze=False)).ravel()
        for ax, group in zip(axes, groups):
            draw_losses(ax, sweep, group, colors, by_lr, lang)
        if by_lr:  # one legend below the panels, clear of every curve
            handles, labels = one_legend(axes, first=[f"lr = {lr:g}" for lr in lrs])
            fig.legend(handles, labels, loc="outside lower center", ncol=(len(labels) + 1) // 2)
        else:
            axes[0].legend(loc="upper right")
        axes[0].set_ylabel(msg(lang, "training_loss_mse"))
        return to_svg(fig)


def one_legend(axes, first: list[str]) -> tuple[list, list[str]]:
    """The panels' legend entries, each label once: those named in ``first`` in its order, then
    the rest as the panels draw them."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    labels = [label for label in first if label in entries] + [label for label in entries if label not in first]
    return [entries[label] for label in labels], labels


def draw_losses(ax, sweep: Sweep, lrs: list[float], colors: dict, by_lr: bool, lang: str) -> None:
    """Each seed's training loss at each of `lrs`; a cross where a seed diverged."""
    diverged = diverged_seeds(sweep.snapshots)
    for lr in lrs:
        for j, (seed, group) in enumerate(sweep.loss[sweep.loss["lr"] == lr].groupby("seed")):
            group = group.sort_values("epoch")
            loss = group["train_loss"].to_numpy(dtype=float)
            ok = np.isfinite(loss)
            label = (f"lr = {lr:g}" if by_lr else msg(lang, "each_seed")) if j == 0 else None
            ax.plot(group["epoch"][ok], loss[ok], color=colors[lr], lw=1.0, alpha=0.85, label=label)
            if ok.any() and ((lr, seed) in diverged or not ok.all()):
                ax.plot(
                    [group["epoch"][ok].iloc[-1]], [loss[ok][-1]], marker="x", color=DIVERGED, ms=6, mew=1.6, ls="none"
                )
    if not by_lr:
        for epochs in sorted(sweep.snapshots["epochs"].unique()):
            ax.axvline(epochs, color="#999999", lw=0.7, ls=":")
    noise = float(sweep.params.get("noise_std", 0)) ** 2
    if noise > 0:
        ax.axhline(noise, color=TRUTH, lw=0.9, ls="--", label=msg(lang, "noise_variance_value", noise=noise))
    shown = sweep.loss[sweep.loss["lr"].isin(lrs)]["train_loss"].to_numpy(dtype=float)
    if any(lr == d for lr in lrs for d, _ in diverged) or not np.isfinite(shown).all():
        ax.plot([], [], marker="x", color=DIVERGED, ls="none", label=msg(lang, "diverged"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_axis(ax.xaxis)
    plain_log_axis(ax.yaxis)
    ax.set_xlabel(msg(lang, "epoch"))


def error_vs_setting(sweep: Sweep, column: str, lang: str) -> str:
    """True error, held-out error and training loss per setting, mean ± SE over seeds."""
    table = sweep.settings.sort_values(column)
    series = [
        ("true_error", msg(lang, "true_error_axis"), PALETTE[0], "o"),
        ("heldout_error", msg(lang, "held_out_error"), PALETTE[3], "s"),
        ("train_loss", msg(lang, "training_loss"), PALETTE[1], "^"),
    ]
    with styled(lang):
        fig = new_figure(2.3, TEXT_WIDTH_IN * 0.8)
        ax = fig.subplots()
        for metric, label, color, marker in series:
            mean, se = table[f"{metric}_mean"].to_numpy(), np.nan_to_num(table[f"{metric}_se"].to_numpy())
            ok = np.isfinite(mean)
            # On the log axis a bar cannot reach zero: one that would stops at the lowest seed.
            lowest = sweep.snapshots.groupby(column)[metric].min().reindex(table[column]).to_numpy()
            below = np.where(mean - se > 0, se, mean - lowest)
            ax.errorbar(
                table[column][ok],
                mean[ok],
                yerr=[below[ok], se[ok]],
                color=color,
                marker=marker,
                ms=4,
                capsize=3,
                lw=1.2,
                label=label,
            )
        for value in table.loc[table["diverged"] == table["seeds"], column]:
            ax.axvline(value, color=DIVERGED, lw=0.8, ls=":")
            ax.text(
                value,
                0.97,
                msg(lang, "diverged_suffix"),
                color=DIVERGED,
                transform=ax.get_xaxis_transform(),
                va="top",
                fontsize=SMALLEST_PT,
            )
        noise = float(sweep.params.get("noise_std", 0)) ** 2
        if noise > 0:
            ax.axhline(noise, color=TRUTH, lw=0.8, ls="--", label=msg(lang, "noise_variance"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(table[column], [plain_number(v) for v in table[column]])
        ax.minorticks_off()
        plain_log_axis(ax.yaxis)
        ax.set_xlabel(msg(lang, "epochs") if column == "epochs" else msg(lang, "learning_rate"))
        ax.set_ylabel(msg(lang, "mean_squared_error"))
        fig.legend(loc="outside right upper")
        return to_svg(fig)


def around_the_minima(curves) -> tuple[float, float]:
    """The validation errors the choice rests on: from the lowest curve minimum to the highest,
    with as much room again above (earlier epochs, far higher, leave the frame)."""
    groups = curves.groupby(["depth", "width", "lr", "weight_decay"])["val_error"]
    lows = groups.min().dropna().to_numpy(dtype=float)
    low, high = float(lows.min()), float(lows.max())
    spread = max(high - low, 0.02 * abs(low), 1e-6)
    return low - 0.15 * spread, high + spread


def search_curves(custom: Custom, lang: str) -> str:
    """Each setting's mean validation curve over epochs, one panel per network shape;
    a dot at each curve's minimum (its early-stopping epoch), the chosen one thick."""
    curves, facts = custom.cv_curves, custom.facts
    shapes = sorted({(int(d), int(w)) for d, w in zip(curves["depth"], curves["width"])})
    optimizer_settings = sorted({(float(lr), float(wd)) for lr, wd in zip(curves["lr"], curves["weight_decay"])})
    colors = {setting: PALETTE[i % len(PALETTE)] for i, setting in enumerate(optimizer_settings)}
    several_decays = len({wd for _, wd in optimizer_settings}) > 1
    with styled(lang):
        fig = new_figure(2.6)
        axes = np.atleast_1d(fig.subplots(1, len(shapes), sharey=True, squeeze=False)).ravel()
        axes[0].set_ylim(*around_the_minima(curves))
        for ax, (depth, width) in zip(axes, shapes):
            for (lr, wd), color in colors.items():
                rows = curves[
                    (curves["networks"] == 1)
                    & (curves["depth"] == depth)
                    & (curves["width"] == width)
                    & np.isclose(curves["lr"], lr)
                    & np.isclose(curves["weight_decay"], wd)
                ].sort_values("epochs")
                values = rows["val_error"].to_numpy(dtype=float)
                if not np.isfinite(values).any():
                    continue
                chosen = (lr, wd, width, depth, 1) == (
                    facts.chosen_lr,
                    facts.chosen_weight_decay,
                    facts.chosen_width,
                    facts.chosen_depth,
                    facts.chosen_networks,
                )
                label = f"lr = {lr:g}" + (f", wd = {wd:g}" if several_decays else "")
                ax.plot(rows["epochs"], values, color=color, lw=2.4 if chosen else 1.0, label=label)
                best = int(np.nanargmin(values))
                ax.plot(rows["epochs"].iloc[best], values[best], "o", color=color, ms=6 if chosen else 3.5)
            _draw_average(ax, curves, facts, depth, width, lang)
            ax.set_xscale("log")
            plain_log_axis(ax.xaxis)
            ax.set_title(msg(lang, "hidden_width", width=layers_text([width] * int(depth))))
            ax.set_xlabel(msg(lang, "epochs"))
        axes[0].set_ylabel(msg(lang, "validation_error_cv"))
        handles, labels = _legend_of_all(axes)
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4))
        return to_svg(fig)


def _legend_of_all(axes) -> tuple[list, list[str]]:
    """Each label once, from every panel (the averaged candidate's line is in one of them)."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    return handles, labels


def _draw_average(ax, curves, facts, depth: int, width: int, lang: str) -> None:
    """The averaged candidate's mean validation curve, dashed, in its network shape's panel."""
    rows = curves[(curves["networks"] > 1) & (curves["depth"] == depth) & (curves["width"] == width)]
    rows = rows.sort_values("epochs")
    values = rows["val_error"].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return
    lr, networks = float(rows["lr"].iloc[0]), int(rows["networks"].iloc[0])
    chosen = facts.chosen_networks > 1
    label = msg(lang, "average_of", networks=networks, lr=f"{lr:g}")
    ax.plot(rows["epochs"], values, color=TRUTH, ls="--", lw=2.4 if chosen else 1.0, label=label)
    best = int(np.nanargmin(values))
    ax.plot(rows["epochs"].iloc[best], values[best], "o", color=TRUTH, ms=6 if chosen else 3.5)


def custom_curves(custom: Custom, lang: str) -> str:
    """Baseline and chosen settings side by side on the student's function."""
    facts = custom.facts
    titles = {
        "baseline": msg(
            lang,
            "baseline_title",
            lr=facts.baseline_lr,
            epochs=facts.baseline_epochs,
            hidden=layers_text(facts.baseline_hidden),
        ),
        "chosen": msg(
            lang,
            "chosen_title",
            lr=facts.chosen_lr,
            epochs=facts.chosen_epochs,
            hidden=layers_text([facts.chosen_width] * facts.chosen_depth),
        )
        + (msg(lang, "mean_of_networks", networks=facts.chosen_networks) if facts.chosen_networks > 1 else ""),
    }
    seed = int(custom.snapshots["seed"].min())
    with styled(lang):
        fig = new_figure(2.5)
        axes = fig.subplots(1, 2, sharey=True)
        ylim = fit_limits(custom.grid, custom.data)
        # one colour in both panels, so the shared legend matches each (the titles tell them apart)
        for ax, label in zip(axes, ("baseline", "chosen")):
            data = custom.data[custom.data["label"] == label] if "label" in custom.data else custom.data
            curves = custom.curves[custom.curves["label"] == label]
            draw_fit(ax, custom.grid, data, curves, seed, lang)
            ax.set_title(titles[label])
            ax.set_ylim(*ylim)
            ax.set_xlabel("x")
        axes[0].set_ylabel("y")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4, markerscale=3)
        return to_svg(fig)
