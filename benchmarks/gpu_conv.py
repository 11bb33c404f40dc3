"""minigen's CUDA conv2d (im2col / col2im kernels + cuBLAS) against cuDNN through PyTorch, on VGG-19's layers.

    python benchmarks/gpu_conv.py [--sizes 256,512] [--batches 1,8] [--repeat N] [--layers conv1_1,...]

Every distinct conv layer of VGG-19 (3x3, stride 1, padding 1) at the given
input sizes and batch sizes, float32, on one GPU: forward, backward with
respect to the input (backward-data), backward with respect to the weight
(backward-weight), and their total, each the median over --repeat timed runs
(after two warm-ups) measured with CUDA events around the call. PyTorch runs
the same shapes on the same device in the same process: F.conv2d,
torch.nn.grad.conv2d_input and conv2d_weight (cuDNN, cudnn.benchmark on, so it
picks its fastest algorithm). TF32 is off on both sides (CUPY_TF32=0;
torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 =
False), so both compute in full float32.

TFLOP/s counts 2 N C_out H W C_in 9 flops per pass. "im2col" and "col2im" are
the times of minigen's own data-movement kernels within its forward and
backward-data (the rest is cuBLAS and the layout copies), to show where the
time goes. The totals at the bottom weight each layer by how often VGG-19 has
it (16 conv layers). Needs CuPy and a CUDA build of PyTorch (--no-torch
without it).
"""
import argparse
import os
import sys

from common import cuda_timer

os.environ["CUPY_TF32"] = "0"  # before CuPy reads it

# name, C_in, C_out, spatial divisor, how many such layers VGG-19 has
VGG19 = [
    ("conv1_1", 3, 64, 1, 1), ("conv1_2", 64, 64, 1, 1),
    ("conv2_1", 64, 128, 2, 1), ("conv2_2", 128, 128, 2, 1),
    ("conv3_1", 128, 256, 4, 1), ("conv3_2-4", 256, 256, 4, 3),
    ("conv4_1", 256, 512, 8, 1), ("conv4_2-4", 512, 512, 8, 3),
    ("conv5_1-4", 512, 512, 16, 4),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="256,512", help="input sizes H = W, comma-separated (default 256,512)")
    p.add_argument("--batches", default="1,8", help="batch sizes, comma-separated (default 1,8)")
    p.add_argument("--repeat", type=int, default=10, help="timed runs per measurement; the median is shown")
    p.add_argument("--layers", default=",".join(name for name, *_ in VGG19), help="subset of the layer names")
    p.add_argument("--no-torch", action="store_true", help="skip the cuDNN comparison")
    args = p.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.batches = [int(b) for b in args.batches.split(",")]
    unknown = set(args.layers.split(",")) - {name for name, *_ in VGG19}
    if unknown or args.repeat < 1:
        p.error(f"unknown layers {sorted(unknown)}" if unknown else "--repeat must be >= 1")
    args.layers = [layer for layer in VGG19 if layer[0] in args.layers.split(",")]
    return args


def minigen_calls(x, w, b, gy):
    """Forward, backward-data and backward-weight of minigen's CUDA conv2d on raw CuPy arrays."""
    import minigen.functional as F
    from minigen.functional import conv as C
    from minigen.tensor import Tensor, no_grad

    geom = C._Geometry((3, 3), (1, 1), (1, 1), (1, 1), 1)
    hw = x.shape[2:]
    tx, tw, tb = Tensor(x), Tensor(w), Tensor(b)

    def forward():
        with no_grad():
            return F.conv2d(tx, tw, tb, padding=1)
    return dict(forward=forward,
                data=lambda: C._adjoint(gy, geom, hw, weight=w),
                weight=lambda: C._adjoint(gy, geom, hw, x=x))


def data_movement_calls(x, gy):
    """minigen's im2col (as in the forward) and col2im (as in backward-data) alone, chunk by chunk."""
    from minigen.cuda import conv as K
    from minigen.functional import conv as C

    geom = C._Geometry((3, 3), (1, 1), (1, 1), (1, 1), 1)
    n, c, h, wd = x.shape
    chunks = K._chunks(n, c * 9 * h * wd, max(x[0].size, gy[0].size), x.itemsize, C.COLUMN_LIMIT_BYTES)
    cols = {hi - lo: K._im2col(x[lo:hi], geom, (h, wd)) for lo, hi in chunks}  # per chunk size
    out = x.copy()

    def im2col():
        for lo, hi in chunks:
            K._im2col(x[lo:hi], geom, (h, wd))

    def col2im():
        for lo, hi in chunks:
            K._col2im(cols[hi - lo], geom, out[lo:hi], (h, wd))
    return dict(im2col=im2col, col2im=col2im)


def torch_calls(torch, x, w, b, gy):
    tf = torch.nn.functional
    return dict(forward=lambda: tf.conv2d(x, w, b, padding=1),
                data=lambda: torch.nn.grad.conv2d_input(x.shape, w, gy, padding=1),
                weight=lambda: torch.nn.grad.conv2d_weight(x, w.shape, gy, padding=1))


def main():
    args = parse_args()
    try:
        import cupy as cp
    except ImportError:
        sys.exit("gpu_conv: needs CuPy (pip install -e \".[cuda]\")")
    from minigen import backend
    if not backend.gpu_available():
        sys.exit("gpu_conv: no CUDA GPU visible to CuPy")
    torch = None
    if not args.no_torch:
        try:
            import torch
            if not torch.cuda.is_available():
                sys.exit("gpu_conv: PyTorch sees no CUDA GPU (run with --no-torch to skip cuDNN)")
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.benchmark = True
        except ImportError:
            sys.exit("gpu_conv: needs PyTorch with CUDA for the cuDNN comparison (or --no-torch)")
    time = cuda_timer(cp)
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    print(f"# device: {props['name'].decode()}, CuPy {cp.__version__}"
          + (f", PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}" if torch else "")
          + ", float32, TF32 off")
    rng = cp.random.default_rng(0)
    for size in args.sizes:
        for batch in args.batches:
            print(f"\n## {size}x{size}, batch {batch} (ms; ratio = minigen / cuDNN)\n")
            print("| layer | shape | fwd | bwd-data | bwd-weight | total | im2col | col2im | TFLOP/s"
                  + (" | cuDNN fwd | cuDNN bwd-data | cuDNN bwd-weight | cuDNN total | ratio |" if torch else " |"))
            print("|---" * (13 if torch else 9) + "|")
            totals = [0.0, 0.0]
            for name, c_in, c_out, div, count in args.layers:
                h = size // div
                x = rng.standard_normal((batch, c_in, h, h), dtype=cp.float32)
                w = rng.standard_normal((c_out, c_in, 3, 3), dtype=cp.float32) / (3 * c_in ** 0.5)
                b = rng.standard_normal(c_out, dtype=cp.float32)
                gy = rng.standard_normal((batch, c_out, h, h), dtype=cp.float32)
                ours = {k: time(fn, args.repeat) for k, fn in minigen_calls(x, w, b, gy).items()}
                moves = {k: time(fn, args.repeat) for k, fn in data_movement_calls(x, gy).items()}
                total = sum(ours.values())
                flops = 3 * 2 * batch * c_out * h * h * c_in * 9
                row = (f"| {name} | {c_in}->{c_out} @{h} | {ours['forward']:.3f} | {ours['data']:.3f} | "
                       f"{ours['weight']:.3f} | {total:.3f} | {moves['im2col']:.3f} | {moves['col2im']:.3f} | "
                       f"{flops / total / 1e9:.1f}")
                totals[0] += count * total
                if torch:
                    tt = [torch.as_tensor(a, device="cuda") for a in (x, w, b, gy)]
                    theirs = {k: time(fn, args.repeat) for k, fn in torch_calls(torch, *tt).items()}
                    their_total = sum(theirs.values())
                    totals[1] += count * their_total
                    row += (f" | {theirs['forward']:.3f} | {theirs['data']:.3f} | {theirs['weight']:.3f} | "
                            f"{their_total:.3f} | {total / their_total:.2f}")
                print(row + " |")
                del x, w, b, gy
                cp.get_default_memory_pool().free_all_blocks()
            summary = f"\nVGG-19 conv layers, total fwd+bwd: minigen {totals[0]:.2f} ms"
            if torch:
                summary += f", cuDNN {totals[1]:.2f} ms, ratio {totals[0] / totals[1]:.2f}"
            print(summary)


if __name__ == "__main__":
    main()
