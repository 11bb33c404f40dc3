"""Forward+backward time and peak memory of minigen's heavy ops, beside PyTorch-CPU when present.

    python benchmarks/ops.py [--sizes small|vgg] [--repeat N] [--threads T] [--ops conv2d,...]

Each row runs one op forward and backward (gradients for every input) in
float32, batch 4, and prints the median wall time over --repeat runs, each
directly after an untimed run of the same op (see ``median_times``). "peak MiB" is the tracemalloc peak of one further run, counted from
its start: it sees NumPy's array allocations (NumPy reports them to
tracemalloc), i.e. minigen's temporaries and results, not PyTorch's; the conv
workspace is emptied first, so its scratch arrays count too. When `import
torch` works, the same op runs in torch on the same data with the same thread
count as NumPy's BLAS (runs alternate between the two), and the last column is
minigen / torch.

Shapes (C channels at H x H): conv2d 3x3, stride 1, pad 1, C -> C;
conv_transpose2d 4x4, stride 2, pad 1, C -> C from H/2 to H (x2 upsampling);
batch_norm (training) and instance_norm with affine weight and bias;
grid_sample (bilinear, zeros) of the image along an affine grid.
"""
import argparse
import os
import statistics
import sys
import time
import tracemalloc

from common import numpy_and_torch

SIZES = {
    "small": [(16, 32), (32, 16)],
    "vgg": [(64, 128), (128, 64), (256, 32), (512, 16)],
}
OPS = ["conv2d", "conv_transpose2d", "batch_norm", "instance_norm", "grid_sample"]
BATCH = 4


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", choices=sorted(SIZES), default="vgg", help="shape set (default vgg)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per row; the median is shown")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="BLAS threads for NumPy and torch (default: this machine's cores)")
    p.add_argument("--ops", default=",".join(OPS), help="comma-separated subset of " + ",".join(OPS))
    p.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    args = p.parse_args()
    unknown = set(args.ops.split(",")) - set(OPS)
    if unknown:
        p.error(f"unknown ops {sorted(unknown)}; choose from {OPS}")
    if args.repeat < 1 or args.threads < 1:
        p.error("--repeat and --threads must be >= 1")
    return args


def problem(op, c, h, rng):
    """The float32 NumPy inputs of one row, by name; every one of them gets a gradient."""
    import numpy as np
    f = np.float32
    x = rng.standard_normal((BATCH, c, h, h)).astype(f)
    if op == "conv2d":
        w = (rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)).astype(f)
        return dict(x=x, w=w, b=rng.standard_normal(c).astype(f))
    if op == "conv_transpose2d":
        w = (rng.standard_normal((c, c, 4, 4)) / np.sqrt(4 * c)).astype(f)
        return dict(x=x[:, :, :h // 2, :h // 2].copy(), w=w, b=rng.standard_normal(c).astype(f))
    if op in ("batch_norm", "instance_norm"):
        return dict(x=x, weight=rng.uniform(0.5, 1.5, c).astype(f), bias=rng.standard_normal(c).astype(f))
    angle = 0.3 * rng.standard_normal(BATCH)
    theta = np.zeros((BATCH, 2, 3))
    theta[:, 0, 0] = theta[:, 1, 1] = np.cos(angle)
    theta[:, 0, 1], theta[:, 1, 0] = -np.sin(angle), np.sin(angle)
    theta[:, :, 2] = 0.1 * rng.standard_normal((BATCH, 2))
    return dict(x=x, theta=theta.astype(f))


def minigen_step(op, arrays):
    """A function running op forward and backward on fresh leaf tensors; None with a note if op is missing."""
    import numpy as np
    import minigen.functional as F
    from minigen.tensor import Tensor, no_grad

    fn = getattr(F, op, None)
    if fn is None or (op == "grid_sample" and not hasattr(F, "affine_grid")):
        return None, f"minigen.functional.{op if fn is None else 'affine_grid'} not available"
    if op == "grid_sample":
        with no_grad():
            grid = F.affine_grid(Tensor(arrays["theta"]), arrays["x"].shape, align_corners=False).data
        arrays = dict(x=arrays["x"], grid=np.ascontiguousarray(grid))

    def run():
        t = {k: Tensor(v, requires_grad=True) for k, v in arrays.items()}
        if op in ("conv2d", "conv_transpose2d"):
            y = fn(t["x"], t["w"], t["b"], stride=1 if op == "conv2d" else 2, padding=1)
        elif op == "batch_norm":
            c = arrays["x"].shape[1]
            y = fn(t["x"], np.zeros(c, np.float32), np.ones(c, np.float32), t["weight"], t["bias"],
                   training=True, momentum=0.1, eps=1e-5)
        elif op == "instance_norm":
            y = fn(t["x"], t["weight"], t["bias"], eps=1e-5)
        else:
            y = fn(t["x"], t["grid"], align_corners=False)
        y.backward(np.ones(y.shape, np.float32))
        return y
    return run, None


def torch_step(op, arrays):
    import torch
    import torch.nn.functional as TF
    if op == "grid_sample":
        with torch.no_grad():
            x = torch.from_numpy(arrays["x"])
            grid = TF.affine_grid(torch.from_numpy(arrays["theta"]), list(x.shape), align_corners=False)
        arrays = dict(x=arrays["x"], grid=grid.numpy())

    def run():
        t = {k: torch.from_numpy(v).requires_grad_() for k, v in arrays.items()}
        if op == "conv2d":
            y = TF.conv2d(t["x"], t["w"], t["b"], stride=1, padding=1)
        elif op == "conv_transpose2d":
            y = TF.conv_transpose2d(t["x"], t["w"], t["b"], stride=2, padding=1)
        elif op == "batch_norm":
            c = arrays["x"].shape[1]
            y = TF.batch_norm(t["x"], torch.zeros(c), torch.ones(c), t["weight"], t["bias"],
                              training=True, momentum=0.1, eps=1e-5)
        elif op == "instance_norm":
            y = TF.instance_norm(t["x"], weight=t["weight"], bias=t["bias"], eps=1e-5)
        else:
            y = TF.grid_sample(t["x"], t["grid"], mode="bilinear", padding_mode="zeros", align_corners=False)
        y.backward(torch.ones_like(y))
        return y
    return run


def median_times(runs, repeat, pause=0.15):
    """Median wall time of each function. The functions alternate, so both see the same
    machine load. Each timed run directly follows an untimed run of the same function,
    after a pause that lets the other library's idle worker threads go to sleep: one
    library's run leaves the process (allocator, caches, thread pools) in a state that
    slows the other's next run (measured here: a VGG-19 run of minigen right after a
    torch run ~11 % slower, torch after minigen ~6 %), which a user of one library never sees."""
    times = [[] for _ in runs]
    for _ in range(repeat):
        for run, t in zip(runs, times):
            time.sleep(pause)
            run()  # settles this library's state (and warms up on the first round)
            start = time.perf_counter()
            run()
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def peak_mib(run):
    from minigen.functional import conv
    conv.clear_workspace()  # count the conv scratch arrays too, though they outlive the run
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def main():
    args = parse_args()
    np, torch = numpy_and_torch(args.threads, args.no_torch)
    print(f"minigen ops benchmark: batch {BATCH}, float32, forward+backward, median of {args.repeat}, "
          f"{args.threads} thread(s), NumPy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else ", no torch comparison"))
    print("peak MiB: tracemalloc peak of NumPy allocations during one minigen run")
    header = f"{'op':<17} {'C x H x W':>14} {'minigen ms':>11} {'peak MiB':>9}"
    if torch:
        header += f" {'torch ms':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for op in args.ops.split(","):
        for c, h in SIZES[args.sizes]:
            arrays = problem(op, c, h, rng)
            label = f"{op:<17} {f'{c} x {h} x {h}':>14}"
            run, note = minigen_step(op, arrays)
            if run is None:
                print(f"{label}  skipped: {note}")
                continue
            runs = [run, torch_step(op, arrays)] if torch else [run]
            ms = [1e3 * t for t in median_times(runs, args.repeat)]
            line = f"{label} {ms[0]:>11.1f} {peak_mib(run):>9.1f}"
            if torch:
                line += f" {ms[1]:>9.1f} {ms[0] / ms[1]:>6.2f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
