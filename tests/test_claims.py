"""Every claim the answers make about curves holds on the curves themselves.

Each fixture shape (tests/fixtures/claims.py) writes run files that break naive wording. The
answers are rendered in both languages; each claim found in the text is then checked against the
raw CSV files, read and computed here, never against the facts object the answers were built from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from lab.core.api import load_lab
from lab.report.answers import build_answers
from lab.report.reading import read
from lab.report.render import lab_template_folders, template_environment
from lab.report.wording import num
from tests.fixtures.claims import SHAPES, store

TOLERANCE = 0.05  # the plateau the answers state: within 5 % of the final loss
REBOUND = 1.5  # a rise to 1.5 times the lowest loss so far
NUMBER = r"[\d,]+(?:\.\d+)?"
# A seed's loss at two epochs, as the answers quote it: named, since the languages order them differently.
SEED, AT, FIRST, END, LAST = (
    rf"(?P<{name}>{pattern})"
    for name, pattern in [("seed", r"\d+"), ("at", NUMBER), ("first", NUMBER), ("end", NUMBER), ("last", NUMBER)]
)


def answers(runs: dict, lang: str) -> dict[str, str]:
    lab = load_lab()
    built = build_answers(read(runs), lang, lambda key: key, None, lab, template_environment(lab_template_folders(lab)))
    return {qid: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", str(a.body))) for qid, a in built.items()}


@pytest.fixture(scope="module", params=sorted(SHAPES))
def shaped(request, tmp_path_factory):
    runs = store(tmp_path_factory.mktemp(request.param))
    SHAPES[request.param](runs)
    return request.param, runs, {lang: answers(runs, lang) for lang in ("en", "zh")}


# How the answers word each claim the checks below test: one regular expression per language.
CLAIMS = {
    "every seed flat": {
        "en": rf"[Ff]rom (?:about )?epoch ({NUMBER}) on,? (?:every seed's loss stays within|it sits flat)",
        "zh": rf"从第 ({NUMBER}) 轮起，(?:每个种子的损失都保持在|损失停在平台上)",
    },
    "flat on the seeds named": {
        "en": rf"epochs ({NUMBER})–({NUMBER})\) the loss stayed within 5 % of its final value on (?:seeds? ([\d, ]+)|no seed);",
        "zh": rf"第 ({NUMBER})–({NUMBER}) 轮），(?:种子 ([\d、]+) 的损失保持在|没有一个种子)",
    },
    "a seed still moving": {
        "en": rf"seed {SEED} still (?P<way>fell|rose) from {FIRST} at epoch {AT} to {LAST} at epoch {END}",
        "zh": rf"种子 {SEED} 仍从第 {AT} 轮的 {FIRST} (?P<way>降|升)到第 {END} 轮的 {LAST}",
    },
    "a seed up and down": {
        "en": rf"seed (\d+) went up and down by up to ({NUMBER}) % of its final value",
        "zh": rf"种子 (\d+) 有升有降，偏离最终值最多 ({NUMBER})%",
    },
    "seeds that spiked": {
        "en": rf"On (\d+) of (\d+) seeds the loss spiked to ({NUMBER})(?:–({NUMBER}))? times its lowest value before \(peak at epoch ({NUMBER})(?:–({NUMBER}))?\)",
        "zh": rf"(\d+)/(\d+) 个种子的损失出现尖峰，升到此前最低值的 ({NUMBER})(?:–({NUMBER}))? 倍（峰值在第 ({NUMBER})(?:–({NUMBER}))? 轮）",
    },
    "one spike": {
        "en": rf"\(seed {SEED}: from {FIRST} at epoch {AT} to {LAST} at epoch {END}(?:, back below {NUMBER} at epoch (?P<back>{NUMBER}))?",
        "zh": rf"（种子 {SEED}：从第 {AT} 轮的 {FIRST} 升到第 {END} 轮的 {LAST}(?:，第 (?P<back>{NUMBER}) 轮回落)?",
    },
}


def stated(text: str, lang: str, claim: str) -> Iterator[re.Match[str]]:
    """Every place ``text`` makes ``claim``."""
    return re.finditer(CLAIMS[claim][lang], text)


def integer(text: str) -> int:
    return int(text.replace(",", ""))


# --- 1B: the largest learning rate, from loss.csv ----------------------------------------------


def lr1_curves(runs: dict) -> dict[int, pd.DataFrame]:
    """Per seed that did not diverge: its logged (epoch, train_loss) at the largest rate."""
    snapshots = pd.read_csv(runs["fit.lr"].dir / "snapshots.csv")
    loss = pd.read_csv(runs["fit.lr"].dir / "loss.csv")
    largest = snapshots["lr"].max()
    diverged = set(snapshots[(snapshots["lr"] == largest) & (snapshots["diverged"] == 1)]["seed"])
    rows = loss[np.isclose(loss["lr"], largest) & ~loss["seed"].isin(diverged)]
    return {int(seed): group.sort_values("epoch") for seed, group in rows.groupby("seed")}


def flat_from(curve: pd.DataFrame, epoch: int) -> bool:
    """Every logged loss from ``epoch`` on is within TOLERANCE of the final one."""
    losses = curve["train_loss"].to_numpy()
    later = losses[curve["epoch"].to_numpy() >= epoch]
    return bool(np.all(np.abs(later / losses[-1] - 1) < TOLERANCE))


def loss_at(curve: pd.DataFrame, epoch: int) -> float:
    return float(curve.loc[curve["epoch"] == epoch, "train_loss"].iloc[0])


def check_plateau(text: str, curves: dict[int, pd.DataFrame], lang: str) -> None:
    """A plateau stated for every seed holds on every seed; one stated per seed holds on the
    seeds named, and each other seed is named with what it did."""
    for match in stated(text, lang, "every seed flat"):
        start = integer(match.group(1))
        assert all(flat_from(c, start) for c in curves.values()), f"not every seed is flat from {start}: {match[0]}"
    for match in stated(text, lang, "flat on the seeds named"):
        start = integer(match.group(1))
        flat = [int(s) for s in re.findall(r"\d+", match.group(3) or "")]
        assert all(flat_from(curves[s], start) for s in flat)
        named = set(flat)
        for m in stated(text, lang, "a seed still moving"):
            curve, at, end = curves[int(m["seed"])], integer(m["at"]), integer(m["end"])
            assert not flat_from(curve, start)
            assert num(loss_at(curve, at)) == m["first"] and num(loss_at(curve, end)) == m["last"]
            assert (m["way"] in ("fell", "降")) == (loss_at(curve, end) < loss_at(curve, at))
            named.add(int(m["seed"]))
        for m in stated(text, lang, "a seed up and down"):
            curve = curves[int(m.group(1))]
            last = curve[curve["epoch"] >= start]["train_loss"].to_numpy()
            assert not flat_from(curve, start) and abs(last[-1] / last[0] - 1) < TOLERANCE
            assert num(100 * float(np.max(np.abs(last / last[-1] - 1))), 2) == m.group(2)
            named.add(int(m.group(1)))
        assert named == set(curves), "every seed is either named flat or named with what it did"
    stuck = {"en": "not oscillating at the end but stuck", "zh": "最后不是在振荡，而是卡住了"}[lang]
    if stuck in text:
        starts = [c["epoch"].to_numpy() for c in curves.values()]
        assert all(flat_from(c, int(e[e >= 2 / 3 * e[-1]][0])) for c, e in zip(curves.values(), starts))


def largest_rise(curve: pd.DataFrame) -> tuple[float, int]:
    losses = curve["train_loss"].to_numpy()
    ratios = losses[1:] / np.minimum.accumulate(losses)[:-1]
    peak = int(np.argmax(ratios))
    return float(ratios[peak]), int(curve["epoch"].iloc[peak + 1])


def check_spike(text: str, curves: dict[int, pd.DataFrame], lang: str) -> None:
    """A spike is stated as measured: how many seeds, how large, when, and one seed's numbers."""
    assert "overshoot" not in text and "每一步都越过谷底" not in text, "a per-step mechanism nobody measured"
    rises = {seed: largest_rise(c) for seed, c in curves.items()}
    spiked = {seed: r for seed, r in rises.items() if r[0] >= REBOUND}
    for match in stated(text, lang, "seeds that spiked"):
        k, n, low, high, first, last = match.groups()
        assert (int(k), int(n)) == (len(spiked), len(curves))
        ratios, peaks = [r for r, _ in spiked.values()], [e for _, e in spiked.values()]
        assert (low, high or low) == (num(min(ratios)), num(max(ratios)))
        assert (integer(first), integer(last or first)) == (min(peaks), max(peaks))
    for match in stated(text, lang, "one spike"):
        curve, at, peak = curves[int(match["seed"])], integer(match["at"]), integer(match["end"])
        assert num(loss_at(curve, at)) == match["first"] and num(loss_at(curve, peak)) == match["last"]
        if match["back"]:
            back = integer(match["back"])
            between = curve[(curve["epoch"] > peak) & (curve["epoch"] < back)]["train_loss"]
            assert loss_at(curve, back) <= loss_at(curve, at) < between.min()


# --- 1A: the onset of over-fitting, from snapshots.csv -----------------------------------------


def true_errors(runs: dict) -> pd.DataFrame:
    snapshots = pd.read_csv(runs["fit.epochs"].dir / "snapshots.csv")
    return snapshots.pivot_table(index="seed", columns="epochs", values="true_error")


def rise_and_noise(errors: pd.DataFrame, before: int, after: int) -> tuple[float, float]:
    """The rise of the mean true error and the two settings' standard errors combined."""
    se = errors.std(ddof=1) / np.sqrt(len(errors))
    return float(errors[after].mean() - errors[before].mean()), float(np.hypot(se[before], se[after]))


def onset(runs: dict) -> tuple[int, int, int] | None:
    """(before, after, seeds that rose) of the first step up in epochs where the mean true error
    rose beyond the combined standard error on most seeds."""
    errors = true_errors(runs)
    epochs = sorted(errors.columns)
    for before, after in zip(epochs, epochs[1:]):
        rise, noise = rise_and_noise(errors, before, after)
        rose = int((errors[after] > errors[before]).sum())
        if rise > noise and rose * 2 > len(errors):
            return int(before), int(after), rose
    return None


def check_onset(text: str, runs: dict, lang: str) -> None:
    assert "below the noise variance" not in text and "低于噪声方差" not in text, "σ² is no evidence of over-fitting"
    heading = {"en": rf"({NUMBER}) epochs: fitting the noise\.", "zh": rf"({NUMBER}) 轮：开始拟合噪声。"}[lang]
    stated = [integer(e) for e in re.findall(heading, text)]
    truth = onset(runs)
    if not stated:
        return
    assert truth is not None and stated == [truth[1]], f"onset stated at {stated}, measured {truth}"
    counted = {"en": r"; (\d+) of (\d+) seeds rose\)", "zh": r"；(\d+)/(\d+) 个种子上升）"}[lang]
    seeds = re.search(counted, text)
    assert seeds and int(seeds.group(1)) == truth[2]


# --- 2B: the first phase, from epochs.csv ------------------------------------------------------


def check_first_phase(text: str, runs: dict, lang: str) -> None:
    assert "fluctuat" not in text and "波动" not in text.split("原因")[-1].split("此后")[0]
    epochs = pd.read_csv(runs["cifar"].dir / "epochs.csv")
    first = epochs[epochs["phase"] == 1]
    acc_rises = int((first["test_acc"].diff() > 0).sum())
    loss_rises = [int(e) for e in first.loc[first["test_loss"].diff() > 0, "epoch"]]
    every = {"en": "the test accuracy rose from one epoch to the next every time", "zh": "测试准确率每轮都比上一轮高"}
    if every[lang] in text:
        assert acc_rises == len(first) - 1
    listed = {"en": r"it rose in epochs? ([\d, ]+) \(", "zh": r"第 ([\d、]+) 轮比上一轮高"}[lang]
    match = re.search(listed, text)
    if match:
        assert [int(e) for e in re.findall(r"\d+", match.group(1))] == loss_rises
    falling = {"en": "the test loss fell every time", "zh": "测试损失每轮都在下降"}[lang]
    if falling in text:
        assert loss_rises == []
    if "10-fold" in text or "1/10" in text:
        assert "√10" in text, "the steady spread shrinks by about the square root of the drop, not 10-fold"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_stated_claim_holds_on_the_raw_curves(shaped, lang):
    name, runs, text = shaped
    curves = lr1_curves(runs)
    check_plateau(text[lang]["1B"], curves, lang)
    check_spike(text[lang]["1B"], curves, lang)
    check_onset(text[lang]["1A"], runs, lang)
    check_first_phase(text[lang]["2B"], runs, lang)


def test_each_shape_reaches_the_sentence_it_is_about(shaped):
    """The shapes do reach the sentences they are meant to break (else the checks above are vacuous)."""
    name, runs, text = shaped
    en, zh = text["en"], text["zh"]
    if name == "late_drop_on_one_seed":
        assert "seed 2021 still fell from" in en["1B"] and "to 15.1 at epoch 1,000" in en["1B"]
        assert "种子 2021 仍从第" in zh["1B"] and "降到第 1,000 轮的 15.1" in zh["1B"]
    if name == "bump_in_last_third":
        assert "seed 2023 went up and down by up to 12 % of its final value" in en["1B"]
        assert "种子 2023 有升有降，偏离最终值最多 12%" in zh["1B"]
    if name == "single_spike":
        assert "On 5 of 5 seeds the loss spiked" in en["1B"] and "5/5 个种子的损失出现尖峰" in zh["1B"]
        assert "every seed's loss stays within 5 %" in en["1B"]
    if name == "tie_then_rise":
        rise, noise = rise_and_noise(true_errors(runs), 1000, 10000)
        assert rise == noise  # exactly one combined standard error: not a rise
        assert onset(runs) == (10000, 50000, 4) and "50,000 epochs: fitting the noise." in en["1A"]
    if name == "early_onset":
        assert onset(runs) == (1000, 10000, 5) and "10,000 轮：开始拟合噪声。" in zh["1A"]
    if name == "monotone_accuracy_noisy_loss":
        assert "rose from one epoch to the next every time" in en["2B"] and "it rose in epochs 3, 5" in en["2B"]
