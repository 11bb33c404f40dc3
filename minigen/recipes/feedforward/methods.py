"""The four methods of ``minigen train-style``, one small class each.

A method says what sets it apart and nothing more: its network (registered
kind and constructor config, from the train-style network options and back),
how many styles it learns and whether it needs content, the VGG layers of its
loss, its forward pass in a training step and at inference. The trainer
(``train``) and the stylizer (``stylize``) ask ``METHODS`` instead of testing
the method's name.
"""
import numpy as np

from ...errors import MinigenError
from ...models.adain import VGG_WIDTHS, adain_target
from ...models.vgg import LAYERS, VGG, load_vgg
from .data import load_input, mix_vector, parse_mix

# Johnson et al. used VGG-16 relu2_2 for content and relu1_2..relu4_3 for style; with VGG-19 the
# style layers are Gatys et al.'s relu1_1..relu5_1. Only the layers the weights reach are used.
STYLE_LAYERS = {16: ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                19: ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")}
CONTENT_LAYER = "relu2_2"
ADAIN_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
# The loss weights of a new run, per normalisation (``train.train_style``): with 'target' each layer's term is
# a relative error (divided by its target's energy), so the weights mean the same with any VGG weights;
# with 'none' the terms are the papers' sums, whose balance depends on the weights' feature scale.
DEFAULT_WEIGHTS = {"target": {"content": 1.0, "style": 2.0, "tv": 1e-5, "adain_style": 10.0},
                   "none": {"content": 1.0, "style": 10.0, "tv": 1e-5, "adain_style": 10.0}}
NORMALIZE = tuple(DEFAULT_WEIGHTS)


def net_options(norm="instance", channels=None, residual=5, padded=False, scales=5):
    """The network options of ``train_style`` (the train-style flags of the same names) as a dict."""
    return {"norm": norm, "channels": None if channels is None else [int(c) for c in channels],
            "residual": residual, "padded": padded, "scales": scales}


def reachable(info, names):
    """The names the VGG described by ``info`` has weights for, in order."""
    order = LAYERS[info["depth"]]
    limit = order.index(info["last"]) if info.get("last") else len(order) - 1
    return [n for n in names if order.index(n) <= limit]


def feature_net(vgg=None, device="cpu", seed=0, depth=19):
    """(VGG, info) of a run: ``vgg`` a weight file (None: $MINIGEN_VGG, else seeded random VGG-``depth``
    weights; see ``load_vgg``), or the info a run recorded, which gives that very network back: its file,
    or its random weights of the recorded seed (never $MINIGEN_VGG's)."""
    if not isinstance(vgg, dict):
        return load_vgg(vgg, depth=depth, device=device, seed=seed)
    if vgg["weights"] != "random":
        return load_vgg(vgg["weights"], depth=vgg["depth"], device=device)
    seed = vgg.get("seed") or 0
    net = VGG(vgg["depth"], seed=seed).requires_grad_(False).to(device).eval()
    return net, {"weights": "random", "convention": net.convention, "depth": net.depth, "last": net.last,
                 "seed": seed}


class Method:
    """A method of train-style. The defaults are those of the generators trained with the perceptual loss
    w_c l_feat + w_s sum_l E_l(Gram) + w_tv TV (johnson, texture-net, multistyle)."""

    name = kind = None
    widths = ()         # the default --channels; how many it takes
    one_style = True    # learns a single style
    needs_content = True
    style_weight = "style"  # its style term's key in DEFAULT_WEIGHTS
    loss = "perceptual"     # its training loss (``train.LOSSES``)
    takes_alpha = False     # inference trades content against style
    lr = 1e-3               # Adam's default learning rate (Johnson et al., Ulyanov et al., Dumoulin et al.)

    def layers(self, info):
        """(content layer, style layers) of the paper, as far as the VGG's weights reach."""
        style = reachable(info, STYLE_LAYERS[info["depth"]])
        content = CONTENT_LAYER if reachable(info, [CONTENT_LAYER]) else style[-1]
        return content, style

    def content_layer(self, content, style):
        """The layer of the content term, given the asked-for content and style layers."""
        return content

    def check_options(self, options):
        """A one-line error when --channels does not suit the network."""
        channels = options.get("channels")
        if channels and (len(channels) != len(self.widths) or min(channels) < 1):
            wanted = f"{len(self.widths)} positive width(s)" if self.widths else \
                "none (the VGG encoder fixes its widths)"
            raise MinigenError(f"--channels {' '.join(map(str, channels))}: {self.name} takes {wanted}")

    def config(self, options, n_styles, info, layer, content):
        """The constructor config of the network (``models.build(self.kind, config)``); None when it
        depends on the VGG and ``info`` is None."""
        raise NotImplementedError

    def options(self, config):
        """The network options that give ``config`` back (what a resumed run takes from its checkpoint)."""
        raise NotImplementedError

    def generate(self, net, x, idx, rng, n, crop, device):
        """The training step's output for content batch x (None for a texture) and style indices idx."""
        return net(x)

    def stylize(self, stylizer, x, mix, style_images, alpha):
        """The stylised (1, 3, H, W) Tensor of an input x padded to the network's multiple."""
        return stylizer.transform(x)

    def prepare(self, stylizer, vgg):
        """Anything inference needs beside the network (AdaIN: its VGG encoder); None otherwise."""
        return None

    def runs(self, stylizer, styles, style_size):
        """[(file suffix, mix, style images)]: the results of one input for ``--styles`` (None: not given)."""
        if styles:
            raise MinigenError(f"--styles applies to multistyle and AdaIN models; {stylizer.path} is a "
                               f"{self.name} model")
        return [("", None, None)]


class Johnson(Method):
    name, kind, widths = "johnson", "transform-net", (32, 64, 128)

    def config(self, options, n_styles, info, layer, content):
        return {"norm": options["norm"], "channels": list(options["channels"] or self.widths),
                "num_residual": options["residual"], "padded": options["padded"]}

    def options(self, config):
        return {"norm": config["norm"], "channels": list(config["channels"]), "residual": config["num_residual"],
                "padded": config["padded"]}


class MultiStyle(Johnson):
    """Dumoulin et al.: the transform net with conditional instance norm, one (gamma, beta) row per style."""
    name, one_style = "multistyle", False

    def config(self, options, n_styles, info, layer, content):
        return {"norm": "conditional", "channels": list(options["channels"] or self.widths),
                "num_residual": options["residual"], "num_styles": n_styles, "padded": options["padded"]}

    def options(self, config):
        return {k: v for k, v in super().options(config).items() if k != "norm"}

    def generate(self, net, x, idx, rng, n, crop, device):
        return net(x, idx)

    def stylize(self, stylizer, x, mix, style_images, alpha):
        return stylizer.transform(x, np.asarray(mix, np.float32)[None])

    def runs(self, stylizer, styles, style_size):
        """One result per style in turn (suffix _style<k>), or one of the --styles mix."""
        n = stylizer.net.num_styles
        if styles:
            return [("", mix_vector(*parse_mix(styles, n), n), None)]
        return [(f"_style{k}", np.eye(n)[k], None) for k in range(n)]


class TextureNetwork(Method):
    """Ulyanov et al.: noise only (a texture generator) or noise plus the content image."""
    name, kind, widths, needs_content = "texture-net", "texture-net", (8,), False

    def config(self, options, n_styles, info, layer, content):
        return {"num_scales": options["scales"], "channels": (options["channels"] or self.widths)[0],
                "content": content is not None, "norm": options["norm"]}

    def options(self, config):
        return {"norm": config["norm"], "channels": [config["channels"]], "scales": config["num_scales"]}

    def generate(self, net, x, idx, rng, n, crop, device):
        return net(net.noise(n, crop, crop, rng, np.float32, device), x)

    def stylize(self, stylizer, x, mix, style_images, alpha):
        rng = np.random.default_rng(stylizer.seed)
        return stylizer.net(stylizer.net.noise(1, *x.shape[2:], rng, np.float32, stylizer.device), x)


class AdaIN(Method):
    """Huang & Belongie: a decoder for a fixed VGG encoder, trained on many styles at once."""
    name, kind, one_style, style_weight, loss = "adain", "adain-decoder", False, "adain_style", "adain"
    takes_alpha, lr = True, 1e-4  # Huang & Belongie's; at 1e-3 the decoder's loss did not fall in 500 steps

    def layers(self, info):
        style = reachable(info, [n for n in ADAIN_LAYERS if n in LAYERS[info["depth"]]])
        if not style:
            raise MinigenError(f"AdaIN needs VGG weights up to at least relu1_1 ({info['weights']})")
        return style[-1], style

    def content_layer(self, content, style):
        return style[-1]  # the encoder's output: the deepest style layer

    def config(self, options, n_styles, info, layer, content):
        if info is None:
            return None
        # its input: the encoder's output, scaled back to pixel units (models.adain)
        return {"last": layer, "widths": list(VGG_WIDTHS), "depth": info["depth"],
                "input_scale": 1 / 255 if info.get("convention") == "caffe" else 1.0}

    def options(self, config):
        return {}

    def prepare(self, stylizer, vgg):
        return stylizer.encoder(vgg)

    def runs(self, stylizer, styles, style_size):
        """One result for the --styles images and their weights."""
        if not styles:
            raise MinigenError("AdaIN models need --styles IMAGE[:WEIGHT],... (the style image(s))")
        keys, mix = parse_mix(styles)
        return [("", mix, [load_input(k, style_size) for k in keys])]

    def stylize(self, stylizer, x, mix, style_images, alpha):
        layer = stylizer.net.last
        fc = stylizer.vgg(x, [layer])[layer]
        fs = [stylizer.vgg(stylizer.tensor(s.transpose(2, 0, 1)[None]), [layer])[layer] for s in style_images]
        return stylizer.net(adain_target(fc, fs, list(mix), alpha))


METHODS = {m.name: m for m in (Johnson(), TextureNetwork(), MultiStyle(), AdaIN())}


def method(name):
    """The method called ``name``, or a one-line error naming the choices."""
    if name not in METHODS:
        raise MinigenError(f"--method {name}: choose one of {', '.join(METHODS)}")
    return METHODS[name]


# ---- memory ---------------------------------------------------------------------------------------

def _transform_bytes(config, h, w):
    b = 0 if config.get("padded") else 8 * config.get("num_residual", 5)
    return 4 * (h + 2 * b) * (w + 2 * b) * config["channels"][0] * 12


def _texture_bytes(config, h, w):
    return 4 * h * w * config["channels"] * config["num_scales"] * 12


def vgg_bytes(h, w):
    """The VGG encoder's part (with a mirrored decoder's) of one forward pass at (h, w)."""
    return 4 * h * w * 64 * 12 * 2


ACTIVATIONS = {"transform-net": _transform_bytes, "texture-net": _texture_bytes,
               "adain-decoder": lambda config, h, w: vgg_bytes(h, w)}


def activation_bytes(kind, config, h, w):
    """A generous estimate of the float32 memory of one forward pass of a ``kind`` network at (h, w): the
    widest layer's activations at full size, times the layers alive at once (inputs, outputs, conv
    columns); an AdaIN decoder counts its VGG encoder too."""
    return ACTIVATIONS[kind](config, h, w)
