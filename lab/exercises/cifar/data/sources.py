"""Finding CIFAR-10: the folder or archive given, or a verified download; its fingerprint; its files.

Accepted layouts: the official python version (``cifar-10-batches-py/`` or its
``.tar.gz``) and image folders (``train/<class>/*.png|jpg`` and ``test/…``, or a
``.tar.gz`` of them).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import posixpath
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

from lab.core.errors import UserError

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
        self.done, self.next_line = 0, 0.1
        self.bar: Any = None  # a rich progress bar on a terminal

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
    folders: list[tuple[str | Path, str]] = [(root / split, split) for split in SPLITS if (root / split).is_dir()]
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
                    files[name] = archive.extractfile(member).read()  # type: ignore[union-attr]  # a file member
                reading, last_read = None, member.name
    except (tarfile.TarError, OSError, EOFError) as error:
        at = f" in member {reading}" if reading else f" after member {last_read}" if last_read else ""
        raise UserError(
            f"CIFAR-10 archive {path} is corrupt or truncated{at} ({_short(error)}); "
            "download or copy it again"
        ) from error
    return files, sorted(seen)
