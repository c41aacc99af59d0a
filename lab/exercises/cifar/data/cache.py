"""The tensor cache: CIFAR-10 decoded once, kept as one file named by the source's fingerprint."""
from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from lab.core.atomic import write_atomic
from lab.exercises.cifar.data.decode import _decode_source
from lab.exercises.cifar.data.sources import CACHE_FORMAT, CLASSES, SIZE, SPLITS, find_source, fingerprint


@dataclass
class CifarData:
    train_images: torch.Tensor  # [N, 3, 32, 32] uint8
    train_labels: torch.Tensor  # [N] int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    fingerprint: str
    source: str


# ------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labreport"


def cache_path(cache_dir: str | Path | None, fingerprint: str) -> Path:
    """Where the decoded tensors of `fingerprint` live; `cache_dir` None means default_cache_dir()."""
    folder = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return folder.expanduser().resolve() / f"cifar-{fingerprint}.pt"


def _read_cache(path: Path, fingerprint: str, mmap: bool = False) -> dict | None:
    """The cached tensors, or None when absent or unusable (then we decode again)."""
    if not path.is_file():
        return None
    try:
        cached = torch.load(path, weights_only=True, mmap=mmap)
    except Exception:  # a damaged cache is rebuilt, never trusted
        return None
    ok = (
        isinstance(cached, dict)
        and cached.get("format") == CACHE_FORMAT
        and cached.get("fingerprint") == fingerprint
        and tuple(cached.get("classes", ())) == CLASSES
        and all(isinstance(cached.get(k), torch.Tensor) for k in _TENSOR_KEYS)
    )
    if not ok:
        return None
    for split in SPLITS:
        images, labels = cached[f"{split}_images"], cached[f"{split}_labels"]
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != (3, SIZE, SIZE) or len(images) != len(labels):
            return None
    return cached


_TENSOR_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


def _write_cache(path: Path, tensors: dict) -> None:
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    write_atomic(path, buffer.getvalue())


# -------------------------------------------------------------------- load


def load(data: str | Path, cache_dir: str | Path | None, download: bool = True, progress=None) -> CifarData:
    """Locate, validate and decode CIFAR-10, or read it from the cache."""
    source = find_source(data, download, progress)
    return _load_source(source, fingerprint(source), cache_dir, progress)


def _load_source(source: Path, fp: str, cache_dir: str | Path | None, progress) -> CifarData:
    path = cache_path(cache_dir, fp)
    cached = _read_cache(path, fp)
    if cached is None:
        started = time.perf_counter()
        train_images, train_labels, test_images, test_labels = _decode_source(source, progress)
        cached = {
            "format": CACHE_FORMAT, "fingerprint": fp, "classes": list(CLASSES),
            "train_images": train_images, "train_labels": train_labels,
            "test_images": test_images, "test_labels": test_labels,
        }
        _write_cache(path, cached)
        if progress is not None:
            progress.log(f"decoded CIFAR-10 from {source} in {time.perf_counter() - started:.1f} s, cached in {path}")
    return CifarData(
        train_images=cached["train_images"], train_labels=cached["train_labels"],
        test_images=cached["test_images"], test_labels=cached["test_labels"],
        classes=CLASSES, fingerprint=fp, source=str(source),
    )


def preflight(data: str | Path, cache_dir: str | Path | None, download: bool = True, progress=None) -> str:
    """Everything `load` checks; returns the fingerprint. On a cache hit this
    hashes the source and memory-maps the cache (well under a second); on a
    miss it decodes and writes the cache, so the following `load` is a hit."""
    source = find_source(data, download, progress)
    fp = fingerprint(source)
    if _read_cache(cache_path(cache_dir, fp), fp, mmap=True) is None:
        _load_source(source, fp, cache_dir, progress)
    return fp
