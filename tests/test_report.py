"""The report: facts from fixture runs, answers, and the rendered PDF read back with pypdf."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from lab.core.api import load_lab
from lab.core.errors import UserError
from lab.exercises.fit import lr_facts
from lab.exercises.fit.result_tables import comparison_table, search_table
from lab.exercises.fit.seed_curves import SeedTail, Spike
from lab.report import build, fonts
from lab.report.answers import build_answers
from lab.report.reading import Reading, read
from lab.report.render import PACKAGED_TEMPLATES, lab_template_folders, template_environment
from lab.report.wording import num, pct, signed
from tests.fixtures import fixture_declaration, write_custom_run, write_fixture_store
from tests.helpers import pdf_pages, squeeze

HEADINGS = {
    "zh": ["1 实验概览", "2 实验环境", "3 实验过程", "4 实验体会", "附录 A", "附录 B"],
    "en": ["1 Overview", "2 Environment", "3 Procedure", "4 Reflections", "Appendix A", "Appendix B"],
}
FORBIDDEN = ["normal distribution", "正态分布", "minimum step larger", "最小步长更大", "exponential", "指数"]


def generated(reading: Reading, lang: str) -> dict:
    """Every question's answer, figures and tables cited by their keys."""
    lab = load_lab()
    return build_answers(reading, lang, lambda key: key, None, lab, template_environment(lab_template_folders(lab)))


def render(tmp_path, runs, lang, *, quick=False, missing=None, setup=None):
    decl = fixture_declaration(tmp_path / "decl", lang, quick=quick)
    if setup:
        setup(decl.folder)
    out = tmp_path / "out" / f"lab13-{lang}.pdf"
    paths = build.build_report(decl, runs, out, lang=lang, command="labreport build", missing=missing)
    return {"paths": paths, "pdf": out, "pages": pdf_pages(out), "html": out.with_suffix(".html").read_text()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return write_fixture_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def zh_report(tmp_path_factory, runs):
    def reflections(folder):
        (folder / "reflections.md").write_text("这次实验让我体会到**学习率**的重要性。\n", encoding="utf-8")

    return render(tmp_path_factory.mktemp("zh"), runs, "zh", setup=reflections)


@pytest.fixture(scope="module")
def en_report(tmp_path_factory, runs):
    def own_answer(folder):
        (folder / "answers").mkdir()
        (folder / "answers" / "2B.md").write_text("My *own* words: the accuracy went up sharply.\n", encoding="utf-8")

    return render(tmp_path_factory.mktemp("en"), runs, "en", setup=own_answer)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    runs = write_fixture_store(tmp_path_factory.mktemp("quickstore"), quick=True)
    runs["cifar"], runs["fit.custom"] = None, None  # fewer figures: this report checks marks, not plots
    return render(tmp_path_factory.mktemp("quick"), runs, "en", quick=True, missing={"cifar": "failed"})


# --- facts -------------------------------------------------------------------------------


def test_fit_facts_follow_the_fixture(runs):
    lab = read(runs)
    epochs = lab.facts["fit"].epoch_facts
    assert (epochs.shortest, epochs.best_epochs, epochs.longest) == (100, 10000, 50000)
    assert epochs.true_error_rose and epochs.train_loss_fell and (epochs.rise_from, epochs.rise_to) == (10000, 50000)
    assert epochs.seeds_rose == 3
    behaviour = lab.facts["fit"].lr_facts.behaviour
    assert behaviour[1.0].status == "diverged" and behaviour[1.0].diverged_seeds == 2
    assert behaviour[1.0].diverged_epoch == 37 and behaviour[1.0].oscillating_seeds == 1
    assert behaviour[0.001].status == "slow"
    assert lab.facts["fit"].lr_facts.best_lr == 0.01
    table = lab.facts["fit"].epochs.settings.set_index("epochs")
    snapshots = pd.read_csv(runs["fit.epochs"].dir / "snapshots.csv")
    assert table.loc[50000, "true_error_mean"] == pytest.approx(snapshots[snapshots.epochs == 50000].true_error.mean())


def test_cifar_facts_follow_the_fixture(runs):
    facts = read(runs).facts["cifar"].cifar.facts
    epochs = pd.read_csv(runs["cifar"].dir / "epochs.csv")
    assert facts.drop.test_jump == pytest.approx(epochs.test_acc[5] - epochs.test_acc[4])
    assert facts.drop.train_jump == pytest.approx(epochs.train_acc[5] - epochs.train_acc[4])
    assert facts.drop.gain_after < facts.drop.test_jump / 10  # flattens after the jump
    assert facts.worst_class[0] == "cat" and facts.best_class[0] == "automobile"
    assert facts.epochs_test_above_train == int((epochs.train_acc < epochs.test_acc).sum())


def test_partial_data_gives_partial_facts(tmp_path):
    lab = read(write_fixture_store(tmp_path, quick=True, sets=["fit.seeds=[2019]"]))
    assert lab.quick
    assert (
        lab.facts["fit"].epoch_facts.epochs == [10, 100, 1000, 5000]
        and lab.facts["fit"].epoch_facts.true_error_rose is False
    )
    assert (
        lab.facts["cifar"].cifar.facts.drop.gain_after is None
        and lab.facts["cifar"].cifar.facts.drop.gain_before is None
    )
    settings = lab.facts["fit"].lr.settings
    assert settings["true_error_std"].isna().all()  # one seed: no spread to report
    for lang in ("zh", "en"):
        texts = generated(lab, lang)
        assert all(a.source == "generated" for a in texts.values())


def test_longest_run_wording_depends_on_the_measurement(runs):
    lab = read(runs)
    rose = generated(lab, "en")["1A"].body
    assert "fitting the noise" in rose and "rose" in rose
    lab.facts["fit"].epoch_facts.true_error_rose = False  # the mean rose, but within the standard error
    unclear = {lang: answer(lab, "1A", lang) for lang in ("en", "zh")}
    assert "this measurement cannot tell whether 50,000 epochs started to fit the noise" in unclear["en"]
    assert "本次测量无法判断 50,000 轮是否已开始拟合噪声" in unclear["zh"]
    assert "still fell" not in unclear["en"] and "fitting the noise.</b>" not in unclear["en"]
    lab.facts["fit"].epoch_facts.longest_true_error = lab.facts["fit"].epoch_facts.previous_true_error / 2
    kept_falling = generated(lab, "en")["1A"].body
    assert "still fell" in kept_falling and "fitting the noise.</b>" not in kept_falling


def test_1a_a_rise_within_the_noise_or_on_a_minority_of_seeds_is_not_a_rise(runs):
    from lab.exercises.fit.sweep_facts import EpochSetting, clearly_rose

    def setting(error, se):
        return EpochSetting(
            epochs=1, true_error=error, true_error_se=se, train_loss=0.0, edge_error=0.0, centre_error=0.0
        )

    assert clearly_rose(setting(1.0, 0.1), setting(1.5, 0.1))
    assert not clearly_rose(setting(1.0, 0.1), setting(1.1, 0.1))  # 0.1 < hypot(0.1, 0.1)
    assert not clearly_rose(setting(1.0, float("nan")), setting(2.0, float("nan")))  # one seed: no SE


def test_1a_claims_under_fitting_only_when_measured(runs):
    lab = read(runs)
    facts = lab.facts["fit"].epoch_facts
    facts.underfit_ratio = 1.5  # the shortest run is within twice the best
    facts.shortest_train_loss = facts.noise_variance
    text = {lang: answer(lab, "1A", lang) for lang in ("en", "zh")}
    assert "too few epochs under-fit" not in text["en"] and "欠拟合；" not in text["zh"]
    assert "even the fewest epochs, 100, came within twice the best true error" in text["en"]
    assert "即使最少的 100 轮，真实误差也不到最佳的两倍" in text["zh"]
    facts.underfit_ratio, facts.true_error_rose = 5.0, False
    facts.longest_true_error = facts.previous_true_error / 2
    text = {lang: answer(lab, "1A", lang) for lang in ("en", "zh")}
    assert "100 epochs: under-fitting" in text["en"] and "far above the noise variance" not in text["en"]
    assert "远高于噪声方差" not in text["zh"]
    assert "too few epochs under-fit; with more epochs the curve moves closer to" in text["en"]
    assert "轮数太少 → 欠拟合；增加轮数，曲线更贴近真实函数" in text["zh"]


def test_no_under_fitting_claimed_when_the_shortest_run_fits_best(runs):
    lab = read(runs)
    lab.facts["fit"].epoch_facts.true_error_rose = lab.facts["fit"].epoch_facts.train_loss_fell = True
    lab.facts["fit"].epoch_facts.best_epochs = lab.facts["fit"].epoch_facts.shortest
    for setting in lab.facts["fit"].epoch_facts.settings:  # no tie, no error left at the edges
        setting.true_error_se, setting.edge_error = 0.0, setting.centre_error
    lab.facts["fit"].epoch_facts.settings[0].true_error = 0.1  # the shortest is the best
    text = generated(lab, "en")["1A"].body
    assert "too few epochs under-fit" not in text
    assert f"{lab.facts['fit'].epoch_facts.shortest:,} epochs already fit f(x)" in text


def test_smallest_rate_winning_is_explained_by_its_higher_training_loss(runs):
    lab = read(runs)
    facts = lab.facts["fit"].lr_facts
    facts.best_lr = facts.smallest
    small = facts.behaviour[facts.smallest]
    small.status = "converged"
    small.train_loss = 1 + max(b.train_loss for b in facts.behaviour.values() if b.status != "diverged")
    text = generated(lab, "en")["1B"].body
    assert "not because it learns better" in text and "early stopping" in text
    assert "does not finish converging" not in text
    small.train_loss = 0.0  # the smallest rate also fits the points best: the plain conclusion
    text = generated(lab, "en")["1B"].body
    assert "not because it learns better" not in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_generated_answers_avoid_the_known_mistakes(runs, lang):
    texts = generated(read(runs), lang)
    body = " ".join(str(a.body) for a in texts.values()).lower()
    for phrase in FORBIDDEN:
        assert phrase not in body


# --- the rendered report ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_report_has_every_section_question_and_the_student(request, name):
    report = request.getfixturevalue(name)
    lang = name[:2]
    text = squeeze("".join(report["pages"]))
    for heading in HEADINGS[lang]:
        assert squeeze(heading) in text
    for qid, texts in load_lab().question_texts.items():
        zh, en = texts["zh"], texts["en"]
        assert squeeze(f"{qid}. {zh if lang == 'zh' else en}")[:40] in text
    assert "李小明" in text and "2024123456" in text
    assert (
        squeeze("def test(epoch):") in text
        and squeeze("for batch_idx, (inputs, targets) in enumerate(testloader):") in text
    )
    assert squeeze("def schedule(") in text  # 2A: the course's test(epoch) and the two-phase loop
    built_here = {"en": "the machine and software I built this report on", "zh": "我整理这份报告时所用的机器和软件"}[
        lang
    ]
    assert squeeze(built_here) in text and squeeze("I ran the experiments on the machine") not in text
    assert squeeze({"en": "my run's learning rates: 0.1 → 0.01", "zh": "我这次运行的学习率为 0.1 → 0.01"}[lang]) in text
    meta = PdfReader(report["pdf"]).metadata
    assert "李小明" in meta.author and ("Lab" in meta.title or "实验" in meta.title)


@pytest.mark.parametrize(
    ("phases", "en", "zh"),
    [
        ([0.1, 0.005], "when the learning rate changes from 0.1 to 0.005", "观察学习率从 0.1 变为 0.005 时"),
        ([0.05], "on CIFAR-10 at a learning rate of 0.05, and compares", "学习率为 0.05，"),
    ],
)
def test_the_overview_names_the_schedule_the_run_recorded(phases, en, zh):
    env = template_environment(lab_template_folders(load_lab()))
    course = types.SimpleNamespace(facts=types.SimpleNamespace(phases=[(lr, 5) for lr in phases]))
    analysis = {"cifar": types.SimpleNamespace(cifar=course)}
    for lang, words in (("en", en), ("zh", zh)):
        html = env.get_template("lab13/overview.html.j2").render(
            lang=lang, analysis=analysis, declared={"fit": {"function": "x"}}, formula=str, lr_text=lambda lr: f"{lr:g}"
        )
        assert words in re.sub(r"\s+", " ", html) and "0.01" not in html


def test_2a_states_the_run_schedule_without_calling_it_two_phase(runs):
    lab = read(runs)
    lab.facts["cifar"].cifar.facts.phases = [(0.1, 5), (0.005, 5)]
    assert "this schedule: lr = 0.1 for 5 epochs, then lr = 0.005 for 5 epochs" in answer(lab, "2A")
    assert "按以下计划进行：lr = 0.1 训练 5 轮，然后lr = 0.005 训练 5 轮" in answer(lab, "2A", "zh")
    assert "two-phase" not in answer(lab, "2A") and "两阶段" not in answer(lab, "2A", "zh")


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_numbers_in_the_report_match_the_metrics(request, runs, name):
    text = squeeze("".join(request.getfixturevalue(name)["pages"]))
    epochs = pd.read_csv(runs["cifar"].dir / "epochs.csv")
    assert pct(epochs.test_acc[5]) in text and pct(epochs.test_acc.iloc[-1]) in text
    snapshots = pd.read_csv(runs["fit.epochs"].dir / "snapshots.csv")
    assert num(snapshots[snapshots.epochs == 50000].true_error.mean()) in text
    assert squeeze("2/3") in text  # lr = 1 diverged in two of three seeds


def test_jump_at_the_drop_is_quoted_as_measured(zh_report, runs):
    text = squeeze("".join(zh_report["pages"]))
    epochs = pd.read_csv(runs["cifar"].dir / "epochs.csv")
    test_jump = epochs.test_acc[5] - epochs.test_acc[4]
    train_jump = epochs.train_acc[5] - epochs.train_acc[4]
    assert squeeze(f"（{signed(test_jump)} 个百分点）") in text
    assert squeeze(f"（{signed(train_jump)} 个百分点）") in text


def test_student_answer_replaces_the_generated_one(en_report):
    text = squeeze("".join(en_report["pages"]))
    assert squeeze("My own words: the accuracy went up sharply.") in text
    assert squeeze("The student's own answer") not in text  # it is simply the answer
    assert squeeze("Why: step size and gradient noise") not in text


def test_reflections_from_file_or_a_neutral_note(zh_report, en_report):
    assert "这次实验让我体会到学习率的重要性" in squeeze("".join(zh_report["pages"]))
    en = squeeze("".join(en_report["pages"]))
    assert squeeze("(The reflections are not written yet.)") in en
    assert "reflections.md" not in en and squeeze("[To be written]") not in en  # no path, no command


def test_outputs_beside_the_pdf(zh_report, runs):
    paths = zh_report["paths"]
    pdf = zh_report["pdf"]
    assert paths[:2] == [pdf, pdf.with_suffix(".html")]
    tables = pdf.parent / f"{pdf.stem}-tables"
    epochs = pd.read_csv(tables / "cifar_epochs.csv")
    assert list(epochs.test_acc) == list(pd.read_csv(runs["cifar"].dir / "epochs.csv").test_acc)
    assert {p.name for p in tables.iterdir()} >= {"fit_epochs.csv", "fit_lr.csv", "fit_custom_search.csv"}
    html = zh_report["html"]
    assert html.count("data:image/svg+xml;base64,") == 12
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # self-contained


def test_quick_build_is_marked_on_every_page(quick_report, zh_report):
    assert all("QUICK BUILD" in page for page in quick_report["pages"])
    assert not any("快速构建" in page for page in zh_report["pages"])


def test_missing_run_is_said_in_the_report(quick_report):
    text = squeeze("".join(quick_report["pages"]))
    assert squeeze("not available (failed)") in text and squeeze("labreport run --only cifar") in text
    assert squeeze("fit.custom is not available (missing)") in text
    assert squeeze("Why: step size") not in text


# --- errors the user can cause ---------------------------------------------------------------


@pytest.mark.parametrize(
    "template, message",
    [
        ("<html>\n<p>\n{% if %}\n</html>\n", r"report\.html\.j2:3: template syntax error"),
        ("<html>\n{{ title }}\n{{ no_such_value }}\n</html>\n", r"report\.html\.j2:3: 'no_such_value' is undefined"),
    ],
)
def test_template_errors_name_file_and_line(tmp_path, runs, monkeypatch, template, message):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "report.html.j2").write_text(template)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=message):
        build.build_report(fixture_declaration(tmp_path / "d"), runs, tmp_path / "o.pdf", lang="en")
    assert not (tmp_path / "o.pdf").exists()


def test_a_restyled_page_that_misspells_an_item_stops_the_build(tmp_path, runs, monkeypatch):
    page = (Path(__file__).resolve().parents[1] / "templates" / "report.html.j2").read_text(encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "report.html.j2").write_text(
        page.replace("</body>", '{{ figure("fig:epochs_lose") }}</body>')
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="places 'fig:epochs_lose', which is none of the report's items"):
        build.build_report(fixture_declaration(tmp_path / "d"), runs, tmp_path / "o.pdf", lang="en")
    assert not (tmp_path / "o.pdf").exists()


def test_missing_cjk_font_is_a_clear_error(tmp_path, runs, monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font_families", lambda: ())
    with pytest.raises(UserError, match="apt-get install fonts-noto-cjk"):
        fonts.check_fonts("zh")
    fonts.check_fonts("en")
    with pytest.raises(UserError, match="CJK"):
        build.build_report(fixture_declaration(tmp_path / "d"), runs, tmp_path / "o.pdf", lang="zh")
    assert not (tmp_path / "o.pdf").exists()


def test_cjk_font_is_found_here():
    assert any("CJK" in family for family in fonts.cjk_font_families())


def test_the_course_code_comes_from_the_loaded_module(monkeypatch):
    from lab.exercises.cifar.report import course_source

    def fake_test(epoch):
        return "a monkeypatched test"

    fake = types.SimpleNamespace(test=fake_test, schedule=fake_test)
    monkeypatch.setitem(sys.modules, "lab.exercises.cifar.course", fake)
    assert "a monkeypatched test" in course_source()


def test_the_course_code_is_read_without_importing(monkeypatch):
    from lab.exercises.cifar.report import course_source

    monkeypatch.delitem(sys.modules, "lab.exercises.cifar.course", raising=False)
    source = course_source()
    assert source.startswith("def test(epoch):") and "torch.no_grad()" in source and "model.eval()" in source
    assert "def schedule(" in source and "optim.SGD(model.parameters(), lr=lr, weight_decay=5e-4)" in source


def test_largest_lr_wording_depends_on_the_measurement(runs):
    lab = read(runs)
    diverged = str(generated(lab, "en")["1B"].body)
    assert "steps too large, divergence" in diverged and "at epoch 37" in diverged
    lab.facts["fit"].lr_facts.behaviour[1.0].status = "oscillating"
    oscillating = str(generated(lab, "en")["1B"].body)
    assert "steps too large, oscillation" in oscillating and "divergence" not in oscillating
    assert "small steps, slow convergence" in oscillating


def test_unknown_pdf_variant_is_a_clear_error(tmp_path, runs):
    with pytest.raises(UserError, match=r"'pdf/zz'.*pdf/a-3b"):
        build.build_report(
            fixture_declaration(tmp_path / "d"), runs, tmp_path / "o.pdf", lang="en", pdf_variant="pdf/zz"
        )


def test_small_jump_is_not_called_a_jump(runs):
    lab = read(runs)
    drop = lab.facts["cifar"].cifar.facts.drop
    drop.test_after, drop.train_after = drop.test_before + 0.2, drop.train_before + 0.1
    text = str(generated(lab, "en")["2B"].body)
    assert "barely changed" in text and "the change was small (test +0.20, train +0.10 points)" in text
    assert "both the training and the test accuracy jump" not in text


def test_chinese_figure_text_is_set_in_the_cjk_font_and_stays_text(runs, zh_report):
    from lab.exercises.cifar import figures

    svg = figures.cifar_curves(read(runs).facts["cifar"].cifar, "zh")
    families = set(re.findall(r"font-family: '([^']+)'", svg))
    assert families and all(family.startswith("Noto Sans CJK") for family in families)
    assert "交叉熵损失" in svg  # the axis label, as text
    assert "交叉熵损失" in squeeze("".join(zh_report["pages"]))  # and so searchable in the PDF


def text_width_pt() -> float:
    """The page's text width: A4 less the side margins of the packaged stylesheet's @page."""
    css = (PACKAGED_TEMPLATES / "report.css").read_text(encoding="utf-8")
    margin = re.search(r"@page \{[^}]*?margin: ([\d.]+)mm ([\d.]+)mm ([\d.]+)mm ([\d.]+)mm;", css)
    assert margin and "size: A4;" in css
    return (210 - float(margin[2]) - float(margin[4])) / 25.4 * 72


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_every_text_of_every_figure_prints_at_8_pt_or_more(request, name):
    """Each figure's SVG: its font sizes (in its own units) times the scale it prints at (its width
    on the page, at most the text width, over its drawn width)."""
    html = request.getfixturevalue(name)["html"]
    figures = re.findall(
        r'<img class="figure-image" alt="" src="data:image/svg\+xml;base64,([^"]+)"(?: style="width: ([\d.]+)pt")?',
        html,
    )
    assert len(figures) >= 10
    for data, width in figures:
        svg = base64.b64decode(data).decode("utf-8")
        drawn = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg)[1])
        scale = min(float(width or drawn), text_width_pt()) / drawn
        sizes = [float(size) * scale for size in re.findall(r"font-size: ([\d.]+)px", svg)]
        assert sizes and min(sizes) >= 8, f"a figure prints text at {min(sizes):.1f} pt: {svg[:300]}"


@pytest.mark.parametrize(
    ("outcome", "en", "zh"),
    [
        ("beat", "The chosen setting beat the defaults", "选定设置胜过了默认设置"),
        ("tie", "The chosen setting tied with the defaults", "选定设置与默认设置打平"),
        ("lost", "The chosen setting lost to the defaults", "选定设置输给了默认设置"),
    ],
)
def test_the_1c_verdict_follows_the_paired_numbers(tmp_path, outcome, en, zh):
    from tests.fixtures.fit import CUSTOM_OUTCOMES

    lab = read({"fit.custom": write_custom_run(tmp_path, outcome)})
    facts = lab.facts["fit"].custom.facts
    wins = sum(c < b for c, b in zip(CUSTOM_OUTCOMES[outcome], [0.9 * 0.92, 0.9, 0.9 * 1.08]))
    assert facts.verdict == outcome and facts.wins == wins
    assert comparison_table(lab.facts["fit"].custom, "en").rows[-1][-1] == f"{wins}/3"
    for lang, words in (("en", en), ("zh", zh)):
        text = generated(lab, lang)["1C"].body
        assert words in text
        others = {"en": ("beat the", "tied with", "lost to"), "zh": ("胜过了", "打平", "输给了")}[lang]
        assert sum(word in text for word in others) == 1
    assert f"lower on {wins} of 3 seeds" in generated(lab, "en")["1C"].body
    difference = comparison_table(lab.facts["fit"].custom, "en").rows[-1][-2]  # one precision in table and text
    search = search_table(lab.facts["fit"].custom, "en", 12)
    [chosen_cv] = [search.rows[i][5] for i in search.highlight]
    for lang in ("en", "zh"):
        assert difference in generated(lab, lang)["1C"].body and chosen_cv in generated(lab, lang)["1C"].body


def test_the_1c_table_says_both_settings_were_trained_on_all_points(tmp_path):

    lab = read({"fit.custom": write_custom_run(tmp_path, "tie")})
    assert "真实误差（在全部训练点上训练）" in comparison_table(lab.facts["fit"].custom, "zh").columns
    assert "true error (trained on all points)" in comparison_table(lab.facts["fit"].custom, "en").columns


def test_the_1c_comparison_leaves_out_a_seed_where_a_model_diverged(tmp_path):

    run = write_custom_run(tmp_path, "beat")
    snapshots = pd.read_csv(run.dir / "snapshots.csv")
    first_seed = snapshots["seed"].min()
    snapshots.loc[(snapshots["label"] == "chosen") & (snapshots["seed"] == first_seed), "true_error"] = float("nan")
    snapshots.to_csv(run.dir / "snapshots.csv", index=False)
    lab = read({"fit.custom": run})
    assert (lab.facts["fit"].custom.facts.compared_seeds, lab.facts["fit"].custom.facts.dropped_seeds) == (2, 1)
    assert comparison_table(lab.facts["fit"].custom, "en").rows[-1][-1] == f"{lab.facts['fit'].custom.facts.wins}/2"
    en = generated(lab, "en")["1C"].body
    zh = generated(lab, "zh")["1C"].body
    assert f"lower on {lab.facts['fit'].custom.facts.wins} of 2 seeds (I left out 1 seed where a model diverged" in en
    assert "有 1 个种子上某个模型发散" in zh


# --- the body is the student's document ----------------------------------------------------

TOOL_WORDS = ["CSV", "csv", "工具", "labreport", "this tool", "the tool", "自动填写", "auto →", "**"]


def body_text(report: dict, lang: str) -> str:
    """pdftotext of the pages from the overview to the reflections (the appendix may name the tool)."""
    text = subprocess.run(["pdftotext", str(report["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    start = text.rindex(HEADINGS[lang][0])  # the heading, after its line in the contents
    return text[start : text.rindex(HEADINGS[lang][3])]


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_the_body_speaks_as_the_student_with_typeset_functions(request, name):
    lang = name[:2]
    body = body_text(request.getfixturevalue(name), lang)
    for word in TOOL_WORDS:
        assert word not in body, word
    assert not re.search(r"(?<![\w.])/(tmp|home|work|root|usr|Users)/", body)  # no machine path
    assert "x2 + 2 sin(x) + cos(x − 1) − 5" in body  # superscript, upright sin, real minus signs


LABELS = {"en": ("Figure", "Table"), "zh": ("图", "表")}


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_every_figure_and_table_is_numbered_captioned_and_cited(request, name):
    report, lang = request.getfixturevalue(name), name[:2]
    body = squeeze(body_text(report, lang))
    for kind in LABELS[lang]:
        numbers = {int(n) for n in re.findall(rf"{kind}(\d+)", body)}
        assert numbers == set(range(1, max(numbers) + 1))
        for number in sorted(numbers):
            cited = len(re.findall(rf"{kind}{number}(?!\d)", body))
            assert cited >= 2, f"{kind} {number} has a caption but is never cited"
    page = report["html"][report["html"].index('id="environment"') : report["html"].index('id="reflections"')]
    labelled = re.findall(
        rf'<figure class="table[^>]*>\s*<figcaption><span class="label">{LABELS[lang][1]} \d+</span>', page
    )
    assert page.count("<table") == len(labelled), "a table in the body without a number and a caption"


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_the_appendix_shows_the_course_test_function(request, name):
    text = subprocess.run(
        ["pdftotext", str(request.getfixturevalue(name)["pdf"]), "-"], capture_output=True, text=True
    ).stdout
    appendix = text[text.rindex(HEADINGS[name[:2]][4]) :]
    for line in ("def test(epoch):", "model.eval()", "with torch.no_grad():", "enumerate(testloader)", "return acc"):
        assert line in appendix, line
    assert "def evaluate(" not in appendix


# --- each claim follows a named fact (fixture facts flipped) --------------------------------


def answer(lab, qid: str, lang: str = "en") -> str:
    return re.sub(r"\s+", " ", str(generated(lab, lang)[qid].body))


def test_1a_calls_a_tie_a_tie_and_measures_the_edges(runs):
    lab = read(runs)
    facts = lab.facts["fit"].epoch_facts
    facts.true_error_rose = facts.train_loss_fell = True
    facts.best_epochs = facts.shortest
    best, other = facts.settings[0], facts.settings[1]
    for setting in facts.settings[2:]:
        setting.true_error, setting.true_error_se = 5.0, 0.1
    best.true_error, best.true_error_se, other.true_error, other.true_error_se = 0.694, 0.2, 0.699, 0.2
    best.edge_error, best.centre_error = 1.4, 0.5
    text = answer(lab, "1A")
    assert f"{other.epochs:,} epochs tie with it" in text and "misses f(x) near the edges (1.40" in text
    assert "already fit f(x)" not in text
    assert all(f"<b>{s.epochs:,} epochs:</b>" in text for s in facts.settings)  # every curve has its sentence
    best.true_error_se = other.true_error_se = 0.001
    best.edge_error = 0.6
    text = answer(lab, "1A")
    assert "tie" not in text and "near the edges (1.40" not in text and "already fit f(x)" in text
    assert "not clearly worse near the edges (within twice the middle's error)" in text
    assert "两端的误差不到中间的两倍；" in answer(lab, "1A", "zh")


def stuck_after_a_spike(big, moving: bool = False) -> None:
    """Rate ``big`` as a spike that fell back, then a plateau (one seed still falling with ``moving``)."""
    big.status, big.diverged_seeds, big.oscillating_until, big.plateau_from = "stuck", 0, 100, 200
    big.final_losses = [69.3, 33.6, 15.1]
    big.spikes = [Spike(seed, 1, 80.0, 3, 80.0 * ratio, 60, None) for seed, ratio in ((1, 10.0), (2, 20.0))]
    big.tails = [SeedTail(seed, 667, loss, 1000, loss, 300) for seed, loss in ((1, 69.3), (2, 33.6), (3, 15.1))]
    if moving:
        big.tails[2] = SeedTail(3, 667, 27.4, 1000, 15.1, 900)


def test_1b_a_rate_that_spiked_and_then_sat_flat_is_stuck_not_oscillating(runs):
    lab = read(runs)
    big = lab.facts["fit"].lr_facts.behaviour[lab.facts["fit"].lr_facts.largest]
    stuck_after_a_spike(big)
    text = answer(lab, "1B")
    assert "the loss spiked, then got stuck" in text and "On 2 of 3 seeds the loss spiked to 10.0–20.0 times" in text
    assert "was back below that value by epoch 60 (seed 1: from 80.0 at epoch 1 to 800 at epoch 3" in text
    assert "From epoch 300 on, every seed's loss stays within 5 % of its final value" in text
    assert "69.3, 33.6, 15.1" in text and "no seed diverged" in text and "oscillation.</b>" not in text
    assert "overshoot" not in text
    big.status = "oscillating"
    text = answer(lab, "1B")
    assert "got stuck" not in text and "(the last time at about epoch 100, median over those seeds)" in text


def test_1b_a_seed_still_falling_is_named_with_what_it_did(runs):
    lab = read(runs)
    big = lab.facts["fit"].lr_facts.behaviour[lab.facts["fit"].lr_facts.largest]
    stuck_after_a_spike(big, moving=True)
    text = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert "the loss spiked, then stayed high" in text["en"] and "every seed's loss stays" not in text["en"]
    assert "stayed within 5 % of its final value on seeds 1, 2; seed 3 still fell from 27.4 at epoch 667" in text["en"]
    assert "种子 1、2 的损失保持在其最终值的 5% 以内；种子 3 仍从第 667 轮的 27.4 降到第 1,000 轮的 15.1" in text["zh"]
    assert "not oscillating at the end but stuck" not in text["en"] and "卡住了" not in text["zh"]


def test_1b_conclusion_matches_what_the_largest_and_smallest_rates_did(runs):
    lab = read(runs)
    facts = lab.facts["fit"].lr_facts
    big, small = facts.behaviour[facts.largest], facts.behaviour[facts.smallest]
    big.status, big.diverged_seeds = "converged", 0
    small.status, small.true_error = "converged", 3 * facts.best_true_error
    text = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert "even the largest rate I tried, lr = 1, converged here" in text["en"]
    assert "即使我试的最大学习率 lr = 1 本次也收敛了" in text["zh"]
    assert "so training oscillates" not in text["en"] and "损失振荡" not in text["zh"]
    assert "does not finish converging" not in text["en"] and "收敛不完" not in text["zh"]
    assert "clearly worse than at lr = 0.01" in text["en"] and "明显不如 lr = 0.01" in text["zh"]
    small.status = "stuck"
    text = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert "training got stuck on a plateau" in text["en"] and "训练表现为卡在平台上" in text["zh"]
    assert "worse than at lr" not in text["en"] and "不如 lr" not in text["zh"] and "略逊于" not in text["zh"]


def test_1b_counts_come_from_the_measurement_that_set_the_status(tmp_path):
    runs = write_fixture_store(tmp_path)
    seeds = sorted(pd.read_csv(runs["fit.lr"].dir / "snapshots.csv")["seed"].unique())
    rebounds = {0.1: [1.0, 1.0, 1.0], 0.001: [1.0, 1.0, 1.0], 0.01: [1.0, 1.0, 1.0], 1.0: [3.0, 2.5, 1.0]}
    table = [
        {"lr": lr, "seed": s, "best_loss": 1.0, "rebound": r} for lr, rs in rebounds.items() for s, r in zip(seeds, rs)
    ]
    pd.DataFrame(table).to_csv(runs["fit.lr"].dir / "rebound.csv", index=False)
    facts = read(runs).facts["fit"].lr_facts
    big = facts.behaviour[1.0]
    assert big.oscillating_seeds == 2 and big.max_rebound == pytest.approx(2.5)  # from rebound.csv, not loss.csv
    middle = facts.behaviour[0.1]
    middle.status, middle.final_losses = "stuck", [100.0, 100.0, facts.behaviour[0.01].train_loss]
    lr_facts.mark_stuck(facts.behaviour, facts.best_lr)
    assert middle.stuck_seeds == 2 and middle.troubled_seeds == 2


def test_1b_a_diverged_seed_is_not_counted_as_oscillating(tmp_path):
    runs = write_fixture_store(tmp_path)
    path = runs["fit.lr"].dir / "loss.csv"
    loss = pd.read_csv(path)
    loss[np.isfinite(loss["train_loss"])].to_csv(path, index=False)  # as training writes it: finite values only
    big = read(runs).facts["fit"].lr_facts.behaviour[1.0]
    assert big.diverged_seeds == 2 and big.oscillating_seeds == 1  # the finite start of a diverged run is left out


def test_1b_states_the_seeds_that_did_not_diverge(runs):
    lab = read(runs)
    text = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert (
        "the other 1 seed did not diverge (their true error:" in text["en"] and "bounced or stalled" not in text["en"]
    )
    assert "其余 1 个种子没有发散" in text["zh"] and "剧烈振荡或停滞" not in text["zh"]


def test_1b_dead_units_are_named_as_the_cause_only_when_measured_to_be_many(runs):
    lab = read(runs)
    facts = lab.facts["fit"].lr_facts
    rates = facts.behaviour
    big, best = rates[facts.largest], rates[facts.best_lr]
    big.status, big.diverged_seeds, big.oscillating_until, big.plateau_from = "stuck", 0, 100, 200
    big.dead_units, best.dead_units = [60.0, 45.0, 30.0], [2.0, 3.0, 1.0]
    rates[0.1].dead_units, rates[0.001].dead_units = [10.0, 10.0, 10.0], [5.0, 5.0, 5.0]
    many = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert (
        "At the end, 45.00% of the hidden units (mean over seeds; per seed 60.00%, 45.00%, 30.00%) "
        "output zero for every training x, against 2.00% at lr = 0.01 and 10.00% at lr = 0.1, which converged. "
        "That is more than at any rate that converged" in many["en"]
    )
    assert "45.00% 的隐藏单元对所有训练点 x 都输出零" in many["zh"] and "60.00%、45.00%、30.00%" in many["zh"]
    assert "已收敛的 lr = 0.1 时为 10.00%。这多于任何已收敛的学习率" in many["zh"]
    rates[0.1].dead_units = [50.0, 40.0, 60.0]  # a rate that converged with as many dead
    rival = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert "But lr = 0.1 converged with 50.00% of its units dead, so dead units alone do not explain" in rival["en"]
    assert "no longer learns" not in rival["en"] and "学不动" not in rival["zh"]
    assert "但 lr = 0.1 在 50.00% 的单元死亡时仍然收敛" in rival["zh"]
    big.dead_units, rates[0.1].dead_units = [4.0, 2.0, 3.0], [1.0, 1.0, 1.0]
    few = {lang: answer(lab, "1B", lang) for lang in ("en", "zh")}
    assert "At the end, 3.00% of the hidden units" in few["en"] and "too few for dead ReLU units" in few["en"]
    assert "no longer learns" not in few["en"] and "学不动" not in few["zh"] and "比例太小" in few["zh"]
    big.status, big.dead_units = "stalled", [50.0, 50.0, 50.0]
    assert "a large part of the network no longer learns" in answer(lab, "1B")
    big.dead_units = []  # a run that did not measure it claims nothing about dead units
    assert "hidden units" not in answer(lab, "1B") and "ReLU" not in answer(lab, "1B")


def test_2b_a_jump_from_a_dip_is_also_measured_from_the_phase_best(runs):
    lab = read(runs)
    drop = lab.facts["cifar"].cifar.facts.drop
    drop.best_before, drop.best_before_epoch = drop.test_before + 3, drop.epoch_before - 1
    text = answer(lab, "2B")
    assert "measured from a dip" in text and f"{signed(drop.jump_from_best)} points" in text
    drop.best_before, drop.best_before_epoch = drop.test_before, drop.epoch_before
    text = answer(lab, "2B")
    assert "measured from a dip" not in text and "also the first phase" in text


def test_2c_says_how_far_the_gap_shrank_and_why(runs):
    lab = read(runs)
    facts = lab.facts["cifar"].cifar.facts
    facts.largest_gap, facts.largest_gap_epoch, facts.final_gap = 11.0, facts.drop.epoch_before, 0.6
    text = answer(lab, "2C")
    assert "The gap was largest, +11.00 points" in text and "shrank to +0.60" in text
    assert "the weights settle" in text
    facts.largest_gap = 1.0
    assert "The gap was largest" not in answer(lab, "2C")


def test_2c_states_the_jump_at_the_drop_and_the_widest_gap_only_as_measured(runs):
    lab = read(runs)
    facts, drop = lab.facts["cifar"].cifar.facts, lab.facts["cifar"].cifar.facts.drop
    facts.largest_gap, facts.largest_gap_epoch, facts.final_gap = 11.0, drop.epoch_before, 0.6
    text = {lang: answer(lab, "2C", lang) for lang in ("en", "zh")}
    assert "jump together at the learning-rate drop" in text["en"] and "学习率下降时也一起跳升" in text["zh"]
    assert "it was widest" not in text["en"] and "差距最大时为" not in text["zh"]  # said once, not twice
    assert "the test accuracy gains more than the training accuracy" in text["en"]
    drop.train_after = drop.train_before + drop.test_jump + 1  # training gained more at the drop
    drop.test_after = drop.test_before + 0.5  # and the test accuracy barely moved
    text = {lang: answer(lab, "2C", lang) for lang in ("en", "zh")}
    assert "jump together" not in text["en"] and "一起跳升" not in text["zh"]
    assert "gains more than the training" not in text["en"] and "提升比训练准确率更多" not in text["zh"]
    assert "the weights settle and the gap closes" in text["en"] and "权重稳定下来，差距随之缩小" in text["zh"]


def test_2b_says_the_curve_flattens_only_when_it_did(runs):
    lab = read(runs)
    drop = lab.facts["cifar"].cifar.facts.drop
    drop.gain_before, drop.gain_after = 0.1, 0.5
    text = {lang: answer(lab, "2B", lang) for lang in ("en", "zh")}
    assert "flattens (final" not in text["en"] and "走平（最终" not in text["zh"]
    assert (
        "it changed by 0.50 points per epoch (final" in text["en"] and "平均每轮变化 0.50 个百分点（最终" in text["zh"]
    )
    drop.gain_before = None
    assert "flattens (final" not in answer(lab, "2B") and "changed by 0.50 points per epoch (final" in answer(lab, "2B")
    assert "the test accuracy curve flattened" not in answer(lab, "2B") and "曲线随之变平" not in answer(
        lab, "2B", "zh"
    )
    drop.gain_before, drop.gain_after = 2.0, 0.1
    assert "changed by only 0.10 points per epoch: the curve flattens" in answer(lab, "2B")
    assert "the test accuracy curve flattened" in answer(lab, "2B") and "测试准确率曲线随之变平" in answer(
        lab, "2B", "zh"
    )
    assert "曲线很快走平" in answer(lab, "2B", "zh")
    assert "训练准确率也从" in answer(lab, "2B", "zh")
    drop.train_after = drop.train_before - 2  # training fell while the test accuracy rose
    assert "训练准确率则从" in answer(lab, "2B", "zh") and "训练准确率也从" not in answer(lab, "2B", "zh")


def test_a_missing_run_is_computed_with_the_declarations_own_options(tiny_lab):
    from lab.core import declaration
    from lab.report.answers import missing_note

    decl = declaration.load(tiny_lab / "lab13.toml", ["fit.lr.epochs=7"], quick=True)
    assert decl.options() == ["--set", "fit.lr.epochs=7", "--quick"]
    note = missing_note("fit.lr", "failed", "en", decl.options())
    assert "compute it with <code>labreport run --only fit.lr --set fit.lr.epochs=7 --quick</code>" in note


def test_every_word_the_page_template_asks_for_is_in_both_catalogues():
    from lab.core.exercise_report import missing_words, names_in_templates

    root = Path(__file__).resolve().parents[1]
    keys = [key for kind, key, _ in names_in_templates(root / "templates") if kind == "text"]
    assert len(keys) > 10 and missing_words(root / "lab" / "report", keys) == []


def test_a_rate_whose_loss_dwarfs_the_others_gets_its_own_panel(runs):
    from lab.exercises.fit import figures

    sweep = read(runs).facts["fit"].lr
    largest = sweep.loss["lr"] == sweep.loss["lr"].max()
    calm = sweep.loss.assign(
        train_loss=np.where(largest, sweep.loss["train_loss"].clip(upper=50), sweep.loss["train_loss"])
    )
    wild = sweep.loss.assign(train_loss=np.where(largest, sweep.loss["train_loss"] * 1e4, sweep.loss["train_loss"]))
    assert 'id="axes_2"' not in figures.loss_curves(types.SimpleNamespace(**{**vars(sweep), "loss": calm}), "en")
    assert 'id="axes_2"' in figures.loss_curves(types.SimpleNamespace(**{**vars(sweep), "loss": wild}), "en")


@pytest.mark.parametrize(
    ("value", "line", "where", "axis"),
    [
        (26, 30.6, "inside", (0, 105)),
        (50, 30.6, "above", (0, 105)),
        (5, 8, "over the line", (0, 105)),
        (50, 60, "inside", (0, 210)),  # a taller axis: the label takes more of its units
        (40, 41, "inside", (30, 50)),  # a zoomed axis: the label is fewer of its units
        (31, 31.5, "over the line", (30, 50)),  # too little bar above the axis' bottom to hold it
    ],
)
def test_a_bar_label_stays_clear_of_the_reference_line(value, line, where, axis):
    from matplotlib.figure import Figure

    from lab.exercises.cifar.figures import LABEL_SHARE, label_clear_of

    ax = Figure().subplots()
    ax.set_ylim(*axis)
    label_clear_of(ax, 0, value, line)
    text = ax.texts[0]
    y, va = text.get_position()[1], text.get_va()
    height = LABEL_SHARE * (axis[1] - axis[0])  # computed here from the limits, not by the code under test
    bottom, top = (y - height, y) if va == "top" else (y, y + height)
    assert not bottom <= line <= top
    assert {"inside": va == "top" and y < value, "above": y > value, "over the line": y > line}[where]


UNFINISHED = {
    "zh": [
        "生成本报告",
        "快照轮数",
        "不会夸大",
        "最多列出",
        "f(x)=f(x)",
        "[-",
        "SGD,momentum",
        "50000张",
        "1000个网格点",
    ],
    "en": [
        "built this report;",
        "snapshot epochs",
        "does not inflate",
        "(up to",
        "f(x)=f(x)",
        "[-",
        "1epochs",
        "Res-Net",
        "1000grid",
    ],
}


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_the_body_has_none_of_the_unfinished_words(request, name):
    """Words that were not the student's or not finished (issue 24), and the number styles: a real
    minus sign in an interval, the optimiser in the report's language, 'Table 6' says how many rows."""
    lang = name[:2]
    body = squeeze(body_text(request.getfixturevalue(name), lang))
    for words in UNFINISHED[lang]:
        assert squeeze(words) not in body, words
    assert squeeze({"zh": "SGD，动量", "en": "SGD, momentum"}[lang]) in body
    assert re.search(
        {"zh": r"我试过的(\d+)个设置中交叉验证误差最低的\1个", "en": r"The(\d+)settings.*?ofthe\d+Itried"}[lang], body
    )


@pytest.mark.parametrize(
    ("lang", "grid", "points"),
    [("zh", "1,000 个网格点", "20,000 个，x ~ U[−5, 5]"), ("en", "1,000 grid", "20,000, x ~ U[−5, 5]")],
)
def test_the_parameter_table_groups_thousands_and_writes_a_real_minus(runs, lang, grid, points):
    from lab.exercises.fit.report import parameter_table

    params = {**read(runs).facts["fit"].epochs.params, "grid_points": 1000, "samples": 20000, "x_range": [-5, 5]}
    html = parameter_table(types.SimpleNamespace(epochs=types.SimpleNamespace(params=params), lr=None), lang).html()
    assert grid in html and points in html


FIRST_PERSON_PLURAL = {"zh": r"我们|咱们", "en": r"(?i)\b(?:we|our|ours|us|ourselves)\b"}


@pytest.mark.parametrize("name", ["zh_report", "en_report", "quick_report"])
def test_the_report_speaks_in_the_first_person_singular(request, name):
    """Every generated sentence says 'I' (我), never 'we' (我们). Checked: the whole PDF but the
    reflections section (the student's own words; its generated placeholder is checked by the
    quick report, which has none written). The quoted course material, the questions and Appendix A's
    code, is checked too: none of it says 'we', so nothing is exempt."""
    report = request.getfixturevalue(name)
    lang = "zh" if name == "zh_report" else "en"
    text = subprocess.run(["pdftotext", str(report["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    if name != "quick_report":
        text = text[: text.rindex(HEADINGS[lang][3])] + text[text.rindex(HEADINGS[lang][4]) :]
    found = [text[max(m.start() - 40, 0) : m.end() + 20] for m in re.finditer(FIRST_PERSON_PLURAL[lang], text)]
    assert found == []


SWEEP_CAPTIONS = ["epochs_errors_caption", "lr_errors_caption", "epochs_table_caption", "lr_table_caption"]


@pytest.mark.parametrize("name", ["zh_report", "en_report"])
def test_the_sweeps_compare_means_by_their_standard_error(request, name):
    """Exercise 1's sweep tables and error figures show mean ± SE, as the text and 1C do, and say so."""
    from lab.exercises.fit.report import msg as fit_msg

    lang = name[:2]
    body = squeeze(body_text(request.getfixturevalue(name), lang))
    for key in SWEEP_CAPTIONS:
        caption = fit_msg(lang, key)
        assert squeeze(caption) in body, key
        assert {"zh": "± 标准误 SE", "en": "± SE, the standard error"}[lang] in caption, key
        assert not re.search(r"SD|std|标准差|standard deviation", caption), key


@pytest.mark.parametrize(
    ("run", "column", "setting", "shown"), [("fit.epochs", "epochs", 50000, "50,000"), ("fit.lr", "lr", 0.01, "0.01")]
)
def test_a_sweep_table_cell_is_the_mean_and_standard_error_of_the_seeds(runs, run, column, setting, shown):
    from lab.exercises.fit.result_tables import sweep_table

    snapshots = pd.read_csv(runs[run].dir / "snapshots.csv")
    errors = snapshots[np.isclose(snapshots[column], setting)].true_error.dropna().to_numpy()
    mean, se = errors.mean(), errors.std(ddof=1) / np.sqrt(len(errors))
    settings = getattr(read(runs).facts["fit"], "lr" if column == "lr" else "epochs").settings
    table = sweep_table(settings, column, "en")
    cell = next(row for row in table.rows if row[0] == shown)[table.columns.index("true error")]
    shown_mean, shown_se = (float(part.replace(",", "")) for part in cell.split(" ± "))
    decimals = len(cell.split(" ± ")[1].partition(".")[2])
    assert len(errors) > 2 and shown_mean == pytest.approx(mean, abs=10**-decimals)
    assert shown_se == pytest.approx(se, abs=10**-decimals)
    assert abs(errors.std(ddof=1) - se) > 10**-decimals  # the SD would not pass


def test_the_sweep_error_bars_are_standard_errors(runs, monkeypatch):
    """Figures 'error against epochs / learning rate': each upper bar is the SE over the seeds."""
    from matplotlib.axes import Axes

    from lab.exercises.fit.figures import error_vs_setting

    drawn = {}
    original = Axes.errorbar

    def recording(self, x, y, *args, **kwargs):
        drawn[kwargs["label"]] = (np.asarray(x), np.asarray(kwargs["yerr"][1]))
        return original(self, x, y, *args, **kwargs)

    monkeypatch.setattr(Axes, "errorbar", recording)
    sweep = read(runs).facts["fit"].epochs
    error_vs_setting(sweep, "epochs", "en")
    snapshots = pd.read_csv(runs["fit.epochs"].dir / "snapshots.csv")
    x, upper = drawn["true error (MSE vs noise-free f)"]
    for epochs, bar in zip(x, upper):
        errors = snapshots[snapshots.epochs == epochs].true_error.dropna().to_numpy()
        assert bar == pytest.approx(errors.std(ddof=1) / np.sqrt(len(errors)))


def test_a_table_writes_a_negative_number_with_a_real_minus():
    from lab.report.items import Table

    html = Table(
        ["what", "value"], [["--set x=[-5,5]", "-0.627 ± 0.049"], ["2026-11-28", "1e-05"]], [False, True]
    ).html()
    assert '<td class="num">−0.627 ± 0.049</td>' in html and "1e-05" in html  # a number; an exponent stays
    assert "--set x=[-5,5]" in html and "2026-11-28" in html  # a text cell (a command, a date) as written


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_learning_rate_loss_legend_is_clear_of_every_panel(runs, monkeypatch, lang):
    """Figure 'training loss per learning rate': one legend, below the panels, so it covers no curve."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from lab.exercises.fit import figures

    drawn = []
    monkeypatch.setattr(figures, "to_svg", lambda fig: drawn.append(fig) or "<svg/>")
    figures.loss_curves(read(runs).facts["fit"].lr, lang)
    fig = drawn[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert [ax.get_legend() for ax in fig.axes if ax.get_visible()] == [None] * len(fig.axes)
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    labels = [text.get_text() for text in legend.get_texts()]
    assert len(labels) == len(set(labels)) and any("0.1" in label for label in labels)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer)), ax


def drawn_pixels(svg: str, folder: Path) -> np.ndarray:
    """The SVG printed on a page by WeasyPrint, at 150 dpi, in grey levels."""
    from PIL import Image

    from lab.report.items import svg_html
    from lab.report.render import write_pdf

    folder.mkdir()
    write_pdf(f"<html><body>{svg_html(svg)}</body></html>", folder / "page.pdf", None)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", "page.pdf", "page"], cwd=folder, check=True)
    return np.asarray(Image.open(folder / "page.png").convert("L"))


def test_slimmed_figures_print_the_same_pixels_from_fewer_nodes(runs, tmp_path, monkeypatch):
    """plotting.slimmed drops metadata, empty and id-only groups and the CSS WeasyPrint would parse;
    a report figure and one with every kind of artist the figures use print the same."""
    from lab.exercises.cifar import figures
    from lab.report import plotting

    def every_artist() -> str:
        with plotting.styled("zh"):
            fig = plotting.new_figure(2.4)
            ax = fig.subplots()
            x = np.linspace(1, 10, 50)
            ax.plot(x, x**2, label="训练 train")
            ax.plot(x, x**1.5, "--", label="test")
            ax.errorbar(x[::10], x[::10] ** 2, yerr=3, fmt="o", capsize=2)
            ax.fill_between(x, x, 2 * x, alpha=0.3)
            ax.scatter(x, 50 + x, s=4, rasterized=True)
            ax.bar([2, 4], [30, 60], color=plotting.PALETTE[3])
            ax.set_yscale("log")
            ax.set_xlabel("轮次 epoch")
            ax.legend()
            ax.annotate("−0.5", (5, 25))
            return plotting.to_svg(fig)

    def drawings() -> list[str]:
        return [figures.cifar_curves(read(runs).facts["cifar"].cifar, "zh"), every_artist()]

    slim = drawings()
    monkeypatch.setattr(plotting, "slimmed", lambda svg: svg)
    raw = drawings()
    for n, (before, after) in enumerate(zip(raw, slim)):
        assert after.count("<") < before.count("<") / 2 and 'style="fill' not in after
        assert np.array_equal(drawn_pixels(before, tmp_path / f"raw{n}"), drawn_pixels(after, tmp_path / f"slim{n}"))
