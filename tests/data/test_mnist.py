"""MNIST: the IDX reader (plain and gz, every damage named), the folder look-up, the procedural
fallback, binarisation and the validation split; the real files when ../shared holds them."""
import gzip
import os

import numpy as np
import pytest

from minigen.data import mnist
from minigen.errors import MinigenError

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


def _idx(array, code=0x08):
    dims = np.array(array.shape, ">i4").tobytes()
    return bytes([0, 0, code, array.ndim]) + dims + array.astype(mnist.TYPES[code]).tobytes()


def _write_mnist(folder, images, labels, split="train", gz=True, dotted=False):
    for stem, array in zip(mnist.FILES[split], (images, labels)):
        name = stem.replace("-idx", ".idx") if dotted else stem
        data = _idx(array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.mark.parametrize("code", sorted(mnist.TYPES))
def test_read_idx_round_trips_every_value_type(tmp_path, code):
    a = (np.arange(24).reshape(2, 3, 4) - (0 if code == 0x08 else 5)).astype(mnist.TYPES[code])
    (tmp_path / "a").write_bytes(_idx(a, code))
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx(a, code)))
    for name in ("a", "a.gz"):
        got = mnist.read_idx(str(tmp_path / name))
        np.testing.assert_array_equal(got, a)
        assert got.dtype.isnative and got.shape == (2, 3, 4)


@pytest.mark.parametrize("damage, message", [
    (lambda d: b"\x01" + d[1:], "bad magic"),
    (lambda d: d[:2] + b"\x07" + d[3:], "unknown value type"),
    (lambda d: d[:6], "truncated IDX header"),
    (lambda d: d[:-5], "truncated: dimensions 2x3x4 need 24 bytes of data, the file holds 19"),
    (lambda d: d + b"xx", "has trailing bytes"),
    (lambda d: b"", "bad magic"),
])
def test_read_idx_names_the_damage(tmp_path, damage, message):
    data = _idx(np.zeros((2, 3, 4), np.uint8))
    path = tmp_path / "damaged"
    path.write_bytes(damage(data))
    with pytest.raises(MinigenError, match=message) as e:
        mnist.read_idx(str(path))
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_a_truncated_gzip_is_named(tmp_path):
    path = tmp_path / "x.gz"
    noise = np.random.default_rng(0).integers(0, 256, (50, 28, 28)).astype(np.uint8)
    path.write_bytes(gzip.compress(_idx(noise))[:1000])
    with pytest.raises(MinigenError, match="damaged or truncated gzip"):
        mnist.read_idx(str(path))


def test_read_mnist_finds_both_spellings_gz_or_not(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8), np.array([0, 9, 3, 3, 1], np.uint8)
    _write_mnist(tmp_path, images, labels, "train", gz=True)
    _write_mnist(tmp_path, images[:2], labels[:2], "test", gz=False, dotted=True)
    got, lab = mnist.read_mnist(str(tmp_path), "train")
    np.testing.assert_array_equal(got, images)
    assert lab.dtype == np.int64 and lab.tolist() == [0, 9, 3, 3, 1]
    assert mnist.read_mnist(str(tmp_path), "test")[0].shape == (2, 28, 28)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 27, 28), np.uint8), np.zeros(3, np.uint8), "expected N x 28 x 28"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "4 labels for the 3 images"),
    (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), "labels 0..9"),
])
def test_read_mnist_checks_what_it_reads(tmp_path, images, labels, message):
    _write_mnist(tmp_path, images, labels)
    with pytest.raises(MinigenError, match=message):
        mnist.read_mnist(str(tmp_path), "train")


def test_a_folder_without_the_files_is_named(tmp_path):
    with pytest.raises(MinigenError, match="no train-images-idx3-ubyte"):
        mnist.read_mnist(str(tmp_path), "train")


def test_the_folder_comes_from_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIGEN_MNIST", raising=False)
    assert mnist.mnist_folder(None) is None
    monkeypatch.setenv("MINIGEN_MNIST", str(tmp_path))
    assert mnist.mnist_folder(None) == str(tmp_path)
    with pytest.raises(MinigenError, match="--data"):
        mnist.mnist_folder(str(tmp_path / "missing"))
    monkeypatch.setenv("MINIGEN_MNIST", str(tmp_path / "missing"))
    with pytest.raises(MinigenError, match=r"\$MINIGEN_MNIST"):
        mnist.mnist_folder(None)


def test_without_data_the_procedural_digits_are_used(monkeypatch):
    monkeypatch.delenv("MINIGEN_MNIST", raising=False)
    train = mnist.load_mnist("train", n_procedural=20)
    test = mnist.load_mnist("test", n_procedural=20)
    assert train.source == "procedural" and train.images.shape == (20, 28, 28) and train.images.dtype == np.uint8
    assert not np.array_equal(train.images, test.images)  # the splits come from different seeds


def test_binarisation_dynamic_and_fixed():
    x = np.full((200, 1, 28, 28), 0.3, np.float32)
    rng = np.random.default_rng(0)
    a, b = mnist.binarize(x, rng), mnist.binarize(x, rng)
    assert set(np.unique(a)) <= {0.0, 1.0} and not np.array_equal(a, b)  # a fresh draw each time
    # the mean of 156,800 Bernoulli(0.3) draws: std 0.0012, so 0.01 is over 8 std
    assert abs(a.mean() - 0.3) < 0.01
    np.testing.assert_array_equal(mnist.binarize_fixed(x, seed=3), mnist.binarize_fixed(x, seed=3))
    assert mnist.binarize_fixed(np.zeros((2, 4)), 0).sum() == 0 and mnist.binarize_fixed(np.ones((2, 4)), 0).all()


def test_validation_split_is_seeded_and_disjoint():
    images, labels = np.arange(100)[:, None], np.arange(100)
    (tx, ty), (vx, vy) = mnist.validation_split(images, labels, n_val=10, seed=1)
    assert len(vx) == 10 and len(tx) == 90 and sorted(np.concatenate([ty, vy]).tolist()) == list(range(100))
    assert (np.diff(ty) > 0).all()  # the training part keeps its order
    np.testing.assert_array_equal(vy, mnist.validation_split(images, labels, 10, seed=1)[1][1])
    with pytest.raises(ValueError, match="n_val"):
        mnist.validation_split(images, labels, n_val=100)


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data/mnist is not here")
def test_the_real_files():
    test = mnist.load_mnist("test", SHARED)
    assert test.images.shape == (10000, 28, 28) and test.source == SHARED
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
