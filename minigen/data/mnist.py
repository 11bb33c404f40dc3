"""MNIST: the IDX file reader, where the files are found, binarisation and the validation split.

The IDX format (LeCun et al.) is a 4-byte magic number, one big-endian int32
per dimension, then the values in row-major order. The magic's first two
bytes are zero, the third gives the value type (0x08 unsigned byte, 0x09
signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64, all
big-endian) and the fourth the number of dimensions. MNIST images are magic
2051 (ubyte, 3 dims: N x 28 x 28); labels 2049 (ubyte, 1 dim: N). The files
may be gzipped (as distributed) or plain.

Where the data comes from: a folder given by the caller (``--data DIR``), else
``$MINIGEN_MNIST``, else the embedded procedural digits (``data.digits``),
which the CLI announces in one line.

Likelihoods of binary-pixel models are reported on binarised digits. Training
uses *dynamic* binarisation (a fresh Bernoulli draw with p = pixel intensity
each time a batch is seen); reporting uses one *fixed* draw from a stated seed,
so that numbers are comparable between runs.
"""
import gzip
import os
import zlib
from collections import namedtuple

import numpy as np

from ..errors import MinigenError

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
PROCEDURAL_SIZES = {"train": 10000, "test": 2000}

Digits = namedtuple("Digits", "images labels source")
Digits.__doc__ = """images: (N, 28, 28) uint8; labels: (N,) int64 in 0..9; source: the folder, or "procedural"."""


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise MinigenError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise MinigenError(f"{path}: a damaged or truncated gzip file ({e})") from None


def read_idx(path):
    """The array stored in the IDX file ``path`` (gz or plain), with one-line errors for a file that is
    not IDX, has an unknown value type, or holds more or fewer bytes than its dimensions say."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] or raw[1]:
        raise MinigenError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in TYPES or ndim == 0:
        raise MinigenError(f"{path}: not an IDX file (magic {int.from_bytes(raw[:4], 'big')}: unknown value "
                           f"type or no dimensions)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MinigenError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", ndim, 4))
    dtype = np.dtype(TYPES[code])
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - header
    if have != need:
        what = "truncated" if have < need else "has trailing bytes"
        raise MinigenError(f"{path}: {what}: dimensions {'x'.join(map(str, shape))} need {need} bytes of data, "
                           f"the file holds {have}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder, stem):
    """The file of ``stem`` in ``folder``: gz or plain, with '-idx' or '.idx' (both spellings are common)."""
    names = [stem, stem.replace("-idx", ".idx")]
    for name in names:
        for candidate in (name + ".gz", name):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    raise MinigenError(f"{folder}: no {stem}[.gz] here (an MNIST folder holds the four IDX files)")


def mnist_folder(data=None):
    """The MNIST folder to use: ``data`` if given, else ``$MINIGEN_MNIST``, else None (procedural)."""
    folder = data or os.environ.get("MINIGEN_MNIST") or None
    if folder is not None and not os.path.isdir(folder):
        where = "--data" if data else "$MINIGEN_MNIST"
        raise MinigenError(f"{where}: {folder} is not a folder")
    return folder


def read_mnist(folder, split="train"):
    """(images (N, 28, 28) uint8, labels (N,) int64) of ``split`` ('train' or 'test') from ``folder``."""
    if split not in FILES:
        raise ValueError(f"read_mnist: split must be 'train' or 'test', not {split!r}")
    image_path, label_path = (_find(folder, stem) for stem in FILES[split])
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MinigenError(f"{image_path}: expected N x 28 x 28 unsigned bytes, found "
                           f"{'x'.join(map(str, images.shape))} of {images.dtype}")
    if labels.dtype != np.uint8 or labels.ndim != 1 or (labels.size and labels.max() > 9):
        raise MinigenError(f"{label_path}: expected N labels 0..9 as unsigned bytes")
    if len(labels) != len(images):
        raise MinigenError(f"{label_path}: {len(labels)} labels for the {len(images)} images of {image_path}")
    return images, labels.astype(np.int64)


def load_mnist(split="train", data=None, n_procedural=None, seed=0):
    """The digits of ``split``: MNIST from ``data`` or ``$MINIGEN_MNIST``, else ``n_procedural`` procedural
    digits (default 10,000 for 'train', 2,000 for 'test'; the test split draws from another seed)."""
    folder = mnist_folder(data)
    if folder is not None:
        return Digits(*read_mnist(folder, split), folder)
    if split not in FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', not {split!r}")
    from .digits import digits
    n = PROCEDURAL_SIZES[split] if n_procedural is None else n_procedural
    images, labels = digits(n, seed=seed + (0 if split == "train" else 1_000_003))
    return Digits(images, labels, "procedural")


def to_float(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1]."""
    return (np.asarray(images, np.float32) / 255.0)[:, None]


def binarize(x, rng):
    """Dynamic binarisation: pixel ~ Bernoulli(x) drawn afresh from ``rng`` (x in [0, 1])."""
    return (rng.random(x.shape) < x).astype(np.float32)


def binarize_fixed(x, seed=0):
    """The fixed binarisation used to report likelihoods: one Bernoulli draw from ``seed``."""
    return binarize(x, np.random.default_rng(seed))


def validation_split(images, labels, n_val=10000, seed=0):
    """((train_images, train_labels), (val_images, val_labels)): ``n_val`` examples held out of the
    training set by a seeded permutation (the rest, in their original order, stay for training)."""
    n = len(images)
    if not 0 < n_val < n:
        raise ValueError(f"validation_split: n_val must be in 1..{n - 1}, not {n_val}")
    held = np.zeros(n, bool)
    held[np.random.default_rng(seed).permutation(n)[:n_val]] = True
    return (images[~held], labels[~held]), (images[held], labels[held])
