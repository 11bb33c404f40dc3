"""Feed-forward stylisation: train a generator once, then stylise in one forward pass.

One trainer for four methods (``minigen train-style --method ...``):

- johnson      Johnson et al. 2016: a transform net trained with the perceptual loss
               L = w_c l_feat(relu2_2) + w_s sum_l E_l(Gram) + w_tv TV(y)
- texture-net  Ulyanov et al. 2016: the multi-scale generator; noise only (a texture)
               or noise plus the content image (stylisation, with the content term)
- multistyle   Dumoulin et al. 2017: the transform net with conditional instance norm,
               each image of the batch paired with a random one of the styles
- adain        Huang & Belongie 2017: a decoder g for a fixed VGG encoder f,
               L = ||f(g(t)) - t||^2 + lambda sum_l (||mu(phi_l(g(t))) - mu(phi_l(s))||^2
                                               + ||sigma(phi_l(g(t))) - sigma(phi_l(s))||^2)

E_l is Gatys et al.'s layer style loss on Gram matrices (``losses.style_loss``;
Johnson's squared Frobenius distance of Grams normalised by CHW is 4 E_l, a
constant absorbed by w_s), l_feat is Johnson's feature loss
(``losses.feature_loss``), TV the total variation (beta = 2, mean over the
batch). Training goes through ``recipes.training.train`` (checkpoints,
--resume, NaN guard); every step draws its data from ``step_rng(seed, step)``.
A checkpoint's config holds the method, the network's constructor arguments,
the layers and the VGG info, so ``minigen stylize`` and ``minigen
sample-texture`` rebuild everything from the file alone.
"""
import argparse
import os

import numpy as np

from .. import backend, losses, optim
from .. import functional as F
from ..data.files import find_images, list_images
from ..data.images import from_tensor, load_image, save_image
from ..data.procedural import TEXTURES, scenes, texture
from ..errors import MinigenError
from ..models import check_size
from ..models.adain import VGG_WIDTHS, Decoder, adain_target
from ..models.texture_net import TextureNet
from ..models.transform_net import TransformNet
from ..models.vgg import LAYERS, VGG, load_vgg
from ..tensor import Tensor, no_grad
from .common import add_run_options, check_device, write_json
from .optimize import check_layers, fit_size, resize
from .style import original_colors
from ..training._old import load_checkpoint, model_state, step_rng, train

METHODS = ("johnson", "texture-net", "multistyle", "adain")
# Johnson et al. used VGG-16 relu2_2 for content and relu1_2..relu4_3 for style; with VGG-19 the
# style layers are Gatys et al.'s relu1_1..relu5_1. Only the layers the weights reach are used.
STYLE_LAYERS = {16: ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                19: ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")}
CONTENT_LAYER = "relu2_2"
ADAIN_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
DEFAULT_WEIGHTS = {"content": 1.0, "style": 10.0, "tv": 1e-5, "adain_style": 10.0}


# ---- layers of the feature network ---------------------------------------------------------

def _reachable(info, names):
    """The names the VGG described by ``info`` has weights for, in order."""
    order = LAYERS[info["depth"]]
    limit = order.index(info["last"]) if info.get("last") else len(order) - 1
    return [n for n in names if order.index(n) <= limit]


def default_layers(method, info):
    """(content layer, style layers) for a method and a VGG; AdaIN's content layer is its encoder's output."""
    if method == "adain":
        style = _reachable(info, [n for n in ADAIN_LAYERS if n in LAYERS[info["depth"]]])
        if not style:
            raise MinigenError(f"AdaIN needs VGG weights up to at least relu1_1 ({info['weights']})")
        return style[-1], style
    style = _reachable(info, STYLE_LAYERS[info["depth"]])
    content = CONTENT_LAYER if _reachable(info, [CONTENT_LAYER]) else style[-1]
    return content, style


# ---- data ------------------------------------------------------------------------------

def image_files(paths, what="input"):
    """Image files from files and folders (a folder's image files, sorted by name)."""
    return find_images(paths, what)


def _resize(img, short):
    """An HWC image resized so that its shorter side is ``short``."""
    h, w = img.shape[:2]
    return resize(img, (max(short, round(h * short / min(h, w))), max(short, round(w * short / min(h, w)))))


def _random_crop(img, crop, rng):
    """A (3, crop, crop) crop of an HWC image, enlarged first if a side is shorter than ``crop``."""
    if min(img.shape[:2]) < crop:
        img = _resize(img, crop)
    y = int(rng.integers(img.shape[0] - crop + 1))
    x = int(rng.integers(img.shape[1] - crop + 1))
    return img[y:y + crop, x:x + crop].transpose(2, 0, 1)


class ContentSource:
    """Batches of content images: random crops of the files of a folder, or procedural scenes."""

    def __init__(self, spec, crop):
        self.crop = crop
        self.files = None if spec == "procedural" else image_files([spec], "content")

    def batch(self, n, rng):
        if self.files is None:
            return scenes(n, self.crop, seed=int(rng.integers(1 << 31)))
        picks = rng.integers(len(self.files), size=n)
        return np.stack([_random_crop(load_image(self.files[i]), self.crop, rng) for i in picks])


def parse_style(spec, size):
    """A style image (H, W, 3) in [0, 1] from a file or 'procedural[:KIND[:SEED]]', shorter side ``size``."""
    if spec.startswith("procedural"):
        parts = spec.split(":")
        kind = parts[1] if len(parts) > 1 else "stripes"
        if kind not in TEXTURES or len(parts) > 3:
            raise MinigenError(f"--style {spec}: use procedural:KIND[:SEED] with KIND one of {', '.join(TEXTURES)}")
        try:
            seed = int(parts[2]) if len(parts) > 2 else 0
        except ValueError:
            raise MinigenError(f"--style {spec}: the seed must be an integer") from None
        return texture(kind, size, seed).transpose(1, 2, 0)
    return _resize(load_image(spec), size)


def _tensor(a, device):
    return Tensor(backend.to_device(np.ascontiguousarray(a, dtype=np.float32), device))


# ---- losses ---------------------------------------------------------------------------------

def _grams(features):
    return {k: losses.gram_matrix(v, "gatys").data for k, v in features.items()}


# ---- models and checkpoints ------------------------------------------------------------------

def build_model(method, config):
    """The network of a method from its config (constructor arguments)."""
    if method in ("johnson", "multistyle"):
        return TransformNet(**config)
    if method == "texture-net":
        return TextureNet(**config)
    if method == "adain":
        return Decoder(**config)
    raise ValueError(f"unknown method {method!r}")


def load_model(path, device="cpu"):
    """(net in eval mode, config) of a train-style checkpoint, with one-line errors for anything else."""
    arrays, meta = load_checkpoint(path)
    config = meta["config"]
    if not isinstance(config, dict) or config.get("method") not in METHODS or not isinstance(config.get("model"), dict):
        raise MinigenError(f"{path}: not a feed-forward stylisation checkpoint (no method among "
                           f"{', '.join(METHODS)} in its config)")
    try:
        net = build_model(config["method"], config["model"])
    except (TypeError, ValueError) as e:
        raise MinigenError(f"{path}: its {config['method']} model config is invalid: {e}") from None
    try:
        net.load_state_dict(model_state(arrays))
    except MinigenError as e:
        raise MinigenError(f"{path}: weights do not match the {config['method']} model config: {e}") from None
    return net.to(device).eval(), config


# ---- training ----------------------------------------------------------------------------------

def net_options(norm="instance", channels=None, residual=5, padded=False, scales=5):
    """The network options of ``train_style`` (the train-style flags of the same names)."""
    return argparse.Namespace(norm=norm, channels=channels, residual=residual, padded=padded, scales=scales)


def _make_net(args, method, n_styles, info, encoder_layer, content):
    wanted = {"johnson": 3, "multistyle": 3, "texture-net": 1}.get(method)
    if args.channels and (len(args.channels) != wanted or min(args.channels) < 1):
        raise MinigenError(f"--channels {' '.join(map(str, args.channels))}: {method} takes "
                           + (f"{wanted} positive width(s)" if wanted else "none (the VGG encoder fixes its widths)"))
    if method == "johnson":
        return TransformNet(args.norm, tuple(args.channels or (32, 64, 128)), args.residual, padded=args.padded)
    if method == "multistyle":
        return TransformNet("conditional", tuple(args.channels or (32, 64, 128)), args.residual,
                            num_styles=n_styles, padded=args.padded)
    if method == "texture-net":
        return TextureNet(args.scales, (args.channels or [8])[0], content=content is not None, norm=args.norm)
    return Decoder(encoder_layer, VGG_WIDTHS, depth=info["depth"])  # its input is the encoder's output


def _check_crop(method, net, crop):
    if method in ("johnson", "multistyle"):
        try:
            check_size(net, crop, crop, "training crop")
        except ValueError as e:
            raise MinigenError(f"--crop {crop}: {e}") from None
        return
    multiple = net.size_rule().multiple
    if crop % multiple:
        raise MinigenError(f"--crop {crop}: must be a multiple of {multiple} for this {method} network")


def train_style(method, styles, content="procedural", steps=200, batch=4, crop=64, lr=1e-3, vgg=None,
                out=None, save_every=0, resume=False, seed=0, device="cpu", weights=None, style_size=None,
                content_layer=None, style_layers=None, net_args=None, log_every=10, vgg_net=None):
    """Train one of the four methods; returns (net, history, config).

    styles: image files, folders of them, or 'procedural[:KIND[:SEED]]'
    specs (AdaIN: its training styles). content: a folder or 'procedural' (texture-net: None
    for a pure texture generator). weights: overrides of DEFAULT_WEIGHTS.
    net_args: the network options (``net_options``); vgg_net: an already
    loaded (vgg, info) pair (tests and the demo reuse one).
    """
    if method not in METHODS:
        raise MinigenError(f"--method {method}: choose one of {', '.join(METHODS)}")
    styles = [s for spec in styles or () for s in (list_images(spec) if os.path.isdir(spec) else [spec])]
    if not styles:
        raise MinigenError("give at least one --style")
    if method in ("johnson", "texture-net") and len(styles) != 1:
        raise MinigenError(f"--method {method} learns one style; got {len(styles)} (use multistyle or adain)")
    if content is None and method != "texture-net":
        raise MinigenError(f"--method {method} needs --content (a folder or 'procedural')")
    w = dict(DEFAULT_WEIGHTS, **(weights or {}))
    device = check_device(device)
    backend.manual_seed(seed)
    vgg_model, info = vgg_net or load_vgg(vgg, device=device, seed=seed)
    vgg_model.eval()
    c_layer, s_layers = default_layers(method, info)
    c_layer, s_layers = content_layer or c_layer, list(style_layers or s_layers)
    check_layers(info, [c_layer], "--content-layer")
    check_layers(info, s_layers, "--style-layers")
    if method == "adain":
        c_layer = s_layers[-1]  # the encoder's output: the deepest style layer
    net = _make_net(net_args or net_options(), method, len(styles), info, c_layer, content).to(device)
    _check_crop(method, net, crop)
    check_memory(f"training at --crop {crop} --batch {batch}",
                 3 * batch * (_activation_bytes({"method": method, "model": net.config()}, crop, crop)
                              + _activation_bytes({"method": "adain"}, crop, crop)))
    style_images = [parse_style(s, style_size or crop) for s in styles]
    source = ContentSource(content, crop) if content is not None else None
    opt = optim.Adam(net.parameters(), lr=lr)
    layers = sorted(set(s_layers) | {c_layer}, key=LAYERS[info["depth"]].index)

    def features(x, names=layers):
        return vgg_model(x, names)

    if method != "adain":
        with no_grad():
            grams = [_grams(features(_tensor(s.transpose(2, 0, 1)[None], device), s_layers))
                     for s in style_images]
        stacked = {k: np.concatenate([g[k] for g in grams]) for k in s_layers}  # (n_styles, C, C)

    def perceptual_step(step):
        rng = step_rng(seed, step)
        x = _tensor(source.batch(batch, rng), device) if source is not None else None
        idx = rng.integers(len(styles), size=batch)
        if method == "texture-net":
            y = net(net.noise(batch, crop, crop, rng, np.float32, device), x)
        else:
            y = net(x, idx) if method == "multistyle" else net(x)
        fy = features(y)
        terms = {"style": w["style"] * losses.style_loss({k: fy[k] for k in s_layers},
                                                        {k: stacked[k][idx] for k in s_layers})}
        if x is not None:
            with no_grad():
                fx = features(x, [c_layer])[c_layer]
            terms["content"] = w["content"] * losses.feature_loss(fy[c_layer], fx)
        terms["tv"] = w["tv"] * losses.total_variation(y, reduction="mean")
        return terms

    def adain_step(step):
        rng = step_rng(seed, step)
        x = _tensor(source.batch(batch, rng), device)
        s = _tensor(_style_batch(styles, style_images, batch, crop, rng), device)
        with no_grad():
            fc = features(x, [c_layer])[c_layer]
            fs = features(s, s_layers)
            t = F.adain(fc, fs[c_layer])
        fg = features(net(t), s_layers)
        return {"content": losses.feature_loss(fg[c_layer], t),
                "style": w["adain_style"] * losses.moment_loss(fg, fs)}

    def step_fn(step):
        terms = adain_step(step) if method == "adain" else perceptual_step(step)
        total = None
        for v in terms.values():
            total = v if total is None else total + v
        total.backward()
        return {"loss": total, **terms}

    config = {"method": method, "model": net.config(), "vgg": info, "content_layer": c_layer,
              "style_layers": s_layers, "styles": list(styles), "weights": w, "crop": crop, "batch": batch,
              "lr": lr, "seed": seed, "content": content}
    history = train(step_fn, net, opt, steps, checkpoint=out, save_every=save_every, resume=resume,
                    config=config, log_every=log_every, label=f"{method}: ")
    return net.eval(), history, config


def _style_batch(specs, images, n, crop, rng):
    """AdaIN's styles of one step: random crops of the style images, or fresh procedural textures."""
    out = []
    for i in rng.integers(len(specs), size=n):
        if specs[i] == "procedural":  # a new random texture every time: many styles from nothing
            kind = TEXTURES[int(rng.integers(len(TEXTURES)))]
            out.append(texture(kind, crop, seed=int(rng.integers(1 << 31))))
        else:
            out.append(_random_crop(images[i], crop, rng))
    return np.stack(out)


# ---- inference ------------------------------------------------------------------------------------

def _available_memory():
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(what, nbytes):
    """A MinigenError when an estimated ``nbytes`` exceeds the free memory."""
    free = _available_memory()
    if free is not None and nbytes > free:
        raise MinigenError(f"{what} needs about {nbytes / 2**30:.1f} GiB, but only {free / 2**30:.1f} GiB "
                           "is free; use a smaller --size")


def _activation_bytes(config, h, w):
    """A generous estimate of the float32 memory of one forward pass at (h, w): the widest layer's
    activations at full size, times the layers alive at once (inputs, outputs, conv columns);
    'adain' counts the VGG encoder and the mirrored decoder."""
    model = config.get("model", {})
    if config["method"] in ("johnson", "multistyle"):
        b = 0 if model.get("padded") else 8 * model.get("num_residual", 5)
        return 4 * (h + 2 * b) * (w + 2 * b) * model["channels"][0] * 12
    if config["method"] == "texture-net":
        return 4 * h * w * model["channels"] * model["num_scales"] * 12
    return 4 * h * w * 64 * 12 * 2  # the VGG encoder and the mirrored decoder


def _pad_to(x, multiple):
    """x reflection-padded at the bottom and right to multiples of ``multiple``, and the original (h, w)."""
    h, w = x.shape[2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        if ph >= h or pw >= w:
            raise MinigenError(f"image of {h}x{w} is too small: at least {multiple}x{multiple} is needed")
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, (h, w)


def parse_mix(spec, n_styles=None):
    """'0:0.5,2:0.5' (multistyle: style indices) or 'a.jpg:0.3,b.jpg' (AdaIN: style images) ->
    (keys, weights) with the weights normalised to sum 1; a missing weight is 1."""
    keys, weights = [], []
    for item in spec.split(","):
        key, sep, weight = item.rpartition(":")
        if not sep or (n_styles is None and not _is_number(weight)):
            key, weight = item, "1"
        try:
            weights.append(float(weight))
        except ValueError:
            raise MinigenError(f"--styles {spec}: {weight!r} is not a number (use KEY:WEIGHT,...)") from None
        if n_styles is not None:
            try:
                key = int(key)
            except ValueError:
                raise MinigenError(f"--styles {spec}: {key!r} is not a style index (use INDEX:WEIGHT,...)") from None
            if not 0 <= key < n_styles:
                raise MinigenError(f"--styles {spec}: style index {key} is out of range; this model has "
                                   f"{n_styles} styles (0..{n_styles - 1})")
        keys.append(key)
    weights = np.asarray(weights, np.float64)
    if (weights < 0).any() or weights.sum() <= 0 or not np.isfinite(weights).all():
        raise MinigenError(f"--styles {spec}: weights must be non-negative with a positive sum (a convex combination)")
    return keys, weights / weights.sum()


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


class Stylizer:
    """Stylise images with a train-style checkpoint (any method but a pure texture generator)."""

    def __init__(self, path, device="cpu", vgg=None, seed=0):
        self.net, self.config = load_model(path, device)
        self.method, self.device, self.path, self.seed = self.config["method"], device, path, seed
        model = self.config["model"]
        if self.method == "texture-net" and not model.get("content"):
            raise MinigenError(f"{path}: a texture generator (no content input); use `minigen sample-texture`")
        self.vgg = None
        if self.method == "adain":
            self.vgg = self._encoder(vgg, self.config["vgg"])
        self.multiple = {"johnson": 4, "multistyle": 4, "adain": self.net.size_rule().multiple,
                         "texture-net": getattr(self.net, "multiple", 1)}[self.method]

    def _encoder(self, path, recorded):
        """The VGG the decoder was trained for: --vgg, else the recorded file, else the recorded random seed."""
        path = path or (recorded["weights"] if recorded["weights"] != "random" else None)
        if path is None:  # not load_vgg(None): $MINIGEN_VGG must not replace the random weights trained with
            vgg = VGG(recorded["depth"], seed=recorded.get("seed") or 0).requires_grad_(False).to(self.device)
            info = {"weights": "random", "depth": recorded["depth"], "last": None}
        else:
            vgg, info = load_vgg(path, depth=recorded["depth"], device=self.device)
        if info["depth"] != self.net.depth or not _reachable(info, [self.net.last]):
            raise MinigenError(f"{info['weights']}: these VGG-{info['depth']} weights do not reach the decoder's "
                               f"layer {self.net.last} of VGG-{self.net.depth} (they stop at {info['last']})")
        return vgg.eval()

    def __call__(self, img, alpha=1.0, mix=None, style_images=None):
        """Stylise one HWC image; mix: multistyle weights (n_styles,); style_images + mix: AdaIN styles."""
        check_memory(f"stylising a {img.shape[1]}x{img.shape[0]} image", _activation_bytes(self.config, *img.shape[:2]))
        x, (h, w) = _pad_to(_tensor(img.transpose(2, 0, 1)[None], self.device), self.multiple)
        with no_grad():
            if self.method == "johnson":
                y = self._transform(x)
            elif self.method == "multistyle":
                y = self._transform(x, np.asarray(mix, np.float32)[None])
            elif self.method == "texture-net":
                rng = np.random.default_rng(self.seed)
                y = self.net(self.net.noise(1, *x.shape[2:], rng, np.float32, self.device), x)
            else:
                layer = self.net.last
                fc = self.vgg(x, [layer])[layer]
                fs = [self.vgg(_tensor(s.transpose(2, 0, 1)[None], self.device), [layer])[layer]
                      for s in style_images]
                y = self.net(adain_target(fc, fs, list(mix), alpha))
        return from_tensor(y)[:h, :w]

    def _transform(self, x, styles=None):
        try:
            return self.net(x, styles)
        except ValueError as e:
            raise MinigenError(f"{e}; choose another --size") from None


def cmd_train(args):
    if os.path.splitext(args.out)[1].lower() not in (".npz", ".safetensors"):
        raise MinigenError(f"--out {args.out}: a checkpoint must end in .npz or .safetensors")
    bad = [f"--{k.replace('_', '-')}" for k in ("steps", "batch", "crop", "residual", "scales") if getattr(args, k) < 1]
    if bad:
        raise MinigenError(f"{', '.join(bad)} must be at least 1")
    weights = {k: v for k, v in (("content", args.content_weight), ("style", args.style_weight),
                                 ("tv", args.tv_weight)) if v is not None}
    if args.method == "adain" and args.style_weight is not None:
        weights = {"adain_style": args.style_weight, **{k: v for k, v in weights.items() if k != "style"}}
    content = args.content if args.content is not None or args.method == "texture-net" else "procedural"
    _, history, config = train_style(
        args.method, args.style, content=content, steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr,
        vgg=args.vgg, out=args.out, save_every=args.save_every, resume=args.resume, seed=args.seed,
        device=args.device, weights=weights, style_size=args.style_size, content_layer=args.content_layer,
        style_layers=args.style_layers, net_args=args, log_every=args.log_every)
    write_json(os.path.splitext(args.out)[0] + ".json",
               {"config": config, "final": {k: v[-1] for k, v in history.items()}})
    print(f"wrote {args.out}")
    return 0


def _stem(path, used):
    stem = os.path.splitext(os.path.basename(path))[0]
    name, k = stem, 1
    while name in used:
        name, k = f"{stem}-{k}", k + 1
    used.add(name)
    return name


def _load_input(path, size):
    img = load_image(path)
    return resize(img, fit_size(img.shape, size)) if size else img


def cmd_stylize(args):
    device = check_device(args.device)
    files = image_files(args.inputs)
    stylizer = Stylizer(args.model, device, args.vgg, args.seed)
    method = stylizer.method
    if args.alpha is not None and method != "adain":
        raise MinigenError(f"--alpha applies to AdaIN models; {args.model} is a {method} model")
    if args.alpha is not None and not 0 <= args.alpha <= 1:
        raise MinigenError(f"--alpha {args.alpha}: must lie in [0, 1]")
    runs = [("", None, None)]  # (suffix, mix, style images)
    if method == "multistyle":
        n = stylizer.config["model"]["num_styles"]
        if args.styles:
            runs = [("", _mix_vector(*parse_mix(args.styles, n), n), None)]
        else:
            runs = [(f"_style{k}", np.eye(n)[k], None) for k in range(n)]
    elif method == "adain":
        if not args.styles:
            raise MinigenError("AdaIN models need --styles IMAGE[:WEIGHT],... (the style image(s))")
        keys, mix = parse_mix(args.styles)
        runs = [("", mix, [_load_input(k, args.style_size) for k in keys])]
    elif args.styles:
        raise MinigenError(f"--styles applies to multistyle and AdaIN models; {args.model} is a {method} model")
    os.makedirs(args.out, exist_ok=True)
    used = set()
    for f in files:
        img = _load_input(f, args.size)
        stem = _stem(f, used)
        for suffix, mix, style_images in runs:
            out = stylizer(img, 1.0 if args.alpha is None else args.alpha, mix, style_images)
            if args.preserve_colors:
                out = original_colors(np.clip(out, 0, 1), img)
            path = os.path.join(args.out, f"{stem}{suffix}.png")
            save_image(path, np.clip(out, 0, 1))
            print(f"wrote {path}")
    return 0


def _mix_vector(keys, weights, n):
    v = np.zeros(n)
    for k, w in zip(keys, weights):
        v[k] += w
    return v


def sample_textures(path, size, count=1, seed=0, device="cpu"):
    """(count, 3, size, size) textures from a texture-net checkpoint, generated at the next multiple of
    2^(K-1) and cropped."""
    net, config = load_model(path, device)
    if config["method"] != "texture-net" or config["model"].get("content"):
        raise MinigenError(f"{path}: not a texture generator (a {config['method']} model"
                           f"{' with a content input' if config['model'].get('content') else ''}); "
                           "use `minigen stylize`")
    full = net.size_rule().fit(size)
    check_memory(f"a {size}x{size} texture", _activation_bytes(config, full, full) * count)
    with no_grad():
        y = net(net.noise(count, full, full, np.random.default_rng(seed), np.float32, device))
    return np.clip(y.numpy()[:, :, :size, :size], 0, 1)


def cmd_sample(args):
    if args.size < 1 or args.count < 1:
        raise MinigenError("--size and --count must be positive")
    device = check_device(args.device)
    images = sample_textures(args.model, args.size, args.count, args.seed, device)
    root, ext = os.path.splitext(args.out)
    for k, img in enumerate(images):
        path = args.out if args.count == 1 else f"{root}-{k}{ext or '.png'}"
        save_image(path, img)
        print(f"wrote {path}")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "train-style", help="train a feed-forward stylisation or texture network",
        description="Train a feed-forward network: Johnson et al.'s transform net (johnson), Ulyanov et al.'s "
                    "texture network (texture-net), one net for several styles with conditional instance norm "
                    "(multistyle) or an AdaIN decoder for arbitrary styles (adain). Writes a checkpoint (.npz or "
                    ".safetensors) that `minigen stylize` and `minigen sample-texture` rebuild the model from.")
    p.add_argument("--method", required=True, choices=METHODS, help="which method to train")
    p.add_argument("--style", nargs="+", required=True, metavar="S",
                   help="style image files or folders, or procedural:KIND[:SEED] with KIND in " + ", ".join(TEXTURES) +
                        " (adain: 'procedural' alone draws a new random texture every time)")
    p.add_argument("--content", help="folder of content images (random crops) or 'procedural' (default for all "
                                     "but texture-net; texture-net without --content learns a texture)")
    p.add_argument("--steps", type=int, default=200, help="training steps (default: 200)")
    p.add_argument("--batch", type=int, default=4, help="images per step (default: 4)")
    p.add_argument("--crop", type=int, default=64, help="training crop size (default: 64)")
    p.add_argument("--style-size", type=int, help="shorter side of the style images (default: --crop)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 1e-3)")
    p.add_argument("--vgg", help="VGG weights (.pth, .npz, .safetensors); default $MINIGEN_VGG or seeded random")
    p.add_argument("--content-weight", type=float, help=f"default {DEFAULT_WEIGHTS['content']}")
    p.add_argument("--style-weight", type=float,
                   help=f"default {DEFAULT_WEIGHTS['style']} (adain: lambda, default {DEFAULT_WEIGHTS['adain_style']})")
    p.add_argument("--tv-weight", type=float, help=f"default {DEFAULT_WEIGHTS['tv']} (not used by adain)")
    p.add_argument("--content-layer", help="VGG layer of the content loss (default relu2_2)")
    p.add_argument("--style-layers", nargs="+", help="VGG layers of the style loss (default: the paper's, as far "
                                                     "as the weights reach)")
    p.add_argument("--norm", default="instance", choices=["batch", "instance"],
                   help="normalisation of johnson / texture-net (default: instance)")
    p.add_argument("--channels", type=int, nargs="+",
                   help="widths: johnson/multistyle three (default 32 64 128), texture-net one (default 8)")
    p.add_argument("--residual", type=int, default=5, help="residual blocks of the transform net (default: 5)")
    p.add_argument("--padded", action="store_true", help="transform net with padded convs instead of the "
                                                         "40-pixel reflection padding and cropped blocks")
    p.add_argument("--scales", type=int, default=5, help="texture-net noise scales K (default: 5)")
    p.add_argument("--save-every", type=int, default=100, help="checkpoint every N steps (default: 100)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint at --out, with the same settings")
    p.add_argument("--log-every", type=int, default=10, help="progress line every N steps (default: 10)")
    add_run_options(p, out="style.npz")
    p.set_defaults(run=cmd_train)

    p = subparsers.add_parser(
        "stylize", help="stylise images with a train-style checkpoint",
        description="Stylise images (files or folders) in one forward pass; writes OUT/<name>.png.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--model", required=True, help="checkpoint written by `minigen train-style`")
    p.add_argument("--size", type=int, help="resize inputs so the longer side is SIZE")
    p.add_argument("--style-size", type=int, help="adain: resize style images so the longer side is this")
    p.add_argument("--preserve-colors", action="store_true",
                   help="keep the input's colours: only the luminance (BT.601 Y) is stylised")
    p.add_argument("--alpha", type=float, help="adain: content-style trade-off in [0, 1] (default 1)")
    p.add_argument("--styles", help="multistyle: INDEX:WEIGHT,... (e.g. 0:0.5,2:0.5; default: each style in "
                                    "turn); adain: IMAGE[:WEIGHT],... (weights normalised to sum 1)")
    p.add_argument("--vgg", help="adain: the VGG weights (default: those recorded in the checkpoint)")
    add_run_options(p, out="stylized")
    p.set_defaults(run=cmd_stylize)

    p = subparsers.add_parser("sample-texture", help="generate textures with a texture-net checkpoint",
                              description="Generate textures of any size from noise with a texture-net checkpoint.")
    p.add_argument("--model", required=True, help="texture-net checkpoint (trained without --content)")
    p.add_argument("--size", type=int, default=256, help="output side in pixels (default: 256)")
    p.add_argument("--count", type=int, default=1, help="how many textures (OUT-0.png, OUT-1.png, ...)")
    add_run_options(p, out="texture.png")
    p.set_defaults(run=cmd_sample)


# ---- demo -----------------------------------------------------------------------------------------

def _framed(images, size):
    """(N, 3, h, w) images placed top-left on a white size x size canvas (to share a grid)."""
    out = np.ones((len(images), 3, size, size), np.float32)
    out[:, :, :images.shape[2], :images.shape[3]] = images
    return out


def demo_section(gallery, device, seed, quick):
    """Train each method briefly at 32x32 on procedural data with shallow VGG layers (relu1_1,
    relu2_1; content relu2_2) and small padded networks; show stylised unseen scenes, textures,
    a style-morph strip and AdaIN with unseen styles."""
    from ..report import image_grid
    steps = 12 if quick else 80
    vgg = load_vgg(None, device=device, seed=seed)
    common = dict(steps=steps, batch=2, crop=32, lr=2e-3, seed=seed, device=device, vgg_net=vgg, log_every=steps,
                  style_layers=["relu1_1", "relu2_1"], content_layer="relu2_2", weights={"style": 5.0})
    small = net_options(channels=[16, 32, 32], residual=1, padded=True)
    test = scenes(3, 48, seed=seed + 20_000)  # never seen in training

    def run(net, **kw):
        with no_grad():
            return net(_tensor(test, device), **kw).numpy()

    gallery.section("feed-forward stylisation",
                    f"Four generators trained for {steps} Adam steps each on procedural 32x32 scenes and textures, "
                    "with the style and content losses read from VGG relu1_1, relu2_1 and relu2_2 "
                    f"({vgg[1]['weights']} weights): Johnson et al.'s transform net, Ulyanov et al.'s texture "
                    "network, one conditional-instance-norm net for two styles (Dumoulin et al.) and an AdaIN "
                    "decoder (Huang & Belongie). The 48x48 test scenes were never seen in training. After so "
                    "few steps the transform nets mostly carry the style's colours and local texture (real "
                    "training runs for thousands of steps); the texture network already reproduces its "
                    "example's statistics, and AdaIN keeps the layout while taking each new style's colours.")
    curves = {}
    net, hist, _ = train_style("johnson", [f"procedural:stripes:{seed}"], net_args=small, **common)
    curves["johnson"] = hist["loss"]
    style = _framed(texture("stripes", 32, seed)[None], 48)
    gallery.image("ff_johnson.png", image_grid(np.concatenate([style, test, run(net)]), ncol=4),
                  "Johnson et al.: the style, three scenes, the same scenes stylised in one pass each", zoom=3)

    net, hist, _ = train_style("texture-net", [f"procedural:dots:{seed}"], content=None,
                               net_args=net_options(channels=[8], scales=3), **common)
    curves["texture-net"] = hist["loss"]
    with no_grad():
        sample = net(net.noise(2, 64, 64, np.random.default_rng(seed), np.float32, device)).numpy()
    example = _framed(texture("dots", 32, seed)[None], 64)
    gallery.image("ff_texture.png", image_grid(np.concatenate([example, sample]), ncol=3),
                  "texture network: the 32x32 example, two 64x64 samples from fresh noise", zoom=3)

    styles = [f"procedural:stripes:{seed}", f"procedural:checks:{seed + 1}"]
    net, hist, _ = train_style("multistyle", styles, net_args=small, **common)
    curves["multistyle"] = hist["loss"]
    morph = [run(net, styles=np.tile([[1 - a, a]], (3, 1)).astype(np.float32))[:1] for a in np.linspace(0, 1, 5)]
    gallery.image("ff_morph.png", image_grid(np.concatenate(morph), ncol=5),
                  "one network, two styles: conditional-norm weights (1, 0), (0.75, 0.25), ..., (0, 1)", zoom=3)

    net, hist, cfg = train_style("adain", ["procedural"], **common)
    curves["adain"] = hist["loss"]
    layer, rows = cfg["content_layer"], []
    with no_grad():
        fc = vgg[0](_tensor(test, device), [layer])[layer]
        for kind in ("waves", "stripes"):
            s = texture(kind, 48, seed + 30_000)[None]  # styles it never saw
            fs = vgg[0](_tensor(s, device), [layer])[layer]
            rows.append(np.concatenate([s, net(F.adain(fc, fs)).numpy()]))
    gallery.image("ff_adain.png", image_grid(np.concatenate(rows), ncol=4),
                  "AdaIN with two styles it never saw: the style, then the three scenes", zoom=3)
    gallery.curves("ff_loss.png", curves, "total training loss of each method (log scale)",
                   title="feed-forward training")
