"""Exercise 2's answers (2A, 2B, 2C): its facts -> paragraphs in Chinese or English.

The wording follows what was measured (how large the jump at the learning-rate
drop was, how wide the train/test gap); every number is taken from the facts
(`lab.exercises.cifar.facts`). Generated text is HTML.
"""
from __future__ import annotations

from lab.exercises.cifar.facts import CifarAnalysis
from lab.exercises.cifar.figures import class_name
from lab.report.wording import Ref, Writer, lr_text, num, pct, seconds_text, signed

# --- Exercise 2 --------------------------------------------------------------------

def schedule_text(phases, w: Writer) -> str:
    parts = [w.pick(f"lr = {lr_text(lr)} 训练 {n} 轮", f"lr = {lr_text(lr)} for {n} epochs") for lr, n in phases]
    return w.pick("，然后".join(parts), ", then ".join(parts))


def answer_2a(lab: CifarAnalysis, w: Writer, ref: Ref) -> None:
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


def answer_2b(lab: CifarAnalysis, w: Writer, ref: Ref) -> None:
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


def answer_2c(lab: CifarAnalysis, w: Writer, ref: Ref) -> None:
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


GENERATORS = {"2A": answer_2a, "2B": answer_2b, "2C": answer_2c}
