"""Optimising an image: the loop shared by feature inversion, texture synthesis
and style transfer, the perceptual objective they build, and their common
command-line pieces (VGG layers, memory estimate, image loading at a size).

The image x (1, 3, H, W) in [0, 1] is the only variable. L-BFGS (scipy's
L-BFGS-B) keeps it in [0, 1] with bounds; Adam clips it after each step.
"""
import math
import os

import numpy as np
from PIL import Image

from .. import backend, losses as L, optim
from ..data.images import save_image
from ..data.imresize import imresize
from ..errors import MinigenError
from ..models.vgg import LAYERS, load_vgg
from ..tensor import Tensor, no_grad
from .common import check_device, write_json
from ..training.progress import Progress

OPTIMIZERS = ("lbfgs", "adam")
VGG_CHANNELS = (64, 128, 256, 512, 512)  # filters of blocks 1..5
MEMORY_FACTOR = 3  # activations kept for backward, their gradients, and the conv workspace


# ---- the optimisation loop -------------------------------------------------------------------

def optimize_image(init, objective, iters, optimizer="lbfgs", lr=0.02, print_every=10, save_every=0,
                   save_to=None, label="", device="cpu", dtype=np.float32):
    """Minimise ``objective`` over an image, starting from ``init``.

    init: (1, 3, H, W) array in [0, 1];
    objective(x) -> (total loss Tensor, {name: loss Tensor}) for the image Tensor x;
    optimizer: 'lbfgs' (bounds [0, 1], runs all ``iters`` unless the line
        search fails: its tolerances are 0) or 'adam' (``lr``, then clip to [0, 1]);
    print_every: a progress line (losses, it/s, ETA) every so many iterations (0: none);
    save_every, save_to: every ``save_every`` iterations write the current
        image to ``save_to(iteration)`` (an image path).
    Returns (image (1, 3, H, W) float32 array, history {'total': [...], name: [...]}):
    the losses at the start, then after each iteration (iters + 1 values, fewer
    if L-BFGS's line search gives up early).
    """
    if optimizer not in OPTIMIZERS:
        raise MinigenError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if iters < 1:
        raise MinigenError(f"--iters must be at least 1, not {iters}")
    x = Tensor(backend.to_device(np.array(init, dtype=dtype), device), requires_grad=True)  # a copy: init stays
    history = {}
    last = {}
    progress = Progress(iters, every=print_every, label=f"{label}: " if label else "") if print_every else None

    def evaluate():
        total, parts = objective(x)
        value = total.item()
        if not math.isfinite(value):
            raise MinigenError(f"{label or 'optimisation'}: the loss became {value}; lower the weights or --lr")
        last.clear()
        last.update({"total": value, **{k: float(v.item()) for k, v in parts.items()}})
        return total

    def record(iteration):
        for k, v in last.items():
            history.setdefault(k, []).append(v)
        if iteration == 0:
            return
        if progress is not None:
            progress.update(iteration, **last)
        if save_every and save_to is not None and iteration % save_every == 0:
            save_image(save_to(iteration), x.numpy()[0].transpose(1, 2, 0))

    if optimizer == "lbfgs":
        def closure():
            total = evaluate()
            if not history:  # scipy evaluates the start first
                record(0)
            return total
        opt = optim.LBFGS([x], max_iter=iters, max_eval=2 * iters + 20, tolerance=0.0, grad_tolerance=0.0,
                          bounds=(0.0, 1.0))
        opt.minimize(closure, callback=lambda it, _loss: record(it))
    else:
        opt = optim.Adam([x], lr=lr)
        for it in range(iters + 1):
            opt.zero_grad()
            total = evaluate()
            record(it)
            if it == iters:
                break
            total.backward()
            opt.step()
            x.data[...] = x.data.clip(0.0, 1.0)
    return np.asarray(x.numpy(), np.float32), history


# ---- the perceptual objective -----------------------------------------------------------------

def features(vgg, image, layers, device="cpu"):
    """{layer: array} VGG features of an (H, W, 3) or (1, 3, H, W) image, outside the graph."""
    a = np.asarray(image, np.float32)
    a = a.transpose(2, 0, 1)[None] if a.ndim == 3 else a
    with no_grad():
        out = vgg(Tensor(backend.to_device(np.ascontiguousarray(a), device)), list(layers))
    return {k: v.data for k, v in out.items()}


def gram_targets(vgg, images, layers, blend=None, device="cpu"):
    """{layer: Gram} style targets, gram_matrix(., 'gatys') blended over ``images`` by ``blend``
    (weights summing to 1; equal by default), so that style_loss matches the blend."""
    blend = [1.0 / len(images)] * len(images) if blend is None else blend
    targets = {}
    for image, b in zip(images, blend):
        with no_grad():
            for k, f in features(vgg, image, layers, device).items():
                g = b * L.gram_matrix(Tensor(f), "gatys").data
                targets[k] = g if k not in targets else targets[k] + g
    return targets


def perceptual_objective(vgg, content=None, style=None, content_weight=1.0, style_weight=1.0, tv_weight=0.0,
                         content_fn=L.content_loss, style_weights=None):
    """objective(x) = content_weight sum_l content_fn(phi_l(x), P_l) + style_weight L_style(x) + tv_weight TV(x).

    content: {layer: feature array P_l}; style: {layer: Gram target} (see gram_targets);
    L_style is losses.style_loss with ``style_weights`` (None: 1/L each);
    TV is losses.total_variation with beta = 2. The parts are reported weighted.
    """
    content, style = content or {}, style or {}
    layers = list(dict.fromkeys(list(content) + list(style)))

    def objective(x):
        f = vgg(x, layers)
        parts = {}
        if content:
            terms = [content_fn(f[k], Tensor(v)) for k, v in content.items()]
            parts["content"] = content_weight * sum(terms[1:], terms[0])
        if style:
            parts["style"] = style_weight * L.style_loss({k: f[k] for k in style}, style, style_weights)
        if tv_weight:
            parts["tv"] = tv_weight * L.total_variation(x)
        names = list(parts)
        return sum((parts[k] for k in names[1:]), parts[names[0]]), parts
    return objective


# ---- command-line pieces -----------------------------------------------------------------------

def add_vgg_options(parser, pool="avg"):
    parser.add_argument("--vgg", metavar="PATH", default=None,
                        help="VGG weights: torchvision vgg16/vgg19 .pth, vgg_normalised .pth, or minigen "
                             ".npz/.safetensors (default: $MINIGEN_VGG, else a seeded random-weight VGG-19)")
    parser.add_argument("--depth", type=int, default=19, choices=[16, 19],
                        help="VGG depth when the weights do not decide it (default: 19)")
    why = "as Gatys et al. use" if pool == "avg" else "as VGG was trained"
    parser.add_argument("--pool", default=pool, choices=["avg", "max"],
                        help=f"pooling in the VGG (default: {pool}, {why})")


def add_optim_options(parser, iters, print_every=10):
    parser.add_argument("--iters", type=int, default=iters, help=f"iterations (default: {iters})")
    parser.add_argument("--optimizer", default="lbfgs", choices=OPTIMIZERS, help="default: lbfgs")
    parser.add_argument("--lr", type=float, default=0.02, help="Adam's step size on [0, 1] pixels (default: 0.02)")
    parser.add_argument("--print-every", type=int, default=print_every,
                        help=f"progress line every N iterations, 0 for none (default: {print_every})")
    parser.add_argument("--save-every", type=int, default=0,
                        help="write the current image every N iterations beside --out (default: 0, never)")
    parser.add_argument("--max-memory", type=float, default=4.0, metavar="GIB",
                        help="refuse sizes whose estimated VGG memory exceeds this many GiB (default: 4)")


def parse_layers(text, flag):
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise MinigenError(f"{flag}: give at least one VGG layer name")
    return names


def check_layers(info, layers, flag):
    """Refuse unknown names and names deeper than the weights reach, before any work is done."""
    names = LAYERS[info["depth"]]
    for layer in layers:
        if layer not in names:
            raise MinigenError(f"{flag}: unknown VGG-{info['depth']} layer {layer!r}; valid: {', '.join(names)}")
        if info.get("last") and names.index(layer) > names.index(info["last"]):
            raise MinigenError(f"{flag}: layer {layer} is deeper than {info['last']}, the last layer the weights "
                               f"{info['weights']} provide")


def vgg_memory(depth, layers, height, width, itemsize=4):
    """Estimated bytes to optimise an H x W image through VGG up to the deepest of ``layers``:
    every conv / ReLU / pool output down to it, times MEMORY_FACTOR (the activation kept for
    backward, its gradient, and the convolution's workspace)."""
    names = LAYERS[depth]
    deepest = max(names.index(layer) for layer in layers)
    h, w, total = height, width, 0
    for name in names[:deepest + 1]:
        c = VGG_CHANNELS[int(name.split("_")[0][-1]) - 1]  # conv3_1, relu3_1, pool3 -> block 3
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        total += c * h * w
    return MEMORY_FACTOR * total * itemsize


def check_memory(depth, layers, sizes, max_gib, what):
    """Refuse when the VGG memory for the largest of ``sizes`` ((H, W) pairs) exceeds ``max_gib``."""
    h, w = max(sizes, key=lambda s: s[0] * s[1])
    need = vgg_memory(depth, layers, h, w)
    deepest = max(layers, key=LAYERS[depth].index)
    if need > max_gib * 2 ** 30:
        raise MinigenError(f"{what}: a {w}x{h} image through VGG-{depth} up to {deepest} needs about "
                           f"{need / 2 ** 30:.1f} GiB, over the --max-memory limit of {max_gib:g} GiB; "
                           "use a smaller --size (or raise --max-memory)")
    return need


def open_vgg(args):
    """(vgg, info) from --vgg/--depth/--pool/--device/--seed; errors in the file are one-line MinigenErrors."""
    return load_vgg(args.vgg, depth=args.depth, pooling=args.pool, device=args.device, seed=args.seed)


def fit_size(shape, long_side):
    """(H, W) with the longer side ``long_side`` and the aspect ratio of ``shape``."""
    if long_side < 1:
        raise MinigenError(f"--size must be a positive number of pixels, not {long_side}")
    h, w = shape[:2]
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize(image, size):
    """(H, W, 3) image in [0, 1] -> ``size`` (H', W'): MATLAB-style antialiased bicubic, clipped to [0, 1]."""
    if tuple(image.shape[:2]) == tuple(size):
        return image
    return np.clip(imresize(image, output_shape=size), 0, 1).astype(np.float32)


def check_run(args):
    """The checks every optimisation command makes before loading anything; returns the device."""
    device = check_device(args.device)
    check_out(args.out)
    if args.iters < 1:
        raise MinigenError(f"--iters must be at least 1, not {args.iters}")
    if args.print_every < 0 or args.save_every < 0 or not args.max_memory > 0:
        raise MinigenError("--print-every and --save-every must be 0 or more and --max-memory positive")
    return device


def check_out(path):
    """Refuse an output path whose folder is missing or whose extension is not an image format."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MinigenError(f"{path}: the folder {folder} does not exist")
    if os.path.splitext(path)[1].lower() not in Image.registered_extensions():
        raise MinigenError(f"{path}: unknown image format; use .png, .jpg, .bmp, .tif, ...")


def snapshot_paths(out, tag=""):
    """iteration -> 'OUT-STEM{tag}_0100.EXT', the names of the intermediate images."""
    stem, ext = os.path.splitext(out)
    return lambda it: f"{stem}{tag}_{it:04d}{ext}"


def sidecar_path(out):
    return os.path.splitext(out)[0] + ".json"


def run_options(args):
    """The command's parameters as JSON-able values (for the sidecar)."""
    return {k: v for k, v in vars(args).items() if k not in ("run", "command")}


def noise(shape, seed):
    """Uniform white noise in [0, 1], (1, 3, H, W): the random start of all three methods."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, (1, 3) + tuple(shape)).astype(np.float32)


def write_outputs(out, image, args, vgg_info, history, **extra):
    """The result image (atomically) and its JSON sidecar: parameters, VGG info, loss history."""
    save_image(out, image)
    record = {"parameters": run_options(args), "vgg": vgg_info, "history": history,
              "iterations": len(history.get("total", [])) - len(history.get("scale_start", [0])), **extra}
    write_json(sidecar_path(out), record)
    return sidecar_path(out)
