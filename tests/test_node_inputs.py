"""Input files sent to cluster nodes that lack them (lab.core.node_inputs), without a cluster:
`put` and `fetch` stand in for Ray's object store."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lab.core.node_inputs import NODE_FOLDER, digest, local_folders, local_inputs, pack, pack_inputs


def data_folder(root: Path) -> Path:
    (root / "batches").mkdir(parents=True)
    (root / "batches" / "one.bin").write_bytes(b"\x01" * 100)
    (root / "readme.txt").write_text("tiny")
    return root


def shipped_from(tmp_path: Path, path: Path, option: str = "data") -> tuple[dict, dict]:
    """What the driver hands a run for {option: path}, and the stand-in object store."""
    store: dict = {}

    def put(data: bytes):
        store[len(store)] = data
        return len(store) - 1

    return pack_inputs({option: str(path), "cache_dir": str(tmp_path)}, (option,), put, {}), store


def test_a_folder_packs_to_the_same_bytes_whatever_its_files_times(tmp_path):
    first, second = data_folder(tmp_path / "a"), data_folder(tmp_path / "b")
    os.utime(second / "readme.txt", (0, 0))
    assert pack(first) == pack(second)
    (second / "readme.txt").write_text("changed")
    assert pack(first) != pack(second)


def test_a_node_with_the_same_file_reads_its_own(tmp_path):
    archive = tmp_path / "cifar.tar.gz"
    archive.write_bytes(b"archive bytes")
    shipped, store = shipped_from(tmp_path, archive)
    options, replaced = local_inputs({"data": str(archive)}, shipped, store.__getitem__)
    assert options == {"data": str(archive)} and replaced == []


def test_a_node_without_the_file_or_with_other_bytes_reads_the_drivers_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node"))
    archive = tmp_path / "driver" / "cifar.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"archive bytes")
    shipped, store = shipped_from(tmp_path, archive)
    archive.write_bytes(b"another version")  # what this node holds at the driver's path
    for _ in range(2):  # the second run on the node finds the copy the first unpacked
        options, replaced = local_inputs({"data": str(archive)}, shipped, store.__getitem__)
        copy = Path(options["data"])
        assert replaced == ["data"] and copy.read_bytes() == b"archive bytes" and copy.name == "cifar.tar.gz"
        assert copy.parent == tmp_path / "node" / NODE_FOLDER / digest(b"archive bytes")
    archive.unlink()
    assert local_inputs({"data": str(archive)}, shipped, store.__getitem__)[0]["data"] == str(copy)


def test_a_folder_arrives_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node"))
    folder = data_folder(tmp_path / "data")
    shipped, store = shipped_from(tmp_path, folder)
    assert len(store) == 1
    options, _ = local_inputs({"data": str(tmp_path / "elsewhere" / "data")}, shipped, store.__getitem__)
    copy = Path(options["data"])
    assert copy.name == "data" and (copy / "batches" / "one.bin").read_bytes() == b"\x01" * 100
    assert (copy / "readme.txt").read_text() == "tiny" and pack(copy) == pack(folder)


def test_nothing_is_sent_for_a_path_the_driver_lacks(tmp_path):
    shipped, store = shipped_from(tmp_path, tmp_path / "absent.tar.gz")
    assert shipped == {} and store == {}


def test_a_cache_folder_the_node_cannot_create_becomes_one_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node"))
    (tmp_path / "a-file").write_text("not a folder")
    creatable, impossible = tmp_path / "reports" / "cache", tmp_path / "a-file" / "cache"
    options, replaced = local_folders({"cache_dir": str(creatable), "data": "x"}, ("cache_dir",))
    assert options["cache_dir"] == str(creatable) and creatable.is_dir() and replaced == []
    options, replaced = local_folders({"cache_dir": str(impossible), "data": "x"}, ("cache_dir",))
    assert replaced == ["cache_dir"] and options == {
        "cache_dir": str(tmp_path / "node" / NODE_FOLDER / "cache_dir"),
        "data": "x",
    }
