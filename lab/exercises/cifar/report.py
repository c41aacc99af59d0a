"""Exercise 2 in the report: its figures, table, parameter rows, answers and the code it shows."""
from __future__ import annotations

from lab.exercises.cifar import figures
from lab.exercises.cifar.answers import GENERATORS  # noqa: F401  (the report builder reads it)
from lab.exercises.cifar.facts import CifarAnalysis, analyse, csv_tables  # noqa: F401
from lab.report.items import FigureSpec, Table
from lab.report.plotting import tr
from lab.report.wording import lr_text, num, pct, signed

RUN_TITLES = {"cifar": ("练习 2：CIFAR-10", "Exercise 2: CIFAR-10")}
# The function shown in the appendix (2A): the evaluation the run really does.
EVALUATION = ("lab.exercises.cifar.train", "evaluate")

FIGURES = [
    FigureSpec("fig:cifar_curves", "cifar", lambda a, lang: figures.cifar_curves(a.cifar, lang),
               ("ResNet-20 在 CIFAR-10 上的损失和准确率随轮数的变化；竖虚线为学习率下降处。",
                "ResNet-20 on CIFAR-10: loss and accuracy per epoch; the dashed line marks the learning-rate drop.")),
    FigureSpec("fig:per_class", "cifar", lambda a, lang: figures.per_class_bars(a.cifar, lang),
               ("训练结束时各类别的测试准确率。", "Test accuracy per class after the last epoch."),
               lambda a: a.cifar.per_class is not None),
    FigureSpec("fig:confusion", "cifar", lambda a, lang: figures.confusion_matrix(a.cifar, lang),
               ("测试集混淆矩阵（行：真实类别，列：预测类别；颜色为行内比例）。",
                "Confusion matrix on the test set (rows: true class, columns: predicted; colour: share of the row)."),
               lambda a: a.cifar.confusion is not None),
    FigureSpec("fig:misclassified", "cifar", lambda a, lang: figures.misclassified_grid(a.cifar, lang),
               ("被分错的测试图像（上：真实类别，下：预测类别）。", "Misclassified test images (top: true class, bottom: prediction)."),
               lambda a: a.cifar.misclassified is not None and len(a.cifar.misclassified.get("images", [])) > 0),
]


def cifar_table(lab: CifarAnalysis, lang: str) -> Table:
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


TABLES = {
    "tab:cifar_epochs": (lambda lab, runs, lang: cifar_table(lab, lang), "cifar",
                         ("逐轮训练与测试结果；差距 = 训练准确率 − 测试准确率（百分点）；加粗为学习率下降后的第一轮。",
                          "Per-epoch training and test results; gap = train acc − test acc (percentage points); the "
                          "first epoch after the learning-rate drop is in bold.")),
}

ORDER = ["fig:cifar_curves", "tab:cifar_epochs", "fig:per_class", "fig:confusion", "fig:misclassified"]


def parameters(lab: CifarAnalysis, lang: str) -> list[tuple[str, str]] | None:
    """The parameters Exercise 2 actually ran with, as (label, value) rows."""
    params = {}
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
    return params.get("cifar")
