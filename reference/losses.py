"""Reference losses: the Gram matrix and total variation by explicit loops over their sums."""
import numpy as np


def gram_matrix(x, normalize="johnson"):
    """G[n, i, j] = s * sum_k F_ik F_jk with F = x[n] as a (C, H*W) matrix.

    s = 1/(C H W) ('johnson'), 1/(2 C H W) ('gatys') or 1 (None).
    """
    n, c, h, w = x.shape
    s = {"johnson": 1.0 / (c * h * w), "gatys": 1.0 / (2 * c * h * w), None: 1.0}[normalize]
    g = np.zeros((n, c, c), dtype=np.float64)
    for b in range(n):
        f = x[b].reshape(c, h * w)
        for i in range(c):
            for j in range(c):
                total = 0.0
                for k in range(h * w):
                    total += float(f[i, k]) * float(f[j, k])
                g[b, i, j] = s * total
    return g


def total_variation(x, beta=2):
    """Per image: sum over every vertical and horizontal neighbour pair of |x_q - x_p|^beta."""
    n, c, h, w = x.shape
    out = np.zeros(n, dtype=np.float64)
    for b in range(n):
        for ch in range(c):
            for i in range(h):
                for j in range(w):
                    if i + 1 < h:
                        out[b] += abs(float(x[b, ch, i + 1, j]) - float(x[b, ch, i, j])) ** beta
                    if j + 1 < w:
                        out[b] += abs(float(x[b, ch, i, j + 1]) - float(x[b, ch, i, j])) ** beta
    return out
