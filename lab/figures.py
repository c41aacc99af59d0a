"""Analysis tables -> matplotlib figures as SVG strings (text drawn as paths).

One palette, one set of sizes, drawn at the report's text width so a figure is
never scaled down until its labels are unreadable. Chinese labels need a CJK
font inside the figure itself: the SVG carries glyph outlines, not font names.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from functools import lru_cache

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.ticker  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lab.analysis import Cifar, Custom, Sweep, class_name  # noqa: E402

TEXT_WIDTH_IN = 6.3        # A4 minus the report's margins
MAX_CURVE_POINTS = 250     # per drawn curve: SVG paths stay small, so the PDF renders fast
RASTER_DPI = 200           # for the few artists drawn as images (scatter points, photos)
PALETTE = ["#1f5a96", "#d1495b", "#2e933c", "#edae49", "#6c4f9c", "#3aa6b9", "#8c6d46", "#555555"]
TRUTH, POINTS, DIVERGED = "#222222", "#b9c0c8", "#c0392b"
CJK_SANS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "WenQuanYi Zen Hei",
            "Source Han Sans SC", "Source Han Sans CN"]


def tr(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


@lru_cache(maxsize=None)
def installed_families() -> frozenset[str]:
    return frozenset(entry.name for entry in font_manager.fontManager.ttflist)


def font_families(lang: str) -> list[str]:
    """A CJK sans first when one is installed (its Latin is clean too), DejaVu as fallback."""
    cjk = [name for name in CJK_SANS if name in installed_families()][:1]
    return cjk + ["DejaVu Sans"]


def style(lang: str) -> dict:
    return {
        "font.family": font_families(lang), "font.size": 8.5, "axes.titlesize": 9,
        "axes.labelsize": 8.5, "xtick.labelsize": 7.5, "ytick.labelsize": 7.5, "legend.fontsize": 7.5,
        "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#444444",
        "axes.linewidth": 0.7, "axes.grid": True, "grid.color": "#e3e6ea", "grid.linewidth": 0.6,
        "axes.axisbelow": True, "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "lines.linewidth": 1.5, "legend.frameon": False, "svg.fonttype": "path",
        "svg.hashsalt": "labreport", "axes.unicode_minus": True, "figure.dpi": 100,
    }


@contextmanager
def styled(lang: str):
    with matplotlib.rc_context(style(lang)):
        yield


def to_svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
    return buffer.getvalue()


def new_figure(height: float, width: float = TEXT_WIDTH_IN) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def plain_number(value: float, _position=None) -> str:
    """1,000 or 0.01 for everyday magnitudes, 10⁶ beyond them."""
    if value <= 0:
        return f"{value:g}"
    exponent = np.log10(value)
    if (value >= 1e5 or value < 1e-3) and abs(exponent - round(exponent)) < 1e-9:
        return "10" + str(int(round(exponent))).translate(SUPERSCRIPTS)
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


class PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """matplotlib's choice of which log ticks to label, with plain_number's text."""

    def _num_to_string(self, x, vmin, vmax):
        return plain_number(x)


def plain_log_axis(axis) -> None:
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


def setting_label(column: str, value, lang: str) -> str:
    if column == "epochs":
        return tr(lang, f"{int(value):,} 轮", f"{int(value):,} epochs")
    return f"lr = {value:g}"


# --- Exercise 1 ------------------------------------------------------------------

def first_seed_points(data, seed):
    points = data[data["seed"] == seed] if "seed" in data else data
    return points["x"].to_numpy(), points["y"].to_numpy()


def draw_fit(ax, grid, data, curves, seed, lang: str, color=PALETTE[0]) -> None:
    """Training points, the true curve and the mean learnt curve with a min-max band over seeds."""
    x, y = first_seed_points(data, seed)
    ax.scatter(x, y, s=4, color=POINTS, lw=0, rasterized=True,
               label=tr(lang, "训练点（一个种子）", "training points (one seed)"))
    grid = thinned(grid)
    ax.plot(grid["x"], grid["y_true"], color=TRUTH, lw=1.1, ls="--", label=tr(lang, "真实函数", "true f(x)"))
    if curves is None or curves.empty:
        return
    wide = thinned(curves.pivot_table(index="x", columns="seed", values="y_pred", aggfunc="first"))
    values = wide.to_numpy(dtype=float)
    values = values[:, np.isfinite(values).all(axis=0)]   # a seed whose weights blew up has no curve
    if values.shape[1] == 0:
        return
    ax.fill_between(wide.index, np.nanmin(values, 1), np.nanmax(values, 1), color=color, alpha=0.22, lw=0,
                    label=tr(lang, "种子间最小–最大", "min–max over seeds"))
    ax.plot(wide.index, np.nanmean(values, 1), color=color, lw=1.4, label=tr(lang, "学到的曲线（均值）", "learnt curve (mean)"))


def thinned(frame, points: int = MAX_CURVE_POINTS):
    """Every k-th row (and the last): a 1000-point grid looks the same at panel size with 250."""
    step = max(len(frame) // points, 1)
    return frame if step == 1 else frame.iloc[sorted(set(range(0, len(frame), step)) | {len(frame) - 1})]


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
        return tr(lang, f"发散\n（第 {at} 轮）", f"diverged\nat epoch {at}")
    return tr(lang, f"{diverged}/{len(rows)} 个种子发散\n（第 {at} 轮起）",
              f"{diverged}/{len(rows)} seeds diverged\n(from epoch {at})")


def sweep_panels(sweep: Sweep, column: str, lang: str) -> str:
    """One panel per setting of the swept parameter."""
    values = sorted(sweep.snapshots[column].unique(), reverse=(column == "lr"))
    cols = min(len(values), 4 if len(values) != 3 else 3)
    rows = int(np.ceil(len(values) / cols))
    seed = sweep.seeds[0]
    with styled(lang):
        fig = new_figure(2.1 * rows + 0.35)
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
                ax.text(0.5, 0.95, note, transform=ax.transAxes, ha="center", va="top", color=DIVERGED,
                        fontsize=7.5, fontweight="bold", linespacing=1.2,
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
            ax.set_title(setting_label(column, value, lang))
            ax.set_ylim(*ylim)
            ax.set_xlabel("x")
        for ax in axes[len(values):]:
            ax.set_visible(False)
        axes[0].set_ylabel("y")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4, markerscale=3)
        return to_svg(fig)


def diverged_seeds(sweep: Sweep) -> set[tuple[float, int]]:
    rows = sweep.snapshots[sweep.snapshots["diverged"].fillna(0).astype(int) == 1]
    return {(float(lr), int(seed)) for lr, seed in zip(rows["lr"], rows["seed"])}


def loss_curves(sweep: Sweep, lang: str) -> str:
    """Training loss vs epoch (log-log); the noise variance as a reference line."""
    by_lr = sweep.params.get("sweep") == "lr" or sweep.loss["lr"].nunique() > 1
    with styled(lang):
        fig = new_figure(2.6)
        ax = fig.subplots()
        lrs = sorted(sweep.loss["lr"].unique(), reverse=True)
        diverged = diverged_seeds(sweep)
        for i, lr in enumerate(lrs):
            color = PALETTE[i % len(PALETTE)]
            for j, (seed, group) in enumerate(sweep.loss[sweep.loss["lr"] == lr].groupby("seed")):
                group = group.sort_values("epoch")
                loss = group["train_loss"].to_numpy(dtype=float)
                ok = np.isfinite(loss)
                label = (f"lr = {lr:g}" if by_lr else tr(lang, "各种子", "each seed")) if j == 0 else None
                ax.plot(group["epoch"][ok], loss[ok], color=color, lw=1.0, alpha=0.85, label=label)
                if ok.any() and ((lr, seed) in diverged or not ok.all()):
                    ax.plot([group["epoch"][ok].iloc[-1]], [loss[ok][-1]], marker="x", color=DIVERGED,
                            ms=6, mew=1.6, ls="none")
        if not by_lr:
            for epochs in sorted(sweep.snapshots["epochs"].unique()):
                ax.axvline(epochs, color="#999999", lw=0.7, ls=":")
        noise = float(sweep.params.get("noise_std", 0)) ** 2
        if noise > 0:
            ax.axhline(noise, color=TRUTH, lw=0.9, ls="--", label=tr(lang, f"噪声方差 σ² = {noise:g}",
                                                                        f"noise variance σ² = {noise:g}"))
        if diverged or not np.isfinite(sweep.loss["train_loss"].to_numpy(dtype=float)).all():
            ax.plot([], [], marker="x", color=DIVERGED, ls="none", label=tr(lang, "发散", "diverged"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax.xaxis)
        plain_log_axis(ax.yaxis)
        ax.set_xlabel(tr(lang, "训练轮数（epoch）", "epoch"))
        ax.set_ylabel(tr(lang, "训练损失（MSE）", "training loss (MSE)"))
        ax.legend(loc="upper right", ncol=2 if by_lr else 1)
        return to_svg(fig)


def error_vs_setting(sweep: Sweep, column: str, lang: str) -> str:
    """True error, held-out error and training loss per setting, mean ± std over seeds."""
    table = sweep.settings.sort_values(column)
    series = [("true_error", tr(lang, "真实误差（对无噪声 f 的 MSE）", "true error (MSE vs noise-free f)"), PALETTE[0], "o"),
              ("heldout_error", tr(lang, "留出集误差", "held-out error"), PALETTE[3], "s"),
              ("train_loss", tr(lang, "训练损失", "training loss"), PALETTE[1], "^")]
    with styled(lang):
        fig = new_figure(2.6, TEXT_WIDTH_IN * 0.8)
        ax = fig.subplots()
        for metric, label, color, marker in series:
            mean, std = table[f"{metric}_mean"].to_numpy(), table[f"{metric}_std"].to_numpy()
            ok = np.isfinite(mean)
            ax.errorbar(table[column][ok], mean[ok], yerr=np.nan_to_num(std[ok]), color=color, marker=marker,
                        ms=4, capsize=3, lw=1.2, label=label)
        for value in table.loc[table["diverged"] == table["seeds"], column]:
            ax.axvline(value, color=DIVERGED, lw=0.8, ls=":")
            ax.text(value, 0.97, tr(lang, " 发散", " diverged"), color=DIVERGED, transform=ax.get_xaxis_transform(),
                    va="top", fontsize=7.5)
        noise = float(sweep.params.get("noise_std", 0)) ** 2
        if noise > 0:
            ax.axhline(noise, color=TRUTH, lw=0.8, ls="--", label=tr(lang, "噪声方差 σ²", "noise variance σ²"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(table[column], [plain_number(v) for v in table[column]])
        ax.minorticks_off()
        plain_log_axis(ax.yaxis)
        ax.set_xlabel(tr(lang, "训练轮数", "epochs") if column == "epochs" else tr(lang, "学习率", "learning rate"))
        ax.set_ylabel(tr(lang, "均方误差", "mean squared error"))
        fig.legend(loc="outside right upper")
        return to_svg(fig)


def error_norm(values: np.ndarray):
    """Log colours when the errors span a decade or more, linear otherwise (cleaner colour bar)."""
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return Normalize(0, 1)
    low, high = values.min(), values.max()
    if high <= low:
        return Normalize(low * 0.9, high * 1.1)
    return LogNorm(low, high) if high / low >= 10 else Normalize(low, high)


def search_heatmap(custom: Custom, lang: str) -> str:
    """Mean validation error over lr x epochs, one panel per width; the chosen cell outlined."""
    table, facts = custom.search, custom.facts
    widths = sorted(table["width"].unique())
    lrs, epochs = sorted(table["lr"].unique()), sorted(table["epochs"].unique())
    norm = error_norm(table["val_error_mean"].to_numpy(dtype=float))
    with styled(lang):
        fig = new_figure(0.5 + 0.42 * len(lrs) + 0.6)
        axes = np.atleast_1d(fig.subplots(1, len(widths), squeeze=False)).ravel()
        for ax, width in zip(axes, widths):
            grid = (table[table["width"] == width]
                    .pivot_table(index="lr", columns="epochs", values="val_error_mean", aggfunc="first")
                    .reindex(index=lrs, columns=epochs))
            image = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis_r", norm=norm, aspect="auto")
            for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
                text = f"{value:.3g}" if np.isfinite(value) else tr(lang, "发散", "div.")
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if np.isfinite(value) and norm and norm(value) > 0.55 else "#111111")
            if width == facts.chosen_width:
                i, j = lrs.index(facts.chosen_lr), epochs.index(facts.chosen_epochs)
                ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=DIVERGED, lw=2))
            ax.set_xticks(range(len(epochs)), [f"{e:,}" for e in epochs])
            ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
            ax.grid(False)
            ax.set_title(tr(lang, f"隐藏层宽度 {width}", f"hidden width {width}"))
            ax.set_xlabel(tr(lang, "训练轮数", "epochs"))
        axes[0].set_ylabel(tr(lang, "学习率", "learning rate"))
        bar = fig.colorbar(image, ax=list(axes), shrink=0.9, format=matplotlib.ticker.FormatStrFormatter("%.3g"))
        bar.set_label(tr(lang, "验证误差", "validation error"))
        bar.minorticks_off()
        return to_svg(fig)


def custom_curves(custom: Custom, lang: str) -> str:
    """Baseline and chosen settings side by side on the student's function."""
    facts = custom.facts
    titles = {"baseline": tr(lang, f"基线：lr = {facts.baseline_lr:g}，{facts.baseline_epochs:,} 轮",
                             f"baseline: lr = {facts.baseline_lr:g}, {facts.baseline_epochs:,} epochs"),
              "chosen": tr(lang, f"选定：lr = {facts.chosen_lr:g}，{facts.chosen_epochs:,} 轮，宽度 {facts.chosen_width}",
                           f"chosen: lr = {facts.chosen_lr:g}, {facts.chosen_epochs:,} epochs, width {facts.chosen_width}")}
    seed = int(custom.snapshots["seed"].min())
    with styled(lang):
        fig = new_figure(2.5)
        axes = fig.subplots(1, 2, sharey=True)
        ylim = fit_limits(custom.grid, custom.data)
        for ax, label, color in zip(axes, ("baseline", "chosen"), (PALETTE[3], PALETTE[2])):
            data = custom.data[custom.data["label"] == label] if "label" in custom.data else custom.data
            curves = custom.curves[custom.curves["label"] == label]
            draw_fit(ax, custom.grid, data, curves, seed, lang, color=color)
            ax.set_title(titles[label])
            ax.set_ylim(*ylim)
            ax.set_xlabel("x")
        axes[0].set_ylabel("y")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4, markerscale=3)
        return to_svg(fig)


# --- Exercise 2 ------------------------------------------------------------------

def mark_phases(ax, epochs, lang: str) -> None:
    """Shade each learning-rate phase and label it with its rate."""
    change = (epochs["lr"].diff().fillna(0) != 0).cumsum()
    for k, (_, phase) in enumerate(epochs.groupby(change)):
        start, end = phase["epoch"].iloc[0] - 0.5, phase["epoch"].iloc[-1] + 0.5
        if k % 2:
            ax.axvspan(start, end, color="#eef1f5", lw=0)
        if k:
            ax.axvline(start, color="#555555", lw=0.9, ls="--")
        ax.text((start + end) / 2, 1.0, f"lr = {phase['lr'].iloc[0]:g}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7.5, color="#333333")


def cifar_curves(cifar: Cifar, lang: str) -> str:
    epochs = cifar.epochs
    with styled(lang):
        fig = new_figure(2.6)
        loss_ax, acc_ax = fig.subplots(1, 2)
        for ax, metric, ylabel in ((loss_ax, "loss", tr(lang, "交叉熵损失", "cross-entropy loss")),
                                   (acc_ax, "acc", tr(lang, "准确率（%）", "accuracy (%)"))):
            mark_phases(ax, epochs, lang)
            ax.plot(epochs["epoch"], epochs[f"train_{metric}"], marker="o", ms=3, color=PALETTE[1],
                    label=tr(lang, "训练（增强，整轮平均）", "train (augmented, epoch mean)"))
            ax.plot(epochs["epoch"], epochs[f"test_{metric}"], marker="s", ms=3, color=PALETTE[0],
                    label=tr(lang, "测试（轮末，eval 模式）", "test (end of epoch, eval mode)"))
            ax.set_xlabel(tr(lang, "训练轮数（epoch）", "epoch"))
            ax.set_ylabel(ylabel)
            ax.set_xticks(epochs["epoch"])
            ax.set_xlim(epochs["epoch"].min() - 0.5, epochs["epoch"].max() + 0.5)
        handles, labels = acc_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2)
        return to_svg(fig)


def confusion_matrix(cifar: Cifar, lang: str) -> str:
    matrix = cifar.confusion
    names = [class_name(c, lang) for c in matrix.index]
    counts = matrix.to_numpy()
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    with styled(lang):
        fig = new_figure(4.3, TEXT_WIDTH_IN * 0.75)
        ax = fig.subplots()
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(counts):
            ax.text(j, i, f"{count}", ha="center", va="center", fontsize=6.5,
                    color="white" if rates[i, j] > 0.5 else "#222222")
        ax.set_xticks(range(len(names)), names, rotation=45 if lang != "zh" else 0, ha="right" if lang != "zh" else "center")
        ax.set_yticks(range(len(names)), names)
        ax.grid(False)
        ax.set_xlabel(tr(lang, "预测类别", "predicted class"))
        ax.set_ylabel(tr(lang, "真实类别", "true class"))
        return to_svg(fig)


def per_class_bars(cifar: Cifar, lang: str) -> str:
    table = cifar.per_class
    names = [class_name(c, lang) for c in table["class"]]
    overall = 100 * table["correct"].sum() / max(table["total"].sum(), 1)
    with styled(lang):
        fig = new_figure(2.3, TEXT_WIDTH_IN * 0.85)
        ax = fig.subplots()
        bars = ax.bar(names, table["accuracy"], color=PALETTE[0], width=0.65)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1.5)
        ax.axhline(overall, color=PALETTE[1], lw=1, ls="--", label=tr(lang, f"总体 {overall:.2f}%", f"overall {overall:.2f}%"))
        ax.set_ylim(0, 105)
        ax.set_ylabel(tr(lang, "测试准确率（%）", "test accuracy (%)"))
        ax.tick_params(axis="x", labelrotation=0 if lang == "zh" else 30)
        ax.grid(axis="x", visible=False)
        fig.legend(loc="outside upper right")
        return to_svg(fig)


def misclassified_grid(cifar: Cifar, lang: str, limit: int = 16) -> str:
    data = cifar.misclassified
    images, classes = data["images"][:limit], [str(c) for c in data["classes"]]
    cols = 8
    rows = int(np.ceil(len(images) / cols))
    with styled(lang):
        height = 1.15 * rows + 0.1
        fig = Figure(figsize=(TEXT_WIDTH_IN, height))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.32 / height, bottom=0.01, wspace=0.08,
                            hspace=0.32 / 0.8)
        for ax in axes:
            ax.axis("off")
        for ax, image, true, pred in zip(axes, images, data["true"], data["pred"]):
            ax.imshow(image, interpolation="nearest")
            ax.set_title(f"{class_name(classes[int(true)], lang)}\n→ {class_name(classes[int(pred)], lang)}",
                         fontsize=7, color="#222222", pad=2, linespacing=1.1)
        return to_svg(fig)
