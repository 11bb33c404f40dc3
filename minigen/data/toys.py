"""Toy 2-D distributions for measuring mode collapse, with the settings of PacGAN.

PacGAN (Lin, Khetan, Fanti and Oh, "PacGAN: The power of two samples in
generative adversarial networks", NeurIPS 2018), following the protocol of
VEEGAN (Srivastava et al., NeurIPS 2017), trains GANs on two mixtures of
isotropic Gaussians in the plane, every mode drawn with probability 1/K:

- ``ring8``: K = 8 modes at (cos 2 pi k / 8, sin 2 pi k / 8), k = 0..7, on the
  unit circle; std 0.01 on each axis (variance 1e-4);
- ``grid25``: K = 25 modes at {-4, -2, 0, 2, 4}^2; std 0.05 (variance 0.0025).

A sample is x = m_c + std * e with c uniform on {0..K-1} and e ~ N(0, I_2).
``minigen.metrics.modes`` counts how many of these modes a generator captures.
"""
from collections import namedtuple

import numpy as np

Toy = namedtuple("Toy", ["modes", "std"])
Toy.__doc__ = "A mixture of equally likely isotropic Gaussians: ``modes`` (K, 2) float64 means, one ``std``."


def _ring(k, radius=1.0):
    angle = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def _grid(values):
    xx, yy = np.meshgrid(values, values, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float64)


TOYS = {
    "ring8": Toy(_ring(8), 0.01),
    "grid25": Toy(_grid([-4.0, -2.0, 0.0, 2.0, 4.0]), 0.05),
}


def toy(name):
    """The ``Toy`` called ``name``; ValueError naming the known toys otherwise."""
    if name not in TOYS:
        raise ValueError(f"unknown toy distribution {name!r}; known: {', '.join(TOYS)}")
    return TOYS[name]


def toy_modes(name):
    """The (K, 2) float64 mode centres of toy ``name`` (a copy)."""
    return toy(name).modes.copy()


def sample_toy(name, n, rng):
    """``n`` samples (n, 2) float64 of toy ``name``, drawn with the numpy Generator ``rng``:
    a mode chosen uniformly for each sample, plus isotropic Gaussian noise of the toy's std."""
    modes, std = toy(name)
    which = rng.integers(0, len(modes), size=n)
    return modes[which] + std * rng.standard_normal((n, 2))
