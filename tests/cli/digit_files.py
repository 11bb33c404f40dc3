"""What the digit commands' tests share: running ``minigen`` as a user would (a subprocess, with no
$MINIGEN_MNIST) and a small MNIST folder of procedural digits standing in for the real files."""
import gzip
import os
import subprocess
import sys

import numpy as np

from minigen.data.digits import digits


def idx(array):
    """The IDX bytes of a uint8 array (MNIST's format)."""
    return bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">i4").tobytes() + array.astype(np.uint8).tobytes()


def minigen(*args, cwd):
    env = dict(os.environ, MINIGEN_MNIST="")
    return subprocess.run([sys.executable, "-m", "minigen", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=600)


def write_mnist(folder, train=300, test=200):
    """An MNIST folder of procedural digits: training images gzipped, labels plain (both forms read)."""
    folder.mkdir()
    for split, n, seed in (("train", train, 0), ("t10k", test, 1)):
        images, labels = digits(n, seed=seed)
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(idx(labels))


def write_inputs(d):
    """In folder d: "mnist" (write_mnist), "pngs" (four PNG digits), "empty" (a folder of nothing) and
    "sr.npz" (a checkpoint of another kind, from the fixtures)."""
    import shutil
    from PIL import Image
    write_mnist(d / "mnist")
    (d / "pngs").mkdir()
    images, _ = digits(4, seed=2)
    for i in range(4):
        Image.fromarray(images[i]).save(d / "pngs" / f"{i}.png")
    (d / "empty").mkdir()
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "checkpoints")
    shutil.copy(os.path.join(fixtures, "sr_srcnn.npz"), d / "sr.npz")


def digests(d):
    """{relative path: SHA-256} of every file under d: what a refused command must leave as it was."""
    import hashlib
    return {os.path.relpath(os.path.join(r, f), d): hashlib.sha256(open(os.path.join(r, f), "rb").read()).hexdigest()
            for r, _, fs in os.walk(d) for f in fs}
