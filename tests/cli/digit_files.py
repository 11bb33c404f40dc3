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
