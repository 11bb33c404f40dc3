"""CPU speed of the generative training steps (issue 25): six whole steps, minigen beside PyTorch-CPU.

    python benchmarks/steps.py [--only NAME...] [--repeats 5] [--threads 1] [--json DIR] [--no-torch]
    python benchmarks/steps.py --quick            # tiny batches and sizes, 1 repeat: a smoke test

Each step is forward + backward + Adam, float32, random data, the same layers in both libraries (each
step written once against either library's nn / functional API; torch starts from a copy of minigen's
weights, and the relative difference of the two first-step losses is printed as a check):

- dcgan (batch 64): one D step on real + fake, one G step; BCE with logits, two Adams 2e-4 (0.5, 0.999).
  G: ConvT(100,256,7,1,0)+BN+ReLU, ConvT(256,128,4,2,1)+BN+ReLU, ConvT(128,1,4,2,1)+tanh;
  D: Conv(1,64,4,2,1)+LReLU(0.2), Conv(64,128,4,2,1)+BN+LReLU(0.2), Conv(128,1,7).
- pixelcnn (batch 32, 28x28): Conv(1,64,7,pad 3), 6 x [ReLU, Conv(64,64,7,pad 3)], ReLU, Conv(64,256,1),
  cross-entropy over 256 values per pixel (no masks: a PixelCNN's cost, not its causality).
- unet (batch 32, 28x28): blocks of 2 x [Conv 3x3 pad 1, GroupNorm(8), ReLU] at 64, 128, 128 channels,
  avg-pool 2 down, nearest x2 up, skip concatenation (decoder blocks 256->128, 192->64), Conv 1x1; MSE.
- vae (batch 128): MLP 784-400-40 | 20-400-784 (ReLU), 20 means + 20 log-variances reparameterised,
  BCE with logits (summed) + KL, per image.
- cin (batch 4, 64x64): models.transform_net.TransformNet(norm="conditional", num_styles=4, padded=True),
  MSE of the output to a random image (no VGG: the generator alone); in torch the same net written here
  (reflection-padded convs, 5 residual blocks, transposed convs, tanh * 150/255 + 0.5, per-style
  gamma/beta rows picked by style index).
- warp (batch 32, 3 x 64x64): affine_grid of theta (32, 2, 3) + bilinear grid_sample (zeros outside,
  align_corners=False in both), MSE to a target; theta and the image are the Adam parameters.

Timing: one untimed warm-up step per library, then --repeats rounds alternating minigen and torch (a
0.1 s pause before each, for the other library's idle threads); the median. Both use --threads threads
(BLAS, MINIGEN_NUM_THREADS, torch.set_num_threads); freed memory is kept (backend.keep_freed_memory),
as the minigen command does.

Peak memory: each (step, library) in a fresh subprocess (this script with --one STEP --framework F):
after the imports, networks, optimisers and data it resets the kernel's resident high-water mark (5 to
/proc/self/clear_refs) and reads VmRSS, runs two steps (the first creates Adam's moments), reads VmHWM;
"peak MiB" is VmHWM - VmRSS (activations, saved tensors, gradients, Adam state, scratch); the JSON has
both. (Not ru_maxrss: Linux starts a spawned child's ru_maxrss at its parent's high-water mark.)

Conv rate (dcgan, pixelcnn): 2 x the multiply-adds of the step's convs done directly (forward, dW, and dX
where the input needs it; D runs forward three times; a transposed conv counted by its input) / step
time, beside NumPy's float32 1024^3 sgemm rate. The 7x7 convs of pixelcnn take the FFT path
(functional/conv_fft.py), which does far fewer operations: its rate is a direct-equivalent one and
may exceed sgemm's.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import numpy_and_torch, write_json  # noqa: E402

STEPS = ("dcgan", "pixelcnn", "unet", "vae", "cin", "warp")
FULL = {"dcgan": dict(batch=64), "pixelcnn": dict(batch=32, side=28), "unet": dict(batch=32, side=28),
        "vae": dict(batch=128), "cin": dict(batch=4, side=64), "warp": dict(batch=32, side=64)}
QUICK = {"dcgan": dict(batch=4), "pixelcnn": dict(batch=2, side=12), "unet": dict(batch=2, side=12),
         "vae": dict(batch=16), "cin": dict(batch=1, side=32), "warp": dict(batch=4, side=16)}


# ---- the two libraries behind one small API ------------------------------------------------------

def minigen_api():
    import minigen.functional as F
    from minigen import losses, nn, optim
    from minigen.models.transform_net import TransformNet
    from minigen.tensor import Tensor
    return SimpleNamespace(
        name="minigen", nn=nn, F=F, t=lambda a: Tensor(a), param=nn.Parameter, labels=lambda a: a,
        adam=lambda params, lr, betas=(0.9, 0.999): optim.Adam(list(params), lr=lr, betas=betas),
        cat=lambda xs: F.concat(xs, axis=1), exp=F.exp, mse=losses.mse_loss, bce=losses.bce_with_logits,
        ce=losses.cross_entropy, grid=lambda th, size: F.affine_grid(th, size, align_corners=False),
        sample=lambda x, g: F.grid_sample(x, g, align_corners=False),
        transform_net=lambda: TransformNet(norm="conditional", num_styles=4, padded=True))


def torch_api(torch):
    TF = torch.nn.functional
    return SimpleNamespace(
        name="torch", nn=torch.nn, F=TF, t=torch.from_numpy, labels=torch.from_numpy,
        param=lambda a: torch.nn.Parameter(torch.from_numpy(a.copy())),
        adam=lambda params, lr, betas=(0.9, 0.999): torch.optim.Adam(list(params), lr=lr, betas=betas),
        cat=lambda xs: torch.cat(xs, 1), exp=torch.exp, mse=TF.mse_loss, bce=TF.binary_cross_entropy_with_logits,
        ce=TF.cross_entropy, grid=lambda th, size: TF.affine_grid(th, list(size), align_corners=False),
        sample=lambda x, g: TF.grid_sample(x, g, mode="bilinear", padding_mode="zeros", align_corners=False),
        transform_net=lambda: torch_transform_net(torch))


def torch_transform_net(torch, styles=4, c=(32, 64, 128), blocks=5, scale=150.0):
    """minigen.models.transform_net.TransformNet(norm='conditional', padded=True) in torch, with its
    parameters in the same order (each layer's conv weight and bias, then its gamma and beta)."""
    nn, TF = torch.nn, torch.nn.functional

    class ConvLayer(nn.Module):  # conv, conditional instance norm (a gamma and beta row per style), ReLU
        def __init__(self, conv, relu=True):
            super().__init__()
            self.conv, self.relu, ch = conv, relu, conv.out_channels  # gamma, beta after the conv, as in minigen
            self.norm = nn.ParameterList([torch.ones(styles, ch), torch.zeros(styles, ch)])

        def forward(self, x, s):
            gamma, beta = (p[s][:, :, None, None] for p in self.norm)  # the rows of the styles s
            y = TF.instance_norm(self.conv(x), eps=1e-5) * gamma + beta
            return TF.relu(y) if self.relu else y

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            (c1, c2, c3), conv = c, lambda i, o, k, s=1: nn.Conv2d(i, o, k, s, k // 2, padding_mode="reflect")
            self.down = nn.ModuleList([ConvLayer(conv(3, c1, 9)), ConvLayer(conv(c1, c2, 3, 2)),
                                       ConvLayer(conv(c2, c3, 3, 2))])
            self.res = nn.ModuleList([ConvLayer(conv(c3, c3, 3), relu=i % 2 == 0) for i in range(2 * blocks)])
            self.up = nn.ModuleList([ConvLayer(nn.ConvTranspose2d(i, o, 3, 2, 1, output_padding=1))
                                     for i, o in ((c3, c2), (c2, c1))])
            self.out = conv(c1, 3, 9)

        def forward(self, x, s):
            for layer in self.down:
                x = layer(x, s)
            for a, b in zip(self.res[::2], self.res[1::2]):  # residual blocks: x + b(a(x)), no crop
                x = x + b(a(x, s), s)
            for layer in self.up:
                x = layer(x, s)
            return torch.tanh(self.out(x)) * (scale / 255.0) + 0.5
    return Net()


# ---- the six steps: build(api, size, rng) -> (step function returning the loss, networks, conv MACs) ----

def conv_macs(n, cin, cout, k, side):
    """Multiply-adds of a convolution whose output side (a transposed one's: input side) is `side`."""
    return n * cin * cout * k * k * side * side


def gemm_macs(passes):
    """Multiply-adds of forward, dW and dX: passes are (MACs of each conv, does the first need dX)."""
    return sum(3 * sum(m) - (0 if first_dx else m[0]) for m, first_dx in passes)


def trainer(opt, loss_of):
    """The step: loss_of() forward, backward, one Adam step; returns the loss."""
    def step():
        loss = loss_of()
        opt.zero_grad(), loss.backward(), opt.step()
        return loss.item()
    return step


def dcgan(api, size, rng):
    import numpy as np  # imported by now (numpy_and_torch), its thread count set
    nn, b = api.nn, size["batch"]
    G = nn.Sequential(nn.ConvTranspose2d(100, 256, 7, 1, 0, bias=False), nn.BatchNorm2d(256), nn.ReLU(),
                      nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
                      nn.ConvTranspose2d(128, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Conv2d(128, 1, 7))
    og, od = api.adam(G.parameters(), 2e-4, (0.5, 0.999)), api.adam(D.parameters(), 2e-4, (0.5, 0.999))
    x = api.t(rng.uniform(-1, 1, (b, 1, 28, 28)).astype("f4"))
    z = api.t(rng.standard_normal((b, 100, 1, 1)).astype("f4"))
    ones, zeros = (api.t(np.full((b, 1, 1, 1), k, np.float32)) for k in (1, 0))

    def step():
        fake = G(z)
        ld = api.bce(D(x), ones) + api.bce(D(fake.detach()), zeros)
        od.zero_grad(), ld.backward(), od.step()
        lg = api.bce(D(fake), ones)
        og.zero_grad(), lg.backward(), og.step()
        return ld.item() + lg.item()
    g = [conv_macs(b, 100, 256, 7, 1), conv_macs(b, 256, 128, 4, 7), conv_macs(b, 128, 1, 4, 14)]  # by input side
    d = [conv_macs(b, 1, 64, 4, 14), conv_macs(b, 64, 128, 4, 7), conv_macs(b, 128, 1, 7, 1)]
    return step, [G, D], gemm_macs([(g, False), (d, False), (d, False), (d, True)])


def pixelcnn(api, size, rng):
    nn, b, s = api.nn, size["batch"], size["side"]
    hidden = [m for _ in range(6) for m in (nn.ReLU(), nn.Conv2d(64, 64, 7, padding=3))]
    net = nn.Sequential(nn.Conv2d(1, 64, 7, padding=3), *hidden, nn.ReLU(), nn.Conv2d(64, 256, 1))
    opt = api.adam(net.parameters(), 1e-3)
    x = api.t(rng.random((b, 1, s, s), dtype="f4"))
    target = api.labels(rng.integers(0, 256, (b, s, s)))
    step = trainer(opt, lambda: api.ce(net(x), target))
    macs = [conv_macs(b, 1, 64, 7, s)] + [conv_macs(b, 64, 64, 7, s)] * 6 + [conv_macs(b, 64, 256, 1, s)]
    return step, [net], gemm_macs([(macs, False)])


def unet(api, size, rng):
    nn, b, s = api.nn, size["batch"], size["side"]

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.mid = block(1, 64), block(64, 128), block(128, 128)
            self.d2, self.d1, self.out = block(256, 128), block(192, 64), nn.Conv2d(64, 1, 1)

        def forward(self, x):
            down, up = (lambda t: api.F.avg_pool2d(t, 2)), (lambda t: api.F.interpolate(t, scale_factor=2))
            a = self.e1(x)
            c = self.e2(down(a))
            y = self.d2(api.cat([up(self.mid(down(c))), c]))
            return self.out(self.d1(api.cat([up(y), a])))
    net = UNet()
    opt = api.adam(net.parameters(), 1e-3)
    x, target = (api.t(rng.standard_normal((b, 1, s, s), dtype="f4")) for _ in range(2))
    return trainer(opt, lambda: api.mse(net(x), target)), [net], None


def vae(api, size, rng):
    nn, b = api.nn, size["batch"]
    enc = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 40))
    dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))
    opt = api.adam([*enc.parameters(), *dec.parameters()], 1e-3)
    x, eps = api.t(rng.random((b, 784), dtype="f4")), api.t(rng.standard_normal((b, 20), dtype="f4"))

    def loss_of():
        h = enc(x)
        mu, logvar = h[:, :20], h[:, 20:]
        rec = api.bce(dec(mu + api.exp(0.5 * logvar) * eps), x, reduction="sum")
        return (rec - 0.5 * (1 + logvar - mu * mu - api.exp(logvar)).sum()) / b
    return trainer(opt, loss_of), [enc, dec], None


def cin(api, size, rng):
    b, s = size["batch"], size["side"]
    net = api.transform_net()
    opt = api.adam(net.parameters(), 1e-3)
    x, target = (api.t(rng.random((b, 3, s, s), dtype="f4")) for _ in range(2))
    styles = api.labels(rng.integers(0, 4, b))
    return trainer(opt, lambda: api.mse(net(x, styles), target)), [net], None


def warp(api, size, rng):
    b, s = size["batch"], size["side"]
    theta0 = (rng.standard_normal((b, 2, 3)) * 0.1 + [[1, 0, 0], [0, 1, 0]]).astype("f4")
    theta, image = api.param(theta0), api.param(rng.random((b, 3, s, s), dtype="f4"))
    target = api.t(rng.random((b, 3, s, s), dtype="f4"))
    opt = api.adam([theta, image], 1e-3)
    return trainer(opt, lambda: api.mse(api.sample(image, api.grid(theta, (b, 3, s, s))), target)), [], None


def build(name, api, size, np, seed=0):
    return globals()[name](api, size, np.random.default_rng(seed))


def copy_weights(np, torch, src, dst):
    """minigen's initial parameters into the torch networks (same order and shapes)."""
    ours = [p for m in src for p in m.parameters()]
    theirs = [p for m in dst for p in m.parameters()]
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs], "the two networks differ"
    with torch.no_grad():
        for o, t in zip(ours, theirs):
            t.copy_(torch.from_numpy(np.asarray(o.data)))


# ---- measuring ---------------------------------------------------------------------------------------

def status_mib(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":")) / 1024  # kB there


def one(args):
    """--one STEP --framework F: print the peak-memory JSON line of two steps in this fresh process."""
    np, torch = numpy_and_torch(args.threads, args.framework != "torch")
    from minigen import backend
    backend.keep_freed_memory()
    api = torch_api(torch) if args.framework == "torch" else minigen_api()
    step = build(args.one, api, (QUICK if args.quick else FULL)[args.one], np)[0]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS (Linux >= 4.0)
    base = status_mib("VmRSS")
    step(), step()
    peak = status_mib("VmHWM")
    print(json.dumps({"base_mib": base, "total_mib": peak, "peak_mib": peak - base}))
    return 0


def peak_memory(args, name, framework):
    cmd = [sys.executable, os.path.abspath(__file__), "--one", name, "--framework", framework,
           "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        print(f"  ({name}, {framework}: the memory subprocess failed: {out.stderr.strip()[-300:]})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(runs, repeats, pause=0.1):
    """Median milliseconds of each step function, the functions alternating round by round."""
    times = [[] for _ in runs]
    for _ in range(repeats):
        for run, t in zip(runs, times):
            time.sleep(pause)
            start = time.perf_counter()
            run()
            t.append(1e3 * (time.perf_counter() - start))
    return [statistics.median(t) for t in times]


def machine(np, torch, threads):
    with open("/proc/cpuinfo") as f:  # Linux only, as the memory figures (/proc/self/status)
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    cpu = names[0] if names else platform.processor() or platform.machine()
    a, b = (np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32) for _ in range(2))
    a @ b
    ms = timed([lambda: a @ b], 5, pause=0)[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__ if torch else None, "threads": threads,
            "sgemm_gflops": 2 * 1024 ** 3 / ms / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=STEPS, metavar="NAME", help=f"steps to run ({', '.join(STEPS)})")
    ap.add_argument("--repeats", type=int, default=5, help="timed steps per library; the median is shown")
    ap.add_argument("--threads", type=int, default=1, help="threads for both libraries (default 1)")
    ap.add_argument("--quick", action="store_true", help="tiny batches and sizes, 1 repeat: a smoke test")
    ap.add_argument("--json", metavar="DIR", help="write the figures to DIR/steps.json")
    ap.add_argument("--no-torch", action="store_true", help="minigen alone")
    ap.add_argument("--one", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--framework", choices=("minigen", "torch"), default="minigen", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeats < 1 or args.threads < 1:
        ap.error("--repeats and --threads must be >= 1")
    os.environ["MINIGEN_NUM_THREADS"] = str(args.threads)
    if args.one:
        return one(args)
    repeats = 1 if args.quick else args.repeats
    np, torch = numpy_and_torch(args.threads, args.no_torch)
    from minigen import backend
    kept = backend.keep_freed_memory()
    info = machine(np, torch, args.threads)
    print(f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), Python {info['python']}, "
          f"NumPy {info['numpy']}, " + (f"torch {info['torch']}" if torch else "no torch")
          + f"; {args.threads} thread(s); freed memory {'kept' if kept else 'returned'}")
    print(f"sgemm: NumPy float32 1024x1024 @ 1024x1024, {info['sgemm_gflops']:.1f} GFLOP/s")
    print(f"median of {repeats} step(s) after a warm-up step" + (" (--quick: tiny sizes)" if args.quick else ""),
          flush=True)
    sizes, apis = QUICK if args.quick else FULL, [minigen_api()] + ([torch_api(torch)] if torch else [])
    rows, na = [], lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
    for name in [s for s in STEPS if s in (args.only or STEPS)]:
        built = [build(name, api, sizes[name], np) for api in apis]
        if torch:
            copy_weights(np, torch, built[0][1], built[1][1])
        first = [b[0]() for b in built]  # the warm-up steps, from the same weights and data
        ms = timed([b[0] for b in built], repeats) + [None]
        mem = [peak_memory(args, name, api.name) for api in apis] + [None]
        rows.append({"step": name, "size": sizes[name], "minigen_ms": ms[0], "torch_ms": ms[1],
                     "ratio": ms[0] / ms[1] if torch else None, "minigen_memory": mem[0], "torch_memory": mem[1],
                     "first_losses": first, "gemm_flops": built[0][2] and 2 * built[0][2],
                     "loss_rel_diff": abs(first[0] - first[1]) / max(abs(first[1]), 1e-12) if torch else None})
        print(f"  {name}: minigen {ms[0]:.1f} ms" + (f", torch {ms[1]:.1f} ms" if torch else ""), flush=True)
    print("\n| step | minigen ms | torch ms | ratio (minigen/torch) | minigen peak MiB | torch peak MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        label = r["step"] + " (" + ", ".join(f"{k} {v}" for k, v in r["size"].items()) + ")"
        mib = [na(m and m["peak_mib"], ".0f") for m in (r["minigen_memory"], r["torch_memory"])]
        print(f"| {label} | {r['minigen_ms']:.1f} | {na(r['torch_ms'], '.1f')} | {na(r['ratio'], '.2f')} | "
              f"{mib[0]} | {mib[1]} |")
    print("\npeak MiB: rise of the resident high-water mark (VmHWM) over two steps in a fresh process, above "
          "the imports, model and data")
    if torch:
        print("first-step losses, |minigen - torch| / |torch|: "
              + ", ".join(f"{r['step']} {r['loss_rel_diff']:.1e}" for r in rows))
    for r in rows:
        if r["gemm_flops"]:
            rate = r["gemm_flops"] / r["minigen_ms"] / 1e6
            sgemm = info["sgemm_gflops"]
            print(f"{r['step']}: convs {r['gemm_flops'] / 1e9:.2f} GFLOP per step done directly; "
                  f"minigen {rate:.1f} GFLOP/s ({100 * rate / sgemm:.0f} % of sgemm {sgemm:.1f})"
                  + (f", torch {r['gemm_flops'] / r['torch_ms'] / 1e6:.1f} GFLOP/s" if torch else ""))
    if args.json:
        os.makedirs(args.json, exist_ok=True)
        write_json(args.json, "steps", {"machine": info, "quick": args.quick, "repeats": repeats, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
