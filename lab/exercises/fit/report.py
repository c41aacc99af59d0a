"""Exercise 1 in the report: its figures, tables, parameter rows and answers, for the report builder."""
from __future__ import annotations

from lab.exercises.fit import figures
from lab.exercises.fit.answers import GENERATORS  # noqa: F401  (the report builder reads it)
from lab.exercises.fit.facts import FitAnalysis, analyse, csv_tables  # noqa: F401
from lab.report.items import FigureSpec, Table
from lab.report.plotting import tr
from lab.report.wording import lr_text, num, pm

RUN_TITLES = {"fit.epochs": ("练习 1A：训练轮数", "Exercise 1A: epochs"),
              "fit.lr": ("练习 1B：学习率", "Exercise 1B: learning rate"),
              "fit.custom": ("练习 1C：自定义函数", "Exercise 1C: own function")}

FIGURES = [
    FigureSpec("fig:epochs_panels", "fit.epochs", lambda a, lang: figures.sweep_panels(a.epochs, "epochs", lang),
               ("不同训练轮数下学到的曲线（均值，阴影为种子间最小–最大范围）、真实函数和训练点。",
                "Learnt curves for each number of epochs (mean; the band spans the seeds' minimum to maximum), "
                "the true function and the training points.")),
    FigureSpec("fig:epochs_loss", "fit.epochs", lambda a, lang: figures.loss_curves(a.epochs, lang),
               ("训练损失随轮数的变化（双对数坐标）；竖虚线为快照轮数，横虚线为噪声方差 σ²。",
                "Training loss over epochs (log–log); dotted lines mark the snapshot epochs, the dashed line the noise variance σ².")),
    FigureSpec("fig:epochs_errors", "fit.epochs", lambda a, lang: figures.error_vs_setting(a.epochs, "epochs", lang),
               ("真实误差、留出集误差和训练损失随训练轮数的变化（均值 ± 标准差）。",
                "True error, held-out error and training loss against the number of epochs (mean ± std over seeds).")),
    FigureSpec("fig:lr_panels", "fit.lr", lambda a, lang: figures.sweep_panels(a.lr, "lr", lang),
               ("不同学习率下学到的曲线；发散的设置以红字标出。",
                "Learnt curves for each learning rate; diverged settings are marked in red.")),
    FigureSpec("fig:lr_loss", "fit.lr", lambda a, lang: figures.loss_curves(a.lr, lang),
               ("各学习率的训练损失曲线（每个种子一条，双对数坐标）；× 表示发散。",
                "Training-loss curves per learning rate (one per seed, log–log); × marks a divergence.")),
    FigureSpec("fig:lr_errors", "fit.lr", lambda a, lang: figures.error_vs_setting(a.lr, "lr", lang),
               ("真实误差、留出集误差和训练损失随学习率的变化（均值 ± 标准差）。",
                "True error, held-out error and training loss against the learning rate (mean ± std over seeds).")),
    FigureSpec("fig:custom_search", "fit.custom", lambda a, lang: figures.search_heatmap(a.custom, lang),
               ("网格搜索的验证误差（种子均值）；红框为选定的设置。",
                "Validation error of the grid search (mean over seeds); the red box marks the chosen setting.")),
    FigureSpec("fig:custom_curves", "fit.custom", lambda a, lang: figures.custom_curves(a.custom, lang),
               ("自定义函数：基线设置与选定设置学到的曲线。", "Own function: curves learnt with the baseline and the chosen settings.")),
]


def metric_columns(lang: str) -> list[str]:
    return [tr(lang, "训练损失", "training loss"), tr(lang, "真实误差", "true error"),
            tr(lang, "留出集误差", "held-out error"), tr(lang, "发散", "diverged"), tr(lang, "用时 (s)", "time (s)")]


def metric_cells(row) -> list[str]:
    return [pm(row["train_loss_mean"], row["train_loss_std"]), pm(row["true_error_mean"], row["true_error_std"]),
            pm(row["heldout_error_mean"], row["heldout_error_std"]), f"{int(row['diverged'])}/{int(row['seeds'])}",
            num(row["seconds_mean"], 2)]


def sweep_table(settings, column: str, lang: str) -> Table:
    first = tr(lang, "训练轮数", "epochs") if column == "epochs" else tr(lang, "学习率", "learning rate")
    order = settings.sort_values(column, ascending=column != "lr")
    rows = [[f"{int(r[column]):,}" if column == "epochs" else lr_text(r[column])] + metric_cells(r)
            for _, r in order.iterrows()]
    return Table([first] + metric_columns(lang), rows, [True] * 6)


SEARCH_ROWS_SHOWN = 12


def search_table(lab: FitAnalysis, lang: str) -> Table:
    f = lab.custom.facts
    ranked = lab.custom.search.sort_values("val_error_mean", na_position="last").reset_index(drop=True)
    shown = ranked.head(SEARCH_ROWS_SHOWN)
    rows, highlight = [], set()
    for i, r in shown.iterrows():
        if r["width"] == f.chosen_width and r["epochs"] == f.chosen_epochs and abs(r["lr"] - f.chosen_lr) < 1e-12:
            highlight.add(i)
        rows.append([str(i + 1), lr_text(r["lr"]), f"{int(r['epochs']):,}", str(int(r["width"])),
                     pm(r["val_error_mean"], r["val_error_std"]), pm(r["true_error_mean"], r["true_error_std"]),
                     f"{int(r['diverged'])}/{int(r['seeds'])}"])
    columns = [tr(lang, "名次", "rank"), tr(lang, "学习率", "lr"), tr(lang, "轮数", "epochs"), tr(lang, "宽度", "width"),
               tr(lang, "验证误差", "validation error"), tr(lang, "真实误差", "true error"), tr(lang, "发散", "diverged")]
    return Table(columns, rows, [True] * 7, highlight)


def comparison_table(lab: FitAnalysis, lang: str) -> Table:
    f = lab.custom.facts
    rows = []
    for label, name, hidden in (("baseline", tr(lang, "基线", "baseline"), f.baseline_hidden),
                                ("chosen", tr(lang, "选定", "chosen"), [f.chosen_width] * f.depth)):
        match = lab.custom.comparison[lab.custom.comparison["label"] == label]
        if match.empty:
            continue
        r = match.iloc[0]
        rows.append([name, lr_text(r["lr"]), f"{int(r['epochs']):,}", "[" + ", ".join(map(str, hidden)) + "]"]
                    + metric_cells(r)[:3])
    columns = [tr(lang, "设置", "setting"), tr(lang, "学习率", "lr"), tr(lang, "轮数", "epochs"),
               tr(lang, "隐藏层", "hidden")] + metric_columns(lang)[:3]
    return Table(columns, rows, [False, True, True, True, True, True, True])


TABLES = {
    "tab:epochs": (lambda lab, runs, lang: sweep_table(lab.epochs.settings, "epochs", lang), "fit.epochs",
                   ("不同训练轮数的结果（种子间均值 ± 标准差）。真实误差：学到的曲线与无噪声 f(x) 在密集网格上的均方误差。",
                    "Results per number of epochs (mean ± std over seeds). True error: mean squared error against the "
                    "noise-free f(x) on a dense grid.")),
    "tab:lr": (lambda lab, runs, lang: sweep_table(lab.lr.settings, "lr", lang), "fit.lr",
               ("不同学习率的结果（种子间均值 ± 标准差；发散的种子不计入均值）。",
                "Results per learning rate (mean ± std over seeds; diverged seeds are left out of the means).")),
    "tab:custom_search": (lambda lab, runs, lang: search_table(lab, lang), "fit.custom",
                          (f"网格搜索中验证误差最低的设置（最多列出 {SEARCH_ROWS_SHOWN} 个，完整结果见 CSV）；加粗为选定设置。",
                           f"The grid-search settings with the lowest validation error (up to {SEARCH_ROWS_SHOWN}; the "
                           "full table is in the CSV); the chosen one is in bold.")),
    "tab:custom_comparison": (lambda lab, runs, lang: comparison_table(lab, lang), "fit.custom",
                              ("选定设置与基线的比较（种子间均值 ± 标准差）。", "Chosen setting against the baseline (mean ± std over seeds).")),
}

# The order figures and tables appear in the document (for their numbers).
ORDER = ["fig:epochs_panels", "fig:epochs_loss", "fig:epochs_errors", "tab:epochs",
         "fig:lr_panels", "fig:lr_loss", "fig:lr_errors", "tab:lr",
         "fig:custom_search", "tab:custom_search", "fig:custom_curves", "tab:custom_comparison"]


def parameters(lab: FitAnalysis, lang: str) -> list[tuple[str, str]] | None:
    """The parameters Exercise 1 actually ran with, as (label, value) rows."""
    params = {}
    sweep = lab.epochs or lab.lr
    if sweep is not None:
        p = sweep.params
        params["fit"] = [
            (tr(lang, "函数", "function"), f"f(x) = {p.get('function')}"),
            (tr(lang, "训练点", "training points"),
             tr(lang, f"{p.get('samples')} 个，x ~ U[{p['x_range'][0]}, {p['x_range'][1]}]，噪声 σ = {p.get('noise_std')}",
                f"{p.get('samples')}, x ~ U[{p['x_range'][0]}, {p['x_range'][1]}], noise σ = {p.get('noise_std')}")),
            (tr(lang, "网络", "network"), tr(lang, f"全连接，ReLU，隐藏层 {p.get('hidden')}", f"fully connected, ReLU, hidden {p.get('hidden')}")),
            (tr(lang, "训练", "training"), tr(lang, "Adam，全批量，均方误差损失", "Adam, full batch, mean squared error")),
            (tr(lang, "种子", "seeds"), ", ".join(str(s) for s in p.get("seeds", []))),
            (tr(lang, "评估", "evaluation"), tr(lang, f"真实误差在 {p.get('grid_points')} 个网格点上计算；留出集 {p.get('heldout_samples')} 个点",
                                               f"true error on {p.get('grid_points')} grid points; {p.get('heldout_samples')} held-out points")),
        ]
    return params.get("fit")
