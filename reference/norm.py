"""Normalisation straight from the formulas, with explicit loops, in float64.

A normalisation is fixed by which values share statistics, given as a group
key of each element index i = (n, c, ...):

    batch norm      key(i) = c
    instance norm   key(i) = (n, c)
    group norm      key(i) = (n, c // (C / G))

Over the m values of a group:

    mu = (1/m) sum_i x_i,   var = (1/m) sum_i (x_i - mu)^2,   sigma = sqrt(var + eps)
    xhat_i = (x_i - mu) / sigma,   y_i = gamma_c xhat_i + beta_c

The backward sums the Jacobian explicitly. From d mu / dx_i = 1/m and
d sigma / dx_i = (x_i - mu) / (m sigma):

    d xhat_j / d x_i = (delta_ij - 1/m - xhat_i xhat_j / m) / sigma
    dx_i = sum_j g_j gamma_c(j) d xhat_j / d x_i
    dgamma_c = sum_{i in channel c} g_i xhat_i,   dbeta_c = sum_{i in channel c} g_i
"""
import math

import numpy as np


def _groups(shape, key):
    """Element indices grouped by key, in a stable order."""
    groups = {}
    for i in np.ndindex(*shape):
        groups.setdefault(key(i), []).append(i)
    return list(groups.values())


def _stats(values):
    """Biased mean and variance of a list of numbers."""
    m = len(values)
    mu = math.fsum(values) / m
    return mu, math.fsum((v - mu) ** 2 for v in values) / m


def _ones_if_none(v, c, fill):
    return np.full(c, fill) if v is None else np.asarray(v, dtype=np.float64)


def _normalise(x, key, weight, bias, eps):
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[1]
    gamma, beta = _ones_if_none(weight, c, 1.0), _ones_if_none(bias, c, 0.0)
    y = np.empty(x.shape)
    for members in _groups(x.shape, key):
        mu, var = _stats([x[i] for i in members])
        for i in members:
            y[i] = gamma[i[1]] * (x[i] - mu) / math.sqrt(var + eps) + beta[i[1]]
    return y


def _normalise_backward(x, g, key, weight, eps):
    x, g = np.asarray(x, dtype=np.float64), np.asarray(g, dtype=np.float64)
    c = x.shape[1]
    gamma = _ones_if_none(weight, c, 1.0)
    dx, dgamma, dbeta = np.empty(x.shape), np.zeros(c), np.zeros(c)
    for members in _groups(x.shape, key):
        m = len(members)
        mu, var = _stats([x[i] for i in members])
        sigma = math.sqrt(var + eps)
        xhat = {i: (x[i] - mu) / sigma for i in members}
        for i in members:
            dx[i] = sum(g[j] * gamma[j[1]] * ((i == j) - 1 / m - xhat[i] * xhat[j] / m) for j in members) / sigma
            dgamma[i[1]] += g[i] * xhat[i]
            dbeta[i[1]] += g[i]
    return dx, dgamma, dbeta


def _channel(i):
    return i[1]


def _sample_channel(i):
    return i[:2]


def _sample_group(num_groups, c):
    size = c // num_groups
    return lambda i: (i[0], i[1] // size)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch norm of x (N, C, ...); returns (y, new running_mean, new running_var) (None where not given).

    Training: batch statistics per channel, and r' = (1 - momentum) r + momentum s
    with s the batch mean, or the unbiased batch variance (sum of squared
    deviations / (m - 1)). Eval: the running statistics, unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[1]
    if not training:
        gamma, beta = _ones_if_none(weight, c, 1.0), _ones_if_none(bias, c, 0.0)
        y = np.empty(x.shape)
        for i in np.ndindex(*x.shape):
            y[i] = gamma[i[1]] * (x[i] - running_mean[i[1]]) / math.sqrt(running_var[i[1]] + eps) + beta[i[1]]
        return y, running_mean, running_var
    new_mean = None if running_mean is None else np.array(running_mean, dtype=np.float64)
    new_var = None if running_var is None else np.array(running_var, dtype=np.float64)
    for members in _groups(x.shape, _channel):
        ch, m = members[0][1], len(members)
        mu, var = _stats([x[i] for i in members])
        if new_mean is not None:
            new_mean[ch] = (1 - momentum) * new_mean[ch] + momentum * mu
        if new_var is not None:
            new_var[ch] = (1 - momentum) * new_var[ch] + momentum * var * m / (m - 1)
    return _normalise(x, _channel, weight, bias, eps), new_mean, new_var


def batch_norm_backward(x, g, running_mean, running_var, weight=None, training=False, eps=1e-5):
    """(dx, dweight, dbias) of batch norm for the output gradient g.

    Eval: the running statistics are constants, xhat_i = (x_i - r_mean_c) / sqrt(r_var_c + eps)
    and dx_i = g_i gamma_c / sqrt(r_var_c + eps).
    """
    if training:
        return _normalise_backward(x, g, _channel, weight, eps)
    x, g = np.asarray(x, dtype=np.float64), np.asarray(g, dtype=np.float64)
    c = x.shape[1]
    gamma = _ones_if_none(weight, c, 1.0)
    dx, dgamma, dbeta = np.empty(x.shape), np.zeros(c), np.zeros(c)
    for i in np.ndindex(*x.shape):
        sigma = math.sqrt(running_var[i[1]] + eps)
        dx[i] = g[i] * gamma[i[1]] / sigma
        dgamma[i[1]] += g[i] * (x[i] - running_mean[i[1]]) / sigma
        dbeta[i[1]] += g[i]
    return dx, dgamma, dbeta


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Instance norm of x (N, C, ...): statistics per (n, c) over the spatial axes."""
    return _normalise(x, _sample_channel, weight, bias, eps)


def instance_norm_backward(x, g, weight=None, eps=1e-5):
    """(dx, dweight, dbias) of instance norm for the output gradient g."""
    return _normalise_backward(x, g, _sample_channel, weight, eps)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Group norm of x (N, C, ...): statistics per sample over C / num_groups channels and the spatial axes."""
    return _normalise(x, _sample_group(num_groups, np.shape(x)[1]), weight, bias, eps)


def group_norm_backward(x, g, num_groups, weight=None, eps=1e-5):
    """(dx, dweight, dbias) of group norm for the output gradient g."""
    return _normalise_backward(x, g, _sample_group(num_groups, np.shape(x)[1]), weight, eps)


def _plane_stats(a, n, c, eps):
    """Mean and sigma = sqrt(biased variance + eps) of the spatial plane a[n, c]."""
    mu, var = _stats([a[n, c][p] for p in np.ndindex(*a.shape[2:])])
    return mu, math.sqrt(var + eps)


def adain(content, style, eps=1e-5):
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y), per sample and channel;
    sigma = sqrt(biased variance + eps); a style batch of 1 serves every content sample."""
    x, s = np.asarray(content, dtype=np.float64), np.asarray(style, dtype=np.float64)
    y = np.empty(x.shape)
    for i in np.ndindex(*x.shape):
        n, c = i[:2]
        mu_x, sigma_x = _plane_stats(x, n, c, eps)
        mu_s, sigma_s = _plane_stats(s, n if s.shape[0] > 1 else 0, c, eps)
        y[i] = sigma_s * (x[i] - mu_x) / sigma_x + mu_s
    return y


def conditional_instance_norm(x, gamma, beta, styles, eps=1e-5):
    """y_n = gamma_n IN(x_n) + beta_n with gamma_n = sum_s w_ns gamma_s (w one-hot for integer indices)."""
    x = np.asarray(x, dtype=np.float64)
    gamma, beta, styles = (np.asarray(a) for a in (gamma, beta, styles))
    n_styles = gamma.shape[0]
    if styles.dtype.kind in "iu":
        styles = np.array([[float(k == s) for s in range(n_styles)] for k in styles])
    y = np.empty(x.shape)
    for i in np.ndindex(*x.shape):
        n, c = i[:2]
        mu, sigma = _plane_stats(x, n, c, eps)
        g = sum(styles[n, s] * gamma[s, c] for s in range(n_styles))
        b = sum(styles[n, s] * beta[s, c] for s in range(n_styles))
        y[i] = g * (x[i] - mu) / sigma + b
    return y
