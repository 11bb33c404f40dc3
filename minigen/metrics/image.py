"""Image quality metrics, with the conventions of the SR literature.

SR tables (SRCNN, VDSR and most later papers) report PSNR and SSIM on the
luma channel Y of BT.601 YCbCr on the 0-255 scale, after removing a border
of ``scale`` pixels, against a ground truth mod-cropped to a multiple of the
scale. ``psnr_y``, ``ssim`` and ``mod_crop`` implement exactly that.
"""
import numpy as np
from scipy.ndimage import correlate1d

from ..data.images import mod_crop, to_y  # noqa: F401  (part of the SR protocol; they live with the colour code)


def psnr(x, ref, data_range=1.0):
    """Peak signal-to-noise ratio 10 log10(R^2 / MSE) in dB over all values (inf when equal)."""
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"psnr: shapes differ {x.shape} vs {ref.shape}")
    mse = float(np.mean((x - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(data_range ** 2 / mse)


def shave(img, border):
    """Remove ``border`` pixels on every side."""
    return img[border:img.shape[0] - border, border:img.shape[1] - border] if border else img


def psnr_y(sr, hr, shave_border=0):
    """PSNR (peak 255) on the Y channel, a border of ``shave_border`` (= the scale) pixels removed.

    ``sr`` and ``hr``: HWC RGB in [0, 1], or HW luma in [0, 1].
    """
    a, b = to_y(sr), to_y(hr)
    if a.shape != b.shape:
        raise ValueError(f"psnr_y: shapes differ {a.shape} vs {b.shape}")
    return psnr(shave(a, shave_border), shave(b, shave_border), data_range=255.0)


def _gaussian_window(size=11, sigma=1.5):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def ssim(a, b, data_range=255.0, k1=0.01, k2=0.03, win_size=11, sigma=1.5):
    """Mean structural similarity of two grey images (Wang et al. 2004, IEEE TIP 13(4)):

        SSIM = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2)),
        C1 = (k1 L)^2, C2 = (k2 L)^2,

    local statistics under an 11x11 Gaussian window (sigma 1.5, normalised),
    kept only where the window lies fully inside the image ('valid'), and the
    map averaged — the conventions of the authors' reference implementation,
    without its optional downsampling. Inputs on the ``data_range`` scale
    (255 for Y from ``to_y``).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim: expected two grey images of one shape, got {a.shape} and {b.shape}")
    if min(a.shape) < win_size:
        raise ValueError(f"ssim: images of {a.shape} are smaller than the {win_size}x{win_size} window")
    g = _gaussian_window(win_size, sigma)
    r = win_size // 2

    def blur(x):  # separable Gaussian, then the valid region
        y = correlate1d(correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
        return y[r:x.shape[0] - r, r:x.shape[1] - r]

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(m.mean())


def ssim_y(sr, hr, shave_border=0):
    """SSIM on Y (0-255) with a border of ``shave_border`` pixels removed, as SR papers report it."""
    a, b = to_y(sr), to_y(hr)
    if a.shape != b.shape:
        raise ValueError(f"ssim_y: shapes differ {a.shape} vs {b.shape}")
    return ssim(shave(a, shave_border), shave(b, shave_border))
