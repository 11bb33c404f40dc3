"""Feed-forward stylisation against optimisation: time per image, the speed-up, training speed.

    python benchmarks/feedforward.py [--sizes 256 512] [--iters 100 300] [--vgg PATH]

- stylise: one forward pass of Johnson et al.'s transform net (paper widths
  32/64/128, five residual blocks, instance norm, the 40-pixel reflection
  padding), no_grad, float32, median of --repeats runs;
- optimise: Gatys et al.'s optimisation (``recipes.style.style_transfer``:
  VGG-19 relu4_2 content, relu1_1..relu5_1 style, L-BFGS) timed as
  (t(n + k iterations) - t(n iterations)) / k, i.e. the time per iteration
  without the set-up, times the iteration counts of --iters (Johnson et al.
  report that their network's loss matches 50 to 100 L-BFGS iterations;
  300-500 are common for a converged result);
- train: steps per second of ``train-style --method johnson`` at --train-crop
  and --train-batch with the default VGG-19 layers.

Times are CPU seconds of the process (``time.process_time``), so that a
machine shared with other jobs still gives comparable figures; run it with
OPENBLAS_NUM_THREADS=1 (one core), where CPU time and wall time agree on an
idle machine. Timing does not depend on the VGG weights (random by default).
Prints a markdown table; the machine is described in the header.
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minigen.data.procedural import scenes, texture  # noqa: E402
from minigen.models.transform_net import TransformNet  # noqa: E402
from minigen.models.vgg import load_vgg  # noqa: E402
from minigen.recipes.feedforward import train_style  # noqa: E402
from minigen.recipes.style import style_transfer  # noqa: E402
from minigen.tensor import Tensor, no_grad  # noqa: E402


def stylise_time(size, repeats):
    net = TransformNet("instance").eval()
    x = Tensor(scenes(1, size, seed=1))
    times = []
    with no_grad():
        for _ in range(repeats + 1):  # the first run warms the caches and is not counted
            t = time.process_time()
            net(x)
            times.append(time.process_time() - t)
    return float(np.median(times[1:]))


def optimise_time_per_iteration(vgg, size, base=1, extra=2):
    content = scenes(1, size, seed=2)[0].transpose(1, 2, 0)
    style = texture("waves", size, seed=3).transpose(1, 2, 0)

    def run(iters):
        t = time.process_time()
        style_transfer(vgg, content, [style], iters=iters, log_every=0)
        return time.process_time() - t
    return (run(base + extra) - run(base)) / extra


def train_rate(vgg, crop, batch, steps):
    t = time.process_time()
    train_style("johnson", ["procedural:waves"], steps=steps + 1, batch=batch, crop=crop, vgg_net=vgg,
                log_every=10 ** 6)
    total = time.process_time() - t
    return steps / total  # includes the first step and the style targets: a slight underestimate


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--iters", type=int, nargs="+", default=[100, 300], help="optimisation iterations to compare")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--vgg", help="VGG-19 weights (default: $MINIGEN_VGG or seeded random; timing is the same)")
    p.add_argument("--train-crop", type=int, default=128)
    p.add_argument("--train-batch", type=int, default=2)
    p.add_argument("--train-steps", type=int, default=4, help="0 skips the training measurement")
    args = p.parse_args()
    vgg = load_vgg(args.vgg, depth=19)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, numpy {np.__version__}")
    head = ["size", "stylise (s)", "optimise (s/iter)"] + [f"{n} iters (s)" for n in args.iters] + \
           [f"speed-up at {n}" for n in args.iters]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for size in args.sizes:
        fwd = stylise_time(size, args.repeats)
        per_iter = optimise_time_per_iteration(vgg[0], size)
        row = [f"{size}x{size}", f"{fwd:.2f}", f"{per_iter:.2f}"] + [f"{per_iter * n:.0f}" for n in args.iters] + \
              [f"{per_iter * n / fwd:.0f}x" for n in args.iters]
        print("| " + " | ".join(row) + " |", flush=True)
    if args.train_steps < 1:
        return
    rate = train_rate(vgg, args.train_crop, args.train_batch, args.train_steps)
    print(f"\ntraining (johnson, paper net, crop {args.train_crop}, batch {args.train_batch}, VGG-19 relu1_1..relu5_1):"
          f" {rate:.2f} steps/s")


if __name__ == "__main__":
    main()
