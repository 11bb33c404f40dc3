"""Image quality metrics."""
import numpy as np


def psnr(x, ref, data_range=1.0):
    """Peak signal-to-noise ratio 10 log10(R^2 / MSE) in dB over all values (inf when equal)."""
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"psnr: shapes differ {x.shape} vs {ref.shape}")
    mse = float(np.mean((x - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(data_range ** 2 / mse)
