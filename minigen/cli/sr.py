"""``minigen train-sr`` and ``minigen sr``: super-resolution (``recipes.sr``), and its demo section.

    minigen train-sr --model srcnn|srcnn-955|vdsr|perceptual --data DIR --scale 3 --steps N --out CKPT
    minigen train-sr --out CKPT --resume [--steps N] [--lr LR]
    minigen sr --model CKPT --scale 3 INPUT --out OUTPUT

Both refuse bad input before any work: numbers out of range (argparse), an
output that would replace an input, a checkpoint that exists (train-sr
replaces it only with --force, continues it with --resume), a patch smaller
than the network's receptive field, an image folder without images, a scale
the model was not trained for, an image too small for the network or too
large for --max-memory. A resumed run takes its settings from the
checkpoint; a setting given again must agree, but for the schedule (--lr,
--lr-step, --clip).
"""
import argparse

import numpy as np

from ..data.files import IMAGE_EXTENSIONS
from ..errors import MinigenError
from .files import check_output, clean_stale_temporaries
from .options import (add_checkpointing, add_device, add_logging, add_memory, add_out, add_seed, add_vgg,
                      check_device, deprecated_alias, int_range, nonneg_float, nonneg_int, positive_float,
                      positive_int)

DEMO_SECTION = "sr"
MODELS = ("srcnn", "srcnn-955", "vdsr", "perceptual")
SCALE = int_range(2, 8)
STEPS = 1000  # a new run's default


def scale_list(text):
    """An argparse type: comma-separated upscaling factors, each from 2 to 8 (e.g. 2,3,4)."""
    try:
        scales = sorted({SCALE(s) for s in str(text).split(",")})
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected integers from 2 to 8 separated by commas, not {text!r}") \
            from None
    return scales


# The flags of train-sr that set the run's settings (recipes.sr.train_settings), --scale/--scales apart.
SETTING_FLAGS = ("model", "width", "depth", "patch", "stride", "batch", "optim", "lr", "lr_step", "clip", "loss",
                 "tv_weight", "augment", "data", "seed", "normalize")


def register(subparsers):
    p = subparsers.add_parser(
        "train-sr", help="train an SR network (SRCNN, VDSR, perceptual x4)",
        description="Train SRCNN (9-1-5 or 9-5-5), VDSR (20 layers, residual, multi-scale) on the Y channel, or "
                    "Johnson et al.'s x4 network with a VGG-16 relu2_2 feature loss (or pixel MSE), on patches "
                    "of an image folder (the embedded procedural shapes without --data). Checkpoints hold the "
                    "settings and the network; `--out CKPT --resume` continues a run with its own settings.")
    g = p.add_argument_group("network and data")
    g.add_argument("--model", choices=MODELS, help="network (default: srcnn = 9-1-5)")
    g.add_argument("--data", metavar="DIR", help="folder of training images (e.g. T91); default: procedural shapes")
    g.add_argument("--scale", type=SCALE, metavar="S", help="upscaling factor, 2 to 8 (default: 3)")
    g.add_argument("--scales", type=scale_list, metavar="S,S",
                   help="several factors for one network, e.g. 2,3,4 (VDSR's multi-scale training)")
    g.add_argument("--width", type=positive_int, metavar="N",
                   help="channels (srcnn n1, with n2 = n1/2; vdsr/perceptual width; default: 64)")
    g.add_argument("--depth", type=positive_int, metavar="N",
                   help="vdsr layers, at least 2 (default 20), or perceptual residual blocks (default 4)")
    g.add_argument("--patch", type=positive_int, metavar="N",
                   help="HR patch size, at least the network's receptive field (default: srcnn 33, vdsr 41, "
                        "perceptual 96)")
    g.add_argument("--stride", type=positive_int, metavar="N",
                   help="patch grid stride (default: srcnn 14, vdsr 41, perceptual 48)")
    g.add_argument("--augment", action="store_true", default=None,
                   help="turn each patch pair by a random one of the 8 rotations/mirrors of the square (VDSR's "
                        "augmentation)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=positive_int, metavar="N",
                   help=f"optimiser steps in all (default: {STEPS}; with --resume, the run's own total)")
    g.add_argument("--batch", type=positive_int, metavar="N", help="patches per step (default: 64)")
    g.add_argument("--optim", choices=["adam", "sgd"],
                   help="optimiser (default: adam; sgd is SGD with momentum 0.9 and weight decay 1e-4, VDSR's)")
    g.add_argument("--lr", type=positive_float, help="learning rate, > 0 (default: 1e-3; vdsr 1e-4)")
    g.add_argument("--lr-step", type=nonneg_int, metavar="N",
                   help="divide the lr by 10 every N steps; 0: never (default: 0)")
    g.add_argument("--clip", type=nonneg_float, metavar="THETA",
                   help="VDSR's adjustable gradient clipping theta >= 0: every gradient entry clipped to "
                        "[-theta/lr, theta/lr] (the paper: 0.01; default: 0, off)")
    g.add_argument("--loss", choices=["feature", "pixel"],
                   help="perceptual model: VGG-16 relu2_2 feature loss or pixel MSE (default: feature)")
    g.add_argument("--tv-weight", type=nonneg_float, metavar="W",
                   help="perceptual model: weight >= 0 of the total variation regulariser, which damps the "
                        "checkerboard of the transposed convolutions (default: 0)")
    g.add_argument("--normalize", choices=["target", "none"],
                   help="perceptual feature loss: target (default) divides it by the mean square of the target's "
                        "features, a relative error that keeps --tv-weight's meaning with any VGG weights; none: "
                        "Johnson et al.'s sum")
    add_vgg(p)
    add_out(p, "sr.npz", help="the checkpoint to write (.npz or .safetensors)", metavar="CKPT")
    add_checkpointing(p, 200)
    add_logging(p, 50)
    add_device(p)
    add_seed(p)
    p.set_defaults(seed=None, run=cmd_train)  # None: not given (a resumed run takes the checkpoint's)

    p = subparsers.add_parser(
        "sr", help="upscale an image (the bundled VDSR, or a train-sr checkpoint)",
        description="Enlarge an image: luma models run on the Y channel of the bicubic-enlarged image (chroma "
                    "stays bicubic); the perceptual model maps RGB to RGB at x4. Without --model, the VDSR "
                    "bundled with minigen (x2, x3 and x4 in one network).")
    p.add_argument("input", help="image file (RGB or grey)")
    p.add_argument("--model", default="vdsr", metavar="CKPT",
                   help="a checkpoint written by train-sr, or a bundled model: vdsr (x2/x3/x4) or srcnn (x3) "
                        "(default: vdsr)")
    p.add_argument("--scale", type=SCALE, metavar="S",
                   help="upscaling factor; one the model was trained for (default: its first; bundled vdsr: 3)")
    add_out(p, "sr.png", help="the enlarged image")
    add_memory(p, default=8.0)
    deprecated_alias(p, "--max-memory-gib", "--max-memory")
    add_device(p)
    add_seed(p)
    p.set_defaults(run=cmd_sr)


# ---- train-sr -------------------------------------------------------------------------------------

def _given(args):
    """The settings arguments given on the command line (None: not given)."""
    given = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k) is not None}
    if args.scales or args.scale is not None:
        given["scales"] = args.scales or [args.scale]
    return given


def _fixed(settings):
    from ..recipes.sr import MAY_CHANGE
    return {k: v for k, v in settings.items() if k not in MAY_CHANGE}


def _resumed_settings(out, saved, given, scale_flag):
    """The settings of a resumed run: the checkpoint's, with the flags given again, which must agree but
    for the schedule (MAY_CHANGE; fit prints those changes). A disagreement is refused naming its flags."""
    from ..recipes.sr import settings_arguments, train_settings
    from ..training.loop import check_settings
    base = settings_arguments(saved)
    try:
        settings = train_settings(**{**base, **given})
        check_settings(out, saved, _fixed(settings))
    except MinigenError as e:
        def changes(k):
            try:
                return _fixed(train_settings(**{**base, k: given[k]})) != _fixed(train_settings(**base))
            except MinigenError:
                return True
        culprits = [k for k in given if changes(k)] or list(given)
        raise MinigenError(", ".join(_flag(k, given[k], scale_flag) for k in culprits) + f": {e}") from None
    return settings


def _flag(key, value, scale_flag="--scale"):
    """A settings argument as it was given: '--lr-step 3', '--scales 2,3', '--augment'."""
    name = scale_flag if key == "scales" else "--" + key.replace("_", "-")
    if value is True:
        return name
    return f"{name} {','.join(map(str, value)) if isinstance(value, list) else value}"


def _vgg_path(args, saved):
    """--vgg, or for a resumed run the weights the checkpoint names (a file, 'bundled' or 'random')."""
    info = (saved or {}).get("vgg")
    weights = info.get("weights") if isinstance(info, dict) else None
    return args.vgg or weights


def cmd_train(args):
    from ..data.files import list_images
    from ..io import checkpoint as ckpt_io
    from ..recipes import sr
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.data, args.vgg], kind="checkpoint", resume=args.resume,
                       force=args.force)
    given, saved, steps = _given(args), None, args.steps
    if args.resume:
        ckpt = ckpt_io.load(out, kind=sr.KIND)
        saved = ckpt.settings
        settings = _resumed_settings(out, saved, given, "--scales" if args.scales else "--scale")
        steps = steps or ckpt.extra.get("steps") or STEPS
        if ckpt.step >= steps:
            raise MinigenError(f"{out}: already at step {ckpt.step} of {steps}; ask for more steps (--steps)")
    else:
        settings = sr.train_settings(**given)
        steps = steps or STEPS
    sr.check_patch(settings)
    if settings["data"] != "procedural":
        list_images(settings["data"])  # a clear error before anything is loaded
    clean_stale_temporaries(out)
    vgg = None
    if settings["model"] == "perceptual" and settings["loss"] == "feature":
        vgg, settings["vgg"] = sr.load_feature_net(_vgg_path(args, saved), device)
    _, history = sr.run_training(settings, steps, out=out, resume=args.resume, save_every=args.save_every,
                                 device=device, vgg=vgg, log_every=args.log_every)
    last = {k: v[-1] for k, v in history.items() if v}
    print(f"wrote {out} (" + ", ".join(f"{k} {v:.4g}" for k, v in last.items()) + ")")
    return 0


# ---- sr --------------------------------------------------------------------------------------------

def cmd_sr(args):
    from ..data.images import load_image, save_image
    from ..recipes import sr
    from ..training import memory
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.input, args.model], extensions=IMAGE_EXTENSIONS)
    model, settings = sr.load_sr_model(args.model, device)
    scale = args.scale if args.scale is not None else (3 if 3 in settings["scales"] else settings["scales"][0])
    img = load_image(args.input, mode=None)
    if img.ndim == 3:
        img = img[..., :3] if img.shape[-1] >= 3 else img[..., 0]  # alpha is dropped
    h, w = img.shape[:2]
    sr.check_input(model, settings, h, w, scale)
    memory.check(f"enlarging a {w}x{h} image {scale}x", sr.memory_needed(settings, h, w, scale), args.max_memory,
                 hint="use a smaller image")
    result = sr.upscale(model, settings, img, scale, device)
    clean_stale_temporaries(out)
    save_image(out, result)
    print(f"wrote {out} ({result.shape[1]}x{result.shape[0]}, x{scale} with {settings['model']})")
    return 0


# ---- demo ------------------------------------------------------------------------------------------

def demo_section(gallery, device, seed, quick):
    """The bundled SRCNN and VDSR against bicubic at x3 on an embedded procedural image, and the bundled
    perceptual x4 network. Returns the x3 PSNRs (Y, border 3) by method."""
    from ..data.datasets import bicubic_pair, quantize
    from ..data.procedural import shapes
    from ..metrics import psnr_y, ssim_y
    from ..recipes.sr import load_sr_model, upscale
    size = 72 if quick else 144
    hr = shapes(1, size, seed=seed + 8)[0].transpose(1, 2, 0)
    low, bicubic = bicubic_pair(hr, 3)
    x3 = {"bicubic": np.clip(bicubic, 0, 1)}
    for name in ("srcnn", "vdsr"):
        model, settings = load_sr_model(name, device)
        x3[name] = upscale(model, settings, low, 3, device)
    score = {k: (psnr_y(quantize(v), hr, 3), ssim_y(quantize(v), hr, 3)) for k, v in x3.items()}
    model, settings = load_sr_model("perceptual", device)
    low4, bicubic4 = bicubic_pair(hr, 4)
    x4 = {"bicubic": np.clip(bicubic4, 0, 1), "perceptual": upscale(model, settings, low4, 4, device)}
    score4 = {k: (psnr_y(quantize(v), hr, 4), ssim_y(quantize(v), hr, 4)) for k, v in x4.items()}
    shown = lambda k, s: f"{k} {s[k][0]:.2f} dB / SSIM {s[k][1]:.3f}"  # noqa: E731
    gallery.section("super-resolution: SRCNN, VDSR, perceptual x4",
                    f"x3 on an unseen {size}x{size} procedural image with the networks bundled with minigen "
                    f"(trained on the 91 images of T91; PSNR/SSIM on Y, border 3, as the papers): "
                    f"{shown('bicubic', score)}; SRCNN 9-1-5 (Dong et al. 2014) {shown('srcnn', score)[6:]}; "
                    f"VDSR (Kim et al. 2016, 20 layers, residual) {shown('vdsr', score)[5:]}. x4 with the bundled "
                    f"network of Johnson et al. 2016, trained with the feature loss (VGG relu2_2) and TV: "
                    f"{shown('bicubic', score4)}, network {shown('perceptual', score4)[11:]} (a feature loss aims "
                    f"at sharp edges, not at PSNR).")
    zoom = max(1, 288 // size)
    nearest = np.repeat(np.repeat(low, 3, axis=0), 3, axis=1)
    for name, image, caption in (("lowres", nearest, f"x3 input ({low.shape[1]}x{low.shape[0]}, shown enlarged)"),
                                 ("bicubic", x3["bicubic"], "bicubic x3"), ("srcnn", x3["srcnn"], "SRCNN x3"),
                                 ("vdsr", x3["vdsr"], "VDSR x3"), ("truth", hr, "ground truth"),
                                 ("bicubic_x4", x4["bicubic"], "bicubic x4"),
                                 ("perceptual_x4", x4["perceptual"], "perceptual x4")):
        gallery.image(f"sr_{name}.png", image, caption, zoom=zoom)
    return {k: v[0] for k, v in score.items()}
