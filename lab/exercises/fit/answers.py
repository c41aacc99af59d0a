"""Exercise 1's answers (1A, 1B, 1C): its facts -> paragraphs in Chinese or English.

The wording follows what was measured (did the longest run's true error rise, did
lr = 1 diverge or oscillate); every number is taken from the facts
(`lab.exercises.fit.facts`), so the prose agrees with the tables. Generated text
is HTML; anything from the declaration is escaped.
"""
from __future__ import annotations

from lab.exercises.fit.facts import FitAnalysis
from lab.report.wording import Ref, Writer, code, join_values, lr_text, num, plural, pm

# --- Exercise 1 --------------------------------------------------------------------

def answer_1a(lab: FitAnalysis, w: Writer, ref: Ref) -> None:
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


def answer_1b(lab: FitAnalysis, w: Writer, ref: Ref) -> None:
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


def answer_1c(lab: FitAnalysis, w: Writer, ref: Ref) -> None:
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


GENERATORS = {"1A": answer_1a, "1B": answer_1b, "1C": answer_1c}
