"""labreport verify: a report carries its evidence (declaration, runs' records and result files,
a manifest of checksums) and is checked against it in any folder, without the student's store."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from tests.conftest import labreport
from tests.helpers import tiny_lab_in

MANIFEST = "labreport-evidence.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A tiny lab folder, every run computed and the report built (reports/lab13.pdf)."""
    folder = tiny_lab_in(tmp_path_factory.mktemp("verify") / "lab")
    labreport(folder, "build", "--out", "reports/lab13.pdf", check=0)
    return folder


def attachments(pdf: Path) -> dict[str, bytes]:
    return {name: contents[0] for name, contents in PdfReader(pdf).attachments.items()}


def verify(cwd: Path, pdf: Path, *options: str, check: int | None = None):
    return labreport(cwd, "verify", str(pdf), *options, check=check)


def verify_json(cwd: Path, pdf: Path, check: int) -> dict:
    return json.loads(verify(cwd, pdf, "--json", check=check).stdout)


def checks(result: dict) -> dict[str, dict]:
    return {check["check"]: check for check in result["checks"]}


def rewritten(pdf: Path, out: Path, change: dict[str, bytes]) -> Path:
    """The PDF with some attachments' bytes replaced, as any PDF tool could."""
    writer = PdfWriter(clone_from=PdfReader(pdf))
    for embedded in writer.attachment_list:
        if embedded.name in change:
            embedded.content = change[embedded.name]
    writer.write(out)
    return out


def test_a_built_report_carries_its_evidence_and_verifies(built, tmp_path):
    pdf = built / "reports" / "lab13.pdf"
    files = attachments(pdf)
    manifest = json.loads(files[MANIFEST])
    runs = {name: key for name, key in manifest["runs"].items() if key}
    assert set(runs) == {"fit.epochs", "fit.lr", "fit.custom", "cifar"}
    for name, key in runs.items():  # each run's record and every result file its record lists
        record = json.loads(files[f"{name}--record.json"])
        assert record["key"] == key
        assert {f"{name}--{file}" for file in record["files"]} <= set(files)
    assert not any(name.endswith(".pt") for name in files)  # checkpoints never
    assert set(files) - {MANIFEST} == set(manifest["attachments"])
    values = json.loads(files["declaration.json"])
    assert values["student"]["name"] == "Test Student" and values["fit"]["samples"] == 40

    result = verify_json(tmp_path, pdf, check=0)  # another folder: no lab13.toml, no store
    assert result["ok"] is True
    assert checks(result)["intact"]["ok"] is True
    assert checks(result)["consistent"]["ok"] is True
    text = verify(tmp_path, pdf, check=0).stdout
    assert "intact" in text and "consistent" in text and "agrees" in text


def test_a_report_built_without_evidence_says_it_carries_none(built, tmp_path):
    labreport(
        built, "build", "--no-run", "--set", "report.attach_evidence=false", "--out", "reports/plain.pdf", check=0
    )
    pdf = built / "reports" / "plain.pdf"
    assert attachments(pdf) == {}
    result = verify(tmp_path, pdf, check=0)
    assert "carries no evidence" in result.stdout
    size_with, size_without = (built / "reports" / "lab13.pdf").stat().st_size, pdf.stat().st_size
    print(f"tiny lab: {size_with} bytes with the evidence, {size_without} without")
    assert size_with > size_without


def test_an_edited_table_number_is_caught_with_its_page(built, tmp_path):
    """The student edits the HTML and prints it again, keeping the evidence: the number's page is named."""
    from lab.report.render import write_pdf

    html = (built / "reports" / "lab13.html").read_text(encoding="utf-8")
    table = html.index('id="tab-epochs"')
    cell = re.compile(r'<td class="num">(\d+\.\d) ±').search(html, table)
    forged_number = f"{float(cell.group(1)) + 11.1:.1f}"
    forged = html[: cell.start(1)] + forged_number + html[cell.end(1) :]
    files = attachments(built / "reports" / "lab13.pdf")
    out = tmp_path / "forged.pdf"
    write_pdf(forged, out, None, [(name, data, "") for name, data in files.items()])
    page = next(n for n, page in enumerate(PdfReader(out).pages, start=1) if forged_number in page.extract_text())

    result = verify_json(tmp_path, out, check=1)
    assert checks(result)["intact"]["ok"] is True
    assert checks(result)["consistent"]["ok"] is False
    difference = result["differences"][0]
    assert difference["page"] == page
    assert forged_number in difference["pdf"] and cell.group(1) in difference["evidence"]
    shown = verify(tmp_path, out, check=1).stdout
    assert f"page {page}" in shown and forged_number in shown


def test_a_changed_attached_csv_is_caught(built, tmp_path):
    pdf = built / "reports" / "lab13.pdf"
    files = attachments(pdf)
    name = "fit.epochs--loss.csv"
    lines = files[name].decode().splitlines()
    changed = "\n".join([*lines[:-1], re.sub(r"\d(?=\D*$)", "7" if lines[-1][-1] != "7" else "8", lines[-1])]) + "\n"
    result = verify_json(tmp_path, rewritten(pdf, tmp_path / "csv.pdf", {name: changed.encode()}), check=1)
    assert checks(result)["intact"]["ok"] is False
    assert f"{name} changed" in checks(result)["intact"]["detail"]

    # The manifest's checksum changed too: the run's own record still names the file's
    manifest = json.loads(files[MANIFEST])
    manifest["attachments"][name]["sha256"] = __import__("hashlib").sha256(changed.encode()).hexdigest()
    both = {name: changed.encode(), MANIFEST: json.dumps(manifest).encode()}
    result = verify_json(tmp_path, rewritten(pdf, tmp_path / "both.pdf", both), check=1)
    assert checks(result)["intact"]["ok"] is True
    assert checks(result)["consistent"]["ok"] is False
    assert result["differences"] and all(d["page"] >= 1 for d in result["differences"])


def test_a_report_from_another_folder_is_checked_against_its_own_declaration(built, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(built, other, ignore=shutil.ignore_patterns("*.pdf", "*.html"))
    toml = other / "lab13.toml"
    toml.write_text(toml.read_text().replace("values = [1000000, 0.1, 0.01]", "values = [0.5, 0.05]"))
    labreport(other, "build", "--out", "reports/lab13.pdf", check=0)
    pdf = other / "reports" / "lab13.pdf"
    declared = json.loads(attachments(pdf)["declaration.json"])
    assert declared["fit"]["lr"]["values"] == [0.5, 0.05]

    result = verify_json(built, pdf, check=0)  # run in the first folder, whose lab13.toml differs
    assert result["ok"] is True
    own = json.loads(attachments(pdf)[MANIFEST])["declaration"]["sha256"]
    assert any(own[:12] in note for note in result["notes"])
    first = json.loads(attachments(built / "reports" / "lab13.pdf")[MANIFEST])["declaration"]["sha256"]
    assert own != first


def test_a_draft_and_a_stale_run_are_named(built, tmp_path):
    labreport(built, "build", "--no-run", "--set", "fit.lr.epochs=21", "--out", "reports/stale.pdf", check=0)
    result = verify(tmp_path, built / "reports" / "stale.pdf", check=0).stdout
    assert "run fit.lr was stale" in result
    labreport(built, "build", "--no-run", "--quick", "--out", "reports/quick.pdf", check=0)
    result = verify(tmp_path, built / "reports" / "quick.pdf", check=0).stdout
    assert "built with --quick" in result


def test_rerun_executes_exercise_1_again_and_agrees(built, tmp_path):
    out = labreport(tmp_path, "verify", str(built / "reports" / "lab13.pdf"), "--rerun", "fit", "--json", check=0)
    result = json.loads(out.stdout)
    reruns = {name: check for name, check in checks(result).items() if name.startswith("rerun")}
    assert set(reruns) == {"rerun fit.epochs", "rerun fit.lr", "rerun fit.custom"}
    assert all(check["ok"] is True and "exactly" in check["detail"] for check in reruns.values())


def test_rerun_compares_numbers_exactly_or_within_the_stated_tolerance():
    from lab.core.api import Exercise
    from lab.report.rerun import compare_csv

    tolerance = Exercise.rerun_tolerance
    attached = b"epoch,loss,seconds\n1,0.5,0.01\n2,0.25,0.02\n"
    slower = b"epoch,loss,seconds\n1,0.5,0.09\n2,0.25,0.07\n"
    assert compare_csv("loss.csv", attached, slower, None) == ""  # timings aside
    nearby = f"epoch,loss,seconds\n1,0.5,0.01\n2,{0.25 * (1 + tolerance / 10)!r},0.02\n".encode()
    assert "row 2, loss" in compare_csv("loss.csv", attached, nearby, None)
    assert compare_csv("loss.csv", attached, nearby, tolerance) == ""
    far = b"epoch,loss,seconds\n1,0.5,0.01\n2,0.26,0.02\n"
    assert "row 2, loss: 0.25 attached, 0.26 here" in compare_csv("loss.csv", attached, far, tolerance)


def test_a_shortened_run_is_compared_with_the_first_rows():
    from lab.report.rerun import compare_csv

    attached = b"epoch,loss\n1,0.5\n2,0.25\n"
    assert compare_csv("epochs.csv", attached, b"epoch,loss\n1,0.5\n", None, first_rows=True) == ""
    assert "1 rows here, 2 attached" in compare_csv("epochs.csv", attached, b"epoch,loss\n1,0.5\n", None)
    assert "row 1, loss: 0.5 attached, 0.4 here" in compare_csv(
        "epochs.csv", attached, b"epoch,loss\n1,0.4\n", None, first_rows=True
    )


def test_the_page_is_rendered_with_the_build_machine_the_manifest_names(built, tmp_path):
    """Not the grader's: a manifest naming another CPU renders another Environment table."""
    pdf = built / "reports" / "lab13.pdf"
    manifest = json.loads(attachments(pdf)[MANIFEST])
    manifest["environment"]["cpu"] = "Imaginary CPU 9000"
    result = verify_json(tmp_path, rewritten(pdf, tmp_path / "cpu.pdf", {MANIFEST: json.dumps(manifest).encode()}), 1)
    assert checks(result)["intact"]["ok"] is True
    assert any("Imaginary" in difference["evidence"] for difference in result["differences"])


def forged_result(pdf: Path, out: Path, run: str, file: str, change) -> Path:
    """`run`'s result `file` as `change` rewrites its text, its checksums in the run's record and in
    the manifest changed to match: intact, but not what the code gives."""
    import hashlib

    files = attachments(pdf)
    name, record_name = f"{run}--{file}", f"{run}--record.json"
    forged = change(files[name].decode()).encode()
    assert forged != files[name]
    record = json.loads(files[record_name])
    record["files"][file] = hashlib.sha256(forged).hexdigest()
    record_bytes = json.dumps(record, indent=2).encode()
    manifest = json.loads(files[MANIFEST])
    for changed, data in ((name, forged), (record_name, record_bytes)):
        manifest["attachments"][changed]["sha256"] = hashlib.sha256(data).hexdigest()
    return rewritten(pdf, out, {name: forged, record_name: record_bytes, MANIFEST: json.dumps(manifest).encode()})


def cell_changed(column: str, row: int, value: str):
    """A CSV's text with one cell (`row` from 1, below the header) replaced by `value`."""

    def change(text: str) -> str:
        lines = [line.split(",") for line in text.splitlines()]
        lines[row][lines[0].index(column)] = value
        return "\n".join(",".join(cells) for cells in lines) + "\n"

    return change


def test_rerun_catches_a_result_forged_with_its_checksums(built, tmp_path):
    change = cell_changed("train_loss", 1, "1.5")
    out = forged_result(built / "reports" / "lab13.pdf", tmp_path / "forged.pdf", "fit.lr", "loss.csv", change)
    result = json.loads(labreport(tmp_path, "verify", str(out), "--rerun", "fit.lr", "--json", check=1).stdout)
    assert checks(result)["intact"]["ok"] is True
    assert checks(result)["rerun fit.lr"]["ok"] is False
    assert "loss.csv: row 1, train_loss: 1.5 attached" in checks(result)["rerun fit.lr"]["detail"]


def test_rerun_cifar_trains_its_first_epochs_again_and_agrees(built, tmp_path):
    """From the attached declaration, on the data set given: the first epoch's row of epochs.csv,
    exactly (same CPU kind), on the thread count the run's record names."""
    pdf = built / "reports" / "lab13.pdf"
    out = labreport(tmp_path, "verify", str(pdf), "--rerun", "cifar", "--data", str(built / "data"), "--json", check=0)
    rerun = checks(json.loads(out.stdout))["rerun cifar"]
    threads = json.loads(attachments(pdf)["cifar--record.json"])["threads"]
    assert rerun["ok"] is True
    assert f"trained again for its first 1 epoch on {threads} thread" in rerun["detail"]
    assert "epochs.csv agrees exactly (same CPU kind)" in rerun["detail"]

    # LABREPORT_DATA, as for build; more epochs than the run has: trained in full, every file compared
    env = {"LABREPORT_DATA": str(built / "data")}
    out = labreport(tmp_path, "verify", str(pdf), "--rerun", "cifar", "--epochs", "5", "--json", env=env, check=0)
    detail = checks(json.loads(out.stdout))["rerun cifar"]["detail"]
    assert "trained again in full" in detail and "confusion.csv, epochs.csv, misclassified.npz agree" in detail


def test_rerun_cifar_needs_the_data_set_and_says_how_to_give_it(built, tmp_path):
    refused = labreport(tmp_path, "verify", str(built / "reports" / "lab13.pdf"), "--rerun", "cifar", check=2)
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1 and "--rerun cifar" in message
    assert "--data PATH" in message and "LABREPORT_DATA" in message


def test_rerun_cifar_catches_a_changed_epoch(built, tmp_path):
    """The first epoch's test accuracy forged, checksums and all: only training it again catches it."""
    change = cell_changed("test_acc", 1, "99.5")
    out = forged_result(built / "reports" / "lab13.pdf", tmp_path / "forged.pdf", "cifar", "epochs.csv", change)
    verdict = labreport(
        tmp_path, "verify", str(out), "--rerun", "cifar", "--data", str(built / "data"), "--json", check=1
    )
    result = json.loads(verdict.stdout)
    assert checks(result)["intact"]["ok"] is True
    assert checks(result)["rerun cifar"]["ok"] is False
    assert "epochs.csv: row 1, test_acc: 99.5 attached" in checks(result)["rerun cifar"]["detail"]


def test_a_missing_or_unreadable_pdf_is_one_line_and_exit_2(tmp_path):
    missing = labreport(tmp_path, "verify", "nothere.pdf", check=2)
    assert missing.stderr.strip() == "error: nothere.pdf: no such file; give the path of the report's PDF"
    (tmp_path / "bad.pdf").write_text("not a pdf")
    bad = labreport(tmp_path, "verify", "bad.pdf", check=2)
    assert len(bad.stderr.strip().splitlines()) == 1 and "bad.pdf: not a readable PDF" in bad.stderr
