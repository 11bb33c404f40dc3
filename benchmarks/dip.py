"""Deep Image Prior quality and speed on the paper's test images (../shared/data/dip).

    python benchmarks/dip.py                                  # every run: speed, f16, kate, vase, zebra
    python benchmarks/dip.py --only f16 --iters 400 --crop 128
    python benchmarks/dip.py --only kate --setup paper --crop 0   # the paper's settings on the whole image
    python benchmarks/dip.py --only kate --setup paper --crop 0 --save-every 50 --time-limit 7200
    python benchmarks/dip.py --only kate --setup paper --crop 0 --save-every 50 --resume  # goes on

Runs:

- speed: seconds per iteration (forward, backward, Adam step) of the default network (5 scales, 128
  channels, 4 skip channels, 2,217,831 parameters) at 128x128 and 512x512 (--speed-sizes), wall and CPU time;
- f16: denoising, F16_GT.png + Gaussian noise of sigma 25/255 (seed 0, clipped to [0, 1]);
- kate, vase: inpainting with their masks (the image is both the masked input and the ground truth),
  a crop placed where it has the most missing pixels (on a 16-pixel grid);
- zebra: x4 super-resolution, the low-resolution input made with imresize(Lanczos-3) from the crop of
  zebra_GT.png, against the bicubic (MATLAB imresize) baseline; PSNR also on Y with a 4-pixel border removed.

--crop N fits an N x N crop; --crop 0 fits the whole image, cut at its centre to sides divisible by 32
as the paper's code does (F16 and kate 512x512, vase 320x320, zebra 576x384).

--setup default runs every image with the default network and fit (Adam lr 0.01, input noise 1/30,
output averaging 0.99, 400 iterations). --setup paper takes each experiment's settings from the paper's
code: f16 as the default for 3000 iterations; zebra input noise 0.03, no averaging, 2000 iterations;
kate 128 skip channels, nearest upsampling, input noise 0.03, no averaging, 6001 iterations; vase the
hourglass network (no skips) on a meshgrid code, nearest upsampling, input noise 0.03, no averaging,
5001 iterations. --iters N overrides the count. Without averaging the result is the network's output at
the unperturbed code after the last step, as in the paper's code.

The table prints the PSNR of the input, of the result after 500, 1000 and 2000 iterations (the averaged
output when averaging is on) and at the end, and the best PSNR any iteration's output reached (an oracle
early stop, for reference only). Each run's curves (loss, PSNR of the iteration's output and of the
average) go to OUT/NAME_curve.csv; the progress line every 50 iterations goes to stderr.

A paper-settings run takes hours on a CPU (kate: 6001 iterations at 512x512). --save-every K saves
each run's whole state to OUT/NAME_ckpt.npz every K iterations and when it ends (also by --time-limit);
--resume continues it from there, exactly as if it had not stopped, so such a run can go in pieces.
"""
import argparse
import os
import sys
import time

import numpy as np

from minigen import backend, losses, optim
from minigen.data.images import load_image, save_image
from minigen.data.imresize import imresize
from minigen.metrics import psnr, psnr_y
from minigen.models.dip import input_noise
from minigen.recipes.dip import build_net, fit, load_mask
from minigen.tensor import Tensor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA as SHARED  # noqa: E402

DATA = os.path.join(SHARED, "dip")
RUNS = ("speed", "f16", "kate", "vase", "zebra")
DEFAULT = {"iters": 400, "fit": {}}
PAPER = {  # Ulyanov et al.'s settings per experiment (their code's notebooks); fit() defaults otherwise
    "f16": {"iters": 3000, "fit": {}},
    "zebra": {"iters": 2000, "fit": {"reg_noise_std": 0.03, "ema": 0}},
    "kate": {"iters": 6001, "fit": {"reg_noise_std": 0.03, "ema": 0,
                                    "net_options": {"skip_channels": 128, "upsample": "nearest"}}},
    "vase": {"iters": 5001, "fit": {"reg_noise_std": 0.03, "ema": 0, "code": "meshgrid",
                                    "net_options": {"arch": "hourglass", "upsample": "nearest"}}},
}
MILESTONES = (500, 1000, 2000)


def window(a, size, top=None, left=None):
    """The size = (h, w) window of a at (top, left), centred by default."""
    top = (a.shape[0] - size[0]) // 2 if top is None else top
    left = (a.shape[1] - size[1]) // 2 if left is None else left
    return a[top:top + size[0], left:left + size[1]]


def crop_size(a, crop):
    """(crop, crop), or for crop 0 the image's sides rounded down to multiples of 32."""
    return (crop, crop) if crop else (a.shape[0] // 32 * 32, a.shape[1] // 32 * 32)


def most_missing(mask, size, stride=16):
    """(top, left) of the size window, on a stride grid, with the most missing pixels."""
    h, w = mask.shape
    corners = [(t, l) for t in range(0, h - size[0] + 1, stride) for l in range(0, w - size[1] + 1, stride)]
    return max(corners, key=lambda c: (1 - window(mask, size, *c)).sum())


def speed(size=512, iters=3):
    """(wall seconds, CPU seconds of this process) per iteration of the default net at size x size,
    medians of ``iters`` after one warm-up; on a shared machine the CPU time is the steadier figure."""
    net = build_net()
    opt = optim.Adam(net.parameters(), lr=0.01)
    z = Tensor(input_noise(32, size, size))
    target = Tensor(np.random.default_rng(0).random((1, 3, size, size)).astype(np.float32))
    wall, cpu = [], []
    for _ in range(iters + 1):  # the first one warms up
        start, start_cpu = time.perf_counter(), time.process_time()
        opt.zero_grad()
        losses.mse_loss(net(z), target).backward()
        opt.step()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall[1:])), float(np.median(cpu[1:]))


def quality(name, crop, iters, settings, time_limit, out_dir, seed=0, save_every=0, resume=False):
    """(task, the input's PSNR, the fit's result, the output's PSNR, notes) of one quality run."""
    extra = ""
    if name == "f16":
        clean = load_image(os.path.join(DATA, "F16_GT.png"))
        clean = window(clean, crop_size(clean, crop))
        noise = np.random.default_rng(seed).standard_normal(clean.shape) * (25 / 255)
        observed = np.clip(clean + noise, 0, 1).astype(np.float32)
        task, kw, baseline = "denoise", {}, psnr(observed, clean)
    elif name in ("kate", "vase"):
        full = load_image(os.path.join(DATA, f"{name}.png"))
        mask = load_mask(os.path.join(DATA, f"{name}_mask.png"), full.shape[:2])
        size = crop_size(full, crop)
        corner = most_missing(mask, size) if crop else None
        mask = window(mask, size, *(corner or ()))
        clean = window(full, size, *(corner or ()))
        observed = clean * mask[..., None]
        task, kw, baseline = "inpaint", {"mask": mask}, psnr(observed, clean)
        extra = f"{100 * (1 - mask.mean()):.1f}% of pixels missing"
        extra += f", crop at (top, left) {corner}" if crop else ""
    elif name == "zebra":
        clean = load_image(os.path.join(DATA, "zebra_GT.png"))
        clean = window(clean, crop_size(clean, crop))
        observed = np.clip(imresize(clean, 1 / 4, kernel="lanczos3"), 0, 1)
        bicubic = np.clip(imresize(observed, 4, kernel="cubic"), 0, 1)
        task, kw, baseline = "sr", {"factor": 4}, psnr(bicubic, clean)
        extra = f"bicubic Y {psnr_y(bicubic, clean, 4):.2f} dB"
    else:
        raise ValueError(name)
    checkpoint = os.path.join(out_dir, f"{name}_ckpt.npz") if save_every or resume else None
    result = fit(task, observed, iters=iters, ground_truth=clean, time_limit=time_limit, seed=seed, log_every=50,
                 label=f"{name}: ", checkpoint=checkpoint, save_every=save_every, resume=resume,
                 **kw, **settings)
    if name == "zebra":
        extra += f", DIP Y {psnr_y(result['output'], clean, 4):.2f} dB"
    save_image(os.path.join(out_dir, f"{name}_input.png"), observed)
    save_image(os.path.join(out_dir, f"{name}_dip.png"), result["output"])
    with open(os.path.join(out_dir, f"{name}_curve.csv"), "w") as f:
        f.write("iteration,loss,psnr,psnr_avg\n")
        averages = result["psnr_avg"] or [float("nan")] * len(result["psnr"])  # empty without averaging
        for i, row in enumerate(zip(result["loss"], result["psnr"], averages), 1):
            f.write(f"{i},{row[0]:.6g},{row[1]:.4f},{row[2]:.4f}\n")
    return task, baseline, result, psnr(result["output"], clean), extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=RUNS, default=list(RUNS))
    parser.add_argument("--speed-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[128, 512],
                        metavar="N,N", help="image sides of the speed run (default: 128,512)")
    parser.add_argument("--crop", type=int, default=128,
                        help="side of the crop; 0 for the whole image cut to multiples of 32 (default: 128)")
    parser.add_argument("--setup", choices=("default", "paper"), default="default",
                        help="the default fit for every image, or each experiment's settings and iteration count "
                             "from the paper's code (default: default)")
    parser.add_argument("--iters", type=int, help="iterations per quality run (default: 400, or the paper's)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="stop a quality run after this many seconds (default: none)")
    parser.add_argument("--save-every", "--checkpoint-every", type=int, default=0, metavar="K",
                        help="save each quality run's state to OUT/NAME_ckpt.npz every K iterations and at its "
                             "end (default: 0, none)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each quality run from OUT/NAME_ckpt.npz (same --setup, --crop, --iters)")
    parser.add_argument("--out", default="dip-bench", help="folder for the inputs and outputs (default: dip-bench)")
    args = parser.parse_args(argv)
    if not os.path.isdir(DATA):
        print(f"no data at {DATA}; set MINIGEN_DATA to the folder holding dip/", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    kept = backend.keep_freed_memory()  # as the minigen command does; MINIGEN_KEEP_MEMORY=0 to compare
    for size in (args.speed_sizes if "speed" in args.only else ()):
        wall, cpu = speed(size)
        print(f"speed: default net at {size}x{size}, {wall:.2f} s per iteration ({1 / wall:.3f} it/s) wall, "
              f"{cpu:.2f} s of CPU time per iteration; {backend.cpu_threads()} threads, "
              f"freed memory {'kept' if kept else 'returned'}", flush=True)
    rows = []
    for name in args.only:
        if name == "speed":
            continue
        setup = PAPER[name] if args.setup == "paper" else DEFAULT
        task, baseline, r, final, extra = quality(name, args.crop, args.iters or setup["iters"], setup["fit"],
                                                  args.time_limit, args.out, save_every=args.save_every,
                                                  resume=args.resume)
        best = int(np.argmax(r["psnr"]))
        curve = r["psnr_avg"] or r["psnr"]
        at = [f"{curve[m - 1]:.2f}" if m <= r["iterations"] else "–" for m in MILESTONES]
        h, w = r["output"].shape[:2]
        rows.append((name, task, args.setup, f"{w}x{h}", str(r["iterations"]), f"{r['seconds']:.0f}",
                     f"{baseline:.2f}", *at, f"{final:.2f}",
                     f"{r['psnr'][best]:.2f} (it {best + 1})", extra))
        print(" | ".join(rows[-1]), flush=True)
    if rows:
        head = ("image", "task", "setup", "size", "iters", "seconds", "input PSNR",
                *(f"at {m}" for m in MILESTONES), "DIP PSNR (final)",
                "best iteration PSNR", "notes")
        print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
