"""SRCNN: Dong, Loy, He & Tang, "Image Super-Resolution Using Deep Convolutional
Networks" (ECCV 2014; TPAMI 2016).

Three convolutions on the bicubic-upsampled luma Y:

    F1(Y) = max(0, W1 * Y + B1)        patch extraction, n1 filters of f1 x f1
    F2(Y) = max(0, W2 * F1(Y) + B2)    non-linear mapping, n2 filters of f2 x f2
    F(Y)  = W3 * F2(Y) + B3            reconstruction, f3 x f3

The basic network is 9-1-5 with n1 = 64, n2 = 32; the TPAMI paper's larger
one is 9-5-5. The paper uses valid convolutions (a 33x33 input gives a 21x21
output). Here every convolution is padded by f // 2 with replicated border
pixels, so the output has the input's size (a whole image in, a whole image
out) and the borders are not darkened as zero padding would.
"""
from .. import nn
from .registry import SizeRule, register

VARIANTS = {"srcnn": (9, 1, 5), "srcnn-955": (9, 5, 5)}


@register("srcnn")
class SRCNN(nn.Module):
    def __init__(self, kernels=(9, 1, 5), n1=64, n2=32, channels=1):
        super().__init__()
        f1, f2, f3 = kernels
        self.kernels, self.n1, self.n2, self.channels = tuple(int(k) for k in kernels), n1, n2, channels
        conv = lambda cin, cout, k: nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="replicate")  # noqa: E731
        self.body = nn.Sequential(conv(channels, n1, f1), nn.ReLU(), conv(n1, n2, f2), nn.ReLU(),
                                  conv(n2, channels, f3))

    def config(self):
        return {"kernels": list(self.kernels), "n1": self.n1, "n2": self.n2, "channels": self.channels}

    def size_rule(self):
        """An image at least as large as the receptive field, f1 + f2 + f3 - 2 pixels."""
        return SizeRule(sum(self.kernels) - 2, 1)

    def forward(self, x):
        return self.body(x)
