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


TEXTURES = ("stripes", "checks", "waves", "dots")


def texture(kind="stripes", size=64, seed=0):
    """One stationary RGB texture (3, size, size) in [0, 1], for style and texture losses:

    stripes  two colours in bands of a random angle and period
    checks   a rotated checkerboard of two colours
    waves    interfering sinusoids mapped through a three-colour palette
    dots     a jittered grid of discs on a background
    """
    if kind not in TEXTURES:
        raise ValueError(f"texture: kind must be one of {', '.join(TEXTURES)}, not {kind!r}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    colours = rng.random((3, 3, 1, 1)).astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 14)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    v = -np.sin(angle) * xx + np.cos(angle) * yy
    if kind == "stripes":
        t = (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    elif kind == "checks":
        t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == "waves":
        t = 0.5 + 0.25 * (np.sin(2 * np.pi * u / period) + np.sin(2 * np.pi * (xx + yy * 0.5) / (1.7 * period)))
        mix = colours[0] * (1 - t) ** 2 + 2 * colours[1] * t * (1 - t) + colours[2] * t ** 2
        return np.clip(mix, 0, 1).astype(np.float32)
    else:
        cell = int(period) + 4
        jitter = rng.uniform(-2, 2, (2, size // cell + 2, size // cell + 2))
        iy, ix = (yy // cell).astype(int), (xx // cell).astype(int)
        cy, cx = (iy + 0.5) * cell + jitter[0][iy, ix], (ix + 0.5) * cell + jitter[1][iy, ix]
        t = (((yy - cy) ** 2 + (xx - cx) ** 2) <= (cell / 3) ** 2).astype(np.float32)
    return (colours[0] * (1 - t) + colours[1] * t).astype(np.float32)


def scenes(n, size=32, seed=0):
    """``n`` content images (n, 3, size, size) in [0, 1]: ``shapes`` with smooth value noise at 1/8
    and 1/4 of the size and a fine grain on top, so that every region has some detail for a
    stylisation network to work on (a conv net maps a flat region to a flat region)."""
    rng = np.random.default_rng(seed)
    out = shapes(n, size, seed=int(rng.integers(1 << 31)))
    for cells, amplitude in ((max(size // 8, 2), 0.12), (max(size // 4, 2), 0.06), (size, 0.02)):
        coarse = rng.standard_normal((n, 1, cells + 1, cells + 1)).astype(np.float32)
        pos = np.linspace(0, cells, size, dtype=np.float32)  # bilinear upsampling, separable
        i = np.minimum(pos.astype(int), cells - 1)
        f = pos - i
        rows = coarse[:, :, i] * (1 - f)[:, None] + coarse[:, :, i + 1] * f[:, None]
        out += amplitude * (rows[..., i] * (1 - f) + rows[..., i + 1] * f)
    return np.clip(out, 0, 1)
