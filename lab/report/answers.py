"""Facts -> the answer to each question, in Chinese or English, or the student's own Markdown.

The wording follows what was measured (did the longest run's true error rise, did
lr = 1 diverge or oscillate, how large the jump at the learning-rate drop was), and
every number is taken from ``lab.analysis`` so the prose agrees with the tables.
Generated text is HTML; anything from the declaration is escaped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import markdown
from markupsafe import Markup, escape

from lab.analysis import LabAnalysis, class_name
from lab.errors import UserError

QUESTIONS = {
    "1A": ("不对代码其他部分进行改动，更改参数 NUM_TRAIN_EPOCHS 为 100, 1000, 10000, 50000，你发现拟合得到的曲线有什么变化？",
           "Change only the number of epochs (NUM_TRAIN_EPOCHS) to 100, 1000, 10000, 50000: how does the fitted curve change?"),
    "1B": ("固定 NUM_TRAIN_EPOCHS=1000，更改参数 LEARNING_RATE 为 1, 0.1, 0.01, 0.001，你发现拟合得到的曲线有什么变化？",
           "Fix the number of epochs at 1000 and set the learning rate to 1, 0.1, 0.01, 0.001: how does the fitted curve change?"),
    "1C": ("自定义一个函数 f(x)，调整合适的参数，使得模型拟合效果尽可能好。",
           "Choose your own function f(x) and tune the parameters so that the model fits it as well as possible."),
    "2A": ("补充 exp2.py 的代码，使得程序可以完整运行。使用 resnet20 模型，训练一个 cifar-10 的分类器。",
           "Complete the code of exp2.py so that it runs, and train a CIFAR-10 classifier with ResNet-20."),
    "2B": ("在 lr 从 0.1 变到 0.01 后，acc 发生了什么变化？为什么？",
           "After the learning rate drops from 0.1 to 0.01, how does the accuracy change, and why?"),
    "2C": ("Train acc 和 Test acc 有什么关联和不同？",
           "How are the training accuracy and the test accuracy related, and how do they differ?"),
}
RUN_OF_QUESTION = {"1A": "fit.epochs", "1B": "fit.lr", "1C": "fit.custom", "2A": "cifar", "2B": "cifar", "2C": "cifar"}


# --- number formatting (shared with the tables) ----------------------------------

def num(value, digits: int = 3) -> str:
    """A measured quantity to ``digits`` significant figures; '—' when not finite."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10 ** digits:
        return f"{value:,.0f}"
    if magnitude < 1e-3:
        return f"{value:.2e}"
    decimals = max(digits - 1 - int(math.floor(math.log10(magnitude))), 0)
    return f"{value:.{decimals}f}"


def pm(mean, std) -> str:
    """mean ± std; the std alone when it is meaningful (two seeds or more)."""
    if std is None or not math.isfinite(std) or not math.isfinite(mean):
        return num(mean)
    if std <= 1e-9 * max(abs(mean), 1.0):   # identical values up to rounding
        std = 0.0
    return f"{num(mean)} ± {num(std, 2)}"


def signed(value, decimals: int = 2) -> str:
    """+1.23 / −1.23 with a real minus sign."""
    return f"{value:+.{decimals}f}".replace("-", "−")


def pct(value) -> str:
    return f"{value:.2f}%" if value is not None and math.isfinite(value) else "—"


def lr_text(lr: float) -> str:
    return f"{lr:g}"


def seconds_text(seconds: float, lang: str) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if lang == "zh":
        return (f"{hours} 小时 " if hours else "") + (f"{minutes} 分 " if minutes or hours else "") + f"{secs} 秒"
    return (f"{hours} h " if hours else "") + (f"{minutes} min " if minutes or hours else "") + f"{secs} s"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def join_values(values, lang: str) -> str:
    items = [lr_text(v) if isinstance(v, float) else f"{v:,}" for v in values]
    return ("、" if lang == "zh" else ", ").join(items)


# --- the answer object -----------------------------------------------------------

@dataclass
class Answer:
    id: str
    question: str
    body: Markup
    source: str                   # "generated" | "student" | "missing"
    student_file: Path | None = None


Ref = Callable[[str], str]        # figure/table key -> "图 3" / "Figure 3"


class Writer:
    """Collects paragraphs in one language; ``say(zh, en)`` keeps the two side by side."""

    def __init__(self, lang: str):
        self.lang = lang
        self.paragraphs: list[str] = []

    def pick(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def say(self, zh: str, en: str) -> None:
        self.paragraphs.append(self.pick(zh, en))

    def html(self) -> Markup:
        return Markup("".join(f"<p>{p}</p>" for p in self.paragraphs))


def code(text) -> Markup:
    return Markup("<code>{}</code>").format(escape(str(text)))


# --- Exercise 1 --------------------------------------------------------------------

def answer_1a(lab: LabAnalysis, w: Writer, ref: Ref) -> None:
    f, sweep = lab.epoch_facts, lab.epochs
    seeds, grid = f.seeds, sweep.params.get("grid_points", "—")
    epochs = join_values(f.epochs, w.lang)
    w.say(f"固定学习率 lr = {lr_text(f.lr)}，只改变训练轮数（{epochs}），每个设置用 {seeds} 个随机种子"
          f"（各自抽取训练点和初始权重）重复。除训练损失外，我们还在 {grid} 个均匀网格点上计算学到的曲线与无噪声真实函数"
          f"之间的均方误差（下称“真实误差”），因为训练损失同时奖励对噪声的拟合。曲线见{ref('fig:epochs_panels')}，"
          f"误差见{ref('fig:epochs_errors')}和{ref('tab:epochs')}，损失随轮数的变化见{ref('fig:epochs_loss')}。",
          f"With the learning rate fixed at lr = {lr_text(f.lr)}, only the number of epochs changes ({epochs}); "
          f"each setting is repeated with {plural(seeds, 'seed')} (each draws its own training points and initial weights). "
          f"Besides the training loss we measure the mean squared error between the learnt curve and the noise-free "
          f"function on {grid} evenly spaced points (the “true error”), because the training loss also rewards fitting "
          f"the noise. The curves are in {ref('fig:epochs_panels')}, the errors in {ref('fig:epochs_errors')} and "
          f"{ref('tab:epochs')}, the loss over epochs in {ref('fig:epochs_loss')}.")
    noise = num(f.noise_variance)
    if f.underfit_ratio > 2 and f.shortest != f.best_epochs:
        w.say(f"<b>{f.shortest:,} 轮：欠拟合。</b>曲线还很平缓，远没有贴合 f(x) 的弯曲形状：真实误差为 {num(f.shortest_true_error)}，"
              f"是最佳设置（{f.best_epochs:,} 轮，{num(f.best_true_error)}）的 {num(f.underfit_ratio, 2)} 倍；"
              f"训练损失 {num(f.shortest_train_loss)} 也远高于噪声方差 σ² = {noise}。",
              f"<b>{f.shortest:,} epochs: under-fitting.</b> The curve is still flat and far from the bends of f(x): "
              f"its true error is {num(f.shortest_true_error)}, {num(f.underfit_ratio, 2)} times that of the best setting "
              f"({f.best_epochs:,} epochs, {num(f.best_true_error)}), and the training loss {num(f.shortest_train_loss)} "
              f"is far above the noise variance σ² = {noise}.")
    elif f.shortest != f.best_epochs:
        w.say(f"{f.shortest:,} 轮时曲线已大致贴合 f(x)（真实误差 {num(f.shortest_true_error)}），"
              f"但仍不如 {f.best_epochs:,} 轮（{num(f.best_true_error)}）。",
              f"At {f.shortest:,} epochs the curve already follows f(x) roughly (true error {num(f.shortest_true_error)}), "
              f"but less well than at {f.best_epochs:,} epochs ({num(f.best_true_error)}).")
    if f.best_epochs not in (f.shortest, f.longest):
        w.say(f"<b>{f.best_epochs:,} 轮：拟合良好。</b>随着轮数增加，曲线逐渐贴合真实函数，"
              f"{f.best_epochs:,} 轮时真实误差最小（{num(f.best_true_error)}）。",
              f"<b>{f.best_epochs:,} epochs: a good fit.</b> With more epochs the curve moves onto the true function; "
              f"the true error is lowest at {f.best_epochs:,} epochs ({num(f.best_true_error)}).")
    longest_paragraph(f, w)
    if f.true_error_rose and f.train_loss_fell and f.shortest == f.best_epochs:
        w.say(f"<b>结论：</b>在这个网络和学习率下，{f.shortest:,} 轮已经足够贴合 f(x)：它的真实误差"
              f"（{num(f.best_true_error)}）在各设置中最小；欠拟合只出现在更早的阶段，训练损失正是在那时从高位降下"
              f"（{ref('fig:epochs_loss')}）。再增加轮数，训练损失继续下降，真实误差却上升：网络开始拟合训练点上的噪声"
              "（过拟合）。所以判断拟合好坏要看对真实函数（或新数据）的误差，而不是训练损失。",
              f"<b>In short:</b> with this network and learning rate, {f.shortest:,} epochs already fit f(x): "
              f"their true error ({num(f.best_true_error)}) is the lowest of all settings; under-fitting happens only "
              f"earlier, while the training loss comes down from its start ({ref('fig:epochs_loss')}). More epochs keep "
              "lowering the training loss while the true error rises: the network starts fitting the noise in the "
              "training points (over-fitting). Fit quality must be judged by the error against the true function "
              "(or new data), not by the training loss.")
    elif f.true_error_rose and f.train_loss_fell:
        w.say("<b>结论：</b>轮数太少 → 欠拟合；轮数适中 → 拟合良好；轮数过多 → 开始拟合训练点上的噪声（过拟合），"
              "此时训练损失仍在下降，真实误差却上升。所以判断拟合好坏要看对真实函数（或新数据）的误差，而不是训练损失。",
              "<b>In short:</b> too few epochs under-fit; a moderate number fits well; too many start fitting the noise "
              "in the training points (over-fitting), where the training loss still falls while the true error rises. "
              "Fit quality must be judged by the error against the true function (or new data), not by the training loss.")
    else:
        w.say("<b>结论：</b>轮数太少 → 欠拟合；增加轮数，曲线逐渐贴合真实函数。本次测量中最长的训练还没有让真实误差明显变差，"
              "但训练损失只反映对带噪训练点的拟合，判断拟合好坏仍要看对真实函数（或新数据）的误差。",
              "<b>In short:</b> too few epochs under-fit; with more epochs the curve moves onto the true function. In this "
              "measurement the longest training did not yet make the true error clearly worse, but the training loss only "
              "measures the fit to the noisy points, so fit quality must still be judged against the true function or new data.")


def longest_paragraph(f, w: Writer) -> None:
    if f.previous is None:
        w.say("本次只有一个轮数设置，无法比较曲线随轮数的变化；用完整的设置重新运行即可。",
              "Only one epochs setting was run, so the change with epochs cannot be compared; run the full settings.")
        return
    below = w.pick(f"，已低于噪声方差 σ² = {num(f.noise_variance)}", f", below the noise variance σ² = {num(f.noise_variance)}") \
        if f.train_below_noise else ""
    counted = w.pick(f"（{f.seeds_rose}/{f.seeds} 个种子上升）", f" ({f.seeds_rose} of {f.seeds} seeds rose)")
    if f.true_error_rose and f.train_loss_fell:
        w.say(f"<b>{f.longest:,} 轮：开始拟合噪声。</b>从 {f.previous:,} 轮到 {f.longest:,} 轮，训练损失继续从 "
              f"{num(f.previous_train_loss)} 降到 {num(f.longest_train_loss)}{below}，真实误差却从 "
              f"{num(f.previous_true_error)} 升到 {num(f.longest_true_error)}{counted}，曲线出现随训练点噪声摆动的起伏。"
              f"训练损失只衡量对带噪训练点的拟合，所以越训练越低；网络把噪声也当作规律记住之后，离真实函数反而更远。",
              f"<b>{f.longest:,} epochs: fitting the noise.</b> From {f.previous:,} to {f.longest:,} epochs the training loss "
              f"kept falling from {num(f.previous_train_loss)} to {num(f.longest_train_loss)}{below}, while the true error rose "
              f"from {num(f.previous_true_error)} to {num(f.longest_true_error)}{counted}; the curve picks up wiggles that "
              f"follow the noise in the training points. The training loss only measures the fit to the noisy points, so "
              f"it keeps falling; once the network memorises the noise too, it moves away from the true function.")
    elif f.true_error_rose:
        w.say(f"从 {f.previous:,} 轮到 {f.longest:,} 轮，真实误差从 {num(f.previous_true_error)} 升到 "
              f"{num(f.longest_true_error)}{counted}，但训练损失也没有下降（{num(f.previous_train_loss)} → "
              f"{num(f.longest_train_loss)}）：这更像是该学习率下优化的波动，而不是对噪声的拟合。",
              f"From {f.previous:,} to {f.longest:,} epochs the true error rose from {num(f.previous_true_error)} to "
              f"{num(f.longest_true_error)}{counted}, but the training loss did not fall either "
              f"({num(f.previous_train_loss)} → {num(f.longest_train_loss)}): this looks like optimisation noise at this "
              f"learning rate rather than fitting the noise.")
    else:
        risk = w.pick("不过训练损失已低于噪声方差，说明模型已开始吸收部分噪声，继续训练有过拟合的风险。",
                      " The training loss is already below the noise variance, though: the model has started to absorb "
                      "some of the noise, and training longer risks over-fitting.") if f.train_below_noise else ""
        w.say(f"<b>{f.longest:,} 轮：</b>真实误差仍从 {num(f.previous_true_error)} 降到 {num(f.longest_true_error)}"
              f"{counted}，训练损失为 {num(f.longest_train_loss)}{below}：在这个网络和样本量下，{f.longest:,} 轮还没有"
              f"明显拟合噪声。{risk}",
              f"<b>{f.longest:,} epochs:</b> the true error still fell from {num(f.previous_true_error)} to "
              f"{num(f.longest_true_error)}{counted}, with a training loss of {num(f.longest_train_loss)}{below}: with this "
              f"network and sample size, {f.longest:,} epochs do not yet visibly fit the noise.{risk}")


def largest_lr_sentence(b, epochs: int, w: Writer) -> None:
    lr = lr_text(b.lr)
    if b.status == "diverged":
        at = w.pick(f"在第 {b.diverged_epoch} 轮", f"at epoch {b.diverged_epoch}") if b.diverged_epoch else ""
        rest = ""
        if b.diverged_seeds < b.seeds:
            others = b.seeds - b.diverged_seeds
            rest = w.pick(f"；其余种子虽未发散，损失也剧烈振荡或停滞，真实误差 {num(b.true_error)}",
                          f"; the other {plural(others, 'seed')} did not diverge but the loss bounced or stalled "
                          f"(true error {num(b.true_error)})")
        w.say(f"<b>lr = {lr}：步长过大，发散。</b>Adam 每一步的参数更新量大致与学习率同量级，步子太大时每一步都越过谷底，"
              f"损失越跳越高，{at}变成无穷大或非数（{b.diverged_seeds}/{b.seeds} 个种子发散）{rest}，得不到可用的曲线。",
              f"<b>lr = {lr}: steps too large, divergence.</b> Adam's update of each weight is roughly as large as the "
              f"learning rate; with steps this large every update overshoots the valley, the loss climbs and becomes "
              f"infinite or NaN {at} ({b.diverged_seeds} of {b.seeds} seeds diverged){rest}; no usable curve comes out.")
    elif b.status == "oscillating":
        w.say(f"<b>lr = {lr}：步长过大，振荡。</b>每一步都越过谷底，损失曲线上下剧烈跳动（{b.oscillating_seeds}/{b.seeds} 个种子），"
              f"{epochs:,} 轮后真实误差仍为 {num(b.true_error)}，曲线粗糙、偏离 f(x)。",
              f"<b>lr = {lr}: steps too large, oscillation.</b> Each update overshoots the valley and the loss jumps up and "
              f"down ({b.oscillating_seeds} of {b.seeds} seeds); after {epochs:,} epochs the true error is still "
              f"{num(b.true_error)} and the curve is rough and off f(x).")
    elif b.status == "stalled":
        w.say(f"<b>lr = {lr}：步长过大，训练停滞。</b>损失几乎没有下降（{b.stalled_seeds}/{b.seeds} 个种子），"
              f"学到的曲线接近一条直线，真实误差 {num(b.true_error)}。过大的步子常把 ReLU 单元一下推到输出恒为零的区域，"
              f"之后梯度为零，网络再也学不动。",
              f"<b>lr = {lr}: steps too large, training stalls.</b> The loss hardly falls ({b.stalled_seeds} of {b.seeds} "
              f"seeds) and the learnt curve is close to a straight line (true error {num(b.true_error)}). A step this large "
              f"often pushes ReLU units into the region where they output zero; their gradient is then zero and they stop learning.")
    else:
        w.say(f"<b>lr = {lr}：</b>学习率虽大，本次训练仍然收敛，真实误差 {num(b.true_error)}，但损失曲线不如较小学习率平稳。",
              f"<b>lr = {lr}:</b> large as it is, training still converged here (true error {num(b.true_error)}), "
              f"though its loss curve is less smooth than at smaller rates.")


def smallest_lr_sentence(b, epochs: int, best, w: Writer) -> None:
    lr = lr_text(b.lr)
    if b.status == "slow":
        w.say(f"<b>lr = {lr}：步长小，收敛慢。</b>每一步只走很短的距离，{epochs:,} 轮结束时损失仍在稳步下降"
              f"（{b.still_falling_seeds}/{b.seeds} 个种子），还没有收敛：训练损失 {num(b.train_loss)}，真实误差 "
              f"{num(b.true_error)}，曲线仍偏平滑，没有贴合 f(x) 的全部弯曲。增加轮数可以弥补，这是慢，不是不稳定。",
              f"<b>lr = {lr}: small steps, slow convergence.</b> Each update moves only a short distance; after {epochs:,} "
              f"epochs the loss is still falling steadily ({b.still_falling_seeds} of {b.seeds} seeds) and has not "
              f"converged: training loss {num(b.train_loss)}, true error {num(b.true_error)}, and the curve is still too "
              f"smooth to follow all bends of f(x). More epochs would make up for it: the problem is speed, not stability.")
    elif b.status in ("diverged", "oscillating", "stalled"):
        w.say(f"<b>lr = {lr}：</b>训练表现为{status_word(b.status, w)}（真实误差 {num(b.true_error)}）。",
              f"<b>lr = {lr}:</b> training {status_word(b.status, w)} (true error {num(b.true_error)}).")
    elif best is not None and b.lr != best:
        w.say(f"<b>lr = {lr}：</b>步子较小，{epochs:,} 轮内损失已基本走平，真实误差 {num(b.true_error)}，略逊于 lr = {lr_text(best)}。",
              f"<b>lr = {lr}:</b> with small steps the loss has nearly levelled off within {epochs:,} epochs; true error "
              f"{num(b.true_error)}, a little worse than at lr = {lr_text(best)}.")


def smallest_is_best_conclusion(f, w: Writer) -> bool:
    """The slowest rate fit the true function best while fitting the points least: say why.

    False (nothing said) unless its training loss is above every other converged rate's.
    """
    small = f.behaviour[f.smallest]
    converged = [f.behaviour[lr] for lr in f.lrs
                 if lr != f.smallest and f.behaviour[lr].status in ("converged", "slow")]
    if not converged or small.train_loss <= max(b.train_loss for b in converged):
        return False
    rates = "、".join(f"lr = {lr_text(b.lr)} 为 {num(b.train_loss)}" for b in converged)
    rates_en = ", ".join(f"lr = {lr_text(b.lr)}: {num(b.train_loss)}" for b in converged)
    w.say(f"<b>结论：</b>学习率太大 → 步子太大，越过谷底，振荡甚至发散；学习率小 → 步子小，收敛慢。"
          f"lr = {lr_text(f.smallest)} 的真实误差最低（{num(small.true_error)}），但原因不是它学得更好："
          f"{f.epochs:,} 轮后它的训练损失比其余收敛的学习率都高（{num(small.train_loss)}；{rates}），"
          f"即对带噪训练点拟合得最少，曲线更平滑，所以离真实函数更近。慢收敛在这里相当于提前停止；"
          f"训练得更久，它也会开始拟合噪声（见 1A）。",
          f"<b>In short:</b> too large a learning rate takes steps that overshoot the valley, so training oscillates or "
          f"even diverges; a small rate takes small steps and converges slowly. lr = {lr_text(f.smallest)} has the lowest "
          f"true error ({num(small.true_error)}), but not because it learns better: after {f.epochs:,} epochs its training "
          f"loss is higher than that of every other converged rate ({num(small.train_loss)}; {rates_en}), so it has "
          f"fitted the least of the noise and its curve is smoother, hence closer to the true function. Slow convergence "
          f"acts as early stopping here; trained longer, it too would start fitting the noise (see 1A).")
    return True


def status_word(status: str, w: Writer) -> str:
    words = {"diverged": ("发散", "diverged"), "oscillating": ("振荡", "oscillated"), "stalled": ("停滞", "stalled"),
             "slow": ("收敛慢", "converged slowly"), "converged": ("收敛", "converged")}
    return w.pick(*words[status])


def answer_1b(lab: LabAnalysis, w: Writer, ref: Ref) -> None:
    f = lab.lr_facts
    seeds = len(lab.lr.seeds)
    w.say(f"固定训练 {f.epochs:,} 轮，学习率取 {join_values(f.lrs, 'zh')}，每个设置 {seeds} 个种子。"
          f"曲线见{ref('fig:lr_panels')}，损失随轮数的变化见{ref('fig:lr_loss')}，误差见{ref('fig:lr_errors')}和{ref('tab:lr')}。"
          f"学习率决定每一步沿（Adam 归一化后的）梯度方向走多远。",
          f"The number of epochs is fixed at {f.epochs:,}; the learning rate takes {join_values(f.lrs, 'en')}, with "
          f"{plural(seeds, 'seed')} each. The curves are in {ref('fig:lr_panels')}, the loss over epochs in {ref('fig:lr_loss')}, "
          f"the errors in {ref('fig:lr_errors')} and {ref('tab:lr')}. The learning rate sets how far each step moves "
          f"along the (Adam-normalised) gradient.")
    largest_lr_sentence(f.behaviour[f.largest], f.epochs, w)
    middle = [lr for lr in f.lrs if lr not in (f.largest, f.smallest)]
    steady = [lr for lr in middle if f.behaviour[lr].status in ("converged", "slow")]
    if steady:
        parts = "；".join(f"lr = {lr_text(lr)}：{num(f.behaviour[lr].true_error)}" for lr in steady)
        parts_en = "; ".join(f"lr = {lr_text(lr)}: {num(f.behaviour[lr].true_error)}" for lr in steady)
        w.say(f"<b>中等学习率：</b>步长合适，损失平稳下降，曲线贴合真实函数（真实误差 {parts}）。",
              f"<b>Moderate rates:</b> the step size suits the problem, the loss falls steadily and the curve follows "
              f"the true function (true error {parts_en}).")
    for lr in middle:
        b = f.behaviour[lr]
        if b.status not in ("converged", "slow"):
            w.say(f"<b>lr = {lr_text(lr)}：</b>步子仍偏大，损失曲线{status_word(b.status, w)}"
                  f"（{b.diverged_seeds or b.oscillating_seeds or b.stalled_seeds}/{b.seeds} 个种子），真实误差 {num(b.true_error)}。",
                  f"<b>lr = {lr_text(lr)}:</b> the steps are still large: the loss {status_word(b.status, w)} "
                  f"({b.diverged_seeds or b.oscillating_seeds or b.stalled_seeds} of {b.seeds} seeds), true error "
                  f"{num(b.true_error)}.")
    if f.smallest != f.largest:
        smallest_lr_sentence(f.behaviour[f.smallest], f.epochs, f.best_lr, w)
    if f.best_lr is not None and f.best_lr == f.smallest and smallest_is_best_conclusion(f, w):
        return
    if f.best_lr is not None:
        w.say(f"<b>结论：</b>学习率太大 → 步子太大，越过谷底，振荡甚至发散；学习率太小 → 步子太小，在 {f.epochs:,} 轮内收敛不完；"
              f"本次 lr = {lr_text(f.best_lr)} 在 {f.epochs:,} 轮内得到最好的拟合（真实误差 {num(f.best_true_error)}）。",
              f"<b>In short:</b> too large a learning rate takes steps that overshoot the valley, so training oscillates or "
              f"even diverges; too small a rate takes small steps and does not finish converging within {f.epochs:,} "
              f"epochs. Here lr = {lr_text(f.best_lr)} gave the best fit within {f.epochs:,} epochs (true error "
              f"{num(f.best_true_error)}).")


def answer_1c(lab: LabAnalysis, w: Writer, ref: Ref) -> None:
    c = lab.custom
    f, search = c.facts, c.params.get("search", {})
    lo, hi = c.params.get("x_range", ["?", "?"])
    seeds = int(c.search["seeds"].max())
    val_share = round(100 * float(c.params.get("validation_fraction", 0.2)))
    w.say(f"自定义函数 f(x) = {code(f.function)}，x ∈ [{lo}, {hi}]，噪声标准差 {c.params.get('noise_std')}。"
          f"从训练点中留出 {val_share}% 作验证集，对学习率 {join_values(search.get('lrs', []), 'zh')} × 轮数 "
          f"{join_values(search.get('epochs', []), 'zh')} × 隐藏层宽度 {join_values(search.get('widths', []), 'zh')}"
          f"共 {f.configurations} 种组合做网格搜索（每种 {seeds} 个种子），按<b>验证误差</b>选择设置；真实误差只用来报告结果，"
          f"不参与选择，否则就等于拿答案来调参。搜索结果见{ref('fig:custom_search')}和{ref('tab:custom_search')}。",
          f"The chosen function is f(x) = {code(f.function)} on x ∈ [{lo}, {hi}] with noise std "
          f"{c.params.get('noise_std')}. {val_share}% of the training points are held out for validation, and a grid "
          f"search over learning rate {join_values(search.get('lrs', []), 'en')} × epochs "
          f"{join_values(search.get('epochs', []), 'en')} × hidden width {join_values(search.get('widths', []), 'en')} "
          f"({f.configurations} combinations, {plural(seeds, 'seed')} each) picks the setting with the lowest <b>validation "
          f"error</b>; the true error is only reported, never used to choose, which would amount to tuning on the answer. "
          f"The search is shown in {ref('fig:custom_search')} and {ref('tab:custom_search')}.")
    hidden = ", ".join(str(h) for h in f.baseline_hidden)
    chosen = w.pick(f"lr = {lr_text(f.chosen_lr)}，{f.chosen_epochs:,} 轮，每层宽度 {f.chosen_width}（{f.depth} 个隐藏层）",
                    f"lr = {lr_text(f.chosen_lr)}, {f.chosen_epochs:,} epochs, width {f.chosen_width} per layer "
                    f"({f.depth} hidden layers)")
    baseline = w.pick(f"lr = {lr_text(f.baseline_lr)}，{f.baseline_epochs:,} 轮，隐藏层 [{hidden}]",
                      f"lr = {lr_text(f.baseline_lr)}, {f.baseline_epochs:,} epochs, hidden [{hidden}]")
    if f.improvement >= 1:
        w.say(f"选定设置：{chosen}（验证误差 {num(f.chosen_val_error)}）。与基线（{baseline}）相比，真实误差从 "
              f"{pm(f.baseline_true_error, f.baseline_true_error_std)} 降到 {pm(f.chosen_true_error, f.chosen_true_error_std)}，"
              f"约为基线的 1/{num(f.improvement, 2)}（{ref('fig:custom_curves')}，{ref('tab:custom_comparison')}）。",
              f"Chosen setting: {chosen} (validation error {num(f.chosen_val_error)}). Against the baseline ({baseline}) "
              f"the true error falls from {pm(f.baseline_true_error, f.baseline_true_error_std)} to "
              f"{pm(f.chosen_true_error, f.chosen_true_error_std)}, about 1/{num(f.improvement, 2)} of the baseline's "
              f"({ref('fig:custom_curves')}, {ref('tab:custom_comparison')}).")
    else:
        w.say(f"选定设置：{chosen}。它的真实误差 {pm(f.chosen_true_error, f.chosen_true_error_std)} 并不优于基线（{baseline}）的 "
              f"{pm(f.baseline_true_error, f.baseline_true_error_std)}：验证集点数少、噪声大，按验证误差选出的设置不一定真实误差最小"
              f"（{ref('fig:custom_curves')}，{ref('tab:custom_comparison')}）。",
              f"Chosen setting: {chosen}. Its true error {pm(f.chosen_true_error, f.chosen_true_error_std)} is not better "
              f"than the baseline's ({baseline}) {pm(f.baseline_true_error, f.baseline_true_error_std)}: the validation set "
              f"is small and noisy, so the setting with the lowest validation error need not have the lowest true error "
              f"({ref('fig:custom_curves')}, {ref('tab:custom_comparison')}).")
    noise = float(c.params.get("noise_std", 0)) ** 2
    w.say(f"注意验证误差是在带噪数据上算的，其中约 σ² = {num(noise)} 是噪声本身、任何模型都无法消除，"
          f"各设置之间真正的差别只是超出 σ² 的那一部分。",
          f"Note that the validation error is measured on noisy data: about σ² = {num(noise)} of it is the noise itself, "
          f"which no model can remove, so the settings really differ only in the part above σ².")


# --- Exercise 2 --------------------------------------------------------------------

def schedule_text(phases, w: Writer) -> str:
    parts = [w.pick(f"lr = {lr_text(lr)} 训练 {n} 轮", f"lr = {lr_text(lr)} for {n} epochs") for lr, n in phases]
    return w.pick("，然后".join(parts), ", then ".join(parts))


def answer_2a(lab: LabAnalysis, w: Writer, ref: Ref) -> None:
    c = lab.cifar
    f, p = c.facts, c.params
    subset = ""
    if p.get("train_subset") or p.get("test_subset"):
        subset = w.pick(f"（只用了训练集的 {p.get('train_subset') or '全部'} 张、测试集的 {p.get('test_subset') or '全部'} 张图像）",
                        f" (using {p.get('train_subset') or 'all'} training and {p.get('test_subset') or 'all'} test images)")
    w.say(f"补全的 test(epoch) 见附录（{ref('code:evaluate')}，即本工具实际运行的评估函数）：切换到 model.eval()，在 "
          f"torch.no_grad() 下遍历测试集，累加交叉熵损失和预测正确的样本数，得到测试损失和准确率。训练按推荐计划进行："
          f"{schedule_text(f.phases, w)}，批大小 {p.get('batch_size')}，SGD（动量 {p.get('momentum')}，权重衰减 "
          f"{p.get('weight_decay')}）{subset}，每轮结束后测试一次。",
          f"The completed test(epoch) is listed in the appendix ({ref('code:evaluate')}: the evaluation function this "
          f"tool really runs): it switches to model.eval(), loops over the test set under torch.no_grad(), and sums the "
          f"cross-entropy loss and the number of correct predictions to give the test loss and accuracy. Training follows "
          f"the recommended schedule: {schedule_text(f.phases, w)}, batch size {p.get('batch_size')}, SGD (momentum "
          f"{p.get('momentum')}, weight decay {p.get('weight_decay')}){subset}, testing after every epoch.")
    w.say(f"逐轮结果见{ref('tab:cifar_epochs')}和{ref('fig:cifar_curves')}。{f.epochs} 轮后测试准确率为 {pct(f.final_test)}"
          f"（最高 {pct(f.best_test)}，第 {f.best_test_epoch} 轮），训练准确率 {pct(f.final_train)}；训练共用 "
          f"{seconds_text(f.train_seconds, 'zh')}，测试共用 {seconds_text(f.test_seconds, 'zh')}。",
          f"The per-epoch results are in {ref('tab:cifar_epochs')} and {ref('fig:cifar_curves')}. After {f.epochs} epochs "
          f"the test accuracy is {pct(f.final_test)} (best {pct(f.best_test)}, epoch {f.best_test_epoch}) and the training "
          f"accuracy {pct(f.final_train)}; training took {seconds_text(f.train_seconds, 'en')} and testing "
          f"{seconds_text(f.test_seconds, 'en')} in all.")
    if f.worst_class and f.top_confusion:
        worst, best = f.worst_class, f.best_class
        t, p_, n = f.top_confusion
        lang = w.lang
        w.say(f"各类别的准确率差别很大（{ref('fig:per_class')}）：最好的是{class_name(best[0], lang)}（{pct(best[1])}），"
              f"最差的是{class_name(worst[0], lang)}（{pct(worst[1])}）；最常见的错误是把{class_name(t, lang)}认成"
              f"{class_name(p_, lang)}（{n} 次，{ref('fig:confusion')}）。",
              f"Accuracy differs a lot between classes ({ref('fig:per_class')}): best is {best[0]} ({pct(best[1])}), "
              f"worst {worst[0]} ({pct(worst[1])}); the most frequent mistake is {t} taken for {p_} ({n} times, "
              f"{ref('fig:confusion')}).")


def jump_word(jump: float, w: Writer) -> str:
    if jump >= 5:
        return w.pick("明显跳升", "jumped")
    if jump >= 1:
        return w.pick("小幅上升", "rose a little")
    if jump > -1:
        return w.pick("几乎没有变化", "barely changed")
    return w.pick("反而下降", "fell")


def answer_2b(lab: LabAnalysis, w: Writer, ref: Ref) -> None:
    f = lab.cifar.facts
    d = f.drop
    if d is None:
        w.say("本次训练只有一个学习率阶段，没有发生学习率下降，无法回答；按推荐计划（两个阶段）重新运行。",
              "This run had a single learning-rate phase, so there was no drop to observe; run the recommended two-phase schedule.")
        return
    up = lambda value: w.pick("升", "rose") if value >= 0 else w.pick("降", "fell")  # noqa: E731
    w.say(f"<b>现象：</b>第 {d.epoch_before} 轮（lr = {lr_text(d.lr_before)}）结束时测试准确率为 {pct(d.test_before)}；"
          f"学习率降为 {lr_text(d.lr_after)} 后的第 {d.epoch_after} 轮，测试准确率{jump_word(d.test_jump, w)}到 "
          f"{pct(d.test_after)}（{signed(d.test_jump)} 个百分点），训练准确率也从 "
          f"{pct(d.train_before)} {up(d.train_jump)}到 {pct(d.train_after)}（{signed(d.train_jump)}"
          f" 个百分点），测试损失从 {num(d.test_loss_before)} 变为 {num(d.test_loss_after)}"
          f"（{ref('fig:cifar_curves')}，{ref('tab:cifar_epochs')}）。",
          f"<b>What happened:</b> at the end of epoch {d.epoch_before} (lr = {lr_text(d.lr_before)}) the test accuracy was "
          f"{pct(d.test_before)}; in epoch {d.epoch_after}, the first at lr = {lr_text(d.lr_after)}, it "
          f"{jump_word(d.test_jump, w)} to {pct(d.test_after)} ({signed(d.test_jump)} "
          f"percentage points). The training accuracy {up(d.train_jump)} from {pct(d.train_before)} to "
          f"{pct(d.train_after)} ({signed(d.train_jump)} points), and the test loss went "
          f"from {num(d.test_loss_before)} to {num(d.test_loss_after)} ({ref('fig:cifar_curves')}, {ref('tab:cifar_epochs')}).")
    before = w.pick(f"降低学习率之前的最后几轮，测试准确率平均每轮变化 {num(d.gain_before, 2)} 个百分点；",
                    f"In the last epochs before the drop the test accuracy changed by {num(d.gain_before, 2)} points per epoch; ") \
        if d.gain_before is not None else ""
    if d.gain_after is not None:
        w.say(f"{before}跳升之后的 {d.epochs_after - 1} 轮里平均每轮只变化 {num(d.gain_after, 2)} 个百分点，曲线很快走平"
              f"（最终 {pct(d.test_final)}）。",
              f"{before}after the jump, over {d.epochs_after - 1} more epochs, it changed by only "
              f"{num(d.gain_after, 2)} points per epoch: the curve flattens (final {pct(d.test_final)}).")
    else:
        w.say(f"{before}本次在低学习率下只训练了 1 轮，看不出之后是否走平。",
              f"{before}only one epoch ran at the lower rate, so whether the curve flattens afterwards cannot be seen.")
    batch, ratio = lab.cifar.params.get("batch_size", 128), num(d.lr_before / d.lr_after, 2)
    w.say(f"<b>原因：步长与梯度噪声。</b>每个小批量（{batch} 张图像）的梯度只是全体训练数据梯度的带噪估计。"
          f"lr = {lr_text(d.lr_before)} 时步子大，SGD 在损失曲面上一片较宽的低洼区域里来回弹跳，噪声使它落不到谷底，"
          f"所以这一阶段后期准确率提升越来越慢、上下波动。学习率降为 {lr_text(d.lr_after)} 后，每一步和噪声造成的抖动都缩小到原来的 "
          f"1/{ratio}，参数能沉到这片区域中更低的位置，{settle_clause(d, w)}"
          f"此后步子小，每轮能继续下降的幅度有限，曲线随之变平；要再提高，需要更多轮次或再次降低学习率。",
          f"<b>Why: step size and gradient noise.</b> The gradient of each mini-batch ({batch} images) is only a noisy "
          f"estimate of the gradient over all training data. At lr = {lr_text(d.lr_before)} the steps are large and SGD "
          f"bounces around a wide low region of the loss surface; the noise keeps it from settling at the bottom, so late "
          f"in that phase the accuracy improves ever more slowly and fluctuates. After the drop to lr = "
          f"{lr_text(d.lr_after)}, each step and the jitter the noise causes shrink {ratio}-fold, so the weights settle "
          f"lower in that region{settle_clause(d, w)} From then on the small steps can only descend a little per epoch "
          f"and the curves flatten; going further takes more epochs or another drop.")


def settle_clause(d, w: Writer) -> str:
    """What settling lower did this time: a clear jump, or less than expected."""
    if d.test_jump >= 1 and d.train_jump >= 1:
        return w.pick("损失立刻下降，训练和测试准确率同时跳升。",
                      ": the loss falls at once and both the training and the test accuracy jump.")
    return w.pick(f"按理准确率应随之跳升；本次跳升不明显（测试 {signed(d.test_jump)}、训练 {signed(d.train_jump)} 个百分点），"
                  f"可能是第一阶段太短、数据太少（如快速构建），或测量的随机波动掩盖了它。",
                  f", so the accuracy would be expected to jump; this time the change was small (test "
                  f"{signed(d.test_jump)}, train {signed(d.train_jump)} points), perhaps because the first phase was "
                  f"short or the data few (as in a quick build), or because run-to-run noise hid it.")


def gap_word(gap: float, w: Writer) -> str:
    if gap < 0:
        return w.pick("为负，即测试准确率更高", "negative: the test accuracy is higher")
    if gap < 2:
        return w.pick("很小", "small")
    if gap < 8:
        return w.pick("中等", "moderate")
    return w.pick("较大，已有过拟合的迹象", "large, a sign of over-fitting")


def answer_2c(lab: LabAnalysis, w: Writer, ref: Ref) -> None:
    c = lab.cifar
    f = c.facts
    w.say(f"<b>关联：</b>两者衡量的是同一个模型的分类正确率，随训练一起上升，学习率下降时也一起跳升"
          f"（{ref('fig:cifar_curves')}）；训练准确率高的模型，测试准确率通常也高。",
          f"<b>How they are related:</b> both measure how often the same model classifies correctly; they rise together "
          f"during training and jump together at the learning-rate drop ({ref('fig:cifar_curves')}); a model with a "
          f"higher training accuracy usually has a higher test accuracy too.")
    tests = int((c.record.get("summary") or {}).get("test_images") or c.params.get("test_subset") or 10000)
    w.say(f"<b>不同一：数据不同。</b>训练准确率在训练图像上统计，这些图像每轮都经过随机裁剪（填充 4 像素）和随机水平翻转，"
          f"而且模型正在用它们学习；测试准确率在 {tests} 张模型从未见过的测试图像上统计，不做增强。",
          f"<b>Difference 1, the data:</b> the training accuracy is counted on training images that are randomly cropped "
          f"(4-pixel padding) and flipped anew every epoch, and that the model is learning from; the test accuracy is "
          f"counted on the {tests:,} held-out test images the model never trains on, without augmentation.")
    w.say("<b>不同二：测量的时刻和模式不同。</b>训练准确率是一轮中各个小批量准确率的平均：这一轮里权重一直在变，前面的批次是由"
          "较差的权重预测的；模型处于 train 模式，BatchNorm 用当前小批量的均值和方差。测试准确率在一轮结束后、用这一轮最终的权重测得，"
          "模型处于 eval 模式，BatchNorm 使用训练中累计的运行均值和方差，并且不计算梯度。",
          "<b>Difference 2, when and how they are measured:</b> the training accuracy is the average over the epoch's "
          "mini-batches while the weights are still changing, so early batches are predicted by worse weights, and the "
          "model is in train mode, where BatchNorm normalises with each mini-batch's own mean and variance. The test "
          "accuracy is measured after the epoch with its final weights, in eval mode, where BatchNorm uses the running "
          "statistics gathered during training, without gradients.")
    above = ""
    if f.epochs_test_above_train:
        above = w.pick(f"{f.epochs} 轮中有 {f.epochs_test_above_train} 轮测试准确率反而高于训练准确率，上面两点可以解释这一现象："
                       f"训练准确率是在增强后更难的图像上、用一轮中较早较差的权重测得的。",
                       f" In {f.epochs_test_above_train} of {f.epochs} epochs the test accuracy was even higher than the "
                       f"training accuracy, which the two differences above explain: the training accuracy is measured "
                       f"on harder, augmented images and partly with the epoch's earlier, worse weights.")
    largest = ""
    if f.largest_gap > max(f.final_gap, 0) + 0.5:
        largest = w.pick(f"；差距最大时为 {signed(f.largest_gap)} 个百分点（第 {f.largest_gap_epoch} 轮）",
                         f"; it was widest, {signed(f.largest_gap)} points, in epoch {f.largest_gap_epoch}")
    w.say(f"<b>差距的含义：</b>训练准确率减去测试准确率是泛化差距，衡量模型学到的东西有多少能推广到新数据。本次最终训练准确率 "
          f"{pct(f.final_train)}，测试准确率 {pct(f.final_test)}，差距 {signed(f.final_gap)} 个百分点，"
          f"{gap_word(f.final_gap, w)}{largest}（{ref('tab:cifar_epochs')}）。{above}"
          f"若继续训练很多轮，训练准确率通常会逼近 100%，测试准确率却停在较低的位置，差距变大，即过拟合。",
          f"<b>What the gap means:</b> training minus test accuracy is the generalisation gap: how much of what the model "
          f"learnt carries over to new data. Here the final training accuracy is {pct(f.final_train)} and the test "
          f"accuracy {pct(f.final_test)}, a gap of {signed(f.final_gap)} percentage points, which is "
          f"{gap_word(f.final_gap, w)}{largest} ({ref('tab:cifar_epochs')}).{above} Trained for many more epochs, "
          f"the training accuracy usually approaches 100% while the test accuracy levels off lower: the gap widens, "
          f"which is over-fitting.")


GENERATORS = {"1A": answer_1a, "1B": answer_1b, "1C": answer_1c, "2A": answer_2a, "2B": answer_2b, "2C": answer_2c}


# --- assembling --------------------------------------------------------------------

def missing_text(run: str, reason: str, lang: str, repeated: bool = False) -> Markup:
    w = Writer(lang)
    if repeated:
        w.say(f"缺少实验 {code(run)} 的结果，无法回答此题（见上文）。",
              f"The results of run {code(run)} are not available, so this question cannot be answered (see above).")
        return w.html()
    command = code(f"labreport run --only {run}")
    w.say(f"缺少实验 {code(run)} 的结果（{escape(reason)}），无法回答此题。运行 {command} 生成结果后重新构建报告"
          f"（{code('labreport build')} 也会先补跑缺少的实验）。",
          f"The results of run {code(run)} are not available ({escape(reason)}), so this question cannot be answered. "
          f"Compute them with {command}, then build again ({code('labreport build')} also runs what is missing first).")
    return w.html()


def student_answer(path: Path) -> Markup:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read your answer ({error}); save it as UTF-8 Markdown or remove it") from error
    return Markup(markdown.markdown(text, extensions=["extra", "sane_lists"]))


def build_answers(lab: LabAnalysis, lang: str, ref: Ref, answers_dir: Path | None) -> dict[str, Answer]:
    """One Answer per question: the student's Markdown if present, else generated from the facts."""
    answers, reported = {}, set()
    for qid, (zh, en) in QUESTIONS.items():
        question = zh if lang == "zh" else en
        own = answers_dir / f"{qid}.md" if answers_dir else None
        run = RUN_OF_QUESTION[qid]
        if own is not None and own.is_file():
            answers[qid] = Answer(qid, question, student_answer(own), "student", own)
        elif run in lab.missing:
            answers[qid] = Answer(qid, question, missing_text(run, lab.missing[run], lang, run in reported), "missing")
            reported.add(run)
        else:
            writer = Writer(lang)
            GENERATORS[qid](lab, writer, ref)
            answers[qid] = Answer(qid, question, writer.html(), "generated")
    return answers
