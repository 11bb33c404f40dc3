"""VGG-16 and VGG-19, the feature network of perceptual, content, style and texture losses.

Simonyan & Zisserman (2015), "Very deep convolutional networks for large-scale
image recognition", configurations D (16 weight layers) and E (19): five
blocks of 3x3 convolutions (stride 1, padding 1) each followed by a ReLU,
a 2x2 stride-2 pooling after every block, widths 64, 128, 256, 512, 512.
Only the convolutional part is built; layers are named ``conv<b>_<i>``,
``relu<b>_<i>`` and ``pool<b>`` as in the style-transfer papers (Gatys et al.
2016 read relu1_1 ... relu5_1 and conv4_2; Johnson et al. 2016 relu2_2).
Gatys et al. replace max pooling by average pooling (``pooling="avg"``).

An RGB image x in [0, 1] enters through a fixed per-channel affine map, the
convention the weights were trained with:

    torchvision:  (x_c - mean_c) / std_c,  mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)
    caffe:        255 x_{BGR} - (103.939, 116.779, 123.68)   (BGR order, 0-255 scale)

Both are a 1x1 convolution (``input_transform``); the caffe one is exactly
the first layer of the "vgg_normalised" files of the AdaIN/WCT models.

Weights come from a file (``load_vgg``; by default the ImageNet VGG-19 bundled in minigen/zoo)
or are seeded random (``--vgg random``): He-normal (He et al. 2015) with zero biases, each layer then rescaled
so that its ReLU output has RMS 1 on two fixed images (a ReLU network
without bias is positively homogeneous, so dividing a layer's weights by r
divides its output, and every later one, by r). Random VGG features are
known to carry usable texture statistics (Ustyuzhaninov et al. 2017, "What
does it take to generate natural textures?").
"""
import contextlib
import math
import sys

import numpy as np

from .. import backend, io, nn
from .. import functional as F
from ..errors import MinigenError
from ..tensor import Tensor, no_grad
from .registry import SizeRule, register

_BLOCKS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}  # convolutions per block
WIDTHS = (64, 128, 256, 512, 512)  # channels of each block


def _layer_names(depth):
    names = []
    for block, n in enumerate(_BLOCKS[depth], 1):
        for i in range(1, n + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


LAYERS = {depth: _layer_names(depth) for depth in _BLOCKS}

CONVENTIONS = ("torchvision", "caffe")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def input_transform(convention):
    """The input map of a convention as a 1x1 conv: (weight (3, 3, 1, 1), bias (3,)), float64."""
    if convention == "torchvision":
        weight = np.diag(1.0 / np.array(IMAGENET_STD))
        bias = -np.array(IMAGENET_MEAN) / np.array(IMAGENET_STD)
    elif convention == "caffe":
        weight = 255.0 * np.eye(3)[::-1]  # output channel 0 (B) reads input channel 2 (B of RGB)
        bias = -np.array(CAFFE_MEAN_BGR)
    else:
        raise MinigenError(f"VGG: unknown input convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    return weight.reshape(3, 3, 1, 1).copy(), bias


def _width(conv):
    return WIDTHS[int(conv[4]) - 1]


@contextlib.contextmanager
def _shared_rng_untouched():
    # nn.Conv2d draws its default initialisation from the shared generator; VGG's weights
    # are overwritten anyway, so building one must not shift anybody else's random stream.
    state = backend.rng().bit_generator.state
    try:
        yield
    finally:
        backend.rng().bit_generator.state = state


@register("vgg")
class VGG(nn.Module):
    """The convolutional part of VGG-16/19 with named layers (see the module docstring).

    depth: 16 or 19. pooling: "max" or "avg". convention: how an RGB image in
    [0, 1] is fed ("torchvision" or "caffe"). last: the deepest layer the
    weights reach (None: all); requesting a deeper one is an error. seed: the
    seeded random initialisation (None leaves the weights for a later
    ``load_state_dict``). Parameters are named ``conv1_1.weight``, ... .
    """

    def __init__(self, depth=19, pooling="max", convention="torchvision", last=None, seed=0):
        super().__init__()
        if depth not in LAYERS:
            raise MinigenError(f"VGG: depth must be 16 or 19, not {depth!r}")
        if pooling not in ("max", "avg"):
            raise MinigenError(f"VGG: pooling must be 'max' or 'avg', not {pooling!r}")
        input_transform(convention)  # validates the name
        names = LAYERS[depth]
        if last is not None and last not in names:
            raise MinigenError(f"VGG: last={last!r} is not a VGG-{depth} layer; valid: {', '.join(names)}")
        self.depth, self.pooling, self.convention, self.last = depth, pooling, convention, last
        self.names = names[:names.index(last) + 1] if last else names  # the layers this network can compute
        channels = 3
        with _shared_rng_untouched():
            for name in self.names:
                if name.startswith("conv"):
                    setattr(self, name, nn.Conv2d(channels, _width(name), 3, padding=1))
                    channels = _width(name)
        self.eval()
        if seed is not None:
            self.randomize(seed)

    def config(self):
        """What a weight file must record to rebuild this network (see ``save_vgg``)."""
        return {"depth": self.depth, "convention": self.convention, "last": self.last}

    def size_rule(self):
        """Any side of at least one pixel; a forward checks that the deepest layer asked for keeps one."""
        return SizeRule(1, 1)

    def convs(self):
        return [(name, getattr(self, name)) for name in self.names if name.startswith("conv")]

    # ---- forward -------------------------------------------------------------
    def preprocess(self, x):
        """The convention's input map (a 1x1 conv) applied to an RGB image in [0, 1]."""
        xp = backend.array_module(x.data)
        weight, bias = input_transform(self.convention)
        return F.conv2d(x, Tensor(xp.asarray(weight, x.dtype)), Tensor(xp.asarray(bias, x.dtype)))

    def _requested(self, layers):
        names = [layers] if isinstance(layers, str) else list(dict.fromkeys(layers))
        if not names:
            raise MinigenError("VGG: no layer requested")
        every = LAYERS[self.depth]
        for name in names:
            if name not in every:
                raise MinigenError(f"VGG-{self.depth}: unknown layer {name!r}; valid: {', '.join(every)}")
            if name not in self.names:
                raise MinigenError(f"VGG: layer {name!r} is deeper than these weights go (they end at "
                                   f"{self.last}); request {self.last} or shallower, or give a fuller weight file")
        return names

    def _check_input(self, x, deepest):
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3:
            shape = x.shape if hasattr(x, "shape") else type(x).__name__
            raise MinigenError(f"VGG: input must be an (N, 3, H, W) RGB tensor, got {shape}")
        pools = sum(n.startswith("pool") for n in self.names[:self.names.index(deepest) + 1])
        if min(x.shape[2:]) < 2 ** pools:
            raise MinigenError(f"VGG: a {x.shape[2]}x{x.shape[3]} input is too small for {deepest}: "
                               f"it needs at least {2 ** pools} pixels per side")

    def _pool(self, h):
        return (F.max_pool2d if self.pooling == "max" else F.avg_pool2d)(h, 2, 2)

    def forward(self, x, layers):
        """{name: activation} for exactly the requested layer names, computing no deeper than
        the deepest of them. x: (N, 3, H, W) RGB in [0, 1]; it is cast to the weights' dtype."""
        names = self._requested(layers)
        deepest = max(names, key=self.names.index)
        self._check_input(x, deepest)
        dtype = self.conv1_1.weight.dtype
        h = self.preprocess(x.to(dtype=dtype) if x.dtype != dtype else x)
        wanted, out = set(names), {}
        for name in self.names[:self.names.index(deepest) + 1]:
            if name.startswith("conv"):
                h = getattr(self, name)(h)
            elif name.startswith("relu"):
                # the convolution's output is dropped unless it was asked for: rectify it in place
                h = F.relu(h, inplace="conv" + name[4:] not in wanted)
            else:
                h = self._pool(h)
            if name in wanted:
                out[name] = h
        return {name: out[name] for name in names}

    # ---- random weights ----------------------------------------------------------
    def randomize(self, seed=0, size=64):
        """Seeded He-normal weights, zero biases, each layer rescaled to unit ReLU RMS on two fixed
        ``size`` x ``size`` images (``_calibration_images``; see the module docstring). Returns self."""
        rng = np.random.default_rng(seed)
        for _, conv in self.convs():
            fan_in = conv.weight.shape[1] * 9
            w = rng.standard_normal(conv.weight.shape, dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
            conv.weight.data = backend.to_device(w.astype(conv.weight.dtype, copy=False), conv.weight.device)
            conv.bias.data = conv.bias.data * 0
        with no_grad():
            h = self.preprocess(Tensor(backend.to_device(_calibration_images(size), self.conv1_1.weight.device)))
            h = h.to(dtype=self.conv1_1.weight.dtype)
            for name in self.names:
                if name.startswith("conv"):
                    conv = getattr(self, name)
                    h = F.relu(conv(h))
                    rms = float(backend.to_device((h.data.astype(np.float64) ** 2).mean(), "cpu")) ** 0.5
                    if rms > 0:
                        conv.weight.data = conv.weight.data / conv.weight.data.dtype.type(rms)
                        h = h * (1.0 / rms)
                elif name.startswith("pool"):
                    if min(h.shape[2:]) < 2:
                        break  # the calibration image is used up; deeper layers keep plain He scaling
                    h = self._pool(h)
        return self


def _calibration_images(size):
    """Two fixed images spanning smooth and busy content: procedural shapes (flat regions,
    edges) and uniform noise, so that neither kind of input reaches deep layers far from RMS 1."""
    from ..data.procedural import shapes
    noise = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    return np.concatenate([shapes(1, size, seed=0), noise])


# ---- weight files -------------------------------------------------------------------

_random_weights_announced = False  # each stderr line of load_vgg is printed once per process
_bundled_announced = False


def _announce(source, depth, seed):
    global _random_weights_announced, _bundled_announced
    if source == "random" and not _random_weights_announced:
        print(f"minigen: feature network: random VGG-{depth} weights (seed {seed}), as asked; for ImageNet "
              "features leave out --vgg random (the bundled VGG-19), or pass --vgg PATH or set MINIGEN_VGG",
              file=sys.stderr)
        _random_weights_announced = True
    elif source == "bundled" and not _bundled_announced:
        print("minigen: feature network: the bundled ImageNet VGG-19 (Simonyan & Zisserman 2015, uint8 "
              "weights); --vgg random for random weights, --vgg PATH (or MINIGEN_VGG) for others", file=sys.stderr)
        _bundled_announced = True


def load_vgg(path=None, depth=19, pooling="max", device="cpu", seed=0):
    """A frozen VGG in eval mode and the facts that go into a run's metadata: ``(vgg, info)``.

    path: a weight file or TF.js model folder, or 'random' or 'bundled'; None reads $MINIGEN_VGG,
    and without it the network is the bundled ImageNet VGG-19 (minigen/zoo). 'random' gives seeded
    random weights (``VGG.randomize``) of ``depth``. Either default is announced in one stderr line
    (the first time only: a demo loads one in several sections; ``info`` always says so).
    A file decides depth, convention and how deep the weights go (``vgg_weights.read_weights``):
    torchvision vgg16/vgg19 checkpoints (``features.<i>.weight``; classifier
    keys are ignored), the AdaIN/WCT ``vgg_normalised*.pth`` files (Sequential
    indices; their 1x1 input conv is checked to be the caffe map and becomes
    convention "caffe"), Keras VGG TF.js layers models (convention "caffe"), and minigen's own
    .npz/.safetensors written by ``save_vgg`` (tensors may be stored quantised). ``depth`` matters
    only for random weights and for telling a truncated file's depth. Convolutions pad with zeros,
    as in VGG (the vgg_normalised models themselves pad by reflection).

    info = {"weights": the path, "bundled" or "random", "convention", "depth", "last",
    "seed" (None for a file)}; giving info["weights"] back as ``path`` rebuilds the same network.
    """
    from .vgg_weights import read_source, resolve
    try:
        backend.check_device(device)
    except (ValueError, RuntimeError) as e:
        raise MinigenError(str(e)) from None
    if depth not in LAYERS:
        raise MinigenError(f"VGG: depth must be 16 or 19, not {depth!r}")
    source = resolve(path)
    if source == "random":
        vgg = VGG(depth, pooling, seed=seed)
        seed_used = seed
    else:
        depth, convention, last, params = read_source(source, depth)
        vgg = VGG(depth, pooling, convention, last, seed=None)
        vgg.load_state_dict(params)
        seed_used = None
    _announce(source, depth, seed)
    info = {"weights": source, "convention": vgg.convention, "depth": vgg.depth, "last": vgg.last,
            "seed": seed_used}
    vgg.requires_grad_(False).eval().to(device)
    return vgg, info


def save_vgg(path, vgg, metadata=None):
    """Write ``vgg``'s weights as minigen's own .npz/.safetensors, readable by ``load_vgg``
    (e.g. to convert a .pth once)."""
    io.save(path, vgg, metadata={**(metadata or {}), "vgg": vgg.config()})
