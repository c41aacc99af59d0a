"""Tiny synthetic CIFAR-10 data sets in every layout lab.exercises.cifar.data reads
(for the tests and benchmarks; nothing in a run uses them).

    from lab.exercises.cifar.data.synthetic import make_tiny_cifar, tiny_cifar_arrays
    path = make_tiny_cifar(tmp_path, "folder-png", n_per_class=2)
    data = lab.exercises.cifar.data.load(path, tmp_path / "cache", download=False)

Images are smooth colour gradients (so JPEG keeps them close), ordered class
by class, which is both the pickle order and the sorted folder order.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
LAYOUTS = ("pickle", "folder-png", "folder-jpg", "pickle-tar.gz", "folder-tar.gz")


def tiny_cifar_arrays(
    n_per_class: int, size: int = 32, test_per_class: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_images, train_labels, test_images, test_labels): uint8 [N, 3, size, size], int64 [N]."""
    rng = np.random.default_rng(seed)
    splits = []
    for per_class in (n_per_class, n_per_class if test_per_class is None else test_per_class):
        labels = np.repeat(np.arange(len(CLASSES)), per_class)
        base = rng.uniform(40, 215, (len(labels), 3, 1, 1))
        slope = rng.uniform(-1.2, 1.2, (len(labels), 3, 2, 1, 1))
        rows, columns = np.mgrid[0:size, 0:size]
        images = base + slope[:, :, 0] * rows + slope[:, :, 1] * columns
        splits += [np.clip(images, 0, 255).round().astype(np.uint8), labels.astype(np.int64)]
    return tuple(splits)


def make_tiny_cifar(root, layout: str, n_per_class: int = 2, size: int = 32, *,
                    test_per_class: int | None = None, top_folder: str = "", image_ext: str = "png") -> Path:
    """Write a tiny CIFAR-10 under `root` in `layout` (one of LAYOUTS) and
    return the path to pass as data: the folder for 'pickle' (its parent,
    holding cifar-10-batches-py/) and 'folder-*', the archive for '*tar.gz'.
    `top_folder` puts a folder archive's train/ and test/ under that name;
    `image_ext` picks the image format inside 'folder-tar.gz'."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    arrays = tiny_cifar_arrays(n_per_class, size, test_per_class)
    if layout == "pickle":
        _write_files(root, pickle_files(*arrays))
        return root
    if layout in ("folder-png", "folder-jpg"):
        _write_files(root, image_files(*arrays, ext=layout.split("-")[1]))
        return root
    if layout == "pickle-tar.gz":
        return write_tar(root / "cifar-10-python.tar.gz", pickle_files(*arrays))
    if layout == "folder-tar.gz":
        files = image_files(*arrays, ext=image_ext)
        if top_folder:
            files = {f"{top_folder}/{name}": blob for name, blob in files.items()}
        return write_tar(root / "cifar10-images.tar.gz", files)
    raise ValueError(f"unknown layout {layout!r}; one of {LAYOUTS}")


def pickle_files(train_images, train_labels, test_images, test_labels) -> dict[str, bytes]:
    """{relative path: bytes} of an official-style cifar-10-batches-py/ (protocol 2, str keys)."""
    files = {}
    chunks = zip(np.array_split(train_images, 5), np.array_split(train_labels, 5))
    for number, (images, labels) in enumerate(chunks, start=1):
        files[f"data_batch_{number}"] = _batch(f"training batch {number} of 5", images, labels)
    files["test_batch"] = _batch("testing batch 1 of 1", test_images, test_labels)
    meta = {"num_cases_per_batch": len(train_labels) // 5, "label_names": list(CLASSES), "num_vis": 3072}
    files["batches.meta"] = pickle.dumps(meta, protocol=2)
    return {f"cifar-10-batches-py/{name}": blob for name, blob in files.items()}


def _batch(label: str, images: np.ndarray, labels: np.ndarray) -> bytes:
    batch = {
        "batch_label": label,
        "labels": [int(x) for x in labels],
        "data": images.reshape(len(images), -1),
        "filenames": [f"image_{i}.png" for i in range(len(images))],
    }
    return pickle.dumps(batch, protocol=2)


def image_files(train_images, train_labels, test_images, test_labels, ext: str = "png") -> dict[str, bytes]:
    files = {}
    for split, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        for index, (image, label) in enumerate(zip(images, labels)):
            files[f"{split}/{CLASSES[label]}/{index:04d}.{ext}"] = encode_image(image, ext)
    return files


def encode_image(image_chw: np.ndarray, ext: str = "png") -> bytes:
    buffer = io.BytesIO()
    picture = Image.fromarray(np.ascontiguousarray(image_chw.transpose(1, 2, 0)))
    if ext == "png":
        picture.save(buffer, format="PNG")
    else:
        picture.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def write_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w" if path.name.endswith(".tar") else "w:gz") as archive:
        for name, blob in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            archive.addfile(info, io.BytesIO(blob))
    return path


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, blob in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
