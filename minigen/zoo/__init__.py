"""Trained networks bundled with minigen, so that commands work on a fresh install.

Each file is a minigen checkpoint holding one network (module "net", its kind
and config) and the settings of the run that made it; README.md here gives the
command that reproduces each.

    lenet5.safetensors        LeNet-5 on MNIST: the classifier of ``minigen evaluate``
    vdsr.safetensors          VDSR (x2, x3, x4 in one network), float16: ``minigen sr``'s default model
    srcnn_x3.safetensors      SRCNN 9-1-5 at x3, float16 (``minigen sr --model srcnn``)
    perceptual_x4.safetensors Johnson et al.'s x4 network, feature loss, float16 (``--model perceptual``)
    johnson_starry_night.safetensors, multistyle.safetensors, texture_net.safetensors
                              feed-forward stylisation and a texture generator, float16
                              (``minigen stylize --model johnson``, ``sample-texture --model texture-net``)
    adain_decoder.safetensors an AdaIN decoder (relu3_1 of the bundled VGG-19), float16: any style image
                              (``minigen stylize --model adain --styles painting.jpg``)
    vgg19_uint8.safetensors   the ImageNet VGG-19 convolutions (Simonyan & Zisserman 2015), uint8 with a
                              scale and min per tensor: the default feature network (``models.vgg.load_vgg``)
"""
import os

from ..errors import MinigenError

FOLDER = os.path.dirname(os.path.abspath(__file__))
FILES = {"lenet5": "lenet5.safetensors", "vdsr": "vdsr.safetensors", "srcnn": "srcnn_x3.safetensors",
         "perceptual": "perceptual_x4.safetensors", "johnson": "johnson_starry_night.safetensors",
         "multistyle": "multistyle.safetensors", "texture-net": "texture_net.safetensors",
         "adain": "adain_decoder.safetensors"}
STYLE_NETS = ("johnson", "multistyle", "texture-net", "adain")  # the train-style networks among them
VGG19 = "vgg19_uint8.safetensors"  # weights of a feature network, not a checkpoint: read by models.vgg


def path(name):
    """The path of the bundled file ``name`` (a key of FILES)."""
    return os.path.join(FOLDER, FILES[name])


def resolve(name_or_path, names):
    """A bundled file's path for one of ``names`` (unless a file of that name exists here), else the path."""
    import sys
    if name_or_path in names and not os.path.exists(name_or_path):
        print(f"minigen: the bundled {name_or_path} network (minigen/zoo/{FILES[name_or_path]})", file=sys.stderr)
        return path(name_or_path)
    return name_or_path


def style_name(spec):
    """A readable name of a style a bundled network learnt: its file name without extension and underscores."""
    return os.path.splitext(os.path.basename(spec))[0].replace("_", " ")


def vgg_path():
    """The path of the bundled VGG-19 weights; a one-line error when an install lacks them."""
    path = os.path.join(FOLDER, VGG19)
    if not os.path.isfile(path):
        raise MinigenError(f"{path}: the bundled VGG-19 weights are missing from this install; reinstall "
                           "minigen, or pass --vgg PATH (or --vgg random)")
    return path


def load_network(source, device="cpu"):
    """(network in eval mode, Checkpoint) from a bundled name (a key of FILES) or a checkpoint path."""
    from .. import models
    from ..io import checkpoint
    ckpt = checkpoint.load(path(source) if source in FILES else source)
    spec = ckpt.specs.get("net")
    if not isinstance(spec, dict):
        raise MinigenError(f"{ckpt.path}: holds no network named 'net' with a recorded kind")
    net = models.build(spec["kind"], spec["config"])
    net.load_state_dict(ckpt.modules["net"])
    return net.to(device).eval(), ckpt
