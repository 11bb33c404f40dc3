"""What an FLD of 5 means: the yardsticks of ``minigen evaluate`` on sets of known quality.

    python benchmarks/calibration.py                  # the bundled LeNet, ../shared/data/mnist
    python benchmarks/calibration.py --classifier CKPT --n 2000

Every row scores one set of digits through the classifier, as ``minigen
evaluate`` does: the Fréchet distance of its LeNet features to those of the
reference (FLD), the KL of its class histogram to uniform, the mean
confidence and the Inception-score analogue. Rows:

- test vs train: the whole MNIST test set (10,000) against the whole training
  set (60,000): the floor between two samples of the same distribution;
- train N vs test: N training images (disjoint from the reference) against the
  test set, the reference ``minigen evaluate`` uses: the floor at its scale;
- test N vs test: N test images drawn at random, a subset of the reference itself; and the
  first N, which are not a fair sample (MNIST's first 5,000 test digits come from the cleaner
  writers of NIST SD-3, the last 5,000 from SD-1);
- the same N training images blurred (Gaussian, sigma 1 and 2 pixels), with
  Gaussian noise (sigma 0.1 and 0.3, clipped to [0, 1]), with the pixels of
  each image shuffled, and all showing one class only (a collapsed generator);
- N procedural digits (``data.digits``) and N images of uniform noise.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA  # noqa: E402

import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from minigen.data.digits import digits  # noqa: E402
from minigen.data.mnist import load_mnist  # noqa: E402
from minigen.metrics import generative as g  # noqa: E402
from minigen.recipes.classifier import predict  # noqa: E402
from minigen.zoo import load_network  # noqa: E402


def scores(net, images, ref_feats):
    logits, feats = predict(net, images)
    p = g.softmax(logits)
    return g.frechet_distance_of(feats, ref_feats), g.class_kl(p), g.confidence(p), g.inception_score(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--classifier", default="lenet5", help="checkpoint (default: the bundled LeNet-5)")
    ap.add_argument("--data", default=os.path.join(DATA, "mnist"))
    ap.add_argument("--n", type=int, default=2000, help="samples per row but the first (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    net, ckpt = load_network(args.classifier)
    train, test = load_mnist("train", args.data), load_mnist("test", args.data)
    rng = np.random.default_rng(args.seed)
    f = lambda u8: u8.astype(np.float32)[:, None] / 255.0  # noqa: E731
    pick = rng.choice(len(train.images), args.n, replace=False)
    base = f(train.images[pick])
    t0 = time.perf_counter()
    train_feats, test_feats = predict(net, f(train.images))[1], predict(net, f(test.images))[1]
    n = args.n
    one_class = f(train.images[train.labels == 1][:n])
    shuffled = np.stack([im.reshape(-1)[rng.permutation(784)].reshape(1, 28, 28) for im in base])
    rows = [
        ("test 10,000 vs train 60,000", f(test.images), train_feats),
        (f"train {n} vs test", base, test_feats),
        (f"test {n} vs test (a random subset of it)", f(test.images[rng.choice(len(test.images), n, False)]),
         test_feats),
        (f"test first {n} vs test (the cleaner SD-3 writers)", f(test.images[:n]), test_feats),
        (f"train {n} blurred, sigma 1", gaussian_filter(base, (0, 0, 1, 1)), test_feats),
        (f"train {n} blurred, sigma 2", gaussian_filter(base, (0, 0, 2, 2)), test_feats),
        (f"train {n} + noise, sigma 0.1", np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1), test_feats),
        (f"train {n} + noise, sigma 0.3", np.clip(base + 0.3 * rng.standard_normal(base.shape), 0, 1), test_feats),
        (f"train {n}, pixels shuffled", shuffled, test_feats),
        (f"train {n}, the digit 1 only", one_class, test_feats),
        (f"procedural digits {n}", f(digits(n, seed=args.seed)[0]), test_feats),
        (f"uniform noise {n}", rng.random((n, 1, 28, 28)).astype(np.float32), test_feats),
    ]
    acc = (predict(net, f(test.images))[0].argmax(1) == test.labels).mean()
    print(f"calibration: classifier {ckpt.path} (test accuracy {100 * acc:.2f}%), data {args.data}")
    print(f"{'set':<50} {'FLD':>9} {'class KL':>9} {'conf':>6} {'IS':>6}")
    print("-" * 84)
    for name, images, ref in rows:
        fld, kl, conf, is_ = scores(net, images, ref)
        print(f"{name:<50} {fld:9.3f} {kl:9.4f} {conf:6.3f} {is_:6.2f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
