"""Handing the report in: `build --final`, the "before you hand in" list, `init`, doctor's
hand-in check, quick builds beside the hand-in file, misnamed answers, the student's headings,
the hints and the reproduce command — as a student sees them (exit codes, output, files, PDF text)."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.core.api import load_lab
from lab.core.declaration import read_toml
from tests.conftest import labreport
from tests.helpers import squeeze, tiny_lab_in

EXAMPLE = read_toml(load_lab().declaration)["student"]  # the packaged example's name and ID
ROOT = Path(__file__).parents[1]


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def computed_lab(tmp_path_factory) -> Path:
    """The tiny lab with every run computed and reflections written: ready to hand in."""
    folder = tiny_lab_in(tmp_path_factory.mktemp("computed"))
    labreport(folder, "run", check=0)
    (folder / "reflections.md").write_text("I learnt that the learning rate matters most.\n", encoding="utf-8")
    return folder


@pytest.fixture
def ready_lab(computed_lab, tmp_path) -> Path:
    """A copy of the computed lab for one test to change."""
    return Path(shutil.copytree(computed_lab, tmp_path / "lab"))


def use_example_student(lab: Path) -> None:
    text = (lab / "lab13.toml").read_text(encoding="utf-8")
    text = re.sub(r'^name = ".*"', f'name = "{EXAMPLE["name"]}"', text, count=1, flags=re.M)
    text = re.sub(r'^id = ".*"', f'id = "{EXAMPLE["id"]}"', text, count=1, flags=re.M)
    (lab / "lab13.toml").write_text(text, encoding="utf-8")


# --- build --final ------------------------------------------------------------------------


def test_final_accepts_a_complete_lab(ready_lab):
    result = labreport(ready_lab, "build", "--final", check=0)
    assert "before you hand in" not in result.stderr
    text = pdf_text(ready_lab / "reports" / "lab13.pdf")
    assert "Test Student" in text and "I learnt that the learning rate matters most." in text
    assert "not written yet" not in text


def test_final_refuses_the_example_name_before_any_training(ready_lab):
    use_example_student(ready_lab)
    shutil.rmtree(ready_lab / "reports" / "runs")  # nothing computed: the refusal comes first
    result = labreport(ready_lab, "build", "--final", check=1)
    assert "not ready to hand in (--final); no PDF written" in result.stderr
    assert EXAMPLE["name"] in result.stderr and EXAMPLE["id"] in result.stderr and "labreport init" in result.stderr
    assert not (ready_lab / "reports" / "lab13.pdf").exists()
    assert not (ready_lab / "reports" / "runs").exists()


def test_final_refuses_without_reflections_and_a_plain_build_lists_them(ready_lab):
    (ready_lab / "reflections.md").write_text("<!-- prompts only -->\n", encoding="utf-8")
    refused = labreport(ready_lab, "build", "--final", "--no-run", check=1)
    assert "reflections.md: the reflections are not written yet" in refused.stderr
    assert not (ready_lab / "reports" / "lab13.pdf").exists()

    (ready_lab / "reflections.md").unlink()
    plain = labreport(ready_lab, "build", "--no-run", check=0)
    assert "before you hand in:" in plain.stderr and "reflections.md: no reflections yet" in plain.stderr
    text = pdf_text(ready_lab / "reports" / "lab13.pdf")
    assert "(The reflections are not written yet.)" in text
    assert str(ready_lab) not in text and "To be written" not in text


def test_final_refuses_quick_results(ready_lab):
    result = labreport(ready_lab, "build", "--final", "--quick", "--no-run", check=1)
    assert "--quick: a draft" in result.stderr
    assert not list((ready_lab / "reports").glob("*.pdf"))


def test_final_refuses_a_stale_run_and_the_hint_keeps_the_options(ready_lab):
    result = labreport(ready_lab, "build", "--final", "--no-run", "--set", "fit.lr.epochs=7", check=1)
    assert "runs not available: fit.lr (stale)" in result.stderr
    assert "Compute it with: labreport run --only fit.lr --set fit.lr.epochs=7" in result.stderr


def run_folder(lab: Path, name: str) -> Path:
    [folder] = [p.parent for p in (lab / "reports" / "runs" / name).glob("*/record.json")]
    return folder


def refused(lab: Path, *args: str, env: dict | None = None) -> str:
    """`build --final` refusing: exit 1, no PDF or HTML written; what it said."""
    result = labreport(lab, "build", "--final", *args, env=env, check=1)
    assert "not ready to hand in (--final); no PDF written" in result.stderr
    assert not list((lab / "reports").glob("lab13*.pdf")) and not list((lab / "reports").glob("lab13*.html"))
    return result.stderr


def test_final_refuses_a_missing_run(ready_lab):
    shutil.rmtree(ready_lab / "reports" / "runs" / "fit.lr")
    said = refused(ready_lab, "--no-run")
    assert "runs not available: fit.lr (missing)" in said
    assert "Compute it with: labreport run --only fit.lr" in said


def test_final_refuses_a_failed_run_and_keeps_the_others(ready_lab):
    shutil.rmtree(ready_lab / "reports" / "runs" / "fit.lr")
    kept = {name: run_folder(ready_lab, name) for name in ("fit.epochs", "fit.custom", "cifar")}
    said = refused(ready_lab, env={"LABREPORT_FAULT_FAIL": "fit.lr"})
    assert "runs not available: fit.lr (failed)" in said
    [record] = [json.loads(p.read_text()) for p in (ready_lab / "reports" / "runs" / "fit.lr").glob("*/record.json")]
    assert record["status"] == "failed" and "fault injected" in record["error"]
    assert {name: run_folder(ready_lab, name) for name in kept} == kept


def test_final_refuses_a_damaged_run_without_running_and_recomputes_it_otherwise(ready_lab):
    snapshots = run_folder(ready_lab, "fit.epochs") / "snapshots.csv"
    snapshots.write_text(snapshots.read_text(encoding="utf-8")[:50], encoding="utf-8")
    said = refused(ready_lab, "--no-run")
    assert "runs not available: fit.epochs (damaged)" in said
    result = labreport(ready_lab, "build", "--final", check=0)
    assert "fit.epochs: damaged run previous result moved to" in result.stdout
    assert "before you hand in" not in result.stderr and (ready_lab / "reports" / "lab13.pdf").is_file()


def test_final_refuses_misnamed_answers(ready_lab):
    (ready_lab / "answers").mkdir()
    (ready_lab / "answers" / "1a.md").write_text("My answer to 1A.\n", encoding="utf-8")
    (ready_lab / "answers" / "2C.txt").write_text("My answer to 2C.\n", encoding="utf-8")
    said = refused(ready_lab, "--no-run")
    expected = "name your answers 1A.md, 1B.md, 1C.md, 2A.md, 2B.md, 2C.md"
    for name in ("1a.md", "2C.txt"):
        assert f"answers/{name}: not used, no question has this name; {expected}" in said
    (ready_lab / "answers" / "1a.md").rename(ready_lab / "answers" / "1A.md")
    (ready_lab / "answers" / "2C.txt").rename(ready_lab / "answers" / "2C.md")
    labreport(ready_lab, "build", "--final", "--no-run", check=0)
    text = pdf_text(ready_lab / "reports" / "lab13.pdf")
    assert "My answer to 1A." in text and "My answer to 2C." in text


# --- where a quick build writes ---------------------------------------------------------------


def test_quick_build_leaves_the_hand_in_pdf_untouched(ready_lab):
    labreport(ready_lab, "build", "--no-run", check=0)
    hand_in = ready_lab / "reports" / "lab13.pdf"
    before = hashlib.sha256(hand_in.read_bytes()).hexdigest()
    result = labreport(ready_lab, "build", "--quick", "--no-run", check=0)
    assert f"wrote {ready_lab / 'reports' / 'lab13-quick.pdf'}" in result.stdout
    assert hashlib.sha256(hand_in.read_bytes()).hexdigest() == before
    assert "QUICK BUILD" in pdf_text(ready_lab / "reports" / "lab13-quick.pdf")


# --- the student's files ------------------------------------------------------------------------


def test_misnamed_answers_are_named_and_headings_demoted(ready_lab):
    answers = ready_lab / "answers"
    answers.mkdir()
    for name in ("1a.md", "1D.md", "2C.txt", "README.md"):
        (answers / name).write_text("My answer.\n", encoding="utf-8")
    (answers / "2B.md").write_text("## My own heading\n\nThe accuracy rose.\n", encoding="utf-8")
    (ready_lab / "reflections.md").write_text("# What I learnt\n\nPatience.\n", encoding="utf-8")
    result = labreport(ready_lab, "build", "--no-run", check=0)
    expected = "name your answers 1A.md, 1B.md, 1C.md, 2A.md, 2B.md, 2C.md"
    for name in ("1a.md", "1D.md", "2C.txt"):
        assert f"answers/{name}: not used, no question has this name; {expected}" in result.stderr
    assert "README.md" not in result.stderr
    html = (ready_lab / "reports" / "lab13.html").read_text(encoding="utf-8")
    assert "<h5>My own heading</h5>" in html  # below the exercise's h3 and the question
    assert "<h3>What I learnt</h3>" in html  # below the section's h2
    assert not re.search(r"<h[12]>(My own heading|What I learnt)", html)


def test_a_placeholder_answer_is_not_ready(ready_lab):
    (ready_lab / "answers").mkdir()
    (ready_lab / "answers" / "1C.md").write_text("TODO\n", encoding="utf-8")
    (ready_lab / "answers" / "1B.md").write_text(
        "The lr = 1 curve oscillates.\n\nTBD: the dead units\n", encoding="utf-8"
    )
    mention = "I filled in the TODO in test(): it sums the loss and the correct predictions.\n"
    (ready_lab / "answers" / "2A.md").write_text(mention, encoding="utf-8")
    result = labreport(ready_lab, "build", "--final", "--no-run", check=1)
    assert "answers/1C.md: still a placeholder" in result.stderr
    assert "answers/1B.md: still a placeholder" in result.stderr  # a line that is still a marker
    assert "answers/2A.md" not in result.stderr  # an answer that mentions a TODO is an answer


# --- doctor ---------------------------------------------------------------------------------------


def test_doctor_fails_the_hand_in_check_on_the_example_name(ready_lab):
    labreport(ready_lab, "doctor", check=0)
    use_example_student(ready_lab)
    result = labreport(ready_lab, "doctor", check=2)
    line = next(line for line in result.stdout.splitlines() if "hand-in" in line)
    assert line.startswith("fail") and EXAMPLE["name"] in line


def test_without_a_declaration_the_example_is_named(tmp_path):
    result = labreport(tmp_path, "list", check=0)
    assert "no lab13.toml here, so the packaged example is used" in result.stderr
    assert "labreport init" in result.stderr


# --- init -----------------------------------------------------------------------------------------


def test_init_starts_a_folder_that_builds(tmp_path):
    folder = tmp_path / "mine"
    made = labreport(
        tmp_path, "init", "mine", "--name", "王小红", "--id", "2024765432", "--class", "计科 2402 班", check=0
    )
    assert "wrote" in made.stdout
    declaration = read_toml(folder / "lab13.toml")
    assert declaration["student"] == {"name": "王小红", "id": "2024765432", "class": "计科 2402 班"}
    assert "<!--" in (folder / "reflections.md").read_text(encoding="utf-8")  # prompts, not words
    assert "2B.md" in (folder / "answers" / "README.md").read_text(encoding="utf-8")

    built = labreport(folder, "build", "--no-run", check=0)
    assert "packaged example" not in built.stderr
    assert "reflections.md: the reflections are not written yet" in built.stderr  # the prompts are not an answer
    text = pdf_text(folder / "reports" / "lab13.pdf")
    assert "王小红" in text and "2024765432" in text
    assert "实验体会尚未写好" in text and "<!--" not in text

    again = labreport(tmp_path, "init", "mine", "--name", "x", "--id", "1", "--class", "c", check=2)
    assert "already there; init never overwrites" in again.stderr
    assert read_toml(folder / "lab13.toml")["student"]["name"] == "王小红"


def test_doctor_right_after_init_knows_build_creates_the_output_folder(tmp_path):
    labreport(tmp_path, "init", "mine", "--name", "王小红", "--id", "2024765432", "--class", "计科 2402 班", check=0)
    folder = tmp_path / "mine"
    assert not (folder / "reports").exists()
    # init's declaration downloads CIFAR-10 when it is missing: --no-download keeps the test offline
    result = labreport(folder, "doctor", "--data", str(tmp_path / "nowhere"), "--no-download", check=2)
    data = next(line for line in result.stdout.splitlines() if "CIFAR-10 data" in line)
    assert data.startswith("fail") and "nowhere" in data, result.stdout
    line = next(line for line in result.stdout.splitlines() if "output folder" in line)
    assert line.startswith("ok") and "does not exist yet; build creates it" in line
    assert not (folder / "reports").exists()  # doctor creates nothing


def test_init_asks_on_a_terminal(tmp_path):
    terminal, student_side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "init", "mine"],
        cwd=tmp_path,
        stdin=student_side,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.write(terminal, "李四\n2024111111\n软件 2401 班\n".encode())  # typed answers wait in the terminal
    out, err = process.communicate(timeout=120)
    os.close(terminal), os.close(student_side)
    assert process.returncode == 0, err
    assert "Your name" in out and "Your student ID" in out and "Your class" in out
    student = read_toml(tmp_path / "mine" / "lab13.toml")["student"]
    assert student == {"name": "李四", "id": "2024111111", "class": "软件 2401 班"}


def test_init_off_a_terminal_needs_the_options(tmp_path):
    result = labreport(tmp_path, "init", "--id", "2024765432", check=2)
    assert "--name is needed when not run on a terminal" in result.stderr
    assert not (tmp_path / "lab13.toml").exists()


def test_init_prompts_quote_the_students_measurements(computed_lab, tmp_path):
    from lab.core.session import gather, open_session, plan_for_render
    from lab.report import reading, starter
    from lab.report.wording import num, pct

    def tiny_session(_declaration):
        return open_session(computed_lab / "lab13.toml", [], False, None, True, None)

    session = tiny_session(None)
    runs, missing = gather(session, plan_for_render(session))
    facts = reading.read(runs, session.decl.lab, missing).facts
    starter.start_folder(tmp_path, starter.Student("A", "1", "C"), "en", tiny_session)
    prompts = (tmp_path / "reflections.md").read_text(encoding="utf-8")
    assert (
        f"the true error was lowest at {facts['fit'].epoch_facts.best_epochs} "
        f"({num(facts['fit'].epoch_facts.best_true_error)})" in prompts
    )
    assert f"At learning rate {facts['fit'].lr_facts.largest:g}," in prompts
    drop = facts["cifar"].cifar.facts.drop
    assert f"from {pct(drop.test_before)} to {pct(drop.test_after)}" in prompts


def test_the_reflection_prompt_names_a_stuck_rate_in_words():
    from types import SimpleNamespace

    from lab.report import starter

    stuck = SimpleNamespace(status="stuck", diverged_seeds=0, seeds=3, train_loss=9.4)
    fit = SimpleNamespace(lr_facts=SimpleNamespace(largest=1.0, behaviour={1.0: stuck}), epoch_facts=None)
    analysis = {"fit": fit, "cifar": SimpleNamespace(cifar=None)}
    folders = [load_lab().folder]
    zh = starter.render("reflections.md.j2", "zh", folders, analysis=analysis)
    en = starter.render("reflections.md.j2", "en", folders, analysis=analysis)
    assert "（损失卡在平台上）" in zh and "stuck" not in zh
    assert "(it got stuck on a plateau)" in en


# --- keys, commands, words ---------------------------------------------------------------------------


def test_the_own_functions_range_key_is_named_and_documented(tiny_lab):
    result = labreport(tiny_lab, "run", "--only", "fit.custom", "--set", "fit.custom.function=log(x)", check=2)
    assert "(lab13.toml: fit.custom.x_range)" in result.stderr and "fit.x_range" not in result.stderr.replace(
        "fit.custom.x_range", ""
    )
    declaration = (ROOT / "lab" / "labs" / "lab13" / "lab13.toml").read_text(encoding="utf-8")
    custom = declaration.split("\n[fit.custom]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"^# x_range = \[", custom, re.M)
    assert "fit.custom.x_range" in (ROOT / "README.md").read_text(encoding="utf-8")


def reproduce_line(lab: Path) -> str:
    html = (lab / "reports" / "lab13.html").read_text(encoding="utf-8")
    return re.search(r"<th>(?:复现命令|Reproduce with)[^<]*</th><td><code>(.*?)</code>", html, re.S)[1]


def test_reproduce_command_recomputes_from_the_lab_folder_in_both_languages(ready_lab):
    out = ready_lab / "elsewhere" / "report.pdf"
    out.parent.mkdir()
    commands = {}
    for lang in ("zh", "en"):
        labreport(ready_lab, "build", "--no-run", "--lang", lang, "--set", "fit.lr.epochs=7", check=0)
        commands[lang] = reproduce_line(ready_lab)
        labreport(ready_lab, "build", "--no-run", "--lang", lang, "--out", str(out), check=0)
    expected = "labreport run --force --set fit.lr.epochs=7 &amp;&amp; labreport build --set fit.lr.epochs=7"
    assert commands == {"zh": expected, "en": expected}
    text = squeeze(pdf_text(out))
    assert squeeze("labreport run --force && labreport build") in text
    assert "--no-run" not in text and str(ready_lab) not in text


def test_status_words_in_chinese_text_are_chinese(ready_lab):
    labreport(ready_lab, "build", "--no-run", "--lang", "zh", "--set", "fit.lr.epochs=7", check=0)
    text = pdf_text(ready_lab / "reports" / "lab13.pdf")
    assert "设置已改，需重算" in text
    assert not re.search(r"（(stale|missing|partial|damaged|failed)）", text)
