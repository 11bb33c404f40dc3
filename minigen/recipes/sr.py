"""Single-image super-resolution: train SRCNN, VDSR or the perceptual-loss x4
network, and upscale images with a trained checkpoint.

    minigen train-sr --model srcnn|srcnn-955|vdsr|perceptual --data DIR --scale 3 --steps N --out CKPT
    minigen sr --model CKPT --scale 3 INPUT --out OUTPUT

Luma networks (SRCNN, VDSR) work as in their papers: the image is enlarged
by bicubic interpolation (MATLAB-compatible ``imresize``), the network
restores its Y channel, and the chroma stays bicubic. The perceptual network
(Johnson et al. 2016) takes the RGB low-resolution image and outputs RGB at
4x. Training draws patches from an image folder (``data/datasets.py``) with
a generator seeded by (seed, step), so ``--resume`` continues a run exactly.
"""
import math
import os

import numpy as np

from .. import backend, losses, nn, optim
from ..data.datasets import SRPatches, bicubic_pair, list_images, load_folder, quantize
from ..data.images import load_image, rgb_to_ycbcr, save_image, ycbcr_to_rgb
from ..data.imresize import imresize
from ..data.procedural import shapes
from ..errors import MinigenError
from ..metrics import psnr_y
from ..models.sr_resnet import PerceptualSRNet
from ..models.srcnn import VARIANTS as SRCNN_VARIANTS, SRCNN
from ..models.vdsr import VDSR
from ..tensor import Tensor, no_grad
from .common import add_run_options, check_device
from ..training._old import load_checkpoint, model_state, step_rng, train

MODELS = ("srcnn", "srcnn-955", "vdsr", "perceptual")

# Per model: patch size (HR pixels), stride, optimiser, lr and VDSR's clipping theta. Patches as in the
# papers (SRCNN 33 with stride 14, VDSR 41; Johnson et al. 288, 96 here); Adam for all of them.
# VDSR's own recipe (SGD lr 0.1, momentum 0.9, weight decay 1e-4, gradients clipped to
# [-theta/lr, theta/lr] with theta 0.01) is `--optim sgd --lr 0.1 --clip 0.01`; from He initialisation it
# diverged within two steps here (loss 1e12), so short CPU runs default to Adam 1e-4 without clipping.
DEFAULTS = {
    "srcnn": dict(patch=33, stride=14, optim="adam", lr=1e-3, clip=0.0),
    "srcnn-955": dict(patch=33, stride=14, optim="adam", lr=1e-3, clip=0.0),
    "vdsr": dict(patch=41, stride=41, optim="adam", lr=1e-4, clip=0.0),
    "perceptual": dict(patch=96, stride=48, optim="adam", lr=1e-3, clip=0.0),
}


def build_model(config):
    """The network a checkpoint's config describes (a MinigenError for an unknown one)."""
    name, kw = config.get("model"), dict(config.get("kwargs", {}))
    try:
        if name in SRCNN_VARIANTS:
            return SRCNN(kernels=SRCNN_VARIANTS[name], **kw)
        if name == "vdsr":
            return VDSR(**kw)
        if name == "perceptual":
            return PerceptualSRNet(**kw)
    except (TypeError, ValueError) as e:
        raise MinigenError(f"cannot build {name} from the checkpoint's config {kw}: {e}") from None
    raise MinigenError(f"unknown SR model {name!r} in the checkpoint's config; known: {', '.join(MODELS)}")


def is_luma(config):
    return config["model"] != "perceptual"


def receptive_field(model):
    """Pixels (per side) of input one output pixel sees; images smaller than this are refused."""
    return model.size_rule().minimum


# ---- training -------------------------------------------------------------------------

def _clip_elementwise(params, bound):
    """VDSR's adjustable gradient clipping: every gradient entry into [-bound, bound], bound = theta / lr."""
    for p in params:
        if p.grad is not None:
            np.clip(p.grad, -bound, bound, out=p.grad)


def make_step(model, optimizer, data, config, seed, device, vgg=None):
    """step_fn for the training loop: a batch from ``data`` by (seed, step), the loss, backward.

    Luma models: MSE. VDSR's gradient is that of the paper's loss
    1/2 sum (y - f(x))^2 per patch averaged over the batch (the scale its
    lr 0.1 assumes), then clipped to theta / lr. Perceptual: 1/(CHW)
    ||phi(f(x)) - phi(y)||^2 at VGG-16 relu2_2 ('feature') or MSE ('pixel'),
    plus w_tv TV(f(x)) (Johnson et al.'s total variation regulariser, squared
    neighbour differences, per patch) when ``tv`` > 0.
    The lr drops tenfold every ``lr_step`` steps (VDSR: every 20 epochs).
    """
    batch, lr0, lr_step, clip = config["batch"], config["lr"], config["lr_step"], config["clip"]
    tv = config.get("tv", 0.0)

    def step_fn(step):
        optimizer.lr = lr0 * 0.1 ** ((step - 1) // lr_step) if lr_step else lr0
        x, y = data.batch(step_rng(seed, step), batch)
        x, y = Tensor(backend.to_device(x, device)), Tensor(backend.to_device(y, device))
        out = model(x)
        mse = losses.mse_loss(out, y)
        if config["model"] == "perceptual" and config["loss"] == "feature":
            with no_grad():
                target = vgg(y, ["relu2_2"])["relu2_2"]
            terms = {"feature": losses.feature_loss(vgg(out, ["relu2_2"])["relu2_2"], target), "mse": mse}
            loss = terms["feature"]
        else:
            terms = {"mse": mse}
            loss = mse * (0.5 * float(np.prod(y.shape[1:]))) if config["optim"] == "sgd" else mse
        if tv:
            terms["tv"] = tv * losses.total_variation(out, reduction="mean")
            loss = loss + terms["tv"]
        loss.backward()
        if clip:
            _clip_elementwise(model.parameters(), clip / optimizer.lr)
        return terms
    return step_fn


def _parse_scales(args):
    text = args.scales if args.scales else str(args.scale)
    try:
        scales = sorted({int(s) for s in text.split(",")})
    except ValueError:
        raise MinigenError(f"--scales: expected integers separated by commas, not {text!r}") from None
    if not scales or min(scales) < 2 or max(scales) > 8:
        raise MinigenError(f"scales must lie in 2..8, not {text}")
    if args.model == "perceptual" and (len(scales) != 1 or scales[0] not in (2, 4, 8)):
        raise MinigenError("--model perceptual upsamples by one power of two: give --scale 4 (or 2 or 8)")
    return scales


def train_config(args):
    d = DEFAULTS[args.model]
    scales = _parse_scales(args)
    if args.tv_weight and args.model != "perceptual":
        raise MinigenError("--tv-weight regularises the perceptual network only (--model perceptual)")
    if args.tv_weight is not None and args.tv_weight < 0:
        raise MinigenError(f"--tv-weight must be >= 0, not {args.tv_weight}")
    kwargs = {}
    if args.model == "vdsr":
        kwargs = {"depth": args.depth or 20, "width": args.width or 64}
    elif args.model == "perceptual":
        kwargs = {"width": args.width or 64, "blocks": args.depth or 4, "upsamplings": int(math.log2(scales[0]))}
    elif args.width:
        kwargs = {"n1": args.width, "n2": max(1, args.width // 2)}
    return {"model": args.model, "scales": scales, "kwargs": kwargs,
            "patch": args.patch or d["patch"], "stride": args.stride or d["stride"], "batch": args.batch,
            "optim": args.optim or d["optim"], "lr": args.lr or d["lr"], "lr_step": args.lr_step,
            "clip": d["clip"] if args.clip is None else args.clip,
            "loss": args.loss if args.model == "perceptual" else "pixel", "tv": args.tv_weight or 0.0,
            "augment": args.augment,
            "data": os.path.abspath(args.data) if args.data else "procedural", "seed": args.seed}


def _procedural_images(n=24, size=96, seed=0):
    return list(shapes(n, size, seed=seed).transpose(0, 2, 3, 1))


def training_data(config, images=None):
    """SRPatches for a config: from ``images`` (HWC RGB arrays), its data folder, or procedural shapes."""
    luma = is_luma(config)
    if images is None:
        if config["data"] == "procedural":
            images = _procedural_images(seed=config["seed"])
        else:
            images = load_folder(config["data"], mode="y" if luma else "rgb")
    if luma:
        images = [quantize(rgb_to_ycbcr(im)[..., 0]) if im.ndim == 3 else im for im in images]
    return SRPatches(images, config["scales"], config["patch"], config["stride"], mode="y" if luma else "rgb",
                     augment=config.get("augment", False))


def make_optimizer(model, config):
    if config["optim"] == "sgd":
        return optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9, weight_decay=1e-4)
    return optim.Adam(model.parameters(), lr=config["lr"])


def load_feature_net(path, device):
    """The frozen VGG of the feature loss: VGG-16 (random weights without a file), or what the file holds
    (relu2_2 has the same architecture in VGG-16 and VGG-19)."""
    from ..models.vgg import load_vgg  # only the perceptual network needs it
    return load_vgg(path=path, depth=16, device=device)


def run_training(config, steps, out=None, resume=False, save_every=0, device="cpu", images=None, vgg=None,
                 log_every=50, zero_last=False):
    """Build, train and checkpoint; returns (model, history). ``zero_last`` starts a residual network's
    last layer at zero, so that it begins as the bicubic baseline (for very short runs)."""
    backend.manual_seed(config["seed"])
    model = build_model(config).to(device)
    if zero_last:
        last = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
        last.weight.data[...] = 0
        last.bias.data[...] = 0
    model.train()
    data = training_data(config, images)
    opt = make_optimizer(model, config)
    step_fn = make_step(model, opt, data, config, config["seed"], device, vgg)
    history = train(step_fn, model, opt, steps, checkpoint=out, save_every=save_every, resume=resume,
                    config=config, log_every=log_every, label=f"train-sr {config['model']}: ",
                    may_change=("lr", "lr_step", "clip"))
    return model, history


def cmd_train(args):
    device = check_device(args.device)
    if args.steps < 1 or args.batch < 1:
        raise MinigenError("--steps and --batch must be positive")
    config = train_config(args)
    if args.data:
        list_images(args.data)  # a clear error before anything is loaded
    vgg = None
    if args.model == "perceptual" and config["loss"] == "feature":
        vgg, info = load_feature_net(args.vgg, device)
        config["vgg"] = info
    _, history = run_training(config, args.steps, out=args.out, resume=args.resume, save_every=args.save_every,
                              device=device, vgg=vgg)
    last = {k: v[-1] for k, v in history.items() if v}
    print(f"wrote {args.out} (" + ", ".join(f"{k} {v:.4g}" for k, v in last.items()) + ")")
    return 0


# ---- inference ---------------------------------------------------------------------------

def load_sr_model(path, device="cpu"):
    """(model in eval mode, config) from a train-sr checkpoint."""
    arrays, meta = load_checkpoint(path)
    config = meta["config"]
    if not isinstance(config, dict) or "model" not in config or "scales" not in config:
        raise MinigenError(f"{path}: not a train-sr checkpoint (its config names no SR model)")
    model = build_model(config)
    model.load_state_dict(model_state(arrays))
    model.eval()
    return model.to(device), config


def _run(model, x, device):
    with no_grad():
        return model(Tensor(backend.to_device(np.ascontiguousarray(x, np.float32), device))).numpy()


def restore_luma(model, y, device="cpu"):
    """A luma network's output for an already enlarged Y image (HW, [0, 1])."""
    return _run(model, y[None, None], device)[0, 0]


def upscale(model, config, img, scale, device="cpu"):
    """Enlarge an HW (grey) or HWC (RGB) image in [0, 1] ``scale`` times; returns the same layout, clipped.

    Luma models: bicubic to the target size, the network on Y, bicubic Cb/Cr.
    The perceptual network: RGB in, RGB out (a grey image is run as RGB and
    turned back to grey).
    """
    if scale not in config["scales"]:
        raise MinigenError(f"this {config['model']} model was trained for scale(s) "
                           f"{', '.join(map(str, config['scales']))}, not {scale}")
    h, w = img.shape[:2]
    if is_luma(config):
        up = imresize(img, scale)
        if min(up.shape[:2]) < receptive_field(model):
            raise MinigenError(f"image of {w}x{h} is too small: enlarged it is {up.shape[1]}x{up.shape[0]}, "
                               f"smaller than the network's receptive field of {receptive_field(model)} pixels")
        if up.ndim == 2:
            return np.clip(restore_luma(model, up, device), 0, 1)
        ycc = rgb_to_ycbcr(up)
        ycc[..., 0] = restore_luma(model, ycc[..., 0], device)
        out = ycbcr_to_rgb(ycc)
    else:
        if min(h, w) < receptive_field(model):
            raise MinigenError(f"image of {w}x{h} is too small for the network (at least "
                               f"{receptive_field(model)} pixels per side)")
        rgb = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=-1)
        out = _run(model, rgb.transpose(2, 0, 1)[None], device)[0].transpose(1, 2, 0)
        out = out if img.ndim == 3 else out.mean(axis=-1)
    return np.clip(out, 0, 1)


def _check_memory(config, img, scale, limit):
    """Activations of one forward pass: the widest layer at the output size, twice (input and output)."""
    width = max(config["kwargs"].get("n1", 64), config["kwargs"].get("width", 64))
    need = img.shape[0] * img.shape[1] * scale * scale * width * 4 * 2
    if need > limit:
        raise MinigenError(f"enlarging a {img.shape[1]}x{img.shape[0]} image {scale}x needs about "
                           f"{need / 2**30:.1f} GiB of activations; the limit is {limit / 2**30:.1f} GiB "
                           f"(--max-memory-gib)")


def cmd_sr(args):
    device = check_device(args.device)
    model, config = load_sr_model(args.model, device)
    scale = args.scale if args.scale is not None else config["scales"][0]
    img = load_image(args.input, mode=None)
    if img.ndim == 3:
        img = img[..., :3] if img.shape[-1] >= 3 else img[..., 0]  # alpha is dropped
    _check_memory(config, img, scale, args.max_memory_gib * 2**30)
    out = upscale(model, config, img, scale, device)
    save_image(args.out, out)
    print(f"wrote {args.out} ({out.shape[1]}x{out.shape[0]}, x{scale} with {config['model']})")
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "train-sr", help="train an SR network (SRCNN, VDSR, perceptual x4)",
        description="Train SRCNN (9-1-5 or 9-5-5), VDSR (20 layers, residual, multi-scale) on the Y channel, or "
                    "Johnson et al.'s x4 network with a VGG-16 relu2_2 feature loss (or pixel MSE), on patches "
                    "of an image folder (the embedded procedural shapes without --data). Checkpoints hold the "
                    "config that rebuilds the model; --resume continues a run.")
    p.add_argument("--model", choices=MODELS, default="srcnn", help="network (default: srcnn = 9-1-5)")
    p.add_argument("--data", help="folder of training images (e.g. T91); default: procedural shapes")
    p.add_argument("--scale", type=int, default=3, help="upscaling factor (default: 3)")
    p.add_argument("--scales", help="several factors for one network, e.g. 2,3,4 (VDSR's multi-scale training)")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps (default: 1000)")
    p.add_argument("--batch", type=int, default=64, help="patches per step (default: 64)")
    p.add_argument("--patch", type=int, help="HR patch size (default: srcnn 33, vdsr 41, perceptual 96)")
    p.add_argument("--stride", type=int, help="patch grid stride (default: srcnn 14, vdsr 41, perceptual 48)")
    p.add_argument("--optim", choices=["adam", "sgd"], default=None,
                   help="optimiser (default: adam; sgd is SGD with momentum 0.9 and weight decay 1e-4, VDSR's)")
    p.add_argument("--lr", type=float, help="learning rate (default: 1e-3; vdsr 1e-4)")
    p.add_argument("--lr-step", type=int, default=0, help="divide the lr by 10 every N steps (default: never)")
    p.add_argument("--clip", type=float, help="VDSR's adjustable gradient clipping theta: every gradient entry "
                                              "clipped to [-theta/lr, theta/lr] (the paper: 0.01; default: off)")
    p.add_argument("--loss", choices=["feature", "pixel"], default="feature",
                   help="perceptual model: VGG-16 relu2_2 feature loss or pixel MSE (default: feature)")
    p.add_argument("--tv-weight", type=float,
                   help="perceptual model: weight of the total variation regulariser, which damps the "
                        "checkerboard of the transposed convolutions (default: 0)")
    p.add_argument("--vgg", help="VGG-16 weights for the feature loss (default: $MINIGEN_VGG, else random weights)")
    p.add_argument("--width", type=int, help="channels (srcnn n1, with n2 = n1/2; vdsr/perceptual width)")
    p.add_argument("--depth", type=int, help="vdsr layers (default 20) or perceptual residual blocks (default 4)")
    p.add_argument("--augment", action="store_true",
                   help="turn each patch pair by a random one of the 8 rotations/mirrors of the square (VDSR's "
                        "augmentation)")
    p.add_argument("--save-every", type=int, default=200, help="checkpoint every N steps (default: 200)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint at --out (same settings; --lr, --lr-step and --clip may change)")
    add_run_options(p, out="sr.npz")
    p.set_defaults(run=cmd_train)

    p = subparsers.add_parser(
        "sr", help="upscale an image with a train-sr checkpoint",
        description="Enlarge an image: luma models run on the Y channel of the bicubic-enlarged image (chroma "
                    "stays bicubic); the perceptual model maps RGB to RGB at x4.")
    p.add_argument("input", help="image file (RGB or grey)")
    p.add_argument("--model", required=True, help="checkpoint written by train-sr")
    p.add_argument("--scale", type=int, help="upscaling factor; one the model was trained for (default: its first)")
    p.add_argument("--max-memory-gib", type=float, default=8.0, help="refuse inputs needing more (default: 8)")
    add_run_options(p, out="sr.png")
    p.set_defaults(run=cmd_sr)


# ---- demo ------------------------------------------------------------------------------------

def demo_section(gallery, device, seed, quick):
    """Bicubic vs a small VDSR (5 layers, 16 channels) trained briefly on procedural shapes at x3."""
    steps = 30 if quick else 120
    config = {"model": "vdsr", "scales": [3], "kwargs": {"depth": 5, "width": 16}, "patch": 24, "stride": 12,
              "batch": 8, "optim": "adam", "lr": 2e-3, "lr_step": 0, "clip": 0.0, "loss": "pixel",
              "data": "procedural", "seed": seed}
    model, history = run_training(config, steps, device=device, log_every=steps, zero_last=True)
    model.eval()
    test = shapes(4, 48, seed=seed + 10_000).transpose(0, 2, 3, 1)  # images the net never saw
    bic, net, lows = [], [], []
    for hr in test:
        lr, up = bicubic_pair(hr, 3)
        lows.append(np.repeat(np.repeat(lr, 3, axis=0), 3, axis=1))  # nearest, to show the pixels
        bic.append(np.clip(up, 0, 1))
        net.append(upscale(model, config, lr, 3, device))
    p_bic = np.mean([psnr_y(quantize(b), h, 3) for b, h in zip(bic, test)])
    p_net = np.mean([psnr_y(quantize(n), h, 3) for n, h in zip(net, test)])
    gallery.section("super-resolution: VDSR-style residual network, x3",
                    f"A 5-layer, 16-channel VDSR (residual learning on Y, last layer started at zero, so training "
                    f"begins from bicubic) trained for {steps} Adam steps on "
                    f"24x24 patches of procedural shapes. PSNR (Y, border 3) on 4 unseen 48x48 images: bicubic "
                    f"{p_bic:.2f} dB, network {p_net:.2f} dB.")
    grid = lambda ims: np.concatenate(ims, axis=1)  # noqa: E731
    gallery.image("sr_lowres.png", grid(lows), "low resolution (16x16, shown enlarged)", zoom=2)
    gallery.image("sr_bicubic.png", grid(bic), "bicubic x3", zoom=2)
    gallery.image("sr_network.png", grid(net), "network x3", zoom=2)
    gallery.image("sr_truth.png", grid(list(test)), "ground truth", zoom=2)
    gallery.curves("sr_loss.png", {"mse": history["mse"]}, "training loss (MSE on Y, log scale)", title="SR loss")
