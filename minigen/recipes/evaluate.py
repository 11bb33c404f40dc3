"""Scoring samples: digits through the LeNet-5 classifier, 2-D points against a toy distribution.

``read_samples`` takes what a user has — a ``.npy`` array, a folder of PNGs or
a generator checkpoint — and returns checked float arrays. ``score_digits``
gives the Fréchet distance on LeNet features (FLD) against reference digits,
the class statistics and, for conditional samples, the accuracy of the asked
class (``metrics.generative``); ``score_toy`` the mode counts
(``metrics.modes``).
"""
import os

import numpy as np

from ..errors import MinigenError
from ..metrics import generative as gen
from .classifier import predict

KEYS = ("fld", "class_kl", "confidence", "inception_score", "accuracy", "modes", "high_quality", "reverse_kl")


def _check_values(x, where):
    if x.size == 0 or len(x) == 0:
        raise MinigenError(f"{where}: holds no samples")
    if not np.isfinite(x).all():
        raise MinigenError(f"{where}: holds NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise MinigenError(f"{where}: values must lie in [0, 1], found {lo:.4g} to {hi:.4g}")


def as_digits(x, where):
    """(N, 1, 28, 28) float32 from (N, 28, 28) or (N, 1, 28, 28) values in [0, 1]; one-line errors."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise MinigenError(f"{where}: expected digits of shape (N, 28, 28) or (N, 1, 28, 28), found "
                           f"{tuple(x.shape)}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise MinigenError(f"{where}: expected real numbers, found {x.dtype}")
    x = x.astype(np.float32)
    _check_values(x, where)
    return x


def as_points(x, where):
    """(N, 2) float64 points; one-line errors."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2 or not np.issubdtype(x.dtype, np.number):
        raise MinigenError(f"{where}: expected 2-D points of shape (N, 2), found {tuple(x.shape)}")
    x = x.astype(np.float64)
    if len(x) == 0:
        raise MinigenError(f"{where}: holds no samples")
    if not np.isfinite(x).all():
        raise MinigenError(f"{where}: holds NaN or infinite values")
    return x


def _read_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise MinigenError(f"{path}: not a readable .npy array ({str(e).splitlines()[0]})") from None


def _read_folder(path):
    from ..data.files import list_images
    from ..data.images import load_image
    images = [load_image(f, mode="L") for f in list_images(path)]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise MinigenError(f"{path}: the images differ in size ({', '.join(sorted(map(str, shapes)))})")
    return np.stack(images)


def _draw(path, n, seed, device):
    """(n samples, their labels or None) drawn from the generator in the checkpoint ``path``; a conditional
    generator draws every class in turn, and its labels give the accuracy of the asked class."""
    from ..tensor import no_grad
    from .sample import load_generator
    _, net = load_generator(path, device)
    rng = np.random.default_rng(seed)
    labels = net.sample_labels(n) if getattr(net, "classes", 0) else None
    with no_grad():
        images = net.sample(n, 28, 28, rng, device) if labels is None else \
            net.sample(n, 28, 28, rng, device, labels=labels)
    return np.asarray(images), labels


def toy_of(path):
    """The toy mixture a generator checkpoint at ``path`` was trained on (its settings' "data"), else None."""
    from ..data.toys import TOYS
    if not (os.path.isfile(path) and os.path.splitext(path)[1].lower() in (".npz", ".safetensors")):
        return None
    from ..io import checkpoint
    data = checkpoint.load(path).settings.get("data")
    return data if isinstance(data, str) and data in TOYS else None


def read_samples(path, n=2000, seed=0, device="cpu"):
    """(raw sample array, labels or None) of ``path``: a .npy file, a folder of images, or a generator
    checkpoint (then ``n`` samples are drawn with ``seed``, with their labels for a conditional one)."""
    if not os.path.exists(path):
        raise MinigenError(f"{path}: no such file or folder")
    if os.path.isdir(path):
        return _read_folder(path), None
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        return _read_npy(path), None
    if ext in (".npz", ".safetensors"):
        return _draw(path, n, seed, device)
    raise MinigenError(f"{path}: expected a .npy array, a folder of images or a checkpoint (.npz, .safetensors)")


def reference_features(classifier, images, device="cpu"):
    """LeNet features (N, 84) of uint8 reference digits (N, 28, 28)."""
    return predict(classifier, np.asarray(images, np.float32)[:, None] / 255.0, device=device)[1]


def score_digits(samples, classifier, reference, labels=None, device="cpu"):
    """{fld, class_kl, confidence, inception_score[, accuracy]} of (N, 1, 28, 28) samples in [0, 1].

    reference: LeNet features of the reference digits (``reference_features``);
    labels: the class each sample was generated for (conditional models)."""
    if len(samples) < 2:
        raise MinigenError("the Fréchet distance needs at least 2 samples")
    logits, feats = predict(classifier, samples, device=device)
    probs = gen.softmax(logits)
    scores = {"fld": gen.frechet_distance_of(feats, reference), "class_kl": gen.class_kl(probs),
              "confidence": gen.confidence(probs), "inception_score": gen.inception_score(probs)}
    if labels is not None:
        scores["accuracy"] = gen.conditional_accuracy(probs, labels)
    return scores


def score_toy(points, toy):
    """{modes, high_quality, reverse_kl} of (N, 2) points against the toy distribution ``toy``."""
    from ..metrics.modes import mode_metrics
    return mode_metrics(points, toy)


def neighbour_pairs(samples, train_images, count=32):
    """(count, 1, 28, 28 * 2 + 2) images: each of the first ``count`` samples (left) beside its nearest
    training image in pixel distance (right; the overfitting test), a two-pixel grey rule between."""
    picked = samples[:count]
    index, _ = gen.nearest_neighbours(picked, np.asarray(train_images, np.float32) / 255.0)
    near = np.asarray(train_images[index], np.float32)[:, None] / 255.0
    rule = np.full((len(picked), 1, 28, 2), 0.5, np.float32)
    return np.concatenate([picked, rule, near], axis=3)
