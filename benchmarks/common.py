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


def write_json(folder, name, figures):
    """figures written to folder/NAME.json (atomically: a .tmp renamed over it)."""
    import json
    path = os.path.join(folder, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(figures, f, indent=1, default=float)
    os.replace(path + ".tmp", path)
    print(f"  figures: {path}")


def save_picture(path, grid, scale=2):
    """A grid (H, W, C) in [0, 1] written as PNG, each pixel a scale x scale block."""
    import numpy as np
    from minigen.data.images import save_image
    grid = np.repeat(np.repeat(np.asarray(grid, np.float32), scale, 0), scale, 1)
    save_image(path, grid[..., 0] if grid.shape[-1] == 1 else grid)
    print(f"  picture: {path}")


def run_sections(args, sections, functions, prog):
    """Run functions[name](args) for each of ``sections`` asked by --only (all by default), each between
    "== name" lines with its elapsed time; a MinigenError ends the script with one line and status 1."""
    import sys
    import time
    from minigen.errors import MinigenError
    try:
        for name in [s for s in sections if s in (args.only or sections)]:
            t = time.perf_counter()
            print(f"== {name}", flush=True)
            functions[name](args)
            print(f"== {name}: {time.perf_counter() - t:.0f} s elapsed\n", flush=True)
    except MinigenError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    return 0
