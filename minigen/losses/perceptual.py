"""Perceptual losses: content and feature reconstruction, style (Gram matrices) and AdaIN's
moment loss on network features; total variation, the smoothness prior of image optimisation.
"""
import numpy as np

from .. import functional as F
from ..backend import array_module, is_cupy, to_device, to_host
from ..tensor import Function, Tensor
from .pixel import _pair, _reduce, mse_loss

# ---- style: Gram matrices --------------------------------------------------------------

_GRAM_NORMS = ("johnson", "gatys", None)


class Gram(Function):
    """Gram matrix of each sample's features, with F the (C, M = H*W) feature matrix:

        G_ij = s * sum_k F_ik F_jk,   i.e.  G = s F F^T,   dF = s (g + g^T) F
    """
    def forward(self, x):
        n, c = x.shape[:2]
        self.shape = x.shape
        self.f = x.reshape(n, c, -1)
        return self.scale * (self.f @ self.f.transpose(0, 2, 1))

    def backward(self, g):
        return (self.scale * ((g + g.transpose(0, 2, 1)) @ self.f)).reshape(self.shape)


def gram_matrix(features, normalize="johnson"):
    """Per-sample Gram matrices (N, C, C) of features (N, C, H, W); N_l = C filters, M_l = H*W positions.

    normalize:
      'johnson'  G / (C H W)   (Johnson et al. 2016), so style losses compare
                 across layers and image sizes;
      'gatys'    G / (2 N_l M_l), chosen so that
                 mse_loss(gram(x), gram(a), reduction='sum')
                 = 1/(4 N_l^2 M_l^2) sum_ij (G_ij - A_ij)^2 = E_l,
                 the layer style loss of Gatys et al. (2015, eq. 4) on raw Grams;
      None       the raw G = F F^T.
    """
    if not isinstance(features, Tensor) or features.ndim != 4:
        raise ValueError(f"gram_matrix: features must be a Tensor (N, C, H, W), got "
                         f"{getattr(features, 'shape', type(features).__name__)}")
    if normalize not in _GRAM_NORMS:
        raise ValueError(f"gram_matrix: normalize must be 'johnson', 'gatys' or None, not {normalize!r}")
    c, m = features.shape[1], features.shape[2] * features.shape[3]
    scale = {"johnson": 1.0 / (c * m), "gatys": 1.0 / (2 * c * m), None: 1.0}[normalize]
    return Gram.apply(features, scale=scale)


# ---- perceptual: feature and style reconstruction -------------------------------------------

def _features(x, name):
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"{name}: features must be a Tensor (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    return x


def content_loss(input, target):
    """Content loss of Gatys et al. (2016, eq. 1) between the features F of the
    generated image and P of the content image at one layer:

        L_content = 1/2 sum_ij (F_ij - P_ij)^2,     dL/dF = F - P

    summed over everything (batch included).
    """
    input, target = _pair(_features(input, "content_loss"), target, "content_loss")
    return 0.5 * mse_loss(input, target, reduction="sum")


def feature_loss(input, target):
    """Feature reconstruction loss of Johnson et al. (2016) at one layer with
    features phi (C, H, W) per image:

        l = 1/(C H W) ||phi(y) - phi(y_hat)||_2^2    per image, averaged over the batch

    (equal to the mean of the squared differences over all N C H W elements).
    """
    input, target = _pair(_features(input, "feature_loss"), target, "feature_loss")
    return mse_loss(input, target, reduction="mean")


def style_loss(features, targets, weights=None):
    """Style (texture) loss of Gatys et al. (2015, eqs. 4-5; 2016, eqs. 4-5):

        L_style = sum_l w_l E_l,   E_l = 1/(4 N_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2

    with G^l the raw Gram matrix of the generated image's features at layer l
    (N_l filters, M_l = H W positions) and A^l that of the style image.

    features: {layer: (N, C, H, W) Tensor} or a sequence of them;
    targets: the style Grams in the same keys / order, as
        ``gram_matrix(a, 'gatys')`` (= A/(2 N_l M_l)), shape (N, C, C) or (1, C, C);
        a weighted sum of such Grams blends several styles;
    weights: w_l in the same keys / order; None gives w_l = 1/L for the L
        layers (the paper's equal weights). A w_l may also be one weight per
        image, shape (N,) (a batch whose images have different targets, each
        normalised by its own).
    With a batch, E_l is averaged over the images.
    """
    keys = list(features) if isinstance(features, dict) else range(len(features))
    if len(targets) != len(keys) or (isinstance(features, dict) and set(targets) != set(keys)):
        raise ValueError(f"style_loss: {len(keys)} feature layers but {len(targets)} targets")
    if not keys:
        raise ValueError("style_loss: no layers given")
    if weights is None:
        weights = {k: 1.0 / len(keys) for k in keys}
    elif len(weights) != len(keys):
        raise ValueError(f"style_loss: {len(keys)} feature layers but {len(weights)} weights")
    elif not isinstance(weights, dict):
        weights = dict(zip(keys, weights))
    total = None
    for k in keys:
        f = _features(features[k], "style_loss")
        g = gram_matrix(f, "gatys")
        a = targets[k]
        if not isinstance(a, Tensor):
            a = Tensor(to_device(a if is_cupy(a) else np.asarray(a), g.device).astype(g.dtype, copy=False))
        if a.shape[1:] != g.shape[1:] or a.shape[0] not in (1, g.shape[0]):
            raise ValueError(f"style_loss: target Gram of layer {k!r} has shape {a.shape}, "
                             f"features need {g.shape}")
        d = g - a  # a (1, C, C) target broadcasts over the batch
        w = weights[k]
        if np.ndim(w):  # one weight per image
            w = np.asarray(to_host(w), np.float64)
            if w.shape != (g.shape[0],):
                raise ValueError(f"style_loss: layer {k!r} has {w.size} image weights for a batch of {g.shape[0]}")
            scale = Tensor(to_device((w / g.shape[0]).astype(g.dtype), g.device))
            e = F.sum(F.sum(d * d, axis=(1, 2)) * scale)
        else:
            e = F.sum(d * d) * (float(w) / g.shape[0])
        total = e if total is None else total + e
    return total


# ---- smoothness: total variation -----------------------------------------------------------

class TotalVariation(Function):
    """Total variation of each image x (C, H, W) of the batch, with neighbour differences
    a = x[:, i+1, j] - x[:, i, j] (vertical) and b = x[:, i, j+1] - x[:, i, j] (horizontal):

        TV_beta(x) = sum |a|^beta + sum |b|^beta,   beta in {1, 2}

    d/dx: each difference d between x_p (minus) and x_q (plus) sends
    beta |d|^(beta-1) sign(d) to x_q and its negative to x_p.
    """
    def forward(self, x):
        self.shape = x.shape
        a = x[:, :, 1:, :] - x[:, :, :-1, :]
        b = x[:, :, :, 1:] - x[:, :, :, :-1]
        self.a, self.b = a, b
        if self.beta == 2:
            return (a * a).sum(axis=(1, 2, 3)) + (b * b).sum(axis=(1, 2, 3))
        xp = array_module(x)
        return xp.abs(a).sum(axis=(1, 2, 3)) + xp.abs(b).sum(axis=(1, 2, 3))

    def backward(self, g):
        xp = array_module(g)
        g = g.reshape(-1, 1, 1, 1)
        ga, gb = (2 * g * self.a, 2 * g * self.b) if self.beta == 2 else (g * xp.sign(self.a), g * xp.sign(self.b))
        dx = xp.zeros(self.shape, dtype=g.dtype)
        dx[:, :, 1:, :] += ga
        dx[:, :, :-1, :] -= ga
        dx[:, :, :, 1:] += gb
        dx[:, :, :, :-1] -= gb
        return dx


def total_variation(x, beta=2, reduction="sum"):
    """Total variation TV_beta of images x (N, C, H, W) (see TotalVariation).

    beta = 2: squared differences, the smoothness prior of Mahendran & Vedaldi
    (2015) (their isotropic TV^beta equals this for beta = 2); beta = 1: absolute
    differences (anisotropic TV, as in Johnson et al. 2016's regulariser).
    reduction over the batch: 'sum' (default), 'mean' (per image) or 'none' (N,).
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"total_variation: x must be a Tensor (N, C, H, W), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if beta not in (1, 2):
        raise ValueError(f"total_variation: beta must be 1 or 2, not {beta!r}")
    return _reduce(TotalVariation.apply(x, beta=beta), reduction, "total_variation")


def _channel_moments(x, eps=1e-5):
    """Per-sample, per-channel mean and standard deviation sqrt(var + eps) over H, W."""
    return x.mean(axis=(2, 3)), F.sqrt(x.var(axis=(2, 3)) + eps)


def moment_loss(features, style_features, weights=None):
    """AdaIN's style loss (Huang & Belongie 2017):
    sum_l w_l (||mu(phi_l) - mu(s_l)||^2 + ||sigma(phi_l) - sigma(s_l)||^2) over dicts of features, with
    the per-channel statistics of _channel_moments and the squared norms taken as means over the batch and
    channels (as the authors' code does, which is what keeps lambda = 10 balanced against the mean-squared
    content loss); weights: {layer: w_l}, None for 1 each."""
    total = None
    for k, f in features.items():
        (m, s), (ms, ss) = _channel_moments(f), _channel_moments(style_features[k])
        term = mse_loss(m, ms) + mse_loss(s, ss)
        if weights is not None:
            term = term * float(weights[k])
        total = term if total is None else total + term
    return total
