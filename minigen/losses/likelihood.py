"""Likelihood losses of latent-variable models (VAE, IWAE), composed from the engine's ops.

A VAE (Kingma & Welling 2014) has a prior p(z) = N(0, I), a decoder p(x|z)
and an encoder q(z|x) = N(μ(x), diag σ²(x)). With z = μ + σ·ε, ε ~ N(0, I)
(the reparameterisation: z is a differentiable function of μ and σ), the
evidence lower bound of one image is

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x),
    KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²)                  (analytic, per image).

Decoders: Bernoulli on logits l (binary or [0, 1] pixels x),
log p(x|z) = Σ_i x_i l_i − softplus(l_i) = −BCE(l, x); Gaussian with a fixed
variance, −log p(x|z) = ½ Σ_i (x_i − m_i)² (up to a constant; the MSE form).

IWAE (Burda, Grosse & Salakhutdinov 2016): k draws z_1..z_k of q give the
tighter bound L_k = log (1/k) Σ_i p(x, z_i)/q(z_i|x) (L_1 is the ELBO), here
with the log weights log p(x|z_i) + log p(z_i) − log q(z_i|x).

Every function returns per-image values (N,); the caller averages.
"""
import math

from .. import functional as F
from .pixel import bce_with_logits, mse_loss

LOG_2PI = math.log(2 * math.pi)


def _per_image(values):
    """Sum over every axis but the first."""
    return F.sum(values.reshape(values.shape[0], -1), axis=1)


def reparameterize(mu, logvar, eps):
    """z = μ + exp(½ log σ²) · ε, differentiable in μ and log σ² (ε drawn by the caller)."""
    return mu + F.exp(0.5 * logvar) * eps


def gaussian_kl(mu, logvar):
    """KL(N(μ, diag σ²) ‖ N(0, I)) = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), per image (N,)."""
    return -0.5 * _per_image(1 + logvar - mu * mu - F.exp(logvar))


def log_normal(z, mu, logvar):
    """log N(z; μ, diag σ²) = −½ Σ_j (log 2π + log σ_j² + (z_j − μ_j)²/σ_j²), per row (N,)."""
    d = z - mu
    return -0.5 * _per_image(LOG_2PI + logvar + d * d * F.exp(-logvar))


def log_standard_normal(z):
    """log N(z; 0, I) = −½ Σ_j (log 2π + z_j²), per row (N,)."""
    return -0.5 * _per_image(LOG_2PI + z * z)


def bernoulli_nll(logits, x):
    """−log p(x|z) of a Bernoulli decoder with logits l: Σ_i softplus(l_i) − x_i l_i, per image (N,)."""
    return _per_image(bce_with_logits(logits, x, reduction="none"))


def gaussian_nll(mean, x):
    """½ Σ_i (x_i − m_i)², per image (N,): −log p(x|z) of a unit-variance Gaussian decoder, without
    its constant ½ D log 2π."""
    return 0.5 * _per_image(mse_loss(mean, x, reduction="none"))


def iwae_bound(log_weights):
    """L_k = logsumexp_i(log w_i) − log k over axis 0 of (k, N) log weights: per image (N,)."""
    return F.logsumexp(log_weights, axis=0) - math.log(log_weights.shape[0])
