"""Normalisation layers: batch, instance, group and conditional instance norm over (N, C, H, W)
(the formulas are in each class; the ops are minigen.functional.norm). Norm layers start as the
identity affine (weight 1, bias 0)."""
import numpy as np

from .. import backend
from .. import functional as F
from .layers import _positive
from .module import Module, Parameter

def _affine(module, num_features, affine):
    module.weight = Parameter(np.ones(num_features, dtype=backend.default_dtype())) if affine else None
    module.bias = Parameter(np.zeros(num_features, dtype=backend.default_dtype())) if affine else None


class BatchNorm2d(Module):
    """Batch normalisation (Ioffe & Szegedy 2015) of x (N, C, H, W) per channel:

        y = (x - mu_B) / sqrt(var_B + eps) * weight + bias

    Training (or track_running_stats=False): batch statistics, and the running
    buffers are updated r <- (1 - momentum) r + momentum * batch statistic
    (unbiased variance). Evaluation: the running statistics.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        _positive("BatchNorm2d", num_features=num_features)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm2d: momentum must lie in [0, 1], not {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        _affine(self, num_features, affine)
        dtype = backend.default_dtype()
        self.register_buffer("running_mean", np.zeros(num_features, dtype) if track_running_stats else None)
        self.register_buffer("running_var", np.ones(num_features, dtype) if track_running_stats else None)

    def forward(self, x):
        _check_4d(x, "BatchNorm2d", self.num_features)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training or not self.track_running_stats,
                            momentum=self.momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm2d(Module):
    """Instance normalisation (Ulyanov et al. 2016): per sample and channel over H, W;
    the same in training and evaluation. Optional per-channel affine."""

    def __init__(self, num_features, eps=1e-5, affine=False):
        super().__init__()
        _positive("InstanceNorm2d", num_features=num_features)
        self.num_features, self.eps, self.affine = int(num_features), float(eps), bool(affine)
        _affine(self, num_features, affine)

    def forward(self, x):
        _check_4d(x, "InstanceNorm2d", self.num_features)
        return F.instance_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018): per sample over groups of num_channels/num_groups channels."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        super().__init__()
        _positive("GroupNorm", num_groups=num_groups, num_channels=num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} must divide num_channels={num_channels}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        _affine(self, num_channels, affine)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class ConditionalInstanceNorm2d(Module):
    """Conditional instance norm (Dumoulin et al. 2017): one (gamma, beta) row per style.

    gamma (num_styles, C) starts at 1, beta at 0. ``forward(x, styles)`` takes
    integer style indices (N,) or mixing weights (N, num_styles).
    """

    def __init__(self, num_styles, num_features, eps=1e-5):
        super().__init__()
        _positive("ConditionalInstanceNorm2d", num_styles=num_styles, num_features=num_features)
        self.num_styles, self.num_features, self.eps = int(num_styles), int(num_features), float(eps)
        self.gamma = Parameter(np.ones((num_styles, num_features), dtype=backend.default_dtype()))
        self.beta = Parameter(np.zeros((num_styles, num_features), dtype=backend.default_dtype()))

    def forward(self, x, styles):
        return F.conditional_instance_norm(x, self.gamma, self.beta, styles, self.eps)

    def extra_repr(self):
        return f"{self.num_styles}, {self.num_features}, eps={self.eps}"


def _check_4d(x, layer, c):
    if x.ndim != 4 or x.shape[1] != c:
        raise ValueError(f"{layer}: expected input (N, {c}, H, W), got shape {tuple(x.shape)}")
