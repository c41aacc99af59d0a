"""A toy exercise and a toy lab, defined here, go through the same plug-in interface as Lab 13.

Nothing of the core or of Lab 13 is touched: the toy lives in a folder on
PYTHONPATH, its declaration names its lab, and `labreport` runs and reports it.
Its report side is declared as an `ExerciseReport`: adding a figure and a table
touches only the toy's package, and a misspelt item name stops the command.
"""

import shutil
from pathlib import Path

from tests.conftest import labreport
from tests.helpers import pdf_pages, squeeze

TOY = Path(__file__).resolve().parent / "toy"
REPO = Path(__file__).resolve().parent.parent


def toy_lab(tmp_path: Path) -> tuple[Path, Path, dict]:
    """(a copy of the toy's packages, a working folder with its declaration, the env that finds them)."""
    plugins = tmp_path / "plugins"
    shutil.copytree(TOY, plugins)
    work = tmp_path / "work"
    work.mkdir()
    (work / "toy.toml").write_text('lab = "toylab"\n\n[constant]\nvalue = 4.0\nsamples = 50\n', encoding="utf-8")
    return plugins / "toyconst", work, {"PYTHONPATH": f"{REPO}:{plugins}"}


def test_a_toy_exercise_runs_and_is_reported_through_the_cli(tmp_path):
    _, work, env = toy_lab(tmp_path)
    listed = labreport(work, "list", "--config", "toy.toml", env=env, check=0)
    assert "constant.fit" in listed.stdout and "missing" in listed.stdout

    labreport(work, "build", "--config", "toy.toml", "--lang", "en", "--out", "toy.pdf", env=env, check=0)
    text = " ".join(pdf_pages(work / "toy.pdf"))
    assert "A toy lab: fitting a constant" in text  # the lab's title
    assert "3.1 Fitting a constant" in text  # the exercise's section
    assert "Q1. What constant do the noisy samples come from?" in text  # the lab's question
    assert "The mean of 50 samples is 4.0, as shown in Table 3" in text  # its answer, citing its table
    assert (
        "Table 3The estimate." in text.replace(" ", "") or "Table 3 The estimate." in text
    )  # numbered after the page's two
    assert (work / "toy-tables" / "constant.csv").is_file()  # its table, as CSV

    again = labreport(work, "run", "--config", "toy.toml", env=env, check=0)
    assert "cached" in again.stdout  # keyed and stored like any run


TOY_FIGURE = """

def samples_figure(facts, lang):
    from lab.report.plotting import new_figure, styled, to_svg

    with styled(lang):
        fig = new_figure(1.5)
        fig.subplots().bar(["estimate"], [facts.estimate])
        return to_svg(fig)


def spread_table(facts, lang):
    return Table(["samples", "estimate"], [[str(facts.samples), f"{facts.estimate:.1f}"]], [True, True])


ConstantReport.items = (
    Item("fig:samples", "samples_caption", ("constant.fit",), samples_figure),
    Item("tab:spread", "spread_caption", ("constant.fit",), spread_table),
    *ConstantReport.items,
)
"""


def test_a_figure_and_a_table_added_through_the_contract_touch_only_the_toy(tmp_path):
    toy, work, env = toy_lab(tmp_path)
    with open(toy / "report.py", "a", encoding="utf-8") as report:
        report.write(TOY_FIGURE)
    for lang, words in (
        ("en", ("The samples, drawn.", "How far the samples spread.")),
        ("zh", ("样本图。", "样本的分散。")),
    ):
        with open(toy / "messages" / f"{lang}.toml", "a", encoding="utf-8") as catalogue:
            catalogue.write(f'samples_caption = "{words[0]}"\nspread_caption = "{words[1]}"\n')
    section = toy / "section.html.j2"
    section.write_text(
        '{{ figure("fig:samples") }}\n{{ table("tab:spread") }}\n' + section.read_text(), encoding="utf-8"
    )
    answer = toy / "answers" / "Q1.md.j2"
    shown = 'as shown in {{ ref("tab:constant") }}.'
    answer.write_text(answer.read_text().replace(shown, shown + ' The samples are in {{ ref("fig:samples") }}.'))

    labreport(work, "build", "--config", "toy.toml", "--lang", "en", "--out", "toy.pdf", env=env, check=0)
    text = " ".join(pdf_pages(work / "toy.pdf"))
    assert squeeze("Figure 1 The samples, drawn.") in squeeze(text)
    # the list's order is the numbering: the page's Tables 1 and 2, then the toy's spread, then its estimate
    assert squeeze("Table 3 How far the samples spread.") in squeeze(text)
    assert "as shown in Table 4" in text and "The samples are in Figure 1." in text
    html = (work / "toy.html").read_text(encoding="utf-8")
    assert html.count("data:image/svg+xml;base64,") == 1


def test_a_misspelt_item_name_fails_when_the_exercise_loads(tmp_path):
    toy, work, env = toy_lab(tmp_path)
    section = toy / "section.html.j2"
    section.write_text(section.read_text().replace('table("tab:constant")', 'table("tab:constnat")'))
    result = labreport(work, "list", "--config", "toy.toml", env=env, check=2)
    assert result.stderr.strip().replace("\n", " ") == (
        "error: exercise constant: section.html.j2 places 'tab:constnat', which is not one of its items "
        "(tab:constant); item 'tab:constant' is placed by none of its templates"
    )
    assert not (work / "reports").exists()  # nothing ran
