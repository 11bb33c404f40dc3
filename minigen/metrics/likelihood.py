"""Likelihood yardsticks: bits per dimension and the importance-weighted estimate of log p(x).

A latent-variable model p(x) = int p(x, z) dz has no closed-form likelihood.
With k samples z_1..z_k drawn from a proposal q(z | x) (a VAE's encoder), the
importance-weighted estimate of Burda, Grosse and Salakhutdinov ("Importance
Weighted Autoencoders", ICLR 2016) is

    L_k(x) = log (1/k) sum_i w_i,   w_i = p(x, z_i) / q(z_i | x).

Its expectation is a lower bound on log p(x) (Jensen), rising with k
(E L_1 <= E L_k <= E L_{k+1} <= log p(x)) and reaching it as k -> inf; k = 1 is
the ELBO. When q is the exact posterior p(z | x), every w_i equals p(x), so
L_k = log p(x) for every k and every draw. Everything is computed from log
weights with a stable log-mean-exp. Papers report the negative log-likelihood
in nats per image, or in bits per dimension: NLL / (D ln 2) for D = C H W.
"""
import numpy as np
from scipy.special import logsumexp


def bits_per_dim(nll_nats, dims):
    """Negative log-likelihood in nats (per image; array or scalar) -> bits per dimension,
    nll / (dims ln 2), ``dims`` the number of values in one image (C * H * W)."""
    if dims <= 0:
        raise ValueError(f"bits_per_dim: dims must be positive, got {dims!r}")
    return np.asarray(nll_nats, np.float64) / (dims * np.log(2.0))


def log_mean_exp(a, axis=0):
    """log mean(exp(a)) along ``axis``, as m + log mean(exp(a - m)) with m the maximum,
    so no exp overflows (a = 1000 gives 1000) and -inf entries count as zeros."""
    a = np.asarray(a, np.float64)
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


def importance_weighted_log_likelihood(log_joint, log_q):
    """The estimate L_k = log (1/k) sum_i exp(log p(x, z_i) - log q(z_i | x)).

    ``log_joint`` and ``log_q`` have one shape (k, ...): row i holds log p(x, z_i)
    and log q(z_i | x) for the i-th draw z_i ~ q(z | x) of each image. Returns
    the estimate of log p(x) for each image, of shape (...).
    """
    log_joint, log_q = np.asarray(log_joint, np.float64), np.asarray(log_q, np.float64)
    if log_joint.shape != log_q.shape or log_joint.ndim == 0 or len(log_joint) == 0:
        raise ValueError("importance_weighted_log_likelihood: expected two arrays of one shape (k, ...) "
                         f"with k >= 1, got {log_joint.shape} and {log_q.shape}")
    return log_mean_exp(log_joint - log_q, axis=0)


def iwae_log_likelihood(x, sample_q, log_joint, log_q, k, rng):
    """L_k for a batch ``x`` of N images, from three functions of the model:

    ``sample_q(x, k, rng)`` -> z, k draws from q(z | x) for each image, shape (k, N, ...);
    ``log_joint(x, z)`` -> log p(x, z) and ``log_q(x, z)`` -> log q(z | x), each (k, N).
    Returns the (N,) estimates of log p(x) in nats.
    """
    z = sample_q(x, k, rng)
    return importance_weighted_log_likelihood(log_joint(x, z), log_q(x, z))
