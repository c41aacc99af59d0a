"""The shape of the code: a core that knows no lab, and run keys that follow the code."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.core.api import load_lab
from tests.conftest import labreport as run_cli

REPO = Path(__file__).resolve().parent.parent
FINISHED = {"done", "diverged"}


def lab_words() -> re.Pattern:
    """Lab 13's exercises, runs, questions and course files: words of the lab and its exercises only."""
    lab = load_lab()
    exercises = lab.loaded()
    names = [lab.name, lab.declaration.name, *lab.questions]
    names += [exercise.name for exercise in exercises] + [run for exercise in exercises for run in exercise.runs]
    words = "|".join(re.escape(name) for name in sorted(set(names), key=len, reverse=True))
    return re.compile(rf"\b({words}|exp\d+\.py|CIFAR(-10)?|ResNet(-20)?)\b", re.IGNORECASE)


@pytest.mark.parametrize(
    "folder, suffixes",
    [("lab/core", ("*.py",)), ("lab/report", ("*.py", "*.j2", "*.toml")), ("templates", ("*.j2", "*.css"))],
)
def test_the_generic_layers_name_no_exercise_run_or_course_file(folder, suffixes):
    """The core, the report and the page's templates know no lab: its words live in lab/labs/ and lab/exercises/."""
    words = lab_words()
    named = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for suffix in suffixes
        for path in sorted((REPO / folder).rglob(suffix))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if words.search(line)
    ]
    assert not named, "\n".join(named)


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_no_chinese_prose_in_python_code():
    """Chinese words live in templates, message catalogues and data files, never in a .py file."""
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "lab").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CJK.search(line)
    ]
    assert not found, "\n".join(found)


def copy_of_the_package(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    shutil.copytree(REPO / "lab", code / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", code / "templates")
    return code


def labreport(code: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """The command line, running the copy of the code in `code`."""
    return run_cli(folder, *args, env={"PYTHONPATH": str(code), "COLUMNS": "250"}, check=0)


def statuses(listing: str) -> dict[str, str]:
    rows = {}
    for line in listing.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│|]", line) if cell.strip()]
        if cells and (cells[0] in ("fit.epochs", "fit.lr", "fit.custom") or cells[0].startswith("cifar")):
            rows[cells[0]] = cells[2]
    return rows


def test_editing_fit_code_makes_only_fit_runs_stale(tiny_lab, tmp_path):
    code = copy_of_the_package(tmp_path)
    labreport(code, tiny_lab, "run")
    before = statuses(labreport(code, tiny_lab, "list").stdout)
    assert set(before.values()) <= FINISHED and len(before) == 4, before

    mlp = code / "lab" / "exercises" / "fit" / "batched_mlp.py"
    mlp.write_text(mlp.read_text() + "\n# an edit\n")
    (code / "templates" / "report.css").write_text("/* restyled */\n")
    after = statuses(labreport(code, tiny_lab, "list").stdout)
    assert after["cifar"] == before["cifar"]
    for name in ("fit.epochs", "fit.lr", "fit.custom"):
        assert after[name] == "stale (code changed: batched_mlp.py)", after


SWEEP = ("--set", "cifar.seeds=[0,1]", "--set", 'cifar.variants=["tuned"]')


def test_editing_cifar_data_code_makes_only_cifar_runs_stale(tiny_lab, tmp_path):
    """data/augment.py is reached through the data package's __init__ (``from lab.exercises.cifar
    import data as cifar_data``): every CIFAR run, the sweep's seed and variant runs too, depends on it.
    A variant's values are its parameters, not code: changing one makes that variant alone stale."""
    code = copy_of_the_package(tmp_path)
    labreport(code, tiny_lab, "run", "--only", "fit.lr", "--only", "cifar", *SWEEP)
    before = statuses(labreport(code, tiny_lab, "list", *SWEEP).stdout)
    assert before["fit.lr"] in FINISHED and before["fit.custom"] == "missing", before
    assert {before[name] for name in ("cifar", "cifar.seed1", "cifar.tuned")} <= FINISHED, before

    variants = code / "lab" / "exercises" / "cifar" / "variants.toml"  # values: the tuned run's parameters
    original = variants.read_text()
    variants.write_text(original.replace("peak_lr = 0.2 ", "peak_lr = 0.3 "))
    tuned = statuses(labreport(code, tiny_lab, "list", *SWEEP).stdout)
    assert tuned == {**before, "cifar.tuned": "stale"}, tuned  # `list` reads no data: no key to compare with
    variants.write_text(original)

    augment = code / "lab" / "exercises" / "cifar" / "data" / "augment.py"
    augment.write_text(augment.read_text() + "\n# an edit\n")
    after = statuses(labreport(code, tiny_lab, "list", *SWEEP).stdout)
    for name in ("fit.epochs", "fit.lr", "fit.custom"):
        assert after[name] == before[name], after
    for name in ("cifar", "cifar.seed1", "cifar.tuned"):
        assert after[name] == "stale (code changed: augment.py)", after


def test_editing_report_code_makes_nothing_stale(tiny_lab, tmp_path):
    code = copy_of_the_package(tmp_path)
    labreport(code, tiny_lab, "run")
    for path in [*(code / "lab" / "report").glob("*.py"), code / "templates" / "report.html.j2"]:
        path.write_text(path.read_text() + "\n")
    assert set(statuses(labreport(code, tiny_lab, "list").stdout).values()) <= FINISHED


def test_changed_parameters_are_named(tiny_lab, tmp_path):
    code = copy_of_the_package(tmp_path)
    labreport(code, tiny_lab, "run", "--only", "fit.lr")
    listing = labreport(code, tiny_lab, "list", "--set", "fit.lr.epochs=7").stdout
    assert statuses(listing)["fit.lr"] == "stale (parameters changed: epochs)", listing


def test_a_run_records_the_code_it_ran(tiny_lab, tmp_path):
    code = copy_of_the_package(tmp_path)
    labreport(code, tiny_lab, "run", "--only", "fit.lr")
    [record] = [json.loads(p.read_text()) for p in (tiny_lab / "reports" / "runs" / "fit.lr").glob("*/record.json")]
    assert set(record["code"]) == {
        "lab",
        "lab.exercises",
        "lab.exercises.fit",
        "lab.exercises.fit.train",
        "lab.exercises.fit.training",
        "lab.exercises.fit.problem",
        "lab.exercises.fit.tables",
        "lab.exercises.fit.tuning",
        "lab.exercises.fit.batched_mlp",
        "lab.exercises.fit.autograd_mlp",
        "lab.exercises.fit.comparison",
        "lab.exercises.fit.averaging",
        "lab.exercises.fit.expr",
        "lab.exercises.fit.functions",
    }
