"""Yardsticks of generated digits, read through a classifier (the bundled LeNet-5).

Inception-network scores need ImageNet weights; on MNIST-sized work the
classifier is trained on the data itself (as in e.g. the MNIST scores of
WGAN-GP and "Are GANs Created Equal?"), and the same formulas apply to its
outputs. Everything here takes plain arrays: features (N, D), class
probabilities (N, K) or logits.

Fréchet distance (FID of Heusel et al. 2017; "FLD" on LeNet features): the
2-Wasserstein distance between Gaussians fitted to two feature sets,

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½).

Class statistics of samples x with classifier probabilities p(y|x):

    histogram     h_k = fraction of samples whose most likely class is k
    class KL      KL(h ‖ uniform) = Σ_k h_k log(K h_k)    (0: all classes equally often; log K: one class)
    confidence    mean over samples of max_k p(k|x)
    IS analogue   exp( E_x KL(p(y|x) ‖ p(y)) ),  p(y) = E_x p(y|x)   (Salimans et al. 2016; from 1 to K)
    accuracy      fraction of conditional samples classified as the class they were asked for
"""
import warnings

import numpy as np
import scipy.linalg


def softmax(logits):
    """Row-wise softmax of (N, K) logits, stable for large values."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def feature_stats(features):
    """(mean (D,), covariance (D, D)) of features (N, D), N >= 2; unbiased covariance (divides by N − 1)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"feature_stats: expected (N, D) features with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm(a):
    """scipy's matrix square root without its warning on singular input (the caller checks the result)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(a)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½), with the matrix square root by scipy.linalg.sqrtm.

    Σ₁Σ₂ is not symmetric, and rounding can give its square root a small
    imaginary part: it is dropped when below 1e-3 of the real part's size, and
    is an error otherwise. A singular product (e.g. fewer samples than
    features) that gives a non-finite root is retried with ``eps`` added to
    both diagonals."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"frechet_distance: means {mu1.shape}, {mu2.shape} and covariances {s1.shape}, "
                         f"{s2.shape} do not match")
    root = _sqrtm(s1 @ s2)
    if not np.isfinite(root).all():
        offset = eps * np.eye(len(s1))
        root = _sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(root):
        residue = np.abs(root.imag).max()
        if residue > 1e-3 * max(np.abs(root.real).max(), 1.0):
            raise ValueError(f"frechet_distance: the matrix square root has an imaginary part of {residue:.3g}")
        root = root.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


def frechet_distance_of(features1, features2):
    """The Fréchet distance between the Gaussians fitted to two feature sets (N₁, D) and (N₂, D)."""
    return frechet_distance(*feature_stats(features1), *feature_stats(features2))


def class_histogram(probs):
    """h (K,): the fraction of samples whose most likely class is k, from (N, K) probabilities."""
    probs = np.asarray(probs, np.float64)
    return np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)


def class_kl(probs):
    """KL(h ‖ uniform) = Σ_k h_k log(K h_k) of the class histogram h (nats; 0 to log K)."""
    h = class_histogram(probs)
    h = h[h > 0]
    return float(np.sum(h * np.log(h * np.asarray(probs).shape[1])))


def confidence(probs):
    """The mean over samples of the probability of the most likely class."""
    return float(np.asarray(probs, np.float64).max(axis=1).mean())


def inception_score(probs, eps=1e-12):
    """exp(E_x KL(p(y|x) ‖ p(y))) with p(y) the mean of p(y|x) over the samples (1 to K)."""
    p = np.asarray(probs, np.float64)
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def conditional_accuracy(probs, labels):
    """The fraction of samples whose most likely class is the one they were generated for."""
    labels = np.asarray(labels).reshape(-1)
    return float((np.asarray(probs).argmax(axis=1) == labels).mean())


def nearest_neighbours(samples, reference, chunk=512):
    """(index (N,), distance (N,)): each sample's nearest reference image in Euclidean pixel distance.

    samples (N, ...) and reference (M, ...) are flattened; distances are
    computed as ‖a‖² + ‖b‖² − 2 a·b in chunks of samples."""
    a = np.asarray(samples, np.float64).reshape(len(samples), -1)
    b = np.asarray(reference, np.float64).reshape(len(reference), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"nearest_neighbours: samples of {a.shape[1]} values, references of {b.shape[1]}")
    bb = np.einsum("ij,ij->i", b, b)
    index, dist = np.empty(len(a), np.int64), np.empty(len(a))
    for s in range(0, len(a), chunk):
        part = a[s:s + chunk]
        d2 = np.einsum("ij,ij->i", part, part)[:, None] + bb[None] - 2 * part @ b.T
        k = d2.argmin(axis=1)
        index[s:s + chunk], dist[s:s + chunk] = k, np.sqrt(np.maximum(d2[np.arange(len(part)), k], 0))
    return index, dist
