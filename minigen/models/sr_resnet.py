"""The x4 super-resolution network of Johnson, Alahi & Fei-Fei, "Perceptual
Losses for Real-Time Style Transfer and Super-Resolution" (ECCV 2016),
supplementary material:

    conv 9x9, 64, stride 1             (+ batch norm, ReLU)
    residual blocks of two 3x3 convs   (conv-BN-ReLU-conv-BN, plus the input)
    conv 3x3, 64, stride 1/2  (x2)     (fractionally strided: transposed conv, + BN, ReLU)
    conv 9x9, 3, stride 1              then a scaled tanh

The input is the low-resolution RGB image; the output is RGB at 4x the size
in [0, 1] ((tanh + 1) / 2; the paper scales tanh to [0, 255]). Convolutions
pad to keep the size; each upsampling stage is a 3x3 transposed conv with
stride 2, padding 1 and output padding 1, which exactly doubles it.
"""
from .. import nn, functional as F
from .registry import SizeRule, register


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))

    def forward(self, x):
        return x + self.body(x)


@register("perceptual-sr")
class PerceptualSRNet(nn.Module):
    def __init__(self, width=64, blocks=4, upsamplings=2):
        super().__init__()
        self.scale = 2 ** upsamplings
        self.width, self.blocks, self.upsamplings = width, blocks, upsamplings
        layers = [nn.Conv2d(3, width, 9, padding=4), nn.BatchNorm2d(width), nn.ReLU()]
        layers += [ResidualBlock(width) for _ in range(blocks)]
        for _ in range(upsamplings):
            layers += [nn.ConvTranspose2d(width, width, 3, stride=2, padding=1, output_padding=1),
                       nn.BatchNorm2d(width), nn.ReLU()]
        layers.append(nn.Conv2d(width, 3, 9, padding=4))
        self.body = nn.Sequential(*layers)

    def config(self):
        return {"width": self.width, "blocks": self.blocks, "upsamplings": self.upsamplings}

    def size_rule(self):
        """An input at least as large as the first layer's 9x9 kernel."""
        return SizeRule(9, 1)

    def forward(self, x):
        return (F.tanh(self.body(x)) + 1) * 0.5
