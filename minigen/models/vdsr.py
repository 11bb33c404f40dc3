"""VDSR: Kim, Lee & Lee, "Accurate Image Super-Resolution Using Very Deep
Convolutional Networks" (CVPR 2016).

d = 20 layers of 3x3 convolutions (64 filters, zero padding that keeps the
size, ReLU after all but the last) predict the residual r = y - x between
the high-resolution luma y and its bicubic upsampling x, so the output is
x + f(x) (the paper's residual learning). One network serves several scales
(trained on a mix of x2, x3 and x4 pairs). Weights follow He et al. (2015),
as in the paper. The adjustable gradient clipping of training (each
gradient clipped to [-theta/lr, theta/lr]) is in recipes/sr.py.
"""
from .. import nn
from .registry import SizeRule, register


@register("vdsr")
class VDSR(nn.Module):
    def __init__(self, depth=20, width=64, channels=1):
        super().__init__()
        if depth < 2:
            raise ValueError(f"VDSR: depth must be at least 2, not {depth}")
        self.depth, self.width, self.channels = depth, width, channels
        layers = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        for m in layers:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.body = nn.Sequential(*layers)

    def config(self):
        return {"depth": self.depth, "width": self.width, "channels": self.channels}

    def size_rule(self):
        """An image at least as large as the receptive field, 2 depth + 1 pixels."""
        return SizeRule(2 * self.depth + 1, 1)

    def forward(self, x):
        return x + self.body(x)
