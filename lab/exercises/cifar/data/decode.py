"""Decoding CIFAR-10's files (pickled batches or image folders) into uint8 tensors, checking every split."""
from __future__ import annotations

import io
import pickle
import posixpath
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from lab.core.errors import UserError
from lab.exercises.cifar.data.sources import (
    ARCHIVE_NAME,
    CLASSES,
    EXPECTED_LAYOUT,
    META,
    PICKLE_FILES,
    SIZE,
    SPLITS,
    TEST_BATCH,
    TRAIN_BATCHES,
    _is_image_name,
    _read_files,
    _short,
)


def _decode_source(source: Path, progress=None) -> tuple[torch.Tensor, ...]:
    """(train_images, train_labels, test_images, test_labels), validated."""
    files, seen = _read_files(source)
    pickle_roots = {posixpath.dirname(n) for n in files if posixpath.basename(n) in PICKLE_FILES}
    image_roots = {_image_root(n) for n in files if _image_root(n) is not None}
    if len(pickle_roots) > 1 or (not pickle_roots and len(image_roots) > 1):
        roots = ", ".join(sorted(r or "." for r in pickle_roots or image_roots))
        raise UserError(f"{source} holds several CIFAR-10 copies ({roots}); keep one or point --data at one")
    if pickle_roots:
        return _decode_pickles(source, files, pickle_roots.pop())
    if image_roots:
        return _decode_image_folders(source, files, image_roots.pop() or "", progress)
    found = ", ".join(seen[:8]) + (", ..." if len(seen) > 8 else "") if seen else "nothing"
    raise UserError(f"{source} has no CIFAR-10 layout: {EXPECTED_LAYOUT}; found {found}")


def _image_root(name: str) -> str | None:
    """The folder above train/ or test/ for an image at <root>/<split>/<class>/<file>."""
    parts = name.split("/")
    if len(parts) >= 3 and parts[-3] in SPLITS and _is_image_name(parts[-1]):
        return "/".join(parts[:-3])
    return None


# ------------------------------------------------------------ pickle layout


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: an arbitrary pickle
    file could otherwise run any code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        # Files pickled by numpy 1 name numpy.core, which numpy 2 renamed.
        return super().find_class(module.replace("numpy.core.", "numpy._core."), name)


def _unpickle(where: str, blob: bytes) -> dict:
    try:
        # latin1 is how Python 3 reads the Python 2 pickles of the official release.
        loaded = _ArrayUnpickler(io.BytesIO(blob), encoding="latin1").load()
    except Exception as error:  # a damaged pickle can fail in many ways
        raise UserError(
            f"cannot read {where}: truncated or corrupt pickle ({_short(error)}); "
            f"extract {ARCHIVE_NAME} again or download it again"
        ) from error
    if not isinstance(loaded, dict):
        raise UserError(f"{where} holds a {type(loaded).__name__}, expected a CIFAR-10 batch dict")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in loaded.items()}


def _decode_pickles(source: Path, files: dict[str, bytes], root: str) -> tuple[torch.Tensor, ...]:
    def path(name):
        return posixpath.join(root, name) if root else name

    missing = [path(name) for name in PICKLE_FILES if path(name) not in files]
    if missing:
        raise UserError(f"{source}: the python-pickle layout lacks {', '.join(missing)}; {EXPECTED_LAYOUT}")
    _check_meta(_where(source, path(META)), _unpickle(_where(source, path(META)), files[path(META)]))
    train = [_pickle_batch(_where(source, path(n)), files[path(n)]) for n in TRAIN_BATCHES]
    test = _pickle_batch(_where(source, path(TEST_BATCH)), files[path(TEST_BATCH)])
    train_images = torch.cat([images for images, _ in train])
    train_labels = torch.cat([labels for _, labels in train])
    _check_split(source, "train", train_labels)
    _check_split(source, "test", test[1])
    return train_images, train_labels, test[0], test[1]


def _where(source: Path, name: str) -> str:
    """A file of the source, for messages: a path for folders, archive + member for archives."""
    return f"{source}/{name}" if source.is_dir() else f"{source} member {name}"


def _check_meta(where: str, meta: dict) -> None:
    names = meta.get("label_names")
    if not isinstance(names, (list, tuple)):
        raise UserError(f"{where} has no list of label_names; is this CIFAR-10's batches.meta?")
    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    missing = [c for c in CLASSES if c not in names]
    if missing:
        raise UserError(f"{where} lacks the CIFAR-10 classes {', '.join(missing)}; is this CIFAR-10?")
    if tuple(names) != CLASSES:
        raise UserError(f"{where} lists classes {', '.join(names)}; expected exactly {', '.join(CLASSES)}")


def _pickle_batch(where: str, blob: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    batch = _unpickle(where, blob)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or labels is None:
        raise UserError(f"{where} is not a CIFAR-10 batch (expected 'data': uint8 [N, 3072] and 'labels')")
    if data.shape[1] != 3 * SIZE * SIZE:
        raise UserError(
            f"{where} holds images of {data.shape[1]} values each; CIFAR-10 images are "
            f"3x{SIZE}x{SIZE} = {3 * SIZE * SIZE}"
        )
    try:
        labels = torch.as_tensor(np.asarray(labels, dtype=np.int64)).reshape(-1)
    except (TypeError, ValueError) as error:
        raise UserError(
            f"{where} has labels that are not whole numbers ({_short(error)}); the file is damaged"
        ) from error
    if len(labels) != len(data):
        raise UserError(f"{where} has {len(data)} images but {len(labels)} labels; the file is damaged")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise UserError(f"{where} has labels outside 0..{len(CLASSES) - 1}; the file is damaged")
    return torch.from_numpy(data.reshape(-1, 3, SIZE, SIZE).copy()), labels


# ------------------------------------------------------ image-folder layout


def _decode_image_folders(source: Path, files: dict[str, bytes], root: str, progress) -> tuple[torch.Tensor, ...]:
    prefix = root + "/" if root else ""
    by_split: dict[str, list] = {split: [] for split in SPLITS}
    for name in sorted(files):
        if _image_root(name) == root:
            split, label = name[len(prefix):].split("/")[0], name.split("/")[-2]
            by_split[split].append((name, label))
    for split, entries in by_split.items():
        _check_class_folders(source, prefix + split, {label for _, label in entries})
    total = sum(len(entries) for entries in by_split.values())
    if progress is not None:
        progress.start(total, "decode CIFAR-10 images")
    decoded = []
    for split in SPLITS:
        names = [name for name, _ in by_split[split]]
        images = _decode_images(source, names, files, progress)
        labels = torch.tensor([CLASSES.index(label) for _, label in by_split[split]], dtype=torch.int64)
        decoded += [images, labels]
    return tuple(decoded)


def _check_class_folders(source: Path, split_dir: str, found: set[str]) -> None:
    if not found:
        raise UserError(f"{source}: no images in {split_dir}/<class>/; {EXPECTED_LAYOUT}")
    unknown = sorted(found - set(CLASSES))
    if unknown:
        raise UserError(
            f"{source}: unexpected class folder(s) {', '.join(f'{split_dir}/{u}' for u in unknown)}; "
            f"CIFAR-10 has {', '.join(CLASSES)}"
        )
    missing = [c for c in CLASSES if c not in found]
    if missing:
        raise UserError(
            f"{source}: {split_dir}/ lacks images of the classes {', '.join(missing)}; "
            f"expected {split_dir}/<class>/*.png|jpg for all 10 CIFAR-10 classes"
        )


def _decode_images(source: Path, names: list[str], files: dict[str, bytes], progress) -> torch.Tensor:
    # One thread: for 32x32 images PIL's per-file Python overhead dominates
    # and holds the GIL, so a thread pool measured slower here.
    arrays = []
    for start in range(0, len(names), 1000):
        chunk = names[start:start + 1000]
        arrays += [_decode_image(source, name, files[name]) for name in chunk]
        if progress is not None:
            progress.advance(len(chunk))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _decode_image(source: Path, name: str, blob: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(blob), formats=("JPEG", "PNG")) as image:
            if image.size != (SIZE, SIZE):
                raise UserError(
                    f"{_where(source, name)} is {image.size[0]}x{image.size[1]} pixels; "
                    f"CIFAR-10 images are {SIZE}x{SIZE}, resize or remove it"
                )
            image.load()
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except UnidentifiedImageError as error:
        raise UserError(
            f"cannot decode {_where(source, name)}: not a PNG or JPEG image; replace or remove it"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:  # PIL's errors for damaged files
        raise UserError(f"cannot decode {_where(source, name)} ({_short(error)}); replace or remove it") from error


def _check_split(source: Path, split: str, labels: torch.Tensor) -> None:
    if len(labels) == 0:
        raise UserError(f"{source}: the {split} split has no images; {EXPECTED_LAYOUT}")
    counts = torch.bincount(labels, minlength=len(CLASSES))
    missing = [c for c, n in zip(CLASSES, counts.tolist()) if n == 0]
    if missing:
        raise UserError(f"{source}: the {split} split has no images of the classes {', '.join(missing)}")
