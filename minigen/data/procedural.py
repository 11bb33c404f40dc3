"""Embedded, procedural images: generated on the fly from a seed, so every
command runs on a fresh machine with nothing downloaded.
"""
import numpy as np


def shapes(n, size=32, seed=0):
    """``n`` RGB images (n, 3, size, size) in [0, 1]: a smooth two-colour gradient
    background with 1-3 random ellipses and rectangles of flat colour on top.

    Loops run over images and shapes only; each shape is drawn as a whole-image mask.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        c0, c1 = rng.random((2, 3, 1, 1)).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        t = np.cos(angle) * xx + np.sin(angle) * yy
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        img = c0 * (1 - t) + c1 * t
        for _ in range(rng.integers(1, 4)):
            cx, cy = rng.uniform(0.15, 0.85, 2)
            rx, ry = rng.uniform(0.08, 0.3, 2)
            if rng.random() < 0.5:
                mask = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            else:
                mask = (np.abs(xx - cx) <= rx) & (np.abs(yy - cy) <= ry)
            img = np.where(mask, rng.random((3, 1, 1)).astype(np.float32), img)
        out[i] = img
    return out
