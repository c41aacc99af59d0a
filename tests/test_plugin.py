"""A toy exercise and a toy lab, defined here, go through the same plug-in interface as Lab 13.

Nothing of the core or of Lab 13 is touched: the toy lives in a folder on
PYTHONPATH, its declaration names its lab, and `labreport` runs and reports it.
"""

import shutil
from pathlib import Path

from pypdf import PdfReader

from tests.conftest import labreport

TOY = Path(__file__).resolve().parent / "toy"
REPO = Path(__file__).resolve().parent.parent


def test_a_toy_exercise_runs_and_is_reported_through_the_cli(tmp_path):
    shutil.copytree(TOY, tmp_path / "plugins")
    work = tmp_path / "work"
    work.mkdir()
    (work / "toy.toml").write_text('lab = "toylab"\n\n[constant]\nvalue = 4.0\nsamples = 50\n', encoding="utf-8")
    env = {"PYTHONPATH": f"{REPO}:{tmp_path / 'plugins'}"}

    listed = labreport(work, "list", "--config", "toy.toml", env=env, check=0)
    assert "constant.fit" in listed.stdout and "missing" in listed.stdout

    labreport(work, "build", "--config", "toy.toml", "--lang", "en", "--out", "toy.pdf", env=env, check=0)
    text = " ".join((page.extract_text() or "") for page in PdfReader(work / "toy.pdf").pages)
    text = " ".join(text.split())
    assert "A toy lab: fitting a constant" in text  # the lab's title
    assert "3.1 Fitting a constant" in text  # the exercise's section
    assert "Q1. What constant do the noisy samples come from?" in text  # the lab's question
    assert "The mean of 50 samples is 4.0" in text  # its answer, from the template
    assert (work / "toy-tables" / "constant.csv").is_file()  # its table, as CSV

    again = labreport(work, "run", "--config", "toy.toml", env=env, check=0)
    assert "cached" in again.stdout  # keyed and stored like any run
