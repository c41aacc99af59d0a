"""The real, long checks: `pytest -m slow` (and `-m realdata` with LABREPORT_REAL_CIFAR set).

They run the packaged default declaration, as a student's first build would.
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pandas as pd
import pytest

from lab.core.store import LoadedRun
from lab.exercises.fit import facts as fit_facts
from tests.conftest import labreport, start_labreport, wait_until_held

FIT = ["fit.epochs", "fit.lr", "fit.custom"]


def records(lab: Path, name: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in (lab / "reports" / "runs" / name).glob("*/record.json")]


def loaded(lab: Path, name: str) -> LoadedRun:
    [path] = (lab / "reports" / "runs" / name).glob("*/record.json")
    record = json.loads(path.read_text())
    return LoadedRun(name, path.parent.name, record["params"], path.parent, record)


@pytest.mark.slow
def test_a_full_exercise_1_killed_at_its_first_checkpoint_resumes_and_finishes(tmp_path):
    process = start_labreport(tmp_path, "run", "--only", "fit", hold="fit.epochs:checkpoint:1")
    held_pid, _ = wait_until_held(process)
    os.kill(held_pid, signal.SIGKILL)
    process.kill()
    process.wait()
    assert [r["status"] for r in records(tmp_path, "fit.epochs")] == ["partial"]

    resumed = labreport(tmp_path, "run", "--only", "fit", timeout=3600, check=0)
    said = re.search(r"fit\.epochs: resumed at epoch (\d+) of 50000", resumed.stdout)
    assert said, resumed.stdout
    [epochs] = records(tmp_path, "fit.epochs")
    assert epochs["summary"]["timings"]["resumed_at_epoch"] == int(said.group(1)) > 0
    found = fit_facts.analyse({name: loaded(tmp_path, name) for name in ("fit.epochs", "fit.lr")})
    assert found.epoch_facts.epochs == [100, 1000, 10000, 50000]
    assert found.epoch_facts.diverged_settings == [] and found.epoch_facts.seeds == 5  # lr 0.01 never diverges
    by_lr = found.lr_facts.behaviour
    assert by_lr[1.0].status in ("oscillating", "diverged")  # the handout's lr = 1
    assert by_lr[0.01].diverged_seeds == 0
    [custom] = records(tmp_path, "fit.custom")
    space = custom["params"]["search"]
    assert custom["status"] == "done" and custom["summary"]["chosen"]["lr"] in space["lrs"]


@pytest.mark.slow
@pytest.mark.realdata
def test_a_full_build_on_the_real_cifar(tmp_path):
    data = os.environ.get("LABREPORT_REAL_CIFAR")
    if not data:
        pytest.skip("set LABREPORT_REAL_CIFAR to a CIFAR-10 archive or folder")
    from pypdf import PdfReader

    from lab.report.answers import pct

    labreport(
        tmp_path,
        "build",
        "--data",
        data,
        "--no-download",
        "--lang",
        "en",
        "--out",
        "reports/lab13.pdf",
        timeout=4 * 3600,
        check=0,
    )
    for name in FIT:
        assert [r["status"] for r in records(tmp_path, name)] in (["done"], ["diverged"])
    [cifar] = records(tmp_path, "cifar")
    summary = cifar["summary"]
    assert cifar["status"] == "done" and summary["epochs"] == 10
    assert (summary["train_images"], summary["test_images"]) == (50000, 10000)
    final_test = pd.read_csv(next((tmp_path / "reports" / "runs" / "cifar").glob("*/epochs.csv")))["test_acc"].iloc[-1]
    assert final_test > 70  # ResNet-20, 10 epochs: far above chance (10%)
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(tmp_path / "reports" / "lab13.pdf").pages).split()
    )
    assert pct(final_test) in text
    assert "QUICK BUILD" not in text and "not available" not in text
