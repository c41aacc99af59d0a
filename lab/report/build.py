"""Runs -> the report: analysis, figures and answers poured into a Jinja2 template, then HTML -> PDF.

Output: ``<out>`` (PDF), the same name with ``.html`` (self-contained, figures inlined),
and ``<stem>-tables/NAME.csv``. Rendering never trains. Figures are cached by the
content of the runs they draw and the code that draws them, so re-rendering is quick.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import jinja2
import lab
from markupsafe import Markup, escape

from lab import analysis
from lab.analysis import LabAnalysis
from lab.errors import UserError
from lab.report.answers import Answer, build_answers, lr_text, num, pct, pm, seconds_text, signed
from lab.environment import current_environment
from lab.store import write_atomic, write_text_atomic
from lab.report.fonts import check_fonts

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
# In a wheel the templates ship inside the package; in a checkout they sit at the top.
PACKAGED_TEMPLATES = next((folder for folder in (Path(lab.__file__).resolve().parent / "templates",
                                                 Path(lab.__file__).resolve().parent.parent / "templates")
                           if folder.is_dir()), Path(lab.__file__).resolve().parent.parent / "templates")
# A build whose figures all come from the cache never needs matplotlib (most of a second to import).
def module_file(name: str) -> Path:
    """The source file of module `name`, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ImportError(f"{name} not found")
    return Path(spec.origin)


FIGURE_CODE = [module_file(name) for name in ("lab.figures", "lab.analysis")]


def lazy_import(name: str):
    """The module `name`, executed on first attribute access (importlib's LazyLoader)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"{name} not found")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


figures = lazy_import("lab.figures")
RUN_TITLES = {"fit.epochs": ("练习 1A：训练轮数", "Exercise 1A: epochs"),
              "fit.lr": ("练习 1B：学习率", "Exercise 1B: learning rate"),
              "fit.custom": ("练习 1C：自定义函数", "Exercise 1C: own function"),
              "cifar": ("练习 2：CIFAR-10", "Exercise 2: CIFAR-10")}


def tr(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


# --- figures and tables as document items --------------------------------------------

@dataclass
class Item:
    """A numbered figure or table."""

    key: str
    kind: str                 # "figure" | "table"
    caption: str
    number: int = 0
    html: Markup = Markup("")
    label: str = ""           # "图 3" / "Table 2"
    css_class: str = ""


@dataclass
class FigureSpec:
    key: str
    run: str                  # the run it draws; None-safe through the plan
    draw: Callable[[LabAnalysis, str], str]
    caption: tuple[str, str]
    available: Callable[[LabAnalysis], bool] = lambda lab: True


FIGURES = [
    FigureSpec("fig:epochs_panels", "fit.epochs", lambda a, l: figures.sweep_panels(a.epochs, "epochs", l),
               ("不同训练轮数下学到的曲线（均值，阴影为种子间最小–最大范围）、真实函数和训练点。",
                "Learnt curves for each number of epochs (mean; the band spans the seeds' minimum to maximum), "
                "the true function and the training points.")),
    FigureSpec("fig:epochs_loss", "fit.epochs", lambda a, l: figures.loss_curves(a.epochs, l),
               ("训练损失随轮数的变化（双对数坐标）；竖虚线为快照轮数，横虚线为噪声方差 σ²。",
                "Training loss over epochs (log–log); dotted lines mark the snapshot epochs, the dashed line the noise variance σ².")),
    FigureSpec("fig:epochs_errors", "fit.epochs", lambda a, l: figures.error_vs_setting(a.epochs, "epochs", l),
               ("真实误差、留出集误差和训练损失随训练轮数的变化（均值 ± 标准差）。",
                "True error, held-out error and training loss against the number of epochs (mean ± std over seeds).")),
    FigureSpec("fig:lr_panels", "fit.lr", lambda a, l: figures.sweep_panels(a.lr, "lr", l),
               ("不同学习率下学到的曲线；发散的设置以红字标出。",
                "Learnt curves for each learning rate; diverged settings are marked in red.")),
    FigureSpec("fig:lr_loss", "fit.lr", lambda a, l: figures.loss_curves(a.lr, l),
               ("各学习率的训练损失曲线（每个种子一条，双对数坐标）；× 表示发散。",
                "Training-loss curves per learning rate (one per seed, log–log); × marks a divergence.")),
    FigureSpec("fig:lr_errors", "fit.lr", lambda a, l: figures.error_vs_setting(a.lr, "lr", l),
               ("真实误差、留出集误差和训练损失随学习率的变化（均值 ± 标准差）。",
                "True error, held-out error and training loss against the learning rate (mean ± std over seeds).")),
    FigureSpec("fig:custom_search", "fit.custom", lambda a, l: figures.search_heatmap(a.custom, l),
               ("网格搜索的验证误差（种子均值）；红框为选定的设置。",
                "Validation error of the grid search (mean over seeds); the red box marks the chosen setting.")),
    FigureSpec("fig:custom_curves", "fit.custom", lambda a, l: figures.custom_curves(a.custom, l),
               ("自定义函数：基线设置与选定设置学到的曲线。", "Own function: curves learnt with the baseline and the chosen settings.")),
    FigureSpec("fig:cifar_curves", "cifar", lambda a, l: figures.cifar_curves(a.cifar, l),
               ("ResNet-20 在 CIFAR-10 上的损失和准确率随轮数的变化；竖虚线为学习率下降处。",
                "ResNet-20 on CIFAR-10: loss and accuracy per epoch; the dashed line marks the learning-rate drop.")),
    FigureSpec("fig:per_class", "cifar", lambda a, l: figures.per_class_bars(a.cifar, l),
               ("训练结束时各类别的测试准确率。", "Test accuracy per class after the last epoch."),
               lambda a: a.cifar.per_class is not None),
    FigureSpec("fig:confusion", "cifar", lambda a, l: figures.confusion_matrix(a.cifar, l),
               ("测试集混淆矩阵（行：真实类别，列：预测类别；颜色为行内比例）。",
                "Confusion matrix on the test set (rows: true class, columns: predicted; colour: share of the row)."),
               lambda a: a.cifar.confusion is not None),
    FigureSpec("fig:misclassified", "cifar", lambda a, l: figures.misclassified_grid(a.cifar, l),
               ("被分错的测试图像（上：真实类别，下：预测类别）。", "Misclassified test images (top: true class, bottom: prediction)."),
               lambda a: a.cifar.misclassified is not None and len(a.cifar.misclassified.get("images", [])) > 0),
]
FIGURE_RUNS = {spec.key: spec.run for spec in FIGURES}


def svg_html(svg: str) -> Markup:
    """An <img> with the SVG inlined as a data URI, at its natural size (so text keeps its point size)."""
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
    style = f' style="width: {float(width.group(1)):.1f}pt"' if width else ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Markup(f'<img class="figure-image" alt="" src="data:image/svg+xml;base64,{data}"{style}>')


class FigureCache:
    """SVGs keyed by figure, language, drawing code and the checksums of the run's files."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        source = "".join(path.read_text(encoding="utf-8") for path in FIGURE_CODE)
        source += importlib.metadata.version("matplotlib")
        self.code_hash = hashlib.sha256(source.encode()).hexdigest()

    def key(self, spec: FigureSpec, lang: str, run) -> str:
        parts = [spec.key, lang, self.code_hash, run.key, json.dumps(run.record.get("files", {}), sort_keys=True)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def get(self, key: str) -> str | None:
        path = self.folder / f"{key}.svg" if self.folder else None
        try:
            return path.read_text(encoding="utf-8") if path and path.exists() else None
        except OSError:
            return None

    def put(self, key: str, svg: str) -> None:
        if not self.folder:
            return
        try:
            write_text_atomic(self.folder / f"{key}.svg", svg)
        except UserError:
            pass   # a read-only store only costs speed


def cache_folder(runs: dict) -> Path | None:
    """``<store>/.figure-cache`` next to the run folders (``<store>/<name>/<key>``)."""
    for run in runs.values():
        if run is not None:
            return Path(run.dir).resolve().parent.parent / ".figure-cache"
    return None


def make_figures(lab: LabAnalysis, runs: dict, lang: str, cache: FigureCache) -> dict[str, Item]:
    items = {}
    for spec in FIGURES:
        run = runs.get(spec.run)
        if spec.run in lab.missing or run is None or not spec.available(lab):
            continue
        key = cache.key(spec, lang, run)
        svg = cache.get(key)
        if svg is None:
            svg = spec.draw(lab, lang)
            cache.put(key, svg)
        items[spec.key] = Item(spec.key, "figure", tr(lang, *spec.caption), html=svg_html(svg),
                               css_class=spec.key.split(":")[1])
    return items


# --- tables ----------------------------------------------------------------------------

@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    highlight: set[int] = field(default_factory=set)     # row indexes to emphasise

    def html(self) -> Markup:
        head = "".join(f'<th class="{"num" if n else ""}">{escape(c)}</th>' for c, n in zip(self.columns, self.numeric))
        body = []
        for i, row in enumerate(self.rows):
            cells = "".join(f'<td class="{"num" if n else ""}">{escape(v)}</td>' for v, n in zip(row, self.numeric))
            body.append(f'<tr class="{"chosen" if i in self.highlight else ""}">{cells}</tr>')
        return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


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


def search_table(lab: LabAnalysis, lang: str) -> Table:
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


def comparison_table(lab: LabAnalysis, lang: str) -> Table:
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


def cifar_table(lab: LabAnalysis, lang: str) -> Table:
    rows = []
    for _, r in lab.cifar.epochs.iterrows():
        rows.append([str(int(r["epoch"])), lr_text(r["lr"]), num(r["train_loss"], 4), pct(r["train_acc"]),
                     num(r["test_loss"], 4), pct(r["test_acc"]), signed(r["gap"]),
                     f"{r['train_seconds'] + r['test_seconds']:.1f}"])
    columns = [tr(lang, "轮次", "epoch"), tr(lang, "学习率", "lr"), tr(lang, "训练损失", "train loss"),
               tr(lang, "训练准确率", "train acc"), tr(lang, "测试损失", "test loss"), tr(lang, "测试准确率", "test acc"),
               tr(lang, "差距 (pp)", "gap (pp)"), tr(lang, "用时 (s)", "time (s)")]
    drop = lab.cifar.facts.drop
    highlight = {drop.epoch_after - int(lab.cifar.epochs["epoch"].iloc[0])} if drop else set()
    return Table(columns, rows, [True] * 8, highlight)


def environment_table(lang: str) -> Table:
    env = current_environment()
    memory = f"{env.memory_gb:.0f} GB" if env.memory_gb else "—"
    rows = [[tr(lang, "操作系统", "Operating system"), env.os],
            [tr(lang, "处理器", "CPU"), tr(lang, f"{env.cpu}，{env.cores} 个逻辑核心", f"{env.cpu}, {env.cores} logical cores")],
            [tr(lang, "内存", "Memory"), memory],
            [tr(lang, "GPU", "GPU"), env.gpu or tr(lang, "无（或未检测到）", "none (or not detected)")],
            ["Python", env.python], ["PyTorch", env.torch], ["torchvision", env.torchvision]]
    return Table([tr(lang, "项目", "Item"), tr(lang, "值", "Value")], rows, [False, False])


def runs_table(runs: dict, missing: dict[str, str], lang: str) -> Table:
    rows = []
    for name in analysis.RUN_NAMES:
        title = tr(lang, *RUN_TITLES[name])
        run = runs.get(name)
        if run is None:
            reason = missing.get(name, "missing")
            rows.append([title, "—", "—", "—", tr(lang, f"缺少（{reason}）", f"not available ({reason})")])
            continue
        record = run.record
        device = str(record.get("device", "—"))
        rows.append([title, device, str(record.get("torch", "—")), seconds_text(record.get("duration_s"), lang),
                     str(record.get("finished", "—"))[:19].replace("T", " ")])
    columns = [tr(lang, "实验", "Experiment"), tr(lang, "设备", "Device"), "PyTorch", tr(lang, "用时", "Wall time"),
               tr(lang, "完成时间", "Finished")]
    return Table(columns, rows, [False, False, False, True, False])


TABLES = {
    "tab:environment": (lambda lab, runs, lang: environment_table(lang), None,
                        ("生成报告的机器与软件。", "Machine and software the report was built on.")),
    "tab:runs": (lambda lab, runs, lang: runs_table(runs, lab.missing, lang), None,
                 ("各实验的运行设备与用时（来自运行记录）。", "Device and wall time of each experiment (from the run records).")),
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
    "tab:cifar_epochs": (lambda lab, runs, lang: cifar_table(lab, lang), "cifar",
                         ("逐轮训练与测试结果；差距 = 训练准确率 − 测试准确率（百分点）；加粗为学习率下降后的第一轮。",
                          "Per-epoch training and test results; gap = train acc − test acc (percentage points); the "
                          "first epoch after the learning-rate drop is in bold.")),
}


def make_tables(lab: LabAnalysis, runs: dict, lang: str) -> dict[str, Item]:
    items = {}
    for key, (make, run, caption) in TABLES.items():
        if run is not None and run in lab.missing:
            continue
        items[key] = Item(key, "table", tr(lang, *caption), html=make(lab, runs, lang).html(), css_class=key.split(":")[1])
    return items


# --- numbering: the order items appear in the document --------------------------------

DOCUMENT_ORDER = ["tab:environment", "tab:runs",
                  "fig:epochs_panels", "fig:epochs_loss", "fig:epochs_errors", "tab:epochs",
                  "fig:lr_panels", "fig:lr_loss", "fig:lr_errors", "tab:lr",
                  "fig:custom_search", "tab:custom_search", "fig:custom_curves", "tab:custom_comparison",
                  "fig:cifar_curves", "tab:cifar_epochs", "fig:per_class", "fig:confusion", "fig:misclassified"]


def number_items(items: dict[str, Item], lang: str) -> None:
    counters = {"figure": 0, "table": 0}
    for key in DOCUMENT_ORDER:
        item = items.get(key)
        if item is None:
            continue
        counters[item.kind] += 1
        item.number = counters[item.kind]
        word = tr(lang, "图", "Figure") if item.kind == "figure" else tr(lang, "表", "Table")
        item.label = f"{word} {item.number}"


def reference(items: dict[str, Item], lang: str) -> Callable[[str], str]:
    def ref(key: str) -> str:
        if key == "code:evaluate":
            return tr(lang, "附录 A", "Appendix A")
        item = items[key]
        return f'<a href="#{item.key.replace(":", "-")}">{item.label}</a>'
    return ref


# --- the evaluation code (2A) ------------------------------------------------------------

EVALUATION_MODULE, EVALUATION_FUNCTION = "lab.experiments.cifar", "evaluate"


def evaluation_source() -> str:
    """The source of the evaluation function the CIFAR experiment really runs.

    When the module is loaded (the runner imported it), ask it; otherwise read the
    function from the module's file, which is the same text without importing torch.
    """
    module = sys.modules.get(EVALUATION_MODULE)
    if module is not None:
        return inspect.getsource(getattr(module, EVALUATION_FUNCTION))
    source = module_file(EVALUATION_MODULE).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == EVALUATION_FUNCTION:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(source.splitlines()[start - 1:node.end_lineno]) + "\n"
    raise AttributeError(f"{EVALUATION_MODULE} has no function {EVALUATION_FUNCTION}")


def highlighted(source: str) -> Markup:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return Markup("<pre class=\"code\">{}</pre>").format(source)
    return Markup(highlight(source, PythonLexer(), HtmlFormatter(cssclass="code", nowrap=False)))


def code_style() -> str:
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    return HtmlFormatter(style="friendly").get_style_defs(".code")


# --- context, template, outputs --------------------------------------------------------------

def today(lang: str) -> str:
    d = date.today()
    return f"{d.year} 年 {d.month} 月 {d.day} 日" if lang == "zh" else d.strftime("%-d %B %Y")


def markdown_file(path: Path) -> Markup | None:
    import markdown
    if not path.is_file():
        return None
    try:
        return Markup(markdown.markdown(path.read_text(encoding="utf-8"), extensions=["extra", "sane_lists"]))
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read your reflections ({error}); save it as UTF-8 Markdown") from error


def provenance(decl, runs: dict, command: str) -> dict:
    commits = sorted({str(r.record.get("git_commit")) for r in runs.values() if r is not None and r.record.get("git_commit")})
    return {"runs": [(name, runs[name].key if runs.get(name) else None) for name in analysis.RUN_NAMES],
            "declaration": str(decl.path), "sha256": decl.sha256, "commits": commits,
            "command": command or f"labreport build --config {decl.path}"}


def parameters(lab: LabAnalysis, lang: str) -> dict[str, list[tuple[str, str]]]:
    """The parameters each exercise actually ran with, as (label, value) rows."""
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
    if lab.cifar is not None:
        p, summary = lab.cifar.params, lab.cifar.record.get("summary") or {}
        count = summary.get("parameters")
        size = f"{count / 1e6:.2f} M" if isinstance(count, (int, float)) else tr(lang, "约 0.27 M", "about 0.27 M")
        precision = p.get("precision")
        if summary.get("precision") and summary.get("precision") != precision:
            precision = f"{precision} → {summary['precision']}"
        schedule = tr(lang, "，然后 ", ", then ").join(
            tr(lang, f"lr = {lr_text(ph['lr'])} 训练 {ph['epochs']} 轮", f"lr = {lr_text(ph['lr'])} for {ph['epochs']} epochs")
            for ph in p.get("phases", []))
        subset = p.get("train_subset") or p.get("test_subset")
        params["cifar"] = [
            (tr(lang, "模型", "model"), tr(lang, f"ResNet-20（3 个阶段 × 3 个基本块，16/32/64 通道，{size} 参数）",
                                           f"ResNet-20 (3 stages × 3 basic blocks, 16/32/64 channels, {size} parameters)")),
            (tr(lang, "数据", "data"), tr(lang, "CIFAR-10：训练集 50000 张，测试集 10000 张", "CIFAR-10: 50,000 training and 10,000 test images")
             + (tr(lang, f"（子集：训练 {p.get('train_subset') or '全部'}，测试 {p.get('test_subset') or '全部'}）",
                   f" (subset: train {p.get('train_subset') or 'all'}, test {p.get('test_subset') or 'all'})") if subset else "")),
            (tr(lang, "增强", "augmentation"), tr(lang, "随机裁剪 32（填充 4）、随机水平翻转、标准化", "random crop 32 (padding 4), random horizontal flip, normalisation")),
            (tr(lang, "优化器", "optimiser"), f"SGD, momentum {p.get('momentum')}, weight decay {p.get('weight_decay')}, batch {p.get('batch_size')}"),
            (tr(lang, "学习率计划", "schedule"), schedule),
            (tr(lang, "精度 / 种子", "precision / seed"), f"{precision} / {p.get('seed')}"),
        ]
    return params


def css_string(value) -> Markup:
    """A CSS string literal that is safe inside <style> (for page headers built from user text)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace("\n", " ")
    return Markup(f'"{text}"')


def template_environment() -> jinja2.Environment:
    folders = [Path.cwd() / "templates", PACKAGED_TEMPLATES]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in folders]),
                             undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["css_string"] = css_string
    return env


def stylesheet() -> str:
    for folder in (Path.cwd() / "templates", PACKAGED_TEMPLATES):
        path = folder / STYLESHEET
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise UserError(f"{STYLESHEET}: stylesheet not found in ./templates or {PACKAGED_TEMPLATES}; reinstall labreport")


def template_line(error: Exception) -> tuple[str, int | None]:
    """The template file and line an error was raised from (Jinja maps its frames to template lines)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(".j2") or frame.filename.endswith(".html"):
            return frame.filename, frame.lineno
    return TEMPLATE, None


def render_html(context: dict) -> str:
    env = template_environment()
    try:
        template = env.get_template(TEMPLATE)
    except jinja2.TemplateSyntaxError as error:
        raise UserError(f"{error.filename or TEMPLATE}:{error.lineno}: template syntax error: {error.message}; "
                        "fix the template, or delete it to use the default") from None
    except jinja2.TemplateNotFound:
        raise UserError(f"{TEMPLATE}: template not found in ./templates or {PACKAGED_TEMPLATES}; reinstall labreport") from None
    try:
        return template.render(**context)
    except jinja2.UndefinedError as error:
        filename, line = template_line(error)
        raise UserError(f"{filename}:{line}: {error.message}; the template uses a value the report does not "
                        "provide: fix the template, or delete it to use the default") from None
    except jinja2.TemplateError as error:
        filename, line = template_line(error)
        raise UserError(f"{filename}:{line}: template error: {error}; fix the template, or delete it to use the default") from None


def check_pdf_variant(pdf_variant: str | None) -> None:
    from weasyprint.pdf import VARIANTS
    if pdf_variant and pdf_variant not in VARIANTS:
        raise UserError(f"--pdf-variant {pdf_variant!r} is not a PDF variant WeasyPrint knows; "
                        f"choose one of {', '.join(VARIANTS)} (e.g. pdf/a-3b) or leave it out")


def write_pdf(html: str, out: Path, pdf_variant: str | None) -> None:
    import weasyprint
    options = {"pdf_variant": pdf_variant} if pdf_variant else {}
    # Atomic, like every result: a killed render never leaves half a PDF to hand in.
    write_atomic(out, weasyprint.HTML(string=html, base_url=str(out.parent)).write_pdf(**options))


def write_tables(lab: LabAnalysis, out: Path) -> list[Path]:
    folder = out.parent / f"{out.stem}-tables"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in analysis.csv_tables(lab).items():
        path = folder / f"{name}.csv"
        write_text_atomic(path, frame.to_csv(index=False))
        paths.append(path)
    return paths


def build_context(decl, lab: LabAnalysis, runs: dict, lang: str, command: str, items: dict[str, Item],
                  answers: dict[str, Answer]) -> dict:
    report = decl.values.get("report", {})
    reflections_path = decl.resolve(report.get("reflections", "reflections.md"))
    try:
        source, source_error = evaluation_source(), None
    except (ImportError, AttributeError, OSError, TypeError) as error:
        source, source_error = None, f"{type(error).__name__}: {error}"
    student = decl.values.get("student", {})
    quick = bool(decl.quick) or lab.quick
    return {
        "lang": lang, "title": report.get("title") or tr(lang, "实验 13：PyTorch 实验报告", "Lab 13: PyTorch — Lab Report"),
        "student": {"name": student.get("name", ""), "id": student.get("id", ""), "class": student.get("class", "")},
        "date": today(lang), "quick": quick, "items": items, "answers": answers,
        "missing": lab.missing, "run_titles": {k: tr(lang, *v) for k, v in RUN_TITLES.items()},
        "parameters": parameters(lab, lang),
        "reflections": markdown_file(reflections_path), "reflections_path": str(reflections_path),
        "evaluation_code": highlighted(source) if source else None, "evaluation_error": source_error,
        "code_css": Markup(code_style()), "css": Markup(stylesheet()),
        "provenance": provenance(decl, runs, command),
    }


def build_report(decl, runs: dict, out: Path, *, lang: str, pdf_variant: str | None = None, command: str = "",
                 missing: dict[str, str] | None = None, timings: dict | None = None,
                 figure_cache: Path | None = None) -> list[Path]:
    """Write the PDF at ``out``, the HTML beside it and the tables as CSV; return the paths written.

    ``timings`` (if given) receives the seconds spent on figures, HTML and PDF;
    ``figure_cache`` overrides where drawn figures are kept (default: beside the runs).
    """
    check_fonts(lang)
    check_pdf_variant(pdf_variant)
    timings = timings if timings is not None else {}
    out = Path(out)
    started = time.perf_counter()
    lab = analysis.analyse(runs, missing)
    cache = FigureCache(figure_cache or cache_folder(runs))
    items = {**make_figures(lab, runs, lang, cache), **make_tables(lab, runs, lang)}
    number_items(items, lang)
    timings["figures"] = time.perf_counter() - started

    started = time.perf_counter()
    answers_dir = decl.resolve(decl.values.get("report", {}).get("answers", "answers"))
    answers = build_answers(lab, lang, reference(items, lang), answers_dir)
    html = render_html(build_context(decl, lab, runs, lang, command, items, answers))
    out.parent.mkdir(parents=True, exist_ok=True)
    html_path = out.with_suffix(".html")
    write_text_atomic(html_path, html)
    tables = write_tables(lab, out)
    timings["html"] = time.perf_counter() - started

    started = time.perf_counter()
    write_pdf(html, out, pdf_variant)
    timings["pdf"] = time.perf_counter() - started
    return [out, html_path, *tables]
