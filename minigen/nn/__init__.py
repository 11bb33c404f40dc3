"""Networks as Modules: containers (module), layers, normalisation layers (norm), and weight
initialisation (init)."""
from . import init  # noqa: F401
from .module import Module, ModuleList, Parameter, Sequential  # noqa: F401
from .layers import (  # noqa: F401
    AvgPool2d, Conv2d, ConvTranspose2d, Dropout, ELU, Flatten, LeakyReLU, Linear, MaxPool2d, PixelShuffle,
    ReflectionPad2d, ReLU, Sigmoid, Softplus, Tanh, Unflatten, Upsample)
from .norm import BatchNorm2d, ConditionalInstanceNorm2d, GroupNorm, InstanceNorm2d  # noqa: F401
