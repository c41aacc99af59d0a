"""What several test files need: a tiny lab in a folder, a fingerprint of a folder's files, a PDF's text."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pypdf import PdfReader

from tests.conftest import TINY_LAB


def tiny_lab_in(folder: Path) -> Path:
    """`folder` as a lab folder: the tiny lab13.toml and a tiny CIFAR-10 in ./data."""
    from lab.exercises.cifar.data.synthetic import make_tiny_cifar

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lab13.toml").write_text(TINY_LAB, encoding="utf-8")
    make_tiny_cifar(folder / "data", "pickle", n_per_class=6)
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a hash of its bytes (to prove nothing changed)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith((".lock", ".access"))  # the store's locks
    }


def pdf_pages(path: Path) -> list[str]:
    """Each page's text, its white space folded to single spaces."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages]


def squeeze(text: str) -> str:
    """The text without white space: pypdf breaks lines and sometimes words."""
    return re.sub(r"\s+", "", text)
