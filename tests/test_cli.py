"""The command line as a user sees it: help, run, caching, --only, --set, list, doctor."""

import json
import re
import shutil
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

from tests.conftest import imports_seen, labreport

README = Path(__file__).parents[1] / "README.md"


@pytest.mark.parametrize("columns", ["80", "200"])
@pytest.mark.parametrize("command", [[], ["run"], ["build"], ["preview"], ["list"], ["doctor"], ["verify"]])
def test_help_everywhere_without_type_noise(tmp_path, command, columns):
    result = labreport(tmp_path, *command, "--help", env={"COLUMNS": columns}, check=0)
    assert "Usage: labreport" in result.stdout
    assert "<bool>" not in result.stdout and "list[str]" not in result.stdout
    if command in (["run"], ["build"]):  # --quick's duration as the README quotes it
        quoted = re.search(r"\(a first build: (\d+ s) on 2 cores", " ".join(result.stdout.split()))
        assert quoted and f"in {quoted.group(1)}" in README.read_text(encoding="utf-8"), result.stdout


def test_version_is_the_package_version(tmp_path):
    with open(Path(__file__).parents[1] / "pyproject.toml", "rb") as file:
        declared = tomllib.load(file)["project"]["version"]
    assert labreport(tmp_path, "--version", check=0).stdout.startswith(f"labreport {declared}")


def test_shell_completion_completes_commands_and_options(tmp_path):
    def complete(words: str) -> list[str]:
        env = {"_LABREPORT_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        return labreport(tmp_path, env=env, check=0).stdout.split()

    assert complete("labreport bu") == ["build"]
    assert sorted(complete("labreport build --no")) == ["--no-download", "--no-run"]


def test_run_computes_then_caches(tiny_lab):
    first = labreport(tiny_lab, "run", "--only", "fit", check=0)
    for name in ("fit.epochs", "fit.lr", "fit.custom"):
        assert name in first.stdout
    records = sorted((tiny_lab / "reports" / "runs").glob("fit.*/*/record.json"))
    assert len(records) == 3
    assert all(json.loads(r.read_text())["status"] in ("done", "diverged") for r in records)
    stamps = [r.stat().st_mtime_ns for r in records]

    second = labreport(tiny_lab, "run", "--only", "fit", check=0)
    assert second.stdout.count("cached (already done)") == 3
    assert [r.stat().st_mtime_ns for r in records] == stamps  # nothing rewritten

    listed = labreport(tiny_lab, "list", check=0).stdout
    for name in ("fit.epochs", "fit.lr", "fit.custom"):
        line = next(line for line in listed.splitlines() if line.strip("│ ").startswith(name))
        assert "done" in line or "diverged" in line
    cifar_line = next(line for line in listed.splitlines() if "cifar" in line and "│" in line)
    assert "missing" in cifar_line


def test_only_runs_just_what_was_asked(tiny_lab):
    labreport(tiny_lab, "run", "--only", "fit.lr", check=0)
    runs = tiny_lab / "reports" / "runs"
    assert sorted(p.name for p in runs.iterdir() if not p.name.startswith(".")) == ["fit.lr"]


def test_set_changes_only_the_affected_run(tiny_lab):
    labreport(tiny_lab, "run", "--only", "fit.lr", "--only", "fit.epochs", check=0)
    result = labreport(
        tiny_lab, "run", "--only", "fit.lr", "--only", "fit.epochs", "--set", "fit.lr.epochs=25", check=0
    )
    lines = result.stdout.splitlines()
    assert any("fit.epochs" in line and "cached" in line for line in lines)
    assert any("fit.lr" in line and ("done" in line or "diverged" in line) for line in lines)
    listed = labreport(tiny_lab, "list", "--set", "fit.lr.epochs=30", check=0).stdout
    assert "stale" in next(line for line in listed.splitlines() if "fit.lr" in line)
    assert "done" in next(line for line in listed.splitlines() if "fit.epochs" in line)


def test_force_recomputes(tiny_lab):
    labreport(tiny_lab, "run", "--only", "fit.lr", check=0)
    result = labreport(tiny_lab, "run", "--only", "fit.lr", "--force", check=0)
    assert "previous result moved to" in result.stdout
    assert list((tiny_lab / "reports" / "runs" / "fit.lr").glob(".*.previous"))


def test_unknown_only_lists_the_valid_names(tiny_lab):
    result = labreport(tiny_lab, "run", "--only", "cifa", check=2)
    assert "unknown experiment; valid names: fit, cifar, fit.epochs, fit.lr, fit.custom" in result.stderr


def test_plain_progress_lines_off_a_terminal(tiny_lab):
    result = labreport(tiny_lab, "run", "--only", "fit.epochs", check=0)
    assert "fit.epochs:" in result.stdout  # plain lines, no bar escape codes
    assert "\x1b[" not in result.stdout


def test_doctor_passes_on_a_good_lab_and_fails_without_data(tiny_lab):
    (tiny_lab / "reflections.md").write_text("What I learnt.\n", encoding="utf-8")  # the hand-in check wants them
    good = labreport(tiny_lab, "doctor", check=0)
    assert "all checks passed" in good.stdout
    bad = labreport(tiny_lab, "doctor", "--data", str(tiny_lab / "nowhere"), check=2)
    assert "fail  CIFAR-10 data" in bad.stdout and "nowhere" in bad.stdout


def test_cifar_runs_on_tiny_data_and_resumes_nothing_twice(tiny_lab):
    labreport(tiny_lab, "run", "--only", "cifar", check=0)
    [record] = (tiny_lab / "reports" / "runs" / "cifar").glob("*/record.json")
    data = json.loads(record.read_text())
    assert data["status"] == "done" and data["params"]["phases"][1]["lr"] == 0.01
    again = labreport(tiny_lab, "run", "--only", "cifar", check=0)
    assert "cached" in again.stdout


# --- everyday commands answer at once: no torch, no data preflight, no redrawn figures --------


def imported_modules(cwd: Path, *args: str, check: int = 0) -> tuple[set[str], str]:
    """The top-level packages the command imported (from python -X importtime), and its stderr."""
    result = labreport(cwd, *args, python_options=("-X", "importtime"), check=check)
    return {name.split(".")[0] for name in imports_seen(result.stderr)}, result.stderr


@pytest.mark.parametrize("command", [["--help"], ["--version"], ["list"], ["run", "--help"]])
def test_everyday_commands_never_import_torch(tiny_lab, command):
    imported, _ = imported_modules(tiny_lab, *command)
    assert "typer" in imported  # the harness sees imports at all
    assert not imported & {"torch", "matplotlib", "weasyprint", "pandas"}


def figure_cache(lab: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (lab / "reports" / "runs" / ".figure-cache").glob("*.svg")}


def test_build_no_run_renders_without_torch_or_data_and_reuses_figures(tiny_lab):
    labreport(tiny_lab, "run", "--only", "fit", check=0)
    first = labreport(tiny_lab, "build", "--no-run", check=0)
    assert "missing: cifar (missing)" in first.stderr  # reported, as before
    labreport(tiny_lab, "run", "--only", "cifar", check=0)
    labreport(tiny_lab, "build", "--no-run", check=0)  # runs the course's test(epoch) once (2A's check)
    html = (tiny_lab / "reports" / "lab13.html").read_text()
    assert "Check: run on the final model" in html
    (tiny_lab / "data").rename(tiny_lab / "data-elsewhere")  # the finished cifar run still renders

    imported, stderr = imported_modules(tiny_lab, "build", "--no-run")
    assert "torch" not in imported and "missing:" not in stderr  # the check's result is remembered
    listed = labreport(tiny_lab, "list", check=0).stdout
    assert "done" in next(line for line in listed.splitlines() if "cifar" in line and "│" in line)
    other = labreport(tiny_lab, "list", "--set", "cifar.batch_size=8", check=0).stdout
    assert "stale" in next(line for line in other.splitlines() if "cifar" in line and "│" in line)
    drawn = figure_cache(tiny_lab)
    assert len(drawn) >= 10

    shutil.copytree(Path(__file__).parents[1] / "templates", tiny_lab / "templates")
    template = tiny_lab / "templates" / "report.html.j2"
    template.write_text(template.read_text() + "\n<p>restyled by the student</p>\n")
    imported, _ = imported_modules(tiny_lab, "build", "--no-run")
    assert not imported & {"torch", "matplotlib"}  # nothing to train, nothing to draw
    assert "restyled by the student" in (tiny_lab / "reports" / "lab13.html").read_text()
    assert figure_cache(tiny_lab) == drawn  # every figure came from the cache: none redrawn


def test_precision_is_the_cifar_exercises_own_value_set_with_set(tiny_lab):
    labreport(tiny_lab, "run", "--only", "cifar", check=0)  # the tiny lab declares fp32
    again = labreport(tiny_lab, "run", "--only", "cifar", "--set", "cifar.precision=fp32", check=0).stdout
    assert "cached" in next(line for line in again.splitlines() if "cifar" in line and "│" in line)
    listed = labreport(tiny_lab, "list", "--set", "cifar.precision=bf16", check=0).stdout
    assert "stale" in next(line for line in listed.splitlines() if "cifar" in line and "│" in line)
    bad = labreport(tiny_lab, "run", "--only", "cifar", "--set", "cifar.precision=fp16", check=2)
    assert "cifar.precision: 'fp16' is not one of 'auto', 'fp32', 'bf16'" in bad.stderr
    assert "No such option: --precision" in labreport(tiny_lab, "run", "--precision", "fp32", check=2).stderr
    helped = " ".join(labreport(tiny_lab, "build", "--help", check=0).stdout.split())
    assert "cifar.precision=auto|fp32|bf16: Exercise 2's numerics; auto is bf16 where the hardware has it" in helped


def test_executors_come_from_the_registry(tiny_lab):
    from lab.core.executors import EXECUTORS

    ran = labreport(tiny_lab, "run", "--only", "fit", "--executor", "workers", check=0)
    assert ran.stdout.count(" done ") + ran.stdout.count(" diverged ") == 3, ran.stdout  # each in a worker process
    unknown = labreport(tiny_lab, "run", "--executor", "slurm", check=2)
    assert f"--executor 'slurm': choose {', '.join(EXECUTORS)}" in unknown.stderr
    stray = labreport(tiny_lab, "run", "--address", "10.0.0.1:6379", check=2)
    assert "--address 10.0.0.1:6379: the address of a cluster to join; add --executor ray" in stray.stderr
    assert "|".join(EXECUTORS) in labreport(tiny_lab, "run", "--help", check=0).stdout
