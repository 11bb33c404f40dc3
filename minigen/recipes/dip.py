"""Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018): restore one image by
fitting a randomly initialised encoder-decoder x = f_theta(z) to it, with no
training data. The structure of the network is the prior: it fits natural
image content long before it fits noise, so the fit is stopped early (a fixed
iteration budget, or when the data term reaches the noise level).

Energies (the paper's data terms, here as means over the pixels):

    denoise:  E = || x - x0 ||^2
    inpaint:  E = || (x - x0) * m ||^2          m = 1 on known pixels, 0 on missing ones
    sr:       E = || d(x) - x0 ||^2             x at factor times the size of x0, d a fixed
                                               Lanczos-3 downsampler (models.dip.Downsampler)

minimised over theta by Adam. Each iteration may feed z + sigma_p n with a
fresh n ~ N(0, 1) (the paper's input-noise regularisation, sigma_p =
--reg-noise-std), and the result may be the exponential average of the
outputs over the iterations (--ema), which smooths the last iterations' noise.
The average is bias-corrected as Adam's moments are, a_t = (1 - b) sum_k b^(t-k) x_k / (1 - b^t),
so the first outputs do not linger in it as they would starting from a_1 = x_1.
"""
import argparse
import fractions
import os
import time
import zlib

import numpy as np

from .. import backend, losses, optim
from ..data.images import DEFAULT_MAX_PIXELS, _memory, load_image, save_image
from ..errors import MinigenError
from ..metrics import psnr
from ..models.dip import Downsampler, dip_net, input_noise
from ..tensor import Tensor, no_grad
from .common import add_run_options, check_device, write_json
from ..report import draw_curves
from ..training.progress import Progress
from ..training._old import last_good, load_checkpoint, restore, save_checkpoint

TASKS = ("denoise", "inpaint", "sr")
DEFAULT_ITERS = {"denoise": 3000, "inpaint": 5000, "sr": 2000}


def available_memory():
    """Bytes of memory the system could still give (MemAvailable on Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def build_net(arch="skip", scales=5, channels=128, skip_channels=4, input_channels=32, out_channels=3,
              upsample="bilinear"):
    """The DIP network with ``channels`` down and up and ``skip_channels`` skip channels at every scale."""
    return dip_net(arch, input_channels, out_channels, down=(channels,) * scales, up=(channels,) * scales,
                   skip=(skip_channels,) * scales, upsample=upsample)


def _check_fit(net, h, w, what, device):
    """Refuse an output size the network cannot take or whose activations cannot fit in memory."""
    need = net.size_rule().minimum
    if min(h, w) < need:
        raise MinigenError(f"{what} is {w}x{h}, too small for the {net.scales}-scale network: it needs at least "
                           f"{need}x{need} pixels (2^{net.scales} + 1 per side)")
    # The activations leave out conv workspaces, Adam's moments and NumPy's temporaries: the measured peak
    # at 512x512 (4.6 GiB resident) is about 1.4 times them.
    required = int(1.5 * net.activation_bytes(h, w))
    free = available_memory() if device == "cpu" else None
    if free is not None and required > free:
        raise MinigenError(f"{what} is {w}x{h}: fitting it needs about {_memory(required)} of memory for the "
                           f"network's activations, but only {_memory(free)} is available; crop the image or "
                           f"use fewer --channels / --scales")


def fit(task, image, mask=None, factor=4, iters=None, lr=0.01, reg_noise_std=1 / 30, ema=0.99, ground_truth=None,
        net_options=None, code="uniform", stop_below=None, time_limit=None, save_every=0, on_save=None, seed=0,
        device="cpu", log_every=100, label=None, checkpoint=None, checkpoint_every=0, resume=False):
    """Fit the DIP network to one image; returns a dict (see below).

    image: (H, W, C) float array in [0, 1], the observation x0. mask: (H, W) of 0/1 (inpaint).
    factor: the SR scale (sr). ground_truth: the clean image, (H, W, C) at the output's size, for PSNR.
    net_options: build_net's options (arch, scales, channels, skip_channels, input_channels, upsample); the
    default is the paper's 5 x 128 skip network. code: the input code z, 'uniform' noise or 'meshgrid'
    (pixel coordinates; the network then takes 2 input channels), see models.dip.input_noise.
    The network is built after seeding, so ``seed`` fixes the whole run.
    stop_below: stop once the data term falls to this value (e.g. sigma^2 for denoising: the
    discrepancy principle). time_limit: stop after the iteration that passes this many seconds.
    on_save(iteration, output) is called every ``save_every`` iterations.
    checkpoint: a file (.npz or .safetensors) that receives the whole state of the fit every
    ``checkpoint_every`` iterations and when the run ends; ``resume`` continues from it, with the same
    image, mask and settings, to ``iters`` in all. A resumed run repeats an uninterrupted one exactly
    (on the CPU), so a long fit can run in pieces, each ended by ``time_limit``.

    Returns {"output": (H', W', C) array, "loss": [...], "psnr": [...] (of each iteration's output, with a
    ground truth), "psnr_avg": [...] (of the running average, with ema and a ground truth), "net", "iterations",
    "stopped" (None, or why the run ended before ``iters``: "stop_below" or "time_limit"), "seconds"}.
    """
    if task not in TASKS:
        raise ValueError(f"fit: task must be one of {TASKS}, not {task!r}")
    iters = DEFAULT_ITERS[task] if iters is None else int(iters)
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    h, w, c = image.shape
    out_h, out_w = (h * factor, w * factor) if task == "sr" else (h, w)
    rng = np.random.default_rng(seed)
    backend.manual_seed(seed)
    net_options = dict(net_options or {}, out_channels=c)
    if code == "meshgrid":
        net_options["input_channels"] = 2
    net = build_net(**net_options).to(device)
    _check_fit(net, out_h, out_w, f"the output ({factor} x the input)" if task == "sr" else "the image", device)
    if ground_truth is not None and np.shape(ground_truth)[:2] != (out_h, out_w):
        raise ValueError(f"fit: ground truth {np.shape(ground_truth)[:2]} differs from the output size "
                         f"{(out_h, out_w)}")

    def tensor(a):
        return Tensor(backend.to_device(np.ascontiguousarray(a, np.float32), device))

    x0 = tensor(image.transpose(2, 0, 1)[None])
    m = tensor(np.asarray(mask, np.float32)[None, None]) if task == "inpaint" else None
    down = Downsampler((out_h, out_w), factor).to(device) if task == "sr" else None
    z = input_noise(net.in_channels, out_h, out_w, kind=code, rng=rng)
    opt = optim.Adam(net.parameters(), lr=lr)
    gt = None if ground_truth is None else np.asarray(ground_truth, np.float64).reshape(out_h, out_w, c)
    result = {"loss": [], "psnr": [], "psnr_avg": [], "stopped": None}
    config = {"kind": "dip", "task": task, "shape": [h, w, c], "factor": factor if task == "sr" else 1, "lr": lr,
              "reg_noise_std": reg_noise_std, "ema": ema, "code": code, "net": net.config(), "seed": seed,
              "data": _checksum(image, mask), "ground_truth": ground_truth is not None}
    running, done, before = None, 0, 0.0
    if resume:
        running, done, before = _resume(checkpoint, config, iters, net, opt, rng, result)
    progress = Progress(iters, every=log_every, label=label or f"dip {task}: ", start=done)

    def save(it):
        state = {"rng": rng.bit_generator.state, "seconds": before + time.perf_counter() - start}
        if ema:  # without averaging the next output replaces it
            state["running"] = running
        history = {k: result[k] for k in ("loss", "psnr", "psnr_avg")}
        save_checkpoint(checkpoint, net, opt, it, config, history, extra=state)

    start = time.perf_counter()
    for it in range(done + 1, iters + 1):
        z_it = z + reg_noise_std * rng.standard_normal(z.shape).astype(np.float32) if reg_noise_std else z
        x = net(tensor(z_it))
        if task == "denoise":
            loss = losses.mse_loss(x, x0)
        elif task == "inpaint":
            loss = losses.mse_loss(x * m, x0 * m)
        else:
            loss = losses.mse_loss(down(x), x0)
        value = loss.item()
        if not np.isfinite(value):
            raise MinigenError(f"dip {task}: the loss became {value} at iteration {it}; stopped "
                               f"(try a smaller --lr){last_good(checkpoint)}")
        opt.zero_grad()
        loss.backward()
        opt.step()
        out = backend.to_device(x.data[0], "cpu").transpose(1, 2, 0)
        running = (1 - ema) * out if running is None else ema * running + (1 - ema) * out
        average = running / (1 - ema ** it) if ema else out
        result["loss"].append(value)
        shown = {"loss": value}
        if gt is not None:
            result["psnr"].append(psnr(out, gt))
            shown["psnr"] = result["psnr"][-1]
            if ema:
                result["psnr_avg"].append(psnr(average, gt))
                shown["psnr_avg"] = result["psnr_avg"][-1]
        progress.update(it, **shown)
        if on_save and save_every and it % save_every == 0:
            on_save(it, average)
        if it < iters and stop_below is not None and value <= stop_below:
            result["stopped"] = "stop_below"
        elif it < iters and time_limit is not None and time.perf_counter() - start > time_limit:
            result["stopped"] = "time_limit"
        if checkpoint and ((checkpoint_every and it % checkpoint_every == 0) or it == iters or result["stopped"]):
            save(it)
        if result["stopped"]:
            break
    if ema:
        output = average
    else:  # the network's own output at the unperturbed code
        with no_grad():
            output = backend.to_device(net(tensor(z)).data[0], "cpu").transpose(1, 2, 0)
    result.update(output=np.clip(output, 0, 1), net=net, iterations=it,
                  seconds=before + time.perf_counter() - start)
    return result


def _checksum(image, mask):
    """CRC-32 of the observation (and mask): a resumed fit must see the same data."""
    crc = zlib.crc32(np.ascontiguousarray(image, np.float32).tobytes())
    if mask is not None:
        crc = zlib.crc32(np.ascontiguousarray(mask, np.float32).tobytes(), crc)
    return crc


def _resume(path, config, iters, net, opt, rng, result):
    """Load a fit's checkpoint into net, opt, rng and result; returns (running average, iteration, seconds)."""
    if not path or not os.path.exists(path):
        raise MinigenError(f"--resume: no checkpoint at {path}")
    arrays, meta = load_checkpoint(path)
    saved = meta["config"]
    if not isinstance(saved, dict) or saved.get("kind") != "dip":
        raise MinigenError(f"{path}: not a Deep Image Prior checkpoint")
    differ = [k for k in config if saved.get(k) != config[k]]
    if differ:
        names = {"data": "image or mask", "shape": "image size", "net": "network", "ground_truth": "ground truth"}
        raise MinigenError(f"{path}: made with another " + ", ".join(names.get(k, k) for k in differ) +
                           "; resume with the same image, mask and settings")
    if meta["step"] >= iters:
        raise MinigenError(f"{path}: already at iteration {meta['step']} of {iters}; ask for more --iters")
    meta = restore(path, net, opt, arrays, meta)
    rng.bit_generator.state = meta["extra"]["rng"]
    for k in ("loss", "psnr", "psnr_avg"):
        result[k] = list(meta["history"][k])
    return meta["extra"].get("running"), meta["step"], meta["extra"]["seconds"]


# ---- the command ----------------------------------------------------------------------

def _fraction(text):
    """A float, also written as a fraction such as 1/30."""
    try:
        return float(fractions.Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number such as 0.03 or 1/30, not {text!r}") from None


def load_mask(path, shape):
    """A binary (H, W) mask from a grey or black-and-white image (1 = known pixel, threshold 0.5)."""
    a = load_image(path, mode=None)
    if a.ndim == 3 and a.shape[-1] == 2:  # grey + alpha: the alpha is not part of the mask
        a = a[..., 0]
    elif a.ndim == 3:
        if not np.array_equal(a[..., 0], a[..., 1]) or not np.array_equal(a[..., 0], a[..., 2]):
            raise MinigenError(f"{path}: a mask must be a grey (L) or black-and-white image, not a colour image "
                               f"(1 = known pixel, 0 = missing)")
        a = a[..., 0]
    if a.shape != tuple(shape):
        raise MinigenError(f"{path}: the mask is {a.shape[1]}x{a.shape[0]} but the image is {shape[1]}x{shape[0]}; "
                           "they must be the same size")
    mask = (a > 0.5).astype(np.float32)
    if not mask.any():
        raise MinigenError(f"{path}: the mask marks no pixel as known (white = known, black = missing)")
    return mask


def _save_curve(path, series, title, log_y):
    save_image(path, np.asarray(draw_curves(series, size=(480, 240), log_y=log_y, title=title), np.float32) / 255)


def _sibling(out, suffix):
    return os.path.splitext(out)[0] + suffix


def cmd_dip(args):
    device = check_device(args.device)
    if args.task == "inpaint" and args.mask is None:
        raise MinigenError("dip inpaint needs --mask MASK (an image of the same size, white = known pixels)")
    if args.task != "inpaint" and args.mask is not None:
        raise MinigenError(f"--mask is for dip inpaint, not dip {args.task}")
    if args.input == "meshgrid" and args.input_channels not in (None, 2):
        raise MinigenError(f"--input meshgrid has 2 channels; --input-channels {args.input_channels} is for "
                           f"--input uniform")
    for name in ("iters", "channels", "scales", "factor", "input_channels"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise MinigenError(f"--{name.replace('_', '-')} must be a positive integer, not {value}")
    if args.skip_channels < 0 or not args.lr > 0 or args.reg_noise_std < 0 or not 0 <= args.ema < 1:
        raise MinigenError("need --skip-channels >= 0, --lr > 0, --reg-noise-std >= 0 and 0 <= --ema < 1")
    if os.path.splitext(args.out)[1].lower() not in (".png", ".bmp", ".tif", ".tiff"):
        raise MinigenError(f"{args.out}: --out must be a lossless image file (.png, .bmp, .tif)")
    if args.resume and not args.checkpoint:
        raise MinigenError("--resume needs --checkpoint CKPT, the file to continue from")
    if args.checkpoint and os.path.splitext(args.checkpoint)[1].lower() not in (".npz", ".safetensors"):
        raise MinigenError(f"{args.checkpoint}: --checkpoint must be a .npz or .safetensors file")
    if args.checkpoint_every < 0:
        raise MinigenError(f"--checkpoint-every must be >= 0, not {args.checkpoint_every}")
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
    saved = []

    def save_intermediate(it, out):
        path = _sibling(args.out, f"_iter{it:06d}.png")
        save_image(path, np.clip(out, 0, 1))
        saved.append(path)

    result = fit(args.task, image, mask=mask, factor=factor, iters=args.iters, lr=args.lr,
                 reg_noise_std=args.reg_noise_std, ema=args.ema, ground_truth=gt,
                 net_options={"arch": args.arch, "scales": args.scales, "channels": args.channels,
                              "skip_channels": args.skip_channels, "input_channels": args.input_channels or 32,
                              "upsample": args.upsample},
                 code=args.input,
                 stop_below=args.stop_below, time_limit=args.time_limit, save_every=args.save_every,
                 on_save=save_intermediate, seed=args.seed, device=device, log_every=args.log_every,
                 checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every, resume=args.resume)
    save_image(args.out, result["output"])
    _save_curve(_sibling(args.out, "_loss.png"), {"loss": result["loss"]}, "loss (log scale)", log_y=True)
    final_psnr = None
    if gt is not None:
        final_psnr = psnr(result["output"], gt)
        _save_curve(_sibling(args.out, "_psnr.png"), {"psnr (dB)": result["psnr_avg"] or result["psnr"]},
                    "PSNR (dB) of the output", log_y=False)
    meta = {"method": "deep image prior (Ulyanov et al. 2018)", "task": args.task, "image": args.image,
            "mask": args.mask, "factor": factor, "ground_truth": args.ground_truth, "output": args.out,
            "input_size": [image.shape[1], image.shape[0]], "output_size": [out_shape[1], out_shape[0]],
            "known_fraction": None if mask is None else float(mask.mean()),
            "net": dict(result["net"].config(), arch=args.arch, input=args.input,
                        parameters=sum(p.data.size for p in result["net"].parameters())),
            "iterations_asked": args.iters or DEFAULT_ITERS[args.task], "iterations": result["iterations"],
            "stopped": result["stopped"], "time_limit": args.time_limit, "checkpoint": args.checkpoint,
            "resumed": args.resume, "lr": args.lr,
            "reg_noise_std": args.reg_noise_std, "ema": args.ema, "stop_below": args.stop_below, "seed": args.seed,
            "device": device,
            "seconds": round(result["seconds"], 3), "it_per_s": result["iterations"] / result["seconds"],
            "loss": result["loss"], "psnr": result["psnr"], "psnr_avg": result["psnr_avg"],
            "psnr_final": final_psnr, "saved": saved}
    write_json(_sibling(args.out, ".json"), meta)
    n = result["iterations"]
    line = f"wrote {args.out} ({n} iteration{'s' if n != 1 else ''}, {result['seconds']:.1f}s"
    print(line + (f", PSNR {final_psnr:.2f} dB)" if final_psnr is not None else ")"))
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "dip", help="Deep Image Prior: denoise, inpaint or super-resolve one image with an untrained network",
        description="Deep Image Prior (Ulyanov et al. 2018): fit a randomly initialised encoder-decoder to one "
                    "image, no training data. denoise: E = ||x - x0||^2; inpaint: E = ||(x - x0) * mask||^2; "
                    "sr: E = ||d(x) - x0||^2 with d a fixed Lanczos-3 downsampler and x at --factor times the "
                    "input size. Writes OUT and beside it OUT's name with .json (settings, loss and PSNR per "
                    "iteration), _loss.png and (with --ground-truth) _psnr.png. On a 2-core CPU one iteration "
                    "of the default network at 512x512 takes about 3.5 seconds: crop, or use --time-limit.")
    p.add_argument("task", choices=TASKS, help="what to restore")
    p.add_argument("image", help="the degraded image (the low-resolution one for sr)")
    p.add_argument("--mask", help="inpaint: an image of the same size, white (1) = known pixel, black = missing")
    p.add_argument("--factor", type=int, default=4, help="sr: the upscaling factor (default: 4)")
    p.add_argument("--iters", type=int, help="iterations (default: denoise 3000, inpaint 5000, sr 2000)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default: 0.01)")
    p.add_argument("--reg-noise-std", type=_fraction, default=1 / 30, metavar="SIGMA",
                   help="std of the fresh noise added to the input code each iteration; 0 for none (default: 1/30)")
    p.add_argument("--ema", type=float, default=0.99,
                   help="exponential averaging of the outputs over iterations; 0 for the last output "
                        "(default: 0.99)")
    p.add_argument("--stop-below", type=float, metavar="MSE",
                   help="stop early once the data term (a mean squared error) falls to MSE, e.g. sigma^2 of the "
                        "noise when denoising")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop after the iteration that passes this many seconds (the result so far is written)")
    p.add_argument("--ground-truth", metavar="GT", help="the clean image (output size), for PSNR per iteration")
    p.add_argument("--arch", choices=("skip", "hourglass"), default="skip",
                   help="skip: encoder-decoder with skip connections (default); hourglass: without them")
    p.add_argument("--scales", type=int, default=5, help="down/up-sampling scales (default: 5)")
    p.add_argument("--channels", type=int, default=128, help="channels per scale (default: 128)")
    p.add_argument("--skip-channels", type=int, default=4, help="channels of each skip connection (default: 4)")
    p.add_argument("--upsample", choices=("bilinear", "nearest"), default="bilinear",
                   help="the decoder's upsampling (default: bilinear)")
    p.add_argument("--input", choices=("uniform", "meshgrid"), default="uniform",
                   help="the code z: uniform noise in [0, 0.1) with --input-channels channels, or meshgrid, the "
                        "two channels of pixel coordinates in [0, 1] (default: uniform)")
    p.add_argument("--input-channels", type=int,
                   help="channels of a uniform code (default: 32; a meshgrid code has 2)")
    p.add_argument("--save-every", type=int, default=0, metavar="K",
                   help="also write OUT_iterNNNNNN.png every K iterations (default: never)")
    p.add_argument("--checkpoint", metavar="CKPT",
                   help="save the whole state of the fit to CKPT (.npz or .safetensors) every --checkpoint-every "
                        "iterations and when the run ends, so that --resume can continue it")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="K",
                   help="iterations between checkpoints; 0 for only at the end (default: 100)")
    p.add_argument("--resume", action="store_true",
                   help="continue the fit in --checkpoint (same image, mask and settings; --iters counts all "
                        "iterations): a long fit can run in pieces, each ended by --time-limit")
    p.add_argument("--log-every", type=int, default=100, help="progress line every N iterations (default: 100)")
    add_run_options(p, out="dip-out.png")
    p.set_defaults(run=cmd_dip)


# ---- the demo section ----------------------------------------------------------------------

def demo_mask(size, rng):
    """A (size, size) 0/1 mask: half the pixels dropped at random and a square hole in the middle third."""
    mask = (rng.random((size, size)) > 0.5).astype(np.float32)
    lo, hi = size // 3, size // 3 + size // 5
    mask[lo:hi, lo:hi] = 0
    return mask


def demo_section(gallery, device, seed, quick):
    """DIP inpainting of an embedded procedural image: half its pixels and a square hole missing."""
    from ..data.procedural import shapes
    size, scales, channels, iters = (48, 3, 16, 60) if quick else (64, 4, 32, 150)
    rng = np.random.default_rng(seed)
    clean = shapes(1, size, seed=seed + 20_000)[0].transpose(1, 2, 0)
    mask = demo_mask(size, rng)
    observed = clean * mask[..., None]
    r = fit("inpaint", observed, mask=mask, iters=iters, ema=0, ground_truth=clean, seed=seed,
            net_options={"scales": scales, "channels": channels},
            device=device, log_every=max(iters // 3, 1), label="demo dip: ")
    gallery.section("deep image prior: inpainting",
                    f"An untrained encoder-decoder ({scales} scales of {channels} channels, skip connections) fitted "
                    f"for {r['iterations']} Adam steps to the known pixels only, E = ||(x - x0) * m||^2 "
                    f"(Ulyanov et al. 2018). {100 * (1 - mask.mean()):.0f}% of the pixels are missing. PSNR: masked "
                    f"input {psnr(observed, clean):.2f} dB, DIP {psnr(r['output'], clean):.2f} dB.")
    gallery.image("dip_clean.png", clean, "ground truth", zoom=4)
    gallery.image("dip_input.png", observed, "input (missing pixels black)", zoom=4)
    gallery.image("dip_output.png", r["output"], "DIP output", zoom=4)
    gallery.curves("dip_loss.png", {"masked mse": r["loss"]}, "data term (log scale)", title="DIP loss")
    gallery.curves("dip_psnr.png", {"psnr (dB)": r["psnr"]}, "PSNR to the ground truth per iteration",
                   log_y=False, title="DIP PSNR")
