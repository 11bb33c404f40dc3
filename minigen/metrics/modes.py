"""Mode counting on the toy 2-D mixtures, as PacGAN (Lin et al., NeurIPS 2018) reports it.

Given N generated samples x_n in the plane and the K modes m_k of the true
mixture (each of standard deviation ``std`` per axis, equally likely):

- c(n) = argmin_k |x_n - m_k| is the nearest mode of x_n;
- x_n is *high quality* when |x_n - m_c(n)| <= 3 std;
- mode k is *captured* when it is c(n) for at least one high-quality x_n;
- q_k = #{high-quality n : c(n) = k} / #{high-quality n}, and p_k = 1/K (the
  true mixture); the reverse KL is

      KL(q || p) = sum over k with q_k > 0 of q_k log(q_k / p_k) = log K + sum_k q_k log q_k,

  in nats; 0 when the high-quality samples are spread evenly over all modes,
  log(K / J) when they are spread evenly over J of them, and +inf when no
  sample is high quality (q is then undefined).

The paper's protocol draws 2,500 samples from the generator. For reference,
a sample of the true distribution is high quality with probability
P(|e| <= 3) = 1 - exp(-9/2) ~ 98.89% (e ~ N(0, I_2)), not the 99.7% of 1-D.
"""
import numpy as np

from ..data.toys import toy

CHUNK = 8192  # samples per block of the (samples x modes) distance table


def _points(a, what, fn):
    a = np.asarray(a, np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{fn}: {what} must be an (N, 2) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{fn}: {what} contain NaN or infinite values")
    return a


def nearest_modes(samples, modes):
    """For (N, 2) ``samples`` and (K, 2) ``modes``: the index of each sample's nearest mode
    (N,) int64 and the Euclidean distance to it (N,) float64."""
    index = np.empty(len(samples), np.int64)
    dist = np.empty(len(samples), np.float64)
    for a in range(0, len(samples), CHUNK):
        diff = samples[a:a + CHUNK, None, :] - modes[None, :, :]
        d = np.hypot(diff[..., 0], diff[..., 1])
        index[a:a + CHUNK] = d.argmin(axis=1)
        dist[a:a + CHUNK] = d[np.arange(len(d)), index[a:a + CHUNK]]
    return index, dist


def mode_metrics(samples, name_or_modes, std=None):
    """Modes captured, percent of high-quality samples and reverse KL of (N, 2) ``samples``.

    ``name_or_modes`` is a toy's name ("ring8", "grid25"; ``std`` then defaults
    to the toy's and may be overridden) or a (K, 2) array of mode centres, which
    needs ``std``. Returns ``{"modes": int, "high_quality": float in [0, 100],
    "reverse_kl": float}`` as defined in the module docstring.
    """
    fn = "mode_metrics"
    samples = _points(samples, "samples", fn)
    if isinstance(name_or_modes, str):
        modes, default_std = toy(name_or_modes)
        std = default_std if std is None else std
    else:
        modes = _points(name_or_modes, "modes", fn)
        if std is None:
            raise ValueError(f"{fn}: std is required when the modes are given as an array")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"{fn}: std must be a positive number, got {std!r}")
    if len(samples) == 0 or len(modes) == 0:
        raise ValueError(f"{fn}: need at least one sample and one mode, got {len(samples)} and {len(modes)}")
    index, dist = nearest_modes(samples, modes)
    good = dist <= 3 * std
    counts = np.bincount(index[good], minlength=len(modes))
    return {"modes": int((counts > 0).sum()),
            "high_quality": 100.0 * float(good.mean()),
            "reverse_kl": reverse_kl(counts)}


def reverse_kl(counts):
    """KL(q || uniform) in nats of the histogram ``counts`` over K modes (q = counts / sum);
    +inf for an empty histogram."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total == 0:
        return float("inf")
    q = counts[counts > 0] / total
    return float(np.sum(q * np.log(q * len(counts))))
