"""Helpers shared by the benchmark scripts (run as `python benchmarks/<name>.py`)."""
import os
import statistics

# ../shared/data beside the checkout (see its SOURCES.md), or $MINIGEN_DATA.
DATA = os.environ.get("MINIGEN_DATA", os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")))


def numpy_and_torch(threads, no_torch=False):
    """Set the BLAS thread count (read when NumPy is first imported), then import NumPy and,
    unless ``no_torch`` or it is missing, torch with the same number of threads: (np, torch or None)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import minigen  # noqa: F401  (before NumPy, so that its OpenBLAS setting applies as in the CLI)
    import numpy as np
    torch = None
    if not no_torch:
        try:
            import torch
            torch.set_num_threads(threads)
        except ImportError:
            torch = None
    return np, torch


def cuda_timer(cp):
    """time(fn, repeat) -> median milliseconds of fn() after two warm-up runs, by CUDA events."""
    def time(fn, repeat):
        for _ in range(2):
            fn()
        runs = []
        for _ in range(repeat):
            start, stop = cp.cuda.Event(), cp.cuda.Event()
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            runs.append(cp.cuda.get_elapsed_time(start, stop))
        return statistics.median(runs)
    return time
