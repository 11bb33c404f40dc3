"""``minigen dip denoise|inpaint|sr IMAGE``: Deep Image Prior on one image (``recipes.dip.fit``), and the
demo's inpainting section.

The command refuses bad input before any work: numbers out of range (argparse), flags that do not go
together, outputs that would replace an input or cannot be written (OUT, its sidecars OUT.json,
OUT_loss.png, OUT_psnr.png and snapshots OUT_iterNNNNNN.png, the checkpoint), and an existing
checkpoint without --resume or --force. With --resume the settings come from the checkpoint; a flag
given again must agree with it. It then reads the image, the mask and the ground truth, fits, and
writes OUT and its sidecars.
"""
import argparse
import fractions
import os

import numpy as np

from ..errors import MinigenError
from .files import check_output
from .options import (add_checkpointing, add_device, add_logging, add_memory, add_out, add_seed, add_snapshots,
                      check_device, deprecated_alias, float_range, int_range, nonneg_float, nonneg_int,
                      positive_float, positive_int)

TASKS = ("denoise", "inpaint", "sr")
IMAGE_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff")  # lossless
MAX_FACTOR, MAX_SCALES = 16, 10
# The flags that make a fit's settings, with their defaults. They are parsed with default None ("not
# given"), so that --resume can take them from the checkpoint.
DEFAULTS = {"factor": 4, "lr": 0.01, "reg_noise_std": 1 / 30, "ema": 0.99, "input": "uniform", "seed": 0,
            "arch": "skip", "scales": 5, "channels": 128, "skip_channels": 4, "upsample": "bilinear",
            "input_channels": None, "save_every": 100}
SAVE_EVERY_NOTE = ("--save-every K sets the interval of checkpoints (it used to be that of intermediate images, "
                   "now --snapshot-every K; --checkpoint-every K is its old name)")


def _fraction(text):
    """An argparse type: a number >= 0, also written as a fraction such as 1/30."""
    try:
        x = float(fractions.Fraction(str(text).strip()))
    except (ValueError, ZeroDivisionError):
        x = None
    if x is None or x < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 such as 0.03 or 1/30, not {text}")
    return x


def register(subparsers):
    p = subparsers.add_parser(
        "dip", help="Deep Image Prior: denoise, inpaint or super-resolve one image with an untrained network",
        description="Deep Image Prior (Ulyanov et al. 2018): fit a randomly initialised encoder-decoder to one "
                    "image, no training data. denoise: E = ||x - x0||^2; inpaint: E = ||(x - x0) * mask||^2; "
                    "sr: E = ||d(x) - x0||^2 with d a fixed Lanczos-3 downsampler and x at --factor times the "
                    "input size. Writes OUT and beside it OUT's name with .json (settings, loss and PSNR per "
                    "iteration), _loss.png, (with --ground-truth) _psnr.png and (with --snapshot-every K) "
                    "_iterNNNNNN.png. On a 2-core CPU one iteration of the default network at 512x512 takes "
                    "about 3.5 seconds: crop, or use --time-limit and --checkpoint to fit in pieces. With "
                    "--checkpoint CKPT --resume the fit's settings come from CKPT; a flag given again must agree.",
        epilog=f"Note: {SAVE_EVERY_NOTE}.")
    p.add_argument("task", choices=TASKS, help="what to restore")
    p.add_argument("image", help="the degraded image (the low-resolution one for sr)")
    p.add_argument("--mask", help="inpaint: an image of the same size, white (1) = known pixel, black = missing")
    p.add_argument("--ground-truth", metavar="GT", help="the clean image (output size), for PSNR per iteration")
    g = p.add_argument_group("fit")
    g.add_argument("--factor", type=int_range(1, MAX_FACTOR), metavar="K", help="sr: the upscaling factor (default: 4)")
    g.add_argument("--iters", type=positive_int, metavar="N",
                   help="iterations in all (default: denoise 3000, inpaint 5000, sr 2000; when resuming, the "
                        "checkpoint's)")
    g.add_argument("--lr", type=positive_float, help="Adam learning rate, > 0 (default: 0.01)")
    g.add_argument("--reg-noise-std", type=_fraction, metavar="SIGMA",
                   help="std of the fresh noise added to the input code each iteration; 0 for none (default: 1/30)")
    g.add_argument("--ema", type=float_range(0, 1, hi_open=True), metavar="BETA",
                   help="exponential averaging of the outputs over iterations, in [0, 1); 0 for the last output "
                        "(default: 0.99)")
    g.add_argument("--stop-below", type=nonneg_float, metavar="MSE",
                   help="stop early once the data term (a mean squared error) falls to MSE, e.g. sigma^2 of the "
                        "noise when denoising")
    g.add_argument("--time-limit", type=nonneg_float, metavar="SECONDS",
                   help="stop after the iteration that passes this many seconds (the result so far is written)")
    g = p.add_argument_group("network")
    g.add_argument("--arch", choices=("skip", "hourglass"),
                   help="skip: encoder-decoder with skip connections (default); hourglass: without them")
    g.add_argument("--scales", type=int_range(1, MAX_SCALES), metavar="N", help="down/up-sampling scales (default: 5)")
    g.add_argument("--channels", type=positive_int, metavar="N", help="channels per scale (default: 128)")
    g.add_argument("--skip-channels", type=nonneg_int, metavar="N",
                   help="channels of each skip connection (default: 4)")
    g.add_argument("--upsample", choices=("bilinear", "nearest"), help="the decoder's upsampling (default: bilinear)")
    g.add_argument("--input", choices=("uniform", "meshgrid"),
                   help="the code z: uniform noise in [0, 0.1) with --input-channels channels, or meshgrid, the "
                        "two channels of pixel coordinates in [0, 1] (default: uniform)")
    g.add_argument("--input-channels", type=positive_int, metavar="N",
                   help="channels of a uniform code (default: 32; a meshgrid code has 2)")
    add_out(p, "dip-out.png", help="the restored image (.png, .bmp or .tif)")
    add_logging(p, 100)
    add_snapshots(p)
    g = add_checkpointing(p, DEFAULTS["save_every"], where="--checkpoint")
    g.add_argument("--checkpoint", metavar="CKPT",
                   help="save the whole state of the fit to CKPT (.npz or .safetensors) every --save-every "
                        "iterations and when the run ends, so that --resume can continue it")
    deprecated_alias(p, "--checkpoint-every", "--save-every")
    add_memory(p)
    add_device(p)
    add_seed(p)
    p.set_defaults(run=cmd_dip, seed=None, save_every=None)


def _flag(dest):
    return "--" + dest.replace("_", "-")


def _shown(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_flags(args):
    """The flags that do not go together, before any work."""
    if args.task == "inpaint" and args.mask is None:
        raise MinigenError("dip inpaint needs --mask MASK (an image of the same size, white = known pixels)")
    if args.task != "inpaint" and args.mask is not None:
        raise MinigenError(f"--mask is for dip inpaint, not dip {args.task}")
    if args.input == "meshgrid" and args.input_channels not in (None, 2):
        raise MinigenError(f"--input meshgrid has 2 channels; --input-channels {args.input_channels} is for "
                           f"--input uniform")
    if args.save_every is not None and not args.checkpoint:
        raise MinigenError(f"--save-every needs --checkpoint CKPT: {SAVE_EVERY_NOTE}")
    for flag in ("resume", "force"):
        if getattr(args, flag) and not args.checkpoint:
            raise MinigenError(f"--{flag} needs --checkpoint CKPT, the fit's checkpoint")


def sibling(out, suffix):
    """The file written beside OUT: OUT's name without its extension, then ``suffix``."""
    return os.path.splitext(out)[0] + suffix


def check_files(args):
    """Refuse outputs that would replace an input or cannot be written, before any work."""
    inputs = [args.image, args.mask, args.ground_truth, args.checkpoint if args.resume else None]
    check_output(args.out, inputs, extensions=IMAGE_EXTENSIONS)
    for suffix in (".json", "_loss.png") + (("_psnr.png",) if args.ground_truth else ()):
        check_output(sibling(args.out, suffix), inputs, flag=f"--out {args.out} writes")
    if args.snapshot_every:
        stem = os.path.realpath(sibling(args.out, "_iter"))
        for src in inputs:
            name = os.path.realpath(src) if src else ""
            if name.startswith(stem) and name.endswith(".png") and name[len(stem):-4].isdigit():
                raise MinigenError(f"--snapshot-every: the intermediate images {sibling(args.out, '_iterNNNNNN.png')}"
                                   f" would replace the input {src}; choose another --out")
    if args.checkpoint:
        check_output(args.checkpoint, inputs[:3], kind="checkpoint", resume=args.resume, force=args.force,
                     flag="--checkpoint")


def saved_flags(settings):
    """The values of the flags that made a fit's ``settings`` (a checkpoint's)."""
    net, skip = settings["net"], any(settings["net"]["skip"])
    flags = {"lr": settings["lr"], "reg_noise_std": settings["reg_noise_std"], "ema": settings["ema"],
             "input": settings["code"], "seed": settings["seed"], "arch": "skip" if skip else "hourglass",
             "scales": len(net["down"]), "channels": net["down"][0], "upsample": net["upsample"]}
    if skip:
        flags["skip_channels"] = net["skip"][0]
    if settings["code"] == "uniform":
        flags["input_channels"] = net["in_channels"]
    if settings["task"] == "sr":
        flags["factor"] = settings["factor"]
    return flags


def resume_settings(args):
    """Take the flags not given from the checkpoint's settings; refuse one given with another value."""
    from ..io import checkpoint as ckpt_io
    from ..recipes.dip import KIND
    ckpt = args.checkpoint
    saved = ckpt_io.load(ckpt, kind=KIND).settings
    try:
        flags = saved_flags(saved)
    except (KeyError, TypeError, IndexError):
        raise MinigenError(f"--checkpoint {ckpt}: its settings are not those of a dip fit") from None
    if saved["task"] != args.task:
        raise MinigenError(f"--checkpoint {ckpt}: a fit of dip {saved['task']}, not of dip {args.task}")
    for dest, value in flags.items():
        given = getattr(args, dest)
        if given is None:
            setattr(args, dest, value)
        elif given != value:
            raise MinigenError(f"{_flag(dest)} {_shown(given)}: {ckpt} was made with {_flag(dest)} {_shown(value)}; "
                               "leave the flag out to resume with the checkpoint's settings")
    if bool(args.ground_truth) != bool(saved["ground_truth"]):
        raise MinigenError(f"--ground-truth: {ckpt} was made " + ("with a ground truth; give it again" if
                           saved["ground_truth"] else "without a ground truth; resume without one"))
    if args.iters is None:
        args.iters = saved.get("iters")
    return saved


def check_data(args, saved, image, mask):
    """Refuse to resume a fit on other data than the checkpoint's."""
    from ..recipes.dip import checksum
    h, w = saved["shape"][:2]
    if image.shape[:2] != (h, w):
        raise MinigenError(f"{args.image}: the image is {image.shape[1]}x{image.shape[0]}, but {args.checkpoint} "
                           f"was made with one of {w}x{h}")
    if checksum(image, mask) != saved["data"]:
        what = "image and mask" if mask is not None else "image"
        raise MinigenError(f"{args.image}: {args.checkpoint} was made with another {what}; resume with the same")


def load_inputs(args):
    """The image, the mask (inpaint) and the ground truth (or None), checked against each other."""
    from ..data.images import DEFAULT_MAX_PIXELS, load_image
    from ..recipes.dip import load_mask
    factor = args.factor if args.task == "sr" else 1
    # The check before decoding: the largest output the pixel limit allows.
    image = load_image(args.image, max_pixels=DEFAULT_MAX_PIXELS // factor ** 2)
    mask = load_mask(args.mask, image.shape[:2]) if args.task == "inpaint" else None
    out_shape = (image.shape[0] * factor, image.shape[1] * factor)
    gt = None
    if args.ground_truth:
        gt = load_image(args.ground_truth)
        if gt.shape[:2] != out_shape:
            raise MinigenError(f"{args.ground_truth}: the ground truth is {gt.shape[1]}x{gt.shape[0]} but the "
                               f"output is {out_shape[1]}x{out_shape[0]}" + (f" ({factor} x the input)" if factor > 1
                                                                              else ""))
    return image, mask, gt


def cmd_dip(args):
    device = check_device(args.device)
    check_flags(args)
    check_files(args)
    saved = resume_settings(args) if args.resume else None
    for dest, value in DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, value)
    image, mask, gt = load_inputs(args)
    if saved is not None:
        check_data(args, saved, image, mask)
    return write_results(args, device, image, mask, gt)


def write_results(args, device, image, mask, gt):
    """Fit, writing the snapshots as they come, then OUT, its curves and its JSON sidecar."""
    from ..data.images import save_image
    from ..io import write_json
    from ..metrics import psnr
    from ..recipes.dip import DEFAULT_ITERS, fit
    from ..report import save_curves
    factor = args.factor if args.task == "sr" else 1
    iters = args.iters or DEFAULT_ITERS[args.task]
    saved = []

    def snapshot(it, out):
        path = sibling(args.out, f"_iter{it:06d}.png")
        save_image(path, np.clip(out, 0, 1))
        saved.append(path)

    result = fit(args.task, image, mask=mask, factor=factor, iters=iters, lr=args.lr,
                 reg_noise_std=args.reg_noise_std, ema=args.ema, ground_truth=gt,
                 net_options={"arch": args.arch, "scales": args.scales, "channels": args.channels,
                              "skip_channels": args.skip_channels, "input_channels": args.input_channels or 32,
                              "upsample": args.upsample},
                 code=args.input, stop_below=args.stop_below, time_limit=args.time_limit,
                 snapshot_every=args.snapshot_every, on_snapshot=snapshot, seed=args.seed, device=device,
                 log_every=args.log_every, checkpoint=args.checkpoint, save_every=args.save_every,
                 resume=args.resume, max_memory=args.max_memory, name=args.image)
    save_image(args.out, result["output"])
    curve = {"size": (480, 240), "xlabel": "iteration"}

    def per_iteration(values):
        return range(1, len(values) + 1), values

    save_curves(sibling(args.out, "_loss.png"), {"loss": per_iteration(result["loss"])}, log_y=True, title="loss",
                **curve)
    final_psnr = None
    if gt is not None:
        final_psnr = psnr(result["output"], gt)
        save_curves(sibling(args.out, "_psnr.png"), {"psnr (dB)": per_iteration(result["psnr_avg"] or result["psnr"])},
                    log_y=False, title="PSNR (dB) of the output", **curve)
    out_h, out_w = result["output"].shape[:2]
    meta = {"method": "deep image prior (Ulyanov et al. 2018)", "task": args.task, "image": args.image,
            "mask": args.mask, "factor": factor, "ground_truth": args.ground_truth, "output": args.out,
            "input_size": [image.shape[1], image.shape[0]], "output_size": [out_w, out_h],
            "known_fraction": None if mask is None else float(mask.mean()),
            "net": dict(result["net"].config(), arch=args.arch, input=args.input,
                        parameters=sum(p.data.size for p in result["net"].parameters())),
            "iterations_asked": iters, "iterations": result["iterations"],
            "stopped": result["stopped"], "time_limit": args.time_limit, "checkpoint": args.checkpoint,
            "resumed": args.resume, "lr": args.lr, "reg_noise_std": args.reg_noise_std, "ema": args.ema,
            "stop_below": args.stop_below, "seed": args.seed, "device": device,
            "seconds": round(result["seconds"], 3), "it_per_s": result["iterations"] / max(result["seconds"], 1e-9),
            "loss": result["loss"], "psnr": result["psnr"], "psnr_avg": result["psnr_avg"],
            "psnr_final": final_psnr, "saved": saved}
    write_json(sibling(args.out, ".json"), meta)
    n = result["iterations"]
    line = f"wrote {args.out} ({n} iteration{'s' if n != 1 else ''}, {result['seconds']:.1f}s"
    print(line + (f", PSNR {final_psnr:.2f} dB)" if final_psnr is not None else ")"))
    return 0


# ---- the demo section ----------------------------------------------------------------------

def demo_mask(size, rng):
    """A (size, size) 0/1 mask: half the pixels dropped at random and a square hole in the middle third."""
    mask = (rng.random((size, size)) > 0.5).astype(np.float32)
    lo, hi = size // 3, size // 3 + size // 5
    mask[lo:hi, lo:hi] = 0
    return mask


def demo_section(gallery, device, seed, quick):
    """DIP on embedded procedural images: denoising, inpainting (half the pixels and a square hole
    missing) and x4 super-resolution, each an untrained network fitted to the one observation."""
    from ..data.datasets import bicubic_pair
    from ..data.procedural import scenes
    from ..metrics import psnr
    from ..recipes.dip import fit
    size, scales, channels = (48, 3, 16) if quick else (96, 4, 32)
    iters = {"denoise": 40, "inpaint": 60, "sr": 60} if quick else {"denoise": 300, "inpaint": 400, "sr": 400}
    rng = np.random.default_rng(seed)
    clean = scenes(1, size, seed=seed + 1)[0].transpose(1, 2, 0)
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    mask = demo_mask(size, rng)
    observed = clean * mask[..., None]
    low, bicubic = bicubic_pair(clean, 4)
    common = dict(ground_truth=clean, seed=seed, device=device, net_options={"scales": scales, "channels": channels})
    runs = {"denoise": fit("denoise", noisy, iters=iters["denoise"], log_every=iters["denoise"],
                           label="demo dip denoise: ", **common),
            "inpaint": fit("inpaint", observed, mask=mask, iters=iters["inpaint"], ema=0,
                           log_every=iters["inpaint"], label="demo dip inpaint: ", **common),
            "sr": fit("sr", low, factor=4, iters=iters["sr"], log_every=iters["sr"], label="demo dip sr: ",
                      **common)}
    out = {k: r["output"] for k, r in runs.items()}
    gallery.section("deep image prior: denoising, inpainting, super-resolution",
                    f"An untrained encoder-decoder ({scales} scales of {channels} channels, skip connections) "
                    f"fitted by Adam to one degraded {size}x{size} image, nothing else (Ulyanov et al. 2018): "
                    f"the structure of the network is the prior. Denoising (sigma 25/255, E = ||x - x0||^2, "
                    f"{iters['denoise']} steps, averaged outputs): {psnr(noisy, clean):.2f} -> "
                    f"{psnr(out['denoise'], clean):.2f} dB. Inpainting ({100 * (1 - mask.mean()):.0f}% of the "
                    f"pixels missing, E = ||(x - x0) * m||^2, {iters['inpaint']} steps): "
                    f"{psnr(observed, clean):.2f} -> {psnr(out['inpaint'], clean):.2f} dB. Super-resolution x4 "
                    f"(E = ||d(x) - x0||^2 with d the bicubic downsampler, {iters['sr']} steps): bicubic "
                    f"{psnr(np.clip(bicubic, 0, 1), clean):.2f} dB, DIP {psnr(out['sr'], clean):.2f} dB.")
    zoom = 256 // size
    nearest = np.repeat(np.repeat(low, 4, axis=0), 4, axis=1)
    for name, image, caption in (("clean", clean, "ground truth"), ("noisy", noisy, "noisy input"),
                                 ("denoised", out["denoise"], "DIP denoised"),
                                 ("input", observed, "inpainting input (missing pixels black)"),
                                 ("inpainted", out["inpaint"], "DIP inpainted"),
                                 ("lowres", nearest, f"x4 input ({size // 4}x{size // 4}, shown enlarged)"),
                                 ("bicubic", np.clip(bicubic, 0, 1), "bicubic x4"),
                                 ("sr", out["sr"], "DIP x4")):
        gallery.image(f"dip_{name}.png", image, caption, zoom=zoom)
    gallery.curves("dip_psnr.png", {k: r["psnr"] for k, r in runs.items()},
                   "PSNR to the ground truth per iteration", log_y=False, title="DIP PSNR", xlabel="iteration")
