"""What `labreport build` and `run` end with: exit 1 for a failed run among
good ones, `build --no-run` and `build --quick`, each through the real command."""

from __future__ import annotations

import json
from pathlib import Path

from lab.core.faults import FAIL_ENV
from tests.conftest import labreport
from tests.helpers import pdf_pages, snapshot

NAMES = ["fit.epochs", "fit.lr", "fit.custom", "cifar"]


def statuses(lab: Path) -> dict[str, list[str]]:
    runs = lab / "reports" / "runs"
    return {name: [json.loads(p.read_text())["status"] for p in (runs / name).glob("*/record.json")] for name in NAMES}


def test_a_failed_run_exits_1_the_others_are_kept_and_the_report_says_so(tiny_lab):
    built = labreport(tiny_lab, "build", "--out", "reports/lab13.pdf", env={FAIL_ENV: "fit.lr"}, check=1)
    assert "fit.lr: failed after" in built.stdout
    assert "RuntimeError: fault injected into fit.lr" in built.stdout
    assert "missing: fit.lr (failed)" in built.stderr
    assert statuses(tiny_lab) == {
        "fit.epochs": ["done"],
        "fit.lr": ["failed"],
        "fit.custom": ["done"],
        "cifar": ["done"],
    }
    text = " ".join(pdf_pages(tiny_lab / "reports" / "lab13.pdf"))
    assert "not available (failed)" in text and "labreport run --only fit.lr" in text

    runs = tiny_lab / "reports" / "runs"
    kept = {name: snapshot(runs / name) for name in ("fit.epochs", "fit.custom", "cifar")}
    again = labreport(tiny_lab, "run", check=0)
    assert statuses(tiny_lab)["fit.lr"] == ["diverged"]  # the tiny lab's lr 1e6 diverges
    assert {name: snapshot(runs / name) for name in kept} == kept
    assert again.stdout.count("cached (already done)") == 3


def test_build_no_run_trains_nothing_and_renders_what_exists(tiny_lab):
    empty = labreport(tiny_lab, "build", "--no-run", "--out", "reports/empty.pdf", check=0)
    for name in NAMES:
        assert f"missing: {name} (" in empty.stderr
    assert not list((tiny_lab / "reports").rglob("record.json"))
    assert (tiny_lab / "reports" / "empty.pdf").exists()

    labreport(tiny_lab, "run", "--only", "fit.lr", check=0)
    before = snapshot(tiny_lab / "reports" / "runs" / "fit.lr")
    partial = labreport(tiny_lab, "build", "--no-run", "--out", "reports/partial.pdf", check=0)
    assert "missing: fit.lr" not in partial.stderr and "missing: cifar (" in partial.stderr
    assert snapshot(tiny_lab / "reports" / "runs" / "fit.lr") == before
    assert not (tiny_lab / "reports" / "runs" / "cifar").exists()
    text = " ".join(pdf_pages(tiny_lab / "reports" / "partial.pdf"))
    assert "lr = 1e+06: steps too large, divergence." in text


def test_build_quick_scales_every_run_down_and_marks_every_page(tiny_lab):
    labreport(tiny_lab, "build", "--quick", "--out", "reports/quick.pdf", check=0)
    runs = tiny_lab / "reports" / "runs"
    records = {name: [json.loads(p.read_text()) for p in (runs / name).glob("*/record.json")] for name in NAMES}
    assert all(len(found) == 1 and found[0]["quick"] for found in records.values())
    # the tiny lab's epochs [5, 20, 60] and lr epochs 20, a tenth and a fifth, at least 10
    assert records["fit.epochs"][0]["params"]["epochs"] == [10]
    assert records["fit.lr"][0]["params"]["epochs"] == [10]
    assert all(len(found[0]["params"]["seeds"]) <= 2 for name, found in records.items() if name != "cifar")
    assert [p["epochs"] for p in records["cifar"][0]["params"]["phases"]] == [1, 1]
    pages = pdf_pages(tiny_lab / "reports" / "quick.pdf")
    assert pages and all("QUICK BUILD" in page for page in pages)
