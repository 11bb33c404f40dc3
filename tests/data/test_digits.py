"""Procedural digits: MNIST's shape and framing, seeded, and ten classes that differ."""
import numpy as np

from minigen.data.digits import digits


def test_shape_range_and_seed():
    a, la = digits(40, seed=3)
    b, lb = digits(40, seed=3)
    assert a.shape == (40, 28, 28) and a.dtype == np.uint8 and la.dtype == np.int64
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, digits(40, seed=4)[0])
    assert set(la.tolist()) <= set(range(10)) and a.max() == 255 and a.min() == 0


def test_framed_like_mnist():
    """As MNIST: the centre of mass at the image centre (within a pixel), hardly any ink in the outer
    two-pixel frame, and a mean intensity near MNIST's 0.13."""
    x, _ = digits(200, seed=0)
    f = x.astype(np.float64) / 255
    ys, xs = np.mgrid[:28, :28]
    mass = f.sum(axis=(1, 2))
    cy, cx = (f * ys).sum(axis=(1, 2)) / mass, (f * xs).sum(axis=(1, 2)) / mass
    assert np.abs(cy - 13.5).max() <= 1.0 and np.abs(cx - 13.5).max() <= 1.0
    inner = f[:, 2:-2, 2:-2].sum()
    assert (f.sum() - inner) / f.sum() < 0.01
    assert 0.06 < f.mean() < 0.25


def test_the_ten_classes_differ():
    """The class means are further apart than the spread of one class's samples around its mean."""
    x, labels = digits(500, seed=1)
    f = x.reshape(len(x), -1).astype(np.float64) / 255
    assert np.bincount(labels, minlength=10).min() >= 25
    means = np.stack([f[labels == k].mean(0) for k in range(10)])
    nearest = [np.argmin(((means - v) ** 2).sum(1)) for v in f]
    # a nearest-class-mean classifier on raw pixels already sorts most of them
    assert np.mean(np.array(nearest) == labels) > 0.8
