"""The Colab/Kaggle notebook runs, as a student runs it, on the CPU with --quick and a tiny data set."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "colab.ipynb"


def test_the_notebook_starts_a_lab_folder_builds_and_hands_over_the_pdf(tmp_path, monkeypatch):
    from lab.exercises.cifar.data.synthetic import make_tiny_cifar

    data = make_tiny_cifar(tmp_path / "cifar", "pickle", n_per_class=6)
    monkeypatch.setenv("LABREPORT_NOTEBOOK_DEVICE", "cpu")  # the notebook's default is cuda
    monkeypatch.setenv("LABREPORT_NOTEBOOK_ARGS", "--quick --no-download --lang en")
    monkeypatch.setenv("LABREPORT_DATA", str(data))
    monkeypatch.setenv("COLUMNS", "200")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    pdf = tmp_path / "lab13" / "reports" / "lab13-quick.pdf"
    assert pdf.stat().st_size > 10_000
    assert (tmp_path / "lab13" / "lab13.toml").read_text(encoding="utf-8").count("张三") == 1
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert f"report: {pdf}" in printed and "labreport installed; torch" in printed


def test_the_notebook_builds_on_the_gpu_by_default():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    source = "\n".join(cell.source for cell in notebook.cells)
    assert '"LABREPORT_NOTEBOOK_DEVICE", "cuda"' in source and "--device {DEVICE}" in source
    assert "files.download(" in source


@pytest.fixture(autouse=True)
def no_repository(monkeypatch):
    """The tool is installed here already: the notebook must not try to install it (no network)."""
    monkeypatch.delenv("LABREPORT_REPOSITORY", raising=False)
