"""Deep Image Prior quality and speed on the paper's test images (../shared/data/dip).

    python benchmarks/dip.py                       # every run: speed, f16, kate, vase, zebra
    python benchmarks/dip.py --only f16 --iters 400 --crop 128
    python benchmarks/dip.py --only kate --iters paper --crop 128   # the paper's iteration count

Runs, all with the default network (5 scales, 128 channels, 4 skip channels,
2,217,831 parameters), Adam lr 0.01, input-noise std 1/30, output averaging 0.99:

- speed: seconds per iteration (forward, backward, Adam step) at 128x128 and 512x512 (--speed-sizes),
  wall and CPU time;
- f16: denoising, F16_GT.png + Gaussian noise of sigma 25/255 (seed 0, clipped to [0, 1]);
- kate, vase: inpainting with their masks (the image is both the masked input and the ground truth),
  cropped where the crop has the most missing pixels (on a 16-pixel grid);
- zebra: x4 super-resolution, the low-resolution input made with imresize(Lanczos-3) from the crop of
  zebra_GT.png, against the bicubic (MATLAB imresize) baseline; PSNR also on Y with a 4-pixel border removed.

A CPU cannot run the paper's budgets at full size (thousands of iterations
at ~10 s each), so each quality run fits a crop (--crop, the HR crop for
zebra) for a fixed number of iterations (--iters N, or --iters paper for the
paper's counts: f16 3000, kate 6001, vase 5001, zebra 2000) or until a time
limit (--time-limit; the table gives the iterations done). The table prints
the PSNR of the input, of the (averaged) output after 500, 1000 and 2000
iterations and at the end, and the best PSNR any iteration's output reached
(an oracle early stop, for reference only). Each run's curves (loss, PSNR of
the iteration's output and of the average) go to OUT/NAME_curve.csv.
"""
import argparse
import os
import sys
import time

import numpy as np

from minigen import backend, losses, optim
from minigen.data.images import load_image, save_image
from minigen.data.imresize import imresize
from minigen.data.metrics import psnr, psnr_y
from minigen.models.dip import input_noise
from minigen.recipes.dip import build_net, fit, load_mask
from minigen.tensor import Tensor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA as SHARED  # noqa: E402

DATA = os.path.join(SHARED, "dip")
RUNS = ("speed", "f16", "kate", "vase", "zebra")
PAPER_ITERS = {"f16": 3000, "kate": 6001, "vase": 5001, "zebra": 2000}  # Ulyanov et al.'s settings
MILESTONES = (500, 1000, 2000)


def centre(a, size, top=None, left=None):
    h, w = a.shape[:2]
    top = (h - size) // 2 if top is None else top
    left = (w - size) // 2 if left is None else left
    return a[top:top + size, left:left + size]


def most_missing(mask, size, stride=16):
    """(top, left) of the size x size window, on a stride grid, with the most missing pixels."""
    h, w = mask.shape
    corners = [(t, l) for t in range(0, h - size + 1, stride) for l in range(0, w - size + 1, stride)]
    return max(corners, key=lambda c: (1 - centre(mask, size, *c)).sum())


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


def quality(name, crop, iters, time_limit, out_dir, seed=0):
    """(task, the input's PSNR, the fit's result, the output's PSNR, notes) of one quality run."""
    extra = ""
    if name == "f16":
        clean = centre(load_image(os.path.join(DATA, "F16_GT.png")), crop)
        noise = np.random.default_rng(seed).standard_normal(clean.shape) * (25 / 255)
        observed = np.clip(clean + noise, 0, 1).astype(np.float32)
        task, kw, baseline = "denoise", {}, psnr(observed, clean)
    elif name in ("kate", "vase"):
        full = load_image(os.path.join(DATA, f"{name}.png"))
        mask = load_mask(os.path.join(DATA, f"{name}_mask.png"), full.shape[:2])
        corner = most_missing(mask, crop)
        mask, clean = centre(mask, crop, *corner), centre(full, crop, *corner)
        observed = clean * mask[..., None]
        task, kw, baseline = "inpaint", {"mask": mask}, psnr(observed, clean)
        extra = f"crop at (top, left) {corner}, {100 * (1 - mask.mean()):.1f}% of pixels missing"
    elif name == "zebra":
        clean = centre(load_image(os.path.join(DATA, "zebra_GT.png")), crop)
        observed = np.clip(imresize(clean, 1 / 4, kernel="lanczos3"), 0, 1)
        bicubic = np.clip(imresize(observed, 4, kernel="cubic"), 0, 1)
        task, kw, baseline = "sr", {"factor": 4}, psnr(bicubic, clean)
        extra = f"bicubic Y {psnr_y(bicubic, clean, 4):.2f} dB"
    else:
        raise ValueError(name)
    result = fit(task, observed, iters=iters, ground_truth=clean, time_limit=time_limit, seed=seed, log_every=50,
                 label=f"{name}: ", **kw)
    if name == "zebra":
        extra += f", DIP Y {psnr_y(result['output'], clean, 4):.2f} dB"
    save_image(os.path.join(out_dir, f"{name}_input.png"), observed)
    save_image(os.path.join(out_dir, f"{name}_dip.png"), result["output"])
    with open(os.path.join(out_dir, f"{name}_curve.csv"), "w") as f:
        f.write("iteration,loss,psnr,psnr_avg\n")
        for i, row in enumerate(zip(result["loss"], result["psnr"], result["psnr_avg"]), 1):
            f.write(f"{i},{row[0]:.6g},{row[1]:.4f},{row[2]:.4f}\n")
    return task, baseline, result, psnr(result["output"], clean), extra


def _iters(text):
    if text == "paper":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of iterations or 'paper', not {text!r}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=RUNS, default=list(RUNS))
    parser.add_argument("--speed-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[128, 512],
                        metavar="N,N", help="image sides of the speed run (default: 128,512)")
    parser.add_argument("--crop", type=int, default=128, help="side of the centre crop (default: 128)")
    parser.add_argument("--iters", type=_iters, default=400,
                        help="iterations per quality run, or 'paper' for the paper's count per image (default: 400)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="stop a quality run after this many seconds (default: none)")
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
        iters = PAPER_ITERS[name] if args.iters == "paper" else args.iters
        task, baseline, r, final, extra = quality(name, args.crop, iters, args.time_limit, args.out)
        best = int(np.argmax(r["psnr"]))
        at = [f"{r['psnr_avg'][m - 1]:.2f}" if m <= r["iterations"] else "–" for m in MILESTONES]
        rows.append((name, task, f"{args.crop}x{args.crop}", str(r["iterations"]), f"{r['seconds']:.0f}",
                     f"{baseline:.2f}", *at, f"{final:.2f}",
                     f"{r['psnr'][best]:.2f} (it {best + 1})", extra))
        print(" | ".join(rows[-1]), flush=True)
    if rows:
        head = ("image", "task", "crop", "iters", "seconds", "input PSNR",
                *(f"averaged at {m}" for m in MILESTONES), "DIP PSNR (averaged, final)",
                "best iteration PSNR", "notes")
        print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
