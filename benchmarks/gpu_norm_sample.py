"""minigen's CUDA normalisation and sampling kernels against the device's copy bandwidth and PyTorch.

    python benchmarks/gpu_norm_sample.py [--shape 8,256,128,128] [--repeat N] [--dtype float32] [--no-torch]

Each row times one forward or backward on one GPU (median of --repeat runs
after two warm-ups, CUDA events around the call) at a large size (default
x of 8 x 256 x 128 x 128): batch norm (training: statistics, running-stat
update, normalise; eval), instance norm, grid_sample (bilinear, zeros, along
a slightly rotated affine grid), bilinear interpolate x2 up and x0.5 down.
Backward rows compute every gradient (input, weight and bias; input and grid).

Bandwidth is counted two ways, both bytes read + written:
  "min" - each input read once and each output written once (the least any
          implementation must move), the same count for minigen and PyTorch;
  "ours" - what minigen's kernels actually move: a reduction pass and an
          element-wise pass each read x (and g), atomicAdd reads and writes dx.
GB/s from "min" over the device-to-device copy bandwidth measured in the same
run (cupy copy of a 1 GiB array by default: 2 bytes moved per byte copied) gives "% copy".
PyTorch runs the same op on the same data (cuDNN / its native kernels); its
backward is timed as torch.autograd.grad over a retained graph.
"""
import argparse
import sys

from common import cuda_timer


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shape", default="8,256,128,128", help="N,C,H,W of the input (default 8,256,128,128)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--repeat", type=int, default=20, help="timed runs per row; the median is shown")
    p.add_argument("--copy-mib", type=int, default=1024, help="size of the array copied for the bandwidth ceiling")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = p.parse_args()
    args.shape = tuple(int(s) for s in args.shape.split(","))
    if len(args.shape) != 4 or min(args.shape) < 1 or args.repeat < 1 or args.copy_mib < 1:
        p.error("--shape needs four positive sizes N,C,H,W; --repeat and --copy-mib must be >= 1")
    return args


def rotation(cp, n, dtype, angle=0.1):
    import math
    theta = cp.zeros((n, 2, 3), dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = math.cos(angle)
    theta[:, 0, 1], theta[:, 1, 0] = -math.sin(angle), math.sin(angle)
    return theta


def minigen_rows(cp, shape, dtype):
    """(name, forward-or-backward callable, min bytes, our bytes) for minigen on CuPy data."""
    import minigen.functional as F
    from minigen.cuda import norm as K, sample as S
    from minigen.tensor import Tensor, no_grad

    n, c, h, w = shape
    rng = cp.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=dtype)
    g = rng.standard_normal(shape, dtype=dtype)
    weight, bias = cp.ones(c, dtype), cp.zeros(c, dtype)
    rm, rv = cp.zeros(c, dtype), cp.ones(c, dtype)
    a = x.nbytes  # one full-size array
    tx, tw, tb = Tensor(x), Tensor(weight), Tensor(bias)

    def under_no_grad(fn):
        def run():
            with no_grad():
                return fn()
        return run

    mean, var = K.moments(x, False)
    invstd = 1 / cp.sqrt(var + 1e-5)
    imean, ivar = K.moments(x, True)
    iinvstd = 1 / cp.sqrt(ivar + 1e-5)
    grid = F.affine_grid(Tensor(rotation(cp, n, dtype)), shape, False).data
    small = x[:, :, :h // 2, :w // 2].copy()
    up = S.Resize(*_matrices(h // 2, w // 2, h, w), dtype)
    down = S.Resize(*_matrices(h, w, h // 2, w // 2), dtype)
    rows = [
        ("batch_norm train fwd", under_no_grad(lambda: F.batch_norm(tx, rm, rv, tw, tb, training=True)), 2 * a, 3 * a),
        ("batch_norm eval fwd", under_no_grad(lambda: F.batch_norm(tx, rm, rv, tw, tb)), 2 * a, 2 * a),
        ("batch_norm train bwd", lambda: K.normalize_backward(g, x, mean, invstd, weight, False, True,
                                                              (True, True, True)), 3 * a, 5 * a),
        ("instance_norm fwd", under_no_grad(lambda: F.instance_norm(tx, tw, tb)), 2 * a, 3 * a),
        ("instance_norm bwd", lambda: K.normalize_backward(g, x, imean, iinvstd, weight, True, True,
                                                           (True, True, True)), 3 * a, 5 * a),
        ("grid_sample fwd", lambda: S.grid_sample(x, grid, False), 2 * a + grid.nbytes, 2 * a + grid.nbytes),
        # atomicAdd: dx zeroed, then read and written
        ("grid_sample bwd", lambda: S.grid_sample_backward(g, x, grid, False, True, True),
         3 * a + 2 * grid.nbytes, 5 * a + 2 * grid.nbytes),
        ("interpolate x2 fwd", lambda: up.forward(small), 5 * small.nbytes, 5 * small.nbytes),
        ("interpolate x2 bwd", lambda: up.backward(g), 5 * small.nbytes, 5 * small.nbytes),
        ("interpolate x0.5 fwd", lambda: down.forward(x), 5 * small.nbytes, 5 * small.nbytes),
        ("interpolate x0.5 bwd", lambda: down.backward(small), 5 * small.nbytes, 5 * small.nbytes),
    ]
    return rows, dict(x=x, g=g, weight=weight, bias=bias, grid=grid, small=small)


def _matrices(h, w, ho, wo):
    """The 1-D bilinear matrices of interpolate from (h, w) to (ho, wo), align_corners=False."""
    from minigen.functional import sample as fs
    return fs._linear_matrix(h, ho, False), fs._linear_matrix(w, wo, False)


def torch_rows(torch, data):
    """The same ops in PyTorch on the same data (zero-copy views of the CuPy arrays)."""
    tf = torch.nn.functional
    t = {k: torch.as_tensor(v, device="cuda") for k, v in data.items()}
    c = t["x"].shape[1]
    rm, rv = torch.zeros(c, device="cuda", dtype=t["x"].dtype), torch.ones(c, device="cuda", dtype=t["x"].dtype)

    def resize(a, scale):
        return tf.interpolate(a, scale_factor=scale, mode="bilinear", align_corners=False)

    def backward(forward, inputs, grad):
        leaves = [i.detach().requires_grad_() for i in inputs]
        out = forward(*leaves)
        return lambda: torch.autograd.grad(out, leaves, grad, retain_graph=True)

    x, g, weight, bias, grid, small = (t[k] for k in ("x", "g", "weight", "bias", "grid", "small"))
    rows = {  # no input requires grad: no graph is recorded
        "batch_norm train fwd": lambda: tf.batch_norm(x, rm, rv, weight, bias, training=True),
        "batch_norm eval fwd": lambda: tf.batch_norm(x, rm, rv, weight, bias),
        "instance_norm fwd": lambda: tf.instance_norm(x, weight=weight, bias=bias),
        "grid_sample fwd": lambda: tf.grid_sample(x, grid, align_corners=False),
        "interpolate x2 fwd": lambda: resize(small, 2),
        "interpolate x0.5 fwd": lambda: resize(x, 0.5),
    }
    rows.update({
        "batch_norm train bwd": backward(lambda x, w, b: tf.batch_norm(x, None, None, w, b, training=True),
                                         [x, weight, bias], g),
        "instance_norm bwd": backward(lambda x, w, b: tf.instance_norm(x, weight=w, bias=b), [x, weight, bias], g),
        "grid_sample bwd": backward(lambda x, grid: tf.grid_sample(x, grid, align_corners=False), [x, grid], g),
        "interpolate x2 bwd": backward(lambda s: resize(s, 2), [small], g),
        "interpolate x0.5 bwd": backward(lambda x: resize(x, 0.5), [x], small),
    })
    return rows


def main():
    args = parse_args()
    try:
        import cupy as cp
    except ImportError:
        sys.exit("gpu_norm_sample: needs CuPy (pip install -e \".[cuda]\")")
    from minigen import backend
    if not backend.gpu_available():
        sys.exit("gpu_norm_sample: no CUDA GPU visible to CuPy")
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            sys.exit("gpu_norm_sample: needs PyTorch with CUDA for the comparison (or --no-torch)")
        if not torch.cuda.is_available():
            sys.exit("gpu_norm_sample: PyTorch sees no CUDA GPU (or --no-torch)")
        torch.backends.cudnn.benchmark = True
    dtype = cp.dtype(args.dtype)
    time = cuda_timer(cp)
    src = cp.ones(args.copy_mib * 2**20 // dtype.itemsize, dtype)
    dst = cp.empty_like(src)
    copy_gbs = 2 * src.nbytes / time(lambda: cp.copyto(dst, src), args.repeat) / 1e6
    src = dst = None  # free the copy buffers before the measured ops
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    print(f"# device: {props['name'].decode()}, CuPy {cp.__version__}"
          + (f", PyTorch {torch.__version__}" if torch else "")
          + f", {args.dtype}, x {args.shape}; device-to-device copy: {copy_gbs:.0f} GB/s\n")
    rows, data = minigen_rows(cp, args.shape, dtype)
    theirs = torch_rows(torch, data) if torch else {}
    print("| op | ms | GB/s (min) | % copy | GB/s (ours) | % copy" + (" | PyTorch ms | ratio |" if torch else " |"))
    print("|---" * (8 if torch else 6) + "|")
    for name, fn, least, moved in rows:
        ms = time(fn, args.repeat)
        line = (f"| {name} | {ms:.3f} | {least / ms / 1e6:.0f} | {100 * least / ms / 1e6 / copy_gbs:.0f} | "
                f"{moved / ms / 1e6:.0f} | {100 * moved / ms / 1e6 / copy_gbs:.0f}")
        if torch:
            their_ms = time(theirs[name], args.repeat)
            line += f" | {their_ms:.3f} | {ms / their_ms:.2f}"
        print(line + " |")


if __name__ == "__main__":
    main()
