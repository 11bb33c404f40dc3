"""Networks as Modules: containers (module), layers, and weight initialisation (init)."""
from . import init  # noqa: F401
from .module import Module, ModuleList, Parameter, Sequential  # noqa: F401
from .layers import (  # noqa: F401
    AvgPool2d, BatchNorm2d, ConditionalInstanceNorm2d, Conv2d, ConvTranspose2d, Dropout, ELU, Flatten, GroupNorm,
    InstanceNorm2d, LeakyReLU, Linear, MaxPool2d, PixelShuffle, ReflectionPad2d, ReLU, Sigmoid, Softplus, Tanh,
    Upsample)
