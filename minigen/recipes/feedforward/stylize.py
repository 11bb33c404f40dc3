"""Inference with a train-style checkpoint: stylise images in one forward pass, or draw textures.

The checkpoint alone rebuilds the network (``models.build`` of its recorded kind
and config) and, for AdaIN, its VGG encoder (the recorded weight file, or the
random weights of the recorded seed). Inputs are reflection-padded at the bottom
and right to the network's size rule and the output cropped back.
"""
from ... import functional as F
from ... import models
from ...data.images import from_tensor
from ...errors import MinigenError
from ...io import checkpoint
from ...tensor import no_grad
from ...training import memory
from .. import sample
from .data import to_tensor
from .methods import METHODS, activation_bytes, feature_net, reachable
from .train import KIND


def load_model(path, device="cpu"):
    """(net in eval mode, settings) of a train-style checkpoint (or a bundled network by name:
    ``zoo.STYLE_NETS``), with one-line errors for anything else."""
    from ... import zoo
    ckpt = checkpoint.load(zoo.resolve(path, zoo.STYLE_NETS))
    settings = ckpt.settings
    spec = ckpt.specs.get("net")
    if ckpt.kind != KIND or settings.get("method") not in METHODS or not isinstance(spec, dict):
        raise MinigenError(f"{path}: not a feed-forward stylisation checkpoint (a {ckpt.kind} one; "
                           f"`minigen train-style` writes them)")
    method = settings["method"]
    try:
        net = models.build(spec["kind"], spec["config"])
    except MinigenError as e:
        raise MinigenError(f"{path}: its {method} model config is invalid: {e}") from None
    try:
        net.load_state_dict(ckpt.modules["net"])
    except MinigenError as e:
        raise MinigenError(f"{path}: weights do not match the {method} model config: {e}") from None
    return net.to(device).eval(), settings


def pad_to(x, multiple):
    """x reflection-padded at the bottom and right to multiples of ``multiple``, and the original (h, w)."""
    h, w = x.shape[2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        if ph >= h or pw >= w:
            raise MinigenError(f"image of {h}x{w} is too small: at least {multiple}x{multiple} is needed")
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, (h, w)


class Stylizer:
    """Stylise images with a train-style checkpoint (any method but a pure texture generator)."""

    def __init__(self, path, device="cpu", vgg=None, seed=0, max_memory=None):
        self.net, self.config = load_model(path, device)
        self.method, self.device, self.path, self.seed = self.config["method"], device, path, seed
        self.max_memory = max_memory
        if sample.can_sample(self.net):
            raise MinigenError(f"{path}: a texture generator (no content input); use `minigen sample-texture`")
        self._method = METHODS[self.method]
        self.vgg = self._method.prepare(self, vgg)
        self.multiple = self.net.size_rule().multiple

    def encoder(self, path):
        """The VGG the decoder was trained for: ``path``, else the recorded file, else the recorded random
        seed (not $MINIGEN_VGG: it must not replace the weights trained with)."""
        recorded = self.config["vgg"]
        vgg, info = feature_net(path or recorded, self.device, depth=recorded["depth"])
        if info["depth"] != self.net.depth or not reachable(info, [self.net.last]):
            raise MinigenError(f"{info['weights']}: these VGG-{info['depth']} weights do not reach the decoder's "
                               f"layer {self.net.last} of VGG-{self.net.depth} (they stop at {info['last']})")
        return vgg.eval()

    def runs(self, styles=None, alpha=None, style_size=None):
        """[(file suffix, mix, style images)] of each input for the stylize flags --styles (multistyle:
        'INDEX:WEIGHT,...', default each style in turn; AdaIN: 'IMAGE[:WEIGHT],...'), --alpha (AdaIN) and
        --style-size (AdaIN's style images), with one-line errors for flags the method does not take."""
        if alpha is not None and not self._method.takes_alpha:
            raise MinigenError(f"--alpha applies to AdaIN models; {self.path} is a {self.method} model")
        return self._method.runs(self, styles, style_size)

    def tensor(self, a):
        return to_tensor(a, self.device)

    def __call__(self, img, alpha=1.0, mix=None, style_images=None):
        """Stylise one HWC image; mix: multistyle weights (n_styles,); style_images + mix: AdaIN styles."""
        memory.check(f"stylising a {img.shape[1]}x{img.shape[0]} image",
                     activation_bytes(self.net.kind, self.net.config(), *img.shape[:2]), self.max_memory,
                     hint="use a smaller --size")
        x, (h, w) = pad_to(self.tensor(img.transpose(2, 0, 1)[None]), self.multiple)
        with no_grad():
            y = self._method.stylize(self, x, mix, style_images, alpha)
        return from_tensor(y)[:h, :w]

    def transform(self, x, styles=None):
        """The transform net's output, with a one-line error for an input its size rule refuses."""
        try:
            return self.net(x, styles)
        except ValueError as e:
            raise MinigenError(f"{e}; choose another --size") from None


def sample_textures(path, size, count=1, seed=0, device="cpu", max_memory=None):
    """(count, 3, size, size) textures from a texture-net checkpoint, generated at the next multiple of
    2^(K-1) and cropped."""
    net, config = load_model(path, device)
    if not sample.can_sample(net):
        raise MinigenError(f"{path}: not a texture generator (a {config['method']} model"
                           f"{' with a content input' if getattr(net, 'content', False) else ''}); "
                           "use `minigen stylize`")
    return sample.draw(net, count, size, size, seed, device, max_memory)
