"""CIFAR-10 for Exercise 2: find the data, validate it, decode it once into a
uint8 tensor cache, and augment batches on tensors.

Sources: the official python-pickle folder ``cifar-10-batches-py/`` (what
torchvision downloads), an image folder ``train/<class>/*.png|jpg``,
``test/<class>/...``, or either one as a .tar.gz / .tgz / .tar archive, read
directly from the archive.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import pickle
import posixpath
import sys
import tarfile
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from lab.core.errors import UserError
from lab.core.store import write_atomic

CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
DOWNLOAD_TIMEOUT_S = 15

PICKLE_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
PICKLE_FILES = (*TRAIN_BATCHES, TEST_BATCH, META)
SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
SIZE = 32
PAD = 4
CACHE_FORMAT = 1  # bump when the cache file's contents change

EXPECTED_LAYOUT = (
    "expected the official cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta) "
    "or image folders train/<class>/*.png|jpg and test/<class>/*.png|jpg"
)


@dataclass
class CifarData:
    train_images: torch.Tensor  # [N, 3, 32, 32] uint8
    train_labels: torch.Tensor  # [N] int64
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    fingerprint: str
    source: str


# ---------------------------------------------------------------- locating


def _how_to_supply(folder: Path, download: bool) -> str:
    hint = (
        f"put {ARCHIVE_NAME}, an extracted {PICKLE_DIR}/ or a train/ test/ image folder in {folder}, "
        "or pass --data PATH, set LABREPORT_DATA or cifar.data in lab13.toml"
    )
    return hint if download else hint + ", or allow the download (drop --no-download)"


def find_source(data: str | Path, download: bool, progress=None) -> Path:
    """The archive or folder holding CIFAR-10 at `data` (the folder itself or
    its parent); downloads the official archive there when allowed and
    nothing is found. Raises UserError."""
    root = Path(data).expanduser().resolve()
    if root.is_file():
        _check_is_tar(root)
        return root
    if root.is_dir():
        try:
            found = _recognize(root)
        except OSError as error:
            raise UserError(
                f"cannot read the CIFAR-10 data folder {root} ({_short(error)}); check its permissions"
            ) from error
        if found is not None:
            return found
    elif root.name.endswith(ARCHIVE_SUFFIXES):
        raise UserError(f"CIFAR-10 archive {root} does not exist; {_how_to_supply(root.parent, download)}")
    what = f"no CIFAR-10 data in {root}" if root.is_dir() else f"CIFAR-10 data folder {root} does not exist"
    if not download:
        raise UserError(f"{what}; {_how_to_supply(root, download)}")
    try:
        return _download(root, progress)
    except (OSError, http.client.HTTPException) as error:
        raise UserError(
            f"{what} and downloading {URL} failed ({_short(error)}); {_how_to_supply(root, download)}"
        ) from error


def _recognize(root: Path) -> Path | None:
    """Which source a folder holds; None when it holds nothing CIFAR-like.
    A folder that only partly looks like a layout is returned as is, so that
    reading it explains what is wrong instead of silently downloading."""
    if any((root / name).exists() for name in PICKLE_FILES) or any((root / s).exists() for s in SPLITS):
        return root
    if (root / PICKLE_DIR).is_dir():
        return root / PICKLE_DIR
    if (root / ARCHIVE_NAME).is_file():
        _check_is_tar(root / ARCHIVE_NAME)
        return root / ARCHIVE_NAME
    archives = sorted(p for p in root.iterdir() if p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES))
    if len(archives) > 1:
        names = ", ".join(p.name for p in archives)
        raise UserError(f"{root} holds several archives ({names}); pass the one to use with --data PATH")
    if archives:
        _check_is_tar(archives[0])
        return archives[0]
    return None


def _check_is_tar(path: Path) -> None:
    try:
        ok = tarfile.is_tarfile(path)
    except (OSError, EOFError) as error:
        raise UserError(f"cannot read CIFAR-10 archive {path} ({_short(error)}); check the file") from error
    if not ok:
        raise UserError(
            f"{path} is not a .tar.gz/.tgz/.tar archive (corrupt or another format); "
            f"replace it with {ARCHIVE_NAME} or a tarball of train/ and test/"
        )


def _short(error: BaseException) -> str:
    reason = getattr(error, "reason", None)  # URLError wraps the socket error
    text = str(reason if reason is not None else error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _download(folder: Path, progress) -> Path:
    target = folder / ARCHIVE_NAME
    partial = folder / (ARCHIVE_NAME + ".part")
    md5 = hashlib.md5()
    try:
        with urllib.request.urlopen(URL, timeout=DOWNLOAD_TIMEOUT_S) as response:
            folder.mkdir(parents=True, exist_ok=True)  # only once the server answered
            total = int(response.headers.get("Content-Length") or 0)
            with open(partial, "wb") as out, _ByteProgress(progress, total, f"download {ARCHIVE_NAME}") as advance:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    md5.update(chunk)
                    advance(len(chunk))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if md5.hexdigest() != ARCHIVE_MD5:
        partial.unlink(missing_ok=True)
        raise UserError(
            f"downloaded {URL} has md5 {md5.hexdigest()}, expected {ARCHIVE_MD5} (incomplete or altered); "
            f"retry, or {_how_to_supply(folder, True)}"
        )
    os.replace(partial, target)
    return target


class _ByteProgress:
    """Byte counter for the download: the caller's progress object if given,
    else a rich bar on a terminal, else a plain line every 10%."""

    def __init__(self, progress, total: int, description: str):
        self.progress, self.total, self.description = progress, total, description
        self.done, self.next_line, self.bar = 0, 0.1, None

    def __enter__(self):
        if self.progress is not None:
            self.progress.start(self.total, self.description)
        elif sys.stderr.isatty():
            from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

            self.bar = Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn())
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=self.total or None)
        else:
            print(f"{self.description}: {self.total / 1e6:.0f} MB", file=sys.stderr, flush=True)
        return self.advance

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress.advance(n)
        elif self.bar is not None:
            self.bar.advance(self.task, n)
        elif self.total and self.done >= self.next_line * self.total:
            print(f"{self.description}: {self.done / self.total:.0%}", file=sys.stderr, flush=True)
            self.next_line += 0.1

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


# ------------------------------------------------------------- fingerprint


def fingerprint(source: Path) -> str:
    """Checksum identifying the data: sha256 of the bytes for an archive or a
    pickle folder (about 1 GB/s, so well under a second). For an image folder,
    60,000 small files would cost seconds to hash on every start, so it hashes
    the sorted relative paths with their sizes and modification times instead:
    editing, adding or removing an image changes it, copying the folder does too."""
    source = Path(source)
    digest = hashlib.sha256()
    if source.is_file():
        _hash_file(digest, source)
    elif any((source / name).is_file() for name in PICKLE_FILES):
        for name in PICKLE_FILES:
            if (source / name).is_file():
                digest.update(name.encode() + b"\0")
                _hash_file(digest, source / name)
    else:
        for relative, entry in _image_files(source):
            stat = entry.stat()
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _hash_file(digest, path: Path) -> None:
    with open(path, "rb") as file:
        while block := file.read(1 << 22):
            digest.update(block)


def _image_files(root: Path) -> list[tuple[str, os.DirEntry]]:
    """(relative posix path, directory entry) of every visible image under
    train/ and test/, sorted by path. os.scandir: 60,000 files in well under a second."""
    found = []
    folders = [(root / split, split) for split in SPLITS if (root / split).is_dir()]
    while folders:
        folder, relative = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    folders.append((entry.path, f"{relative}/{entry.name}"))
                elif _is_image_name(entry.name):
                    found.append((f"{relative}/{entry.name}", entry))
    return sorted(found, key=lambda item: item[0])


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


# ----------------------------------------------------------------- reading


def _read_files(source: Path) -> tuple[dict[str, bytes], list[str]]:
    """The relevant files of a source as {relative posix path: bytes}, plus a
    sample of the entries seen, for error messages."""
    if source.is_file():
        return _read_archive(source)
    paths = [(name, source / name) for name in PICKLE_FILES if (source / name).is_file()]
    try:
        paths += [(relative, entry.path) for relative, entry in _image_files(source)]
        files = {relative: Path(path).read_bytes() for relative, path in paths}
        seen = sorted(p.name + ("/" if p.is_dir() else "") for p in source.iterdir())
    except OSError as error:
        raise UserError(f"cannot read CIFAR-10 data in {source} ({_short(error)}); check its permissions") from error
    return files, seen


def _read_archive(path: Path) -> tuple[dict[str, bytes], list[str]]:
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    reading = last_read = None
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                name = posixpath.normpath(member.name.lstrip("/"))
                seen.add(name.split("/")[0] + ("/" if "/" in name or member.isdir() else ""))
                base = posixpath.basename(name)
                reading = member.name
                if member.isfile() and (base in PICKLE_FILES or _is_image_name(base)):
                    files[name] = archive.extractfile(member).read()
                reading, last_read = None, member.name
    except (tarfile.TarError, OSError, EOFError) as error:
        at = f" in member {reading}" if reading else f" after member {last_read}" if last_read else ""
        raise UserError(
            f"CIFAR-10 archive {path} is corrupt or truncated{at} ({_short(error)}); "
            "download or copy it again"
        ) from error
    return files, sorted(seen)


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
        return _decode_image_folders(source, files, image_roots.pop(), progress)
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
    by_split = {split: [] for split in SPLITS}
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


# ------------------------------------------------------------ augmentation


def augment(images_uint8: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crop 32 from the zero-padded (4) image plus random horizontal
    flip, per image, for a uint8 batch [B, 3, 32, 32]; reproducible through
    `generator` (on the CPU or on the images' device)."""
    count, device = images_uint8.shape[0], images_uint8.device
    offsets = torch.randint(-PAD, PAD + 1, (2, count), generator=generator, device=generator.device)
    flip = torch.randint(0, 2, (count,), generator=generator, device=generator.device) == 1
    offsets, flip = offsets.to(device), flip.to(device)
    return shift_and_flip(images_uint8, offsets[0], offsets[1], flip)


def shift_and_flip(images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """out[b, :, i, j] = padded source at row i + dy[b], column j + dx[b]
    (zero outside the image), then mirrored left-right where flip[b].
    Offsets lie in -PAD..PAD; all zero and no flip is the identity."""
    count, channels, height, width = images.shape
    padded = torch.nn.functional.pad(images, (PAD, PAD, PAD, PAD))
    rows = torch.arange(height, device=images.device) + (dy[:, None] + PAD)
    columns = torch.arange(width, device=images.device)
    # Flipping after the crop reads the crop's columns right to left.
    columns = torch.where(flip[:, None], width - 1 - columns, columns) + (dx[:, None] + PAD)
    rows = rows[:, None, :, None].expand(count, channels, height, width + 2 * PAD)
    cropped_rows = torch.gather(padded, 2, rows)
    columns = columns[:, None, None, :].expand(count, channels, height, width)
    return torch.gather(cropped_rows, 3, columns)


def normalize(images_uint8: torch.Tensor, dtype=torch.float32, channels_last: bool = False) -> torch.Tensor:
    """(x / 255 - MEAN) / STD per channel, computed in float32, returned as `dtype`."""
    device = images_uint8.device
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1) * 255
    if channels_last:  # convert while still uint8: a quarter of the bytes to move
        images_uint8 = images_uint8.contiguous(memory_format=torch.channels_last)
    out = images_uint8.float().sub_(mean).div_(std).to(dtype)
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


# ------------------------------------------------------------------ subset


def subset(data: CifarData, train: int | None, test: int | None, seed: int) -> CifarData:
    """`train` / `test` images (None: all) chosen at random with `seed`, with
    equal shares per class as far as the counts allow."""
    generator = torch.Generator().manual_seed(seed)
    train_index = _stratified(data.train_labels, train, "train_subset", generator)
    test_index = _stratified(data.test_labels, test, "test_subset", generator)
    return replace(
        data,
        train_images=data.train_images[train_index], train_labels=data.train_labels[train_index],
        test_images=data.test_images[test_index], test_labels=data.test_labels[test_index],
    )


def _stratified(labels: torch.Tensor, count: int | None, key: str, generator: torch.Generator):
    """Indices of the chosen images (a whole slice when count is None)."""
    if count is None:
        return slice(None)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"cifar.{key} = {count!r} must be a positive whole number of images (or unset for all)")
    order = torch.randperm(len(labels), generator=generator)
    shuffled = labels[order]
    # Rank of each image within its class in the shuffled order; taking the
    # lowest ranks first deals the classes out round-robin.
    rank = torch.empty_like(order)
    for label in range(len(CLASSES)):
        positions = (shuffled == label).nonzero().squeeze(1)
        rank[positions] = torch.arange(len(positions))
    chosen = order[torch.argsort(rank, stable=True)[:count]]
    return chosen.sort().values
