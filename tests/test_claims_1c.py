"""Every claim of the 1C answer holds on the run's own files, in both languages.

Fixture runs (tests/fixtures/fit.py: write_custom) where the chosen setting beat, tied with or
lost to the defaults, with the mean of k networks chosen, not chosen or not searched. The answer
is rendered in zh and en; each claim is checked against numbers computed here from cv_curves.csv,
snapshots.csv and the run's parameters, never from the facts object the answer was built from.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from lab.core.api import load_lab
from lab.report.answers import build_answers
from lab.report.reading import read
from lab.report.render import lab_template_folders, template_environment
from tests.fixtures import write_custom_run

CASES = [("beat", "chosen"), ("tie", None), ("lost", "not chosen"), ("tie", "chosen"), ("beat", None)]
WORDS = {
    "chose_mean": {"en": "I chose the mean of {k} networks", "zh": "我选择了 {k} 个网络的平均"},
    "apart": {"en": "the cross-validation tells them apart", "zh": "交叉验证能分辨它们"},
    "not_apart": {"en": "the cross-validation cannot tell them apart", "zh": "交叉验证分辨不出它们"},
    "beat": {"en": "beat the defaults: its true error is lower by {d}", "zh": "胜过了默认设置：真实误差低了 {d}"},
    "lost": {"en": "lost to the defaults: its true error is higher by {d}", "zh": "输给了默认设置：真实误差高了 {d}"},
    "tie": {"en": "tied with the defaults", "zh": "与默认设置打平"},
}


def fixed(value: float) -> str:
    return f"{value:.3f}".replace("-", "\u2212")


def mean_se(values: pd.Series) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def candidates(run_dir) -> list[dict]:
    """Every candidate of cv_curves.csv: its early-stopping epoch (the argmin of its mean curve),
    its CV error ± SE there and its per-seed × fold errors; best first."""
    curves = pd.read_csv(run_dir / "cv_curves.csv")
    if "networks" not in curves:
        curves["networks"] = 1
    found = []
    for key, group in curves.groupby(["lr", "weight_decay", "width", "depth", "networks"]):
        mean = group.groupby("epochs")["val_error"].mean()
        at = group[group["epochs"] == mean.idxmin()].set_index(["seed", "fold"])["val_error"]
        found.append({"networks": int(key[-1]), "cv": float(mean.min()), "se": mean_se(at)[1], "units": at})
    return sorted(found, key=lambda c: c["cv"])


@pytest.fixture(scope="module", params=CASES, ids=lambda case: f"{case[0]}-{case[1] or 'one network'}")
def case(request, tmp_path_factory):
    outcome, averaging = request.param
    run = write_custom_run(tmp_path_factory.mktemp("custom"), outcome, averaging)
    lab = load_lab()
    environment = template_environment(lab_template_folders(lab))
    texts = {}
    for lang in ("en", "zh"):
        built = build_answers(read({"fit.custom": run}), lang, lambda key: key, None, lab, environment)
        texts[lang] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", str(built["1C"].body)))
    return run, texts


def test_the_chosen_candidate_is_the_lowest_cv_error_and_says_whether_it_averages(case):
    run, texts = case
    ranked = candidates(run.dir)
    best = ranked[0]
    for lang, text in texts.items():
        assert f"{fixed(best['cv'])} ± {fixed(best['se'])}" in text
        averaged_sentence = WORDS["chose_mean"][lang].format(k=best["networks"])
        assert (averaged_sentence in text) == (best["networks"] > 1), lang
        tried = [c for c in ranked if c["networks"] > 1]
        if tried and best["networks"] == 1:  # the mean was tried and lost: its CV error is given, higher
            assert f"{fixed(tried[0]['cv'])} ± {fixed(tried[0]['se'])}" in text and tried[0]["cv"] >= best["cv"]


def test_the_noise_floor_is_computed_from_sigma_and_the_points(case):
    run, texts = case
    snapshots = pd.read_csv(run.dir / "snapshots.csv")
    seeds = snapshots["seed"].nunique()
    variance, points = float(run.params["noise_std"]) ** 2, int(run.params["samples"])
    floor = variance * math.sqrt(2 / (points * seeds))
    measured = candidates(run.dir)[0]["se"]
    for lang, text in texts.items():
        assert f"= {fixed(floor)}" in text, lang
        assert f"{fixed(measured)}" in text
        below = {"en": "My measured standard error is below this floor", "zh": "我测得的标准误低于这个下限"}[lang]
        assert (below in text) == (measured < floor)


def test_the_best_two_candidates_are_told_apart_only_beyond_two_paired_standard_errors(case):
    run, texts = case
    best, second = candidates(run.dir)[:2]
    gap, se = mean_se(second["units"] - best["units"])
    apart = gap > 2 * se
    for lang, text in texts.items():
        assert f"{fixed(gap)} ± {fixed(se)}" in text
        assert (WORDS["apart"][lang] in text) == apart and (WORDS["not_apart"][lang] in text) != apart


def test_the_verdict_and_its_size_follow_the_per_seed_true_errors(case):
    run, texts = case
    snapshots = pd.read_csv(run.dir / "snapshots.csv")
    by_label = {label: rows.set_index("seed")["true_error"] for label, rows in snapshots.groupby("label")}
    difference, se = mean_se((by_label["chosen"] - by_label["baseline"]).dropna())
    verdict = "beat" if difference < -2 * se else "lost" if difference > 2 * se else "tie"
    for lang, text in texts.items():
        for word in ("beat", "lost", "tie"):
            expected = WORDS[word][lang].format(d=fixed(abs(difference)))
            assert (expected in text) == (word == verdict), (lang, word, text[-400:])
        share = round(100 * abs(difference) / by_label["baseline"].mean())
        assert (f"{share} %" in text) == (verdict != "tie")


def test_the_answer_speaks_in_the_first_person_singular(case):
    _, texts = case
    assert "我们" not in texts["zh"]
    assert not re.search(r"\b(we|our|us)\b", texts["en"], re.IGNORECASE)
    assert "我" in texts["zh"] and re.search(r"\bI\b", texts["en"])


def test_the_cases_reach_every_branch(tmp_path):
    """Between them the fixture cases render each claim both ways: every verdict, the mean of k
    networks chosen, not chosen and not tried, the best two told apart and not."""
    assert {outcome for outcome, _ in CASES} == {"beat", "tie", "lost"}
    assert {averaging for _, averaging in CASES} == {"chosen", "not chosen", None}
    apart = set()
    for i, (outcome, averaging) in enumerate(CASES):
        best, second = candidates(write_custom_run(tmp_path / str(i), outcome, averaging).dir)[:2]
        gap, se = mean_se(second["units"] - best["units"])
        apart.add(bool(gap > 2 * se))
    assert apart == {True, False}
