"""Where minigen's time goes in the training steps of benchmarks/steps.py: a profile of each step,
its time summed by the source file that spent it (NumPy, SciPy and built-in calls, the FFTs and BLAS
products among them, count for the minigen functions that made them), as a share of the step.

    python benchmarks/steps_profile.py [--only NAME...] [--repeats 3] [--threads 1]

The profiler slows the many small Python calls more than the large array operations, so the
shares are a guide to where the time goes, not timings; steps.py gives those.
"""
import argparse
import cProfile
import collections
import os
import pstats
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import steps  # noqa: E402
from common import numpy_and_torch  # noqa: E402

GROUPS = (  # (label, path fragments), the first match wins
    ("conv: FFT path", ("conv_fft.py", "scipy/fft")),
    ("conv: im2col, GEMMs, col2im", ("functional/conv.py",)),
    ("matrix products (linear layers)", ("functional/matmul.py",)),
    ("norms", ("functional/norm.py",)),
    ("activations", ("functional/activation.py",)),
    ("sampling, pooling, resizing", ("functional/sample.py", "functional/pool.py")),
    ("losses, reductions", ("functional/reduction.py", "minigen/losses")),
    ("elementwise arithmetic", ("functional/arithmetic.py",)),
    ("shapes, concat, padding", ("functional/shape.py",)),
    ("optimiser", ("minigen/optim",)),
    ("autograd bookkeeping", ("minigen/tensor.py", "minigen/nn", "minigen/backend.py")),
    ("the step itself (loss, data)", ("steps.py",)),
)


def group_of(filename):
    for label, parts in GROUPS:
        if any(p in filename for p in parts):
            return label
    return "other"


def profile(fn, repeats):
    """{group: seconds per step} from `repeats` profiled calls of fn (after one unprofiled call). Time
    spent outside minigen (NumPy, SciPy, built-ins) goes to the minigen functions that called it, split
    as the calls were."""
    fn()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeats):
        fn()
    prof.disable()
    stats = pstats.Stats(prof).stats
    memo = {}

    def shares(func, seen=()):
        """{group: fraction} of func's own time."""
        if func in memo:
            return memo[func]
        filename = func[0]
        if "minigen" in filename or "steps.py" in filename:
            memo[func] = {group_of(filename): 1.0}
            return memo[func]
        callers = {c: v[2] for c, v in stats[func][4].items() if c not in seen and c in stats}
        total = sum(callers.values())
        out = collections.Counter()
        for caller, t in callers.items():
            for group, f in shares(caller, seen + (func,)).items():
                out[group] += f * t / total if total else 0.0
        memo[func] = dict(out) if out else {"other": 1.0}
        return memo[func]

    spent = collections.Counter()
    for func, (_, _, tottime, _, _) in stats.items():
        for group, f in shares(func).items():
            spent[group] += f * tottime / repeats
    return spent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=steps.STEPS, metavar="NAME")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ["MINIGEN_NUM_THREADS"] = str(args.threads)
    np, _ = numpy_and_torch(args.threads, True)
    from minigen import backend
    backend.keep_freed_memory()
    for name in [s for s in steps.STEPS if s in (args.only or steps.STEPS)]:
        fn = steps.build(name, steps.minigen_api(), steps.FULL[name], np)[0]
        spent = profile(fn, args.repeats)
        total = sum(spent.values())
        print(f"\n{name}: {1e3 * total:.0f} ms per step under the profiler")
        for label, seconds in spent.most_common():
            if seconds >= 0.01 * total:
                print(f"  {100 * seconds / total:5.1f} %  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
