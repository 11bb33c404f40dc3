"""LeNet-5: LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to
Document Recognition" (Proc. IEEE 1998) — the classifier behind minigen's
generative yardsticks (Fréchet distance on its features, class statistics).

    28x28 input, padded by 2 (the paper's 32x32 field)
    C1: 6 maps 5x5 -> 28x28, ReLU, 2x2 max pool -> 14x14
    C3: 16 maps 5x5 -> 10x10, ReLU, 2x2 max pool -> 5x5
    F5: 400 -> 120, ReLU;  F6: 120 -> 84, ReLU  (the features)
    output: 84 -> 10 logits

The modern reading of the paper's network: ReLU instead of the scaled tanh,
max instead of trainable average pooling, a full C3 connection table and
softmax outputs instead of the RBF units. Inputs are images in [0, 1]; the
network standardises them with the MNIST training mean and std itself.
"""
from .. import functional as F
from .. import nn
from .registry import SizeRule, register

MEAN, STD = 0.1307, 0.3081  # of the MNIST training pixels, scaled to [0, 1]


@register("lenet")
class LeNet5(nn.Module):
    def __init__(self, classes=10, channels=1):
        super().__init__()
        self.classes, self.channels = classes, channels
        self.c1 = nn.Conv2d(channels, 6, 5, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.f5 = nn.Linear(16 * 5 * 5, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, classes)

    def config(self):
        return {"classes": self.classes, "channels": self.channels}

    def size_rule(self):
        """28 x 28 exactly (the fully connected layers fix the size): minimum 28, multiple 28."""
        return SizeRule(28, 28)

    def features(self, x):
        """The 84 penultimate activations (F6 after its ReLU) of images x (N, 1, 28, 28) in [0, 1]."""
        h = F.max_pool2d(F.relu(self.c1((x - MEAN) / STD)), 2)
        h = F.max_pool2d(F.relu(self.c3(h)), 2)
        h = F.relu(self.f5(h.reshape(h.shape[0], -1)))
        return F.relu(self.f6(h))

    def forward(self, x):
        """Class logits (N, classes)."""
        return self.out(self.features(x))
