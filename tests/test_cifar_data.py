"""lab.exercises.cifar.data: locating, validating, caching, augmenting CIFAR-10 (tiny fake data)."""

import hashlib
import io
import os
import pickle
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from lab.core.errors import UserError
from lab.exercises.cifar import data as cifar
from lab.exercises.cifar.data import cache, decode, sources
from lab.exercises.cifar.data.synthetic import (
    LAYOUTS,
    encode_image,
    image_files,
    make_tiny_cifar,
    pickle_files,
    tiny_cifar_arrays,
    write_tar,
)


def expected_tensors(n_per_class=2, size=32):
    return [torch.from_numpy(a) for a in tiny_cifar_arrays(n_per_class, size)]


def load(path, tmp_path, **kwargs):
    return cifar.load(path, tmp_path / "cache", download=False, **kwargs)


def error_of(function, *args, **kwargs) -> str:
    with pytest.raises(UserError) as caught:
        function(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ layouts


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_loads_the_same_tensors(tmp_path, layout):
    data = load(make_tiny_cifar(tmp_path / "data", layout), tmp_path)
    train_images, train_labels, test_images, test_labels = expected_tensors()
    assert data.classes == cifar.CLASSES
    assert data.train_images.dtype == torch.uint8 and data.train_images.shape == (20, 3, 32, 32)
    assert torch.equal(data.train_labels, train_labels) and data.train_labels.dtype == torch.int64
    assert torch.equal(data.test_labels, test_labels)
    if layout == "folder-jpg":  # lossy: close, not equal
        assert (data.train_images.int() - train_images.int()).abs().float().mean() < 2
    else:
        assert torch.equal(data.train_images, train_images)
        assert torch.equal(data.test_images, test_images)


def test_folder_archive_with_top_folder_and_jpeg(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "folder-tar.gz", top_folder="cifar10", image_ext="jpg")
    data = load(path, tmp_path)
    assert data.train_images.shape == (20, 3, 32, 32) and len(data.test_labels) == 20
    assert (data.train_images.int() - expected_tensors()[0].int()).abs().float().mean() < 2


def test_pickle_folder_itself_or_its_parent(tmp_path):
    parent = make_tiny_cifar(tmp_path / "data", "pickle")
    assert cifar.find_source(parent, download=False) == (parent / "cifar-10-batches-py").resolve()
    inner = parent / "cifar-10-batches-py"
    assert cifar.find_source(inner, download=False) == inner.resolve()
    assert torch.equal(load(parent, tmp_path).train_images, load(inner, tmp_path).train_images)


def test_archive_inside_the_data_folder_is_found(tmp_path):
    archive = make_tiny_cifar(tmp_path / "data", "pickle-tar.gz")
    assert cifar.find_source(tmp_path / "data", download=False) == archive.resolve()


def test_plain_tar_is_read(tmp_path):
    (tmp_path / "d").mkdir()
    archive = write_tar(tmp_path / "d" / "cifar.tar", image_files(*tiny_cifar_arrays(1)))
    data = load(archive, tmp_path)
    assert torch.equal(data.train_images, expected_tensors(1)[0])


def test_several_archives_ask_which_unless_one_is_official(tmp_path):
    make_tiny_cifar(tmp_path / "data", "folder-tar.gz")
    (tmp_path / "data" / "cifar10-images.tar.gz").rename(tmp_path / "data" / "a.tgz")
    make_tiny_cifar(tmp_path / "data", "folder-tar.gz")
    message = error_of(cifar.find_source, tmp_path / "data", download=False)
    assert "a.tgz" in message and "cifar10-images.tar.gz" in message and "--data" in message
    official = make_tiny_cifar(tmp_path / "data", "pickle-tar.gz")
    assert cifar.find_source(tmp_path / "data", download=False) == official.resolve()


# -------------------------------------------------------------------- cache


def test_second_load_reads_the_cache_without_decoding(tmp_path, monkeypatch):
    path = make_tiny_cifar(tmp_path / "data", "folder-png")
    first = load(path, tmp_path)
    cache_file = tmp_path / "cache" / f"cifar-{first.fingerprint}.pt"
    assert cache_file.is_file()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.endswith(".tmp")]

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(cache, "_decode_source", no_decoding)
    monkeypatch.setattr(decode, "_decode_image", no_decoding)
    second = load(path, tmp_path)
    assert torch.equal(second.train_images, first.train_images)
    assert torch.equal(second.test_labels, first.test_labels)
    assert second.fingerprint == first.fingerprint
    assert cifar.preflight(path, tmp_path / "cache", download=False) == first.fingerprint


def test_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = cifar.load(make_tiny_cifar(tmp_path / "data", "pickle"), None, download=False)
    assert (tmp_path / "xdg" / "labreport" / f"cifar-{data.fingerprint}.pt").is_file()


def test_cache_contents(tmp_path):
    data = load(make_tiny_cifar(tmp_path / "data", "pickle"), tmp_path)
    cached = torch.load(tmp_path / "cache" / f"cifar-{data.fingerprint}.pt", weights_only=True)
    assert cached["fingerprint"] == data.fingerprint
    assert tuple(cached["classes"]) == cifar.CLASSES
    assert cached["train_images"].shape == (20, 3, 32, 32) and cached["test_labels"].dtype == torch.int64


def test_changed_source_changes_fingerprint_and_misses_the_cache(tmp_path, monkeypatch):
    path = make_tiny_cifar(tmp_path / "data", "folder-png")
    before = load(path, tmp_path)
    image = path / "train" / "cat" / "0006.png"
    image.write_bytes(encode_image(np.zeros((3, 32, 32), np.uint8)))
    os.utime(image, ns=(time.time_ns(), time.time_ns() + 10**9))
    after = load(path, tmp_path)
    assert after.fingerprint != before.fingerprint
    assert int(after.train_images[6].sum()) == 0 and int(before.train_images[6].sum()) > 0


def test_archive_fingerprint_is_content_hash(tmp_path):
    archive = make_tiny_cifar(tmp_path / "data", "pickle-tar.gz")
    assert cifar.fingerprint(archive) == hashlib.sha256(archive.read_bytes()).hexdigest()[:16]


def test_damaged_cache_is_rebuilt(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "pickle")
    first = load(path, tmp_path)
    cache_file = tmp_path / "cache" / f"cifar-{first.fingerprint}.pt"
    cache_file.write_bytes(b"not a torch file")
    assert cifar.preflight(path, tmp_path / "cache", download=False) == first.fingerprint
    assert torch.equal(load(path, tmp_path).train_images, first.train_images)
    assert torch.load(cache_file, weights_only=True)["fingerprint"] == first.fingerprint


class RecordingProgress:
    def __init__(self):
        self.calls = []

    def start(self, total, description):
        self.calls.append(("start", total))

    def advance(self, n=1):
        self.calls.append(("advance", n))

    def update(self, completed):
        self.calls.append(("update", completed))

    def log(self, message):
        self.calls.append(("log", message))


def test_decode_reports_progress(tmp_path):
    progress = RecordingProgress()
    load(make_tiny_cifar(tmp_path / "data", "folder-png"), tmp_path, progress=progress)
    assert ("start", 40) in progress.calls
    assert sum(n for kind, n in progress.calls if kind == "advance") == 40
    assert any(kind == "log" and "cached" in message for kind, message in progress.calls)


# ------------------------------------------------------------------- errors


def test_missing_data_without_download(tmp_path):
    message = error_of(cifar.load, tmp_path / "nowhere", tmp_path / "cache", download=False)
    assert str((tmp_path / "nowhere").resolve()) in message
    assert "cifar-10-python.tar.gz" in message and "--data" in message
    assert "LABREPORT_DATA" in message and "cifar.data" in message
    assert "failed" not in message and "--no-download" in message
    assert not (tmp_path / "nowhere").exists()


def test_failing_download_says_why_and_where(tmp_path, monkeypatch):
    def offline(url, timeout):
        assert url == cifar.URL and timeout <= 30
        raise urllib.error.URLError(OSError("Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("unrelated")
    message = error_of(cifar.preflight, tmp_path / "data", tmp_path / "cache", download=True)
    assert str((tmp_path / "data").resolve()) in message
    assert cifar.URL in message and "Temporary failure in name resolution" in message
    assert "--data" in message and "LABREPORT_DATA" in message
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["notes.txt"]
    error_of(cifar.find_source, tmp_path / "absent" / "data", download=True)
    assert not (tmp_path / "absent").exists()  # no folders left behind by a failed download


class FakeResponse(io.BytesIO):
    def __init__(self, payload):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def test_download_is_verified_and_used(tmp_path, monkeypatch, capsys):
    payload = make_tiny_cifar(tmp_path / "server", "pickle-tar.gz").read_bytes()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: FakeResponse(payload))
    message = error_of(cifar.find_source, tmp_path / "data", download=True)
    assert "md5" in message and cifar.ARCHIVE_MD5 in message
    assert not list((tmp_path / "data").iterdir())

    monkeypatch.setattr(sources, "ARCHIVE_MD5", hashlib.md5(payload).hexdigest())
    data = cifar.load(tmp_path / "data", tmp_path / "cache", download=True)
    assert (tmp_path / "data" / "cifar-10-python.tar.gz").read_bytes() == payload
    assert torch.equal(data.train_images, expected_tensors()[0])
    assert "100%" in capsys.readouterr().err  # plain progress lines when not a terminal


class BrokenResponse(FakeResponse):
    def read(self, size=-1):
        if self.tell() > 0:
            raise TimeoutError("timed out")
        return super().read(10)


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: BrokenResponse(b"x" * 100))
    message = error_of(cifar.find_source, tmp_path / "data", download=True)
    assert "TimeoutError: timed out" in message and str((tmp_path / "data").resolve()) in message
    assert list((tmp_path / "data").iterdir()) == []


def test_missing_archive_file(tmp_path):
    message = error_of(cifar.find_source, tmp_path / "cifar-10-python.tar.gz", download=True)
    assert str(tmp_path / "cifar-10-python.tar.gz") in message and "does not exist" in message


def test_folder_without_test_split(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "folder-png")
    for image in (path / "test").rglob("*.png"):
        image.unlink()
    message = error_of(load, path, tmp_path)
    assert "test/" in message and "expected" in message


def test_unrecognized_archive_layout(tmp_path):
    archive = write_tar(
        tmp_path / "stuff.tar.gz", {"photos/a.png": encode_image(np.zeros((3, 32, 32), np.uint8)), "readme.txt": b"hi"}
    )
    message = error_of(load, archive, tmp_path)
    assert "expected" in message and "cifar-10-batches-py" in message
    assert "found photos/, readme.txt" in message


def test_incomplete_pickle_folder(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "pickle")
    (path / "cifar-10-batches-py" / "data_batch_3").unlink()
    message = error_of(load, path, tmp_path)
    assert "lacks data_batch_3;" in message


def test_missing_class_folder(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "folder-png")
    for image in (path / "train" / "cat").iterdir():
        image.unlink()
    (path / "train" / "cat").rmdir()
    message = error_of(load, path, tmp_path)
    assert "train/ lacks images of the classes cat;" in message


def test_unknown_class_folder(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "folder-png")
    (path / "train" / "cat").rename(path / "train" / "kitten")
    message = error_of(load, path, tmp_path)
    assert "train/kitten" in message


def test_missing_class_in_pickle_meta(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "pickle")
    meta = path / "cifar-10-batches-py" / "batches.meta"
    names = [n for n in cifar.CLASSES if n != "frog"]
    meta.write_bytes(pickle.dumps({"label_names": names}, protocol=2))
    message = error_of(load, path, tmp_path)
    assert "frog" in message and "batches.meta" in message


def test_split_without_some_class(tmp_path):
    train_images, train_labels, test_images, test_labels = tiny_cifar_arrays(2)
    keep = test_labels != cifar.CLASSES.index("ship")
    files = pickle_files(train_images, train_labels, test_images[keep], test_labels[keep])
    archive = write_tar(tmp_path / "cifar-10-python.tar.gz", files)
    message = error_of(load, archive, tmp_path)
    assert "test split" in message and "ship" in message


def test_wrong_image_size_in_folder(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "folder-png", size=28)
    message = error_of(load, path, tmp_path)
    assert "train/airplane/0000.png" in message and "28x28" in message and "32x32" in message


def test_wrong_image_size_in_pickle(tmp_path):
    archive = make_tiny_cifar(tmp_path / "data", "pickle-tar.gz", size=24)
    message = error_of(load, archive, tmp_path)
    assert "data_batch_1" in message and str(3 * 24 * 24) in message and "3072" in message


def test_labels_and_images_disagree(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "pickle")
    batch_file = path / "cifar-10-batches-py" / "test_batch"
    batch = pickle.loads(batch_file.read_bytes())
    batch["labels"] = batch["labels"][:-1]
    batch_file.write_bytes(pickle.dumps(batch, protocol=2))
    message = error_of(load, path, tmp_path)
    assert "test_batch" in message and "20 images but 19 labels" in message


def test_corrupt_archive(tmp_path):
    archive = make_tiny_cifar(tmp_path / "data", "folder-tar.gz", n_per_class=3)
    blob = archive.read_bytes()
    archive.write_bytes(blob[: len(blob) // 2])
    message = error_of(load, archive, tmp_path)
    assert str(archive) in message and "corrupt or truncated" in message and "member test/" in message


def test_file_that_is_no_archive(tmp_path):
    bogus = tmp_path / "cifar-10-python.tar.gz"
    bogus.write_bytes(b"<html>404 not found</html>")
    message = error_of(cifar.preflight, bogus, tmp_path / "cache", download=False)
    assert str(bogus) in message and "not a .tar.gz" in message


def test_unreadable_image(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "folder-png")
    (path / "test" / "dog" / "0011.png").write_bytes(b"\x89PNG garbage")
    message = error_of(load, path, tmp_path)
    assert "test/dog/0011.png: not a PNG or JPEG image" in message


def test_truncated_pickle(tmp_path):
    path = make_tiny_cifar(tmp_path / "data", "pickle")
    batch = path / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:300])
    message = error_of(load, path, tmp_path)
    assert "data_batch_2" in message and "truncated or corrupt pickle" in message


def test_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = make_tiny_cifar(tmp_path / "data", "pickle")
    (path / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps({"data": Evil()}))
    message = error_of(load, path, tmp_path)
    assert "data_batch_1" in message and "refusing" in message


# ------------------------------------------------------------- augmentation


def coordinate_images(count):
    """Channel 0 = row + 1, channel 1 = column + 1, channel 2 = 255: each pixel says where it came from."""
    rows, columns = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    image = torch.stack([rows + 1, columns + 1, torch.full_like(rows, 255)]).to(torch.uint8)
    return image.expand(count, 3, 32, 32).contiguous()


def recover_offsets(out):
    """(dy, dx, flipped) of each augmented coordinate image, read at the centre (never padding)."""
    centre_row = out[:, 0, 16, 16].long() - 1
    flipped = out[:, 1, 16, 17].long() < out[:, 1, 16, 16].long()
    centre_column = out[:, 1, 16, 16].long() - 1
    dx = torch.where(flipped, centre_column - 15, centre_column - 16)
    return centre_row - 16, dx, flipped


def test_augment_shape_dtype_and_determinism():
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    first = cifar.augment(images, torch.Generator().manual_seed(7))
    again = cifar.augment(images, torch.Generator().manual_seed(7))
    other = cifar.augment(images, torch.Generator().manual_seed(8))
    assert first.shape == images.shape and first.dtype == torch.uint8
    assert torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize("pad", [4, 2])  # the course's border, the tuned variant's
def test_augment_statistics(pad):
    count = 4000
    out = cifar.augment(coordinate_images(count), torch.Generator().manual_seed(0), pad=pad)
    dy, dx, flipped = recover_offsets(out)
    assert abs(flipped.float().mean().item() - 0.5) < 0.04
    shifts = set(range(-pad, pad + 1))
    assert set(dy.tolist()) == shifts and set(dx.tolist()) == shifts
    assert len(set(zip(dy.tolist(), dx.tolist()))) == (2 * pad + 1) ** 2
    # Every pixel is either the source pixel it claims, or zero padding.
    rows = torch.arange(32)[None, :, None] + dy[:, None, None]
    source_columns = torch.where(flipped[:, None], 31 - torch.arange(32), torch.arange(32)) + dx[:, None]
    columns = source_columns[:, None, :].expand(count, 32, 32)
    inside = (rows >= 0) & (rows < 32) & (columns >= 0) & (columns < 32)
    assert torch.equal(out[:, 0].long(), torch.where(inside, rows.expand(-1, -1, 32) + 1, 0))
    assert torch.equal(out[:, 1].long(), torch.where(inside, columns + 1, 0))
    assert torch.equal(out[:, 2] == 255, inside) and (out[:, 2][~inside] == 0).all()
    assert (~inside).any()


def test_zero_offsets_are_identity_and_flip_mirrors():
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    zeros = torch.zeros(5, dtype=torch.long)
    no = torch.zeros(5, dtype=torch.bool)
    assert torch.equal(cifar.shift_and_flip(images, zeros, zeros, no), images)
    assert torch.equal(cifar.shift_and_flip(images, zeros, zeros, ~no), images.flip(3))
    shifted = cifar.shift_and_flip(images, zeros + 4, zeros - 2, no)
    assert torch.equal(shifted[:, :, :28, 2:], images[:, :, 4:, :30])
    assert (shifted[:, :, 28:] == 0).all() and (shifted[:, :, :, :2] == 0).all()


def test_normalize_values_dtype_and_layout():
    images = torch.stack([torch.zeros(3, 32, 32), torch.full((3, 32, 32), 255.0)]).to(torch.uint8)
    out = cifar.normalize(images)
    mean, std = torch.tensor(cifar.MEAN), torch.tensor(cifar.STD)
    assert out.dtype == torch.float32
    assert torch.allclose(out[0, :, 0, 0], -mean / std, atol=1e-5)
    assert torch.allclose(out[1, :, 5, 7], (1 - mean) / std, atol=1e-5)
    half = cifar.normalize(images, dtype=torch.bfloat16, channels_last=True)
    assert half.dtype == torch.bfloat16 and half.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(half.float(), out, atol=0.02)


# ------------------------------------------------------------------- subset


def fake_data(per_class_train=20, per_class_test=10):
    def split(per_class):
        labels = torch.arange(10).repeat_interleave(per_class)
        images = torch.arange(len(labels)).to(torch.uint8)[:, None, None, None].expand(-1, 3, 32, 32)  # pixel = index
        return images.contiguous(), labels

    train, test = split(per_class_train), split(per_class_test)
    return cifar.CifarData(*train, *test, cifar.CLASSES, "f" * 16, "fake")


def test_subset_is_stratified_and_deterministic():
    data = fake_data()
    small = cifar.subset(data, train=50, test=20, seed=3)
    assert len(small.train_labels) == 50 and len(small.test_images) == 20
    assert torch.bincount(small.train_labels, minlength=10).tolist() == [5] * 10
    assert torch.bincount(small.test_labels, minlength=10).tolist() == [2] * 10
    again = cifar.subset(data, train=50, test=20, seed=3)
    assert torch.equal(small.train_images, again.train_images)
    assert not torch.equal(cifar.subset(data, 50, 20, seed=4).train_images, small.train_images)
    # Images travel with their labels.
    assert torch.equal(data.train_labels[small.train_images[:, 0, 0, 0].long()], small.train_labels)
    uneven = cifar.subset(data, train=13, test=None, seed=0)
    assert torch.bincount(uneven.train_labels, minlength=10).max() == 2 and len(uneven.test_labels) == 100
    assert small.fingerprint == data.fingerprint and small.classes == data.classes


def test_subset_keeps_all_or_rejects_bad_counts():
    data = fake_data()
    assert torch.equal(cifar.subset(data, None, None, 0).train_labels, data.train_labels)
    assert len(cifar.subset(data, 10_000, None, 0).train_labels) == 200
    assert "train_subset" in error_of(cifar.subset, data, 0, None, 0)


# ---------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_cifar(tmp_path):
    path = os.environ.get("LABREPORT_REAL_CIFAR")
    if not path:
        pytest.skip("set LABREPORT_REAL_CIFAR to a CIFAR-10 archive or folder")
    data = cifar.load(path, tmp_path / "cache", download=False)
    assert data.train_images.shape == (50000, 3, 32, 32) and data.test_images.shape == (10000, 3, 32, 32)
    assert torch.bincount(data.train_labels).tolist() == [5000] * 10
    assert torch.bincount(data.test_labels).tolist() == [1000] * 10
    means = (data.train_images.float() / 255).mean(dim=(0, 2, 3))
    assert torch.allclose(means, torch.tensor([0.4913, 0.4821, 0.4465]), atol=2e-4)
    [cache] = (tmp_path / "cache").iterdir()
    written = cache.stat().st_mtime_ns
    again = cifar.load(path, tmp_path / "cache", download=False)
    assert cache.stat().st_mtime_ns == written  # read from the cache, not decoded again
    assert torch.equal(again.test_labels, data.test_labels)


def augment_batch_by_batch(images, generator, batch_size):
    """The epoch as the training loop augmented it before whole-epoch augmentation:
    one permutation, then each batch's crop and flip drawn and applied in turn."""
    order = torch.randperm(len(images), generator=generator, device=generator.device)
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    return torch.cat([cifar.augment(images[batch], generator) for batch in batches])


def augment_whole_epoch(images, generator, batch_size):
    order = torch.randperm(len(images), generator=generator, device=generator.device)
    return cifar.augment(images[order], generator, draw_batch=batch_size)


@pytest.mark.parametrize("seed, count, batch_size", [(0, 100, 32), (1, 128, 128), (7, 300, 128), (3, 5, 8)])
def test_an_epoch_augmented_at_once_equals_it_augmented_batch_by_batch(seed, count, batch_size):
    """Bit for bit on the CPU, for a partial last batch too: CPU runs keep their numbers."""
    from lab.exercises.cifar.epochs import epoch_generator

    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    before = augment_batch_by_batch(images, epoch_generator(seed, 1), batch_size)
    after = augment_whole_epoch(images, epoch_generator(seed, 1), batch_size)
    assert torch.equal(before, after)
    assert not torch.equal(after, augment_whole_epoch(images, epoch_generator(seed, 2), batch_size))


@pytest.mark.cuda
def test_augmentation_on_the_gpu_is_the_same_function_as_on_the_cpu():
    """The same offsets and flips give the same images on either device; a GPU
    generator repeats itself per seed (its numbers differ from the CPU's)."""
    from lab.exercises.cifar.epochs import epoch_generator

    images = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8)
    dy, dx = torch.randint(-4, 5, (2, 300))
    flip = torch.rand(300) < 0.5
    on_gpu = cifar.shift_and_flip(images.cuda(), dy.cuda(), dx.cuda(), flip.cuda())
    assert torch.equal(on_gpu.cpu(), cifar.shift_and_flip(images, dy, dx, flip))
    first = augment_whole_epoch(images.cuda(), epoch_generator(0, 1, "cuda"), 128)
    again = augment_whole_epoch(images.cuda(), epoch_generator(0, 1, "cuda"), 128)
    assert first.device.type == "cuda" and torch.equal(first, again)
    assert torch.equal(first, augment_batch_by_batch(images.cuda(), epoch_generator(0, 1, "cuda"), 128))
