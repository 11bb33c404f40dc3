"""Quality runs of the GANs (``recipes.gan``): mode counting on the toy mixtures, and DCGAN, the conditional
GAN and WGAN on MNIST scored by the bundled LeNet.

    python benchmarks/gan.py --only toys --out DIR            # GAN, WGAN, LSGAN x ring8, grid25 x 5 seeds
    python benchmarks/gan.py --only dcgan --out DIR           # with PyTorch beside it when importable
    python benchmarks/gan.py --only cgan --only wgan --out DIR
    python benchmarks/gan.py --quick --out /tmp/gan           # every section, tiny (a smoke test)

Sections (each prints a table and writes NAME.json and its pictures under --out; the MNIST runs keep a
checkpoint there and continue it when run again):

- toys: the settings of ``minigen train-gan --data ring8|grid25`` (PacGAN's networks: G 4 x 400 ReLU from a
  2-D code, D 3 x 200 LeakyReLU; batch 100), each model with its own recipe; modes captured, % high quality
  and reverse KL over 2,500 samples, mean ± std over the seeds. PacGAN's table for the GAN: 6.3 ± 0.5 of 8
  (98.2 %), 17.3 ± 0.8 of 25 (94.8 %).
- dcgan: the 28x28 DCGAN (Adam 2e-4, betas 0.5 0.999, batch 64) on the 60,000 training digits; 2,000 samples
  scored as ``minigen evaluate`` does, beside calibration rows; with torch importable the same networks,
  initial weights and batches trained in torch, its samples scored alike (target: minigen's FLD within
  1.2x of torch's). Pictures: samples, an interpolation strip, nearest training digits, the arithmetic.
- cgan: the conditional DCGAN; the conditional accuracy of 100 samples per class (target >= 95 %).
- wgan: the DCGAN pair as generator and critic with WGAN's recipe; the critic's Earth-Mover estimate
  against generator steps, beside the samples at several steps.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, run_sections, save_picture, write_json  # noqa: E402

import minigen  # noqa: E402,F401  (before NumPy: its OpenBLAS setting)
import numpy as np  # noqa: E402

from minigen.cli.gan import BASE, PER_MODEL, TOY, TOY_STEPS  # noqa: E402
from minigen.data.mnist import load_mnist, to_float  # noqa: E402
from minigen.errors import MinigenError  # noqa: E402
from minigen.recipes import arithmetic as ar  # noqa: E402
from minigen.recipes import gan  # noqa: E402
from minigen.recipes import sample as rs  # noqa: E402
from minigen.recipes.classifier import batch_indices  # noqa: E402
from minigen.recipes.evaluate import neighbour_pairs, reference_features, score_digits, score_toy  # noqa: E402
from minigen.report import image_grid, save_curves  # noqa: E402
from minigen.zoo import load_network  # noqa: E402

SECTIONS = ("toys", "dcgan", "cgan", "wgan")
_CACHE = {}


def picture(args, name, grid, scale=2):
    save_picture(os.path.join(args.out, name), grid, scale)


# ---- toys ------------------------------------------------------------------------------------------

def toys(args):
    seeds = range(1 if args.quick else args.seeds)
    rows = {}
    for toy in ("ring8", "grid25"):
        for model in ("gan", "wgan", "lsgan"):
            runs = []
            for seed in seeds:
                s = {**BASE, **PER_MODEL[model], **TOY, "model": model, "data": toy, "shape": [2], "seed": seed}
                steps = 50 if args.quick else TOY_STEPS[model]
                t = time.perf_counter()
                g, _, _ = gan.train(s, {"toy": toy}, steps, log_every=10 ** 9)
                runs.append({**score_toy(g.sample(2500, rng=np.random.default_rng(1000 + seed)), toy),
                             "seconds": time.perf_counter() - t, "steps": steps})
                if seed == 0:
                    from minigen.cli.gan import _picture
                    z, labels = gan.fixed_codes(g, 2500, seed)
                    picture(args, f"toy_{toy}_{model}.png", _picture(g, z, labels, "cpu", toy, f"{model}, {toy}"), 1)
            rows[f"{toy} {model}"] = runs
            m = np.array([r["modes"] for r in runs])
            hq = np.array([r["high_quality"] for r in runs])
            kl = np.array([r["reverse_kl"] for r in runs])
            print(f"  {toy:<7} {model:<6} modes {m.mean():5.1f} ± {m.std():3.1f}   high quality {hq.mean():5.1f} ± "
                  f"{hq.std():4.1f} %   reverse KL {np.mean(kl):.3f} ± {np.std(kl):.3f}   "
                  f"({np.mean([r['seconds'] for r in runs]):.0f} s per run)", flush=True)
    write_json(args.out, "toys", rows)


# ---- MNIST -----------------------------------------------------------------------------------------

def mnist(args):
    if "mnist" not in _CACHE:
        tr, te = load_mnist("train", args.data), load_mnist("test", args.data)
        if tr.source == "procedural":
            raise MinigenError(f"--data {args.data}: no MNIST there")
        lenet = load_network("lenet5")[0]
        n = 3000 if args.quick else len(tr.images)
        _CACHE["mnist"] = {"x": to_float(tr.images[:n]), "y": tr.labels[:n], "train_u8": tr.images,
                           "lenet": lenet, "ref": reference_features(lenet, te.images)}
    return _CACHE["mnist"]


def train_mnist(args, model, steps, **kw):
    """A recipe run on MNIST, checkpointed under --out (continued when run again); (G, D, history, settings)."""
    data = mnist(args)
    s = {**BASE, **PER_MODEL[model], "model": model, "data": "mnist", "shape": [1, 28, 28], "seed": 0, **kw}
    ckpt = os.path.join(args.out, f"{model}.npz")
    resume = os.path.exists(ckpt)
    if resume:
        from minigen.io import checkpoint as ckpt_io
        if ckpt_io.load(ckpt).step >= steps:
            g, d = gan.build(s)
            state = ckpt_io.load(ckpt)
            g.load_state_dict(state.modules["generator"]), d.load_state_dict(state.modules["discriminator"])
            return g.eval(), d.eval(), state.history, s
    snaps = {}

    def snapshot(g, i):
        snaps[i] = g.sample(32, rng=np.random.default_rng(7), labels=g.sample_labels(32))

    g, d, history = gan.train(s, data, steps, out=ckpt, resume=resume, save_every=100, log_every=50,
                              snapshot_every=max(1, steps // 4), on_snapshot=snapshot)
    if snaps:
        picture(args, f"{model}_progress.png", image_grid(np.concatenate(list(snaps.values())), ncol=16))
    return g, d, history, s


def score(args, images, labels=None):
    data = mnist(args)
    return score_digits(images, data["lenet"], data["ref"], labels)


def calibration(args, n):
    data, rng = mnist(args), np.random.default_rng(0)
    u8 = data["train_u8"]
    return {f"train {n} vs test": score(args, u8[rng.choice(len(u8), n, replace=False)][:, None] / 255.0),
            f"uniform noise {n}": score(args, rng.random((n, 1, 28, 28)).astype(np.float32))}


def print_scores(title, scores):
    print(title)
    print(f"  {'set':<44} {'FLD':>9} {'class KL':>9} {'conf':>6} {'IS':>6} {'cond acc':>9}")
    for name, s in scores.items():
        acc = f"{100 * s['accuracy']:8.1f}%" if "accuracy" in s else ""
        print(f"  {name:<44} {s['fld']:9.2f} {s['class_kl']:9.4f} {s['confidence']:6.3f} {s['inception_score']:6.2f}"
              f" {acc:>9}", flush=True)


def torch_dcgan(args, steps, seed=0):
    """The same 28x28 DCGAN in torch (same initial weights and batches); its 2,000 samples in [0, 1]."""
    import torch
    import torch.nn as tnn
    from minigen import backend
    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get("MINIGEN_NUM_THREADS") or torch.get_num_threads()))
    s = {**BASE, **PER_MODEL["dcgan"], "model": "dcgan", "shape": [1, 28, 28], "seed": seed}
    backend.manual_seed(seed)
    g0, d0 = gan.build(s)  # the initial weights gan.train starts from
    G = tnn.Sequential(tnn.ConvTranspose2d(100, 256, 7, 1, 0, bias=False), tnn.BatchNorm2d(256), tnn.ReLU(),
                       tnn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), tnn.BatchNorm2d(128), tnn.ReLU(),
                       tnn.ConvTranspose2d(128, 1, 4, 2, 1), tnn.Tanh())
    D = tnn.Sequential(tnn.Conv2d(1, 64, 4, 2, 1), tnn.LeakyReLU(0.2), tnn.Conv2d(64, 128, 4, 2, 1, bias=False),
                       tnn.BatchNorm2d(128), tnn.LeakyReLU(0.2), tnn.Conv2d(128, 1, 7))
    for net, mine in ((G, g0), (D, d0)):
        theirs = [v for k, v in net.state_dict().items() if "num_batches" not in k]
        ours = [v for k, v in mine.state_dict().items() if "num_batches" not in k]
        assert len(theirs) == len(ours), (len(theirs), len(ours))
        with torch.no_grad():
            for t, o in zip(theirs, ours):
                t.copy_(torch.from_numpy(np.asarray(o).reshape(t.shape)))
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = tnn.BCEWithLogitsLoss()
    x_all, t0 = torch.from_numpy(mnist(args)["x"]), time.perf_counter()
    for i in range(1, steps + 1):
        x = x_all[torch.from_numpy(batch_indices(len(x_all), 64, seed, i))] * 2 - 1
        fake = G(torch.randn(64, 100, 1, 1))
        ld = bce(D(x).reshape(-1), torch.ones(64)) + bce(D(fake.detach()).reshape(-1), torch.zeros(64))
        od.zero_grad(), ld.backward(), od.step()
        lg = bce(D(fake).reshape(-1), torch.ones(64))
        og.zero_grad(), lg.backward(), og.step()
        if i % 200 == 0:
            print(f"  torch dcgan: step {i}/{steps} d_loss {ld.item():.3f} g_loss {lg.item():.3f} "
                  f"({(time.perf_counter() - t0) / i:.2f} s/step)", file=sys.stderr, flush=True)
    G.eval()
    with torch.no_grad():
        z = torch.from_numpy(np.random.default_rng(1).standard_normal((2000, 100, 1, 1)).astype(np.float32))
        return ((G(z).numpy() + 1) / 2).clip(0, 1), time.perf_counter() - t0


def dcgan(args):
    steps = 30 if args.quick else args.steps
    t = time.perf_counter()
    g, _, history, _ = train_mnist(args, "dcgan", steps)
    seconds = time.perf_counter() - t
    samples = g.sample(2000, rng=np.random.default_rng(1))
    scores = {f"minigen DCGAN, {steps} steps, 2000 samples": score(args, samples)}
    try:
        import torch  # noqa: F401  (is it importable?)
        tsamples, tsec = torch_dcgan(args, steps)
        scores[f"torch DCGAN, {steps} steps, 2000 samples"] = score(args, tsamples)
        picture(args, "dcgan_torch_samples.png", image_grid(tsamples[:64], ncol=8))
    except ImportError:
        tsec = None
    scores.update({f"calibration: {k}": v for k, v in calibration(args, 2000).items()})
    print_scores(f"dcgan: 28x28, Adam 2e-4 (0.5, 0.999), batch 64, {steps} steps ({seconds:.0f} s"
                 + (f"; torch {tsec:.0f} s" if tsec else "") + ")", scores)
    picture(args, "dcgan_samples.png", image_grid(samples[:64], ncol=8))
    strips, ncol = rs.interpolation(g, 6, 10, 0, spherical=True)
    picture(args, "dcgan_interpolation.png", image_grid(strips, ncol=ncol))
    picture(args, "dcgan_nearest.png", image_grid(neighbour_pairs(samples, mnist(args)["train_u8"]), ncol=4, pad=4))
    tables = {}
    for attribute in ("mass", "slant"):
        try:
            result = ar.arithmetic(g, attribute, pool=2000, seed=0)
        except MinigenError as e:
            print(f"  arithmetic ({attribute}): {e}")
            continue
        tables[attribute] = ar.table(result)
        print("\n".join("  " + line for line in tables[attribute]))
        picture(args, f"dcgan_arithmetic_{attribute}.png", ar.picture(result), 3)
    write_json(args.out, "dcgan", {"steps": steps, "seconds": seconds, "torch_seconds": tsec, "scores": scores,
                               "arithmetic": tables, "d_loss": history["d_loss"], "g_loss": history["g_loss"]})


def cgan(args):
    steps = 30 if args.quick else args.steps
    g, _, _, _ = train_mnist(args, "cgan", steps)
    labels = np.repeat(np.arange(10), 100)
    samples = g.sample(1000, rng=np.random.default_rng(1), labels=labels)
    scores = {f"cGAN, {steps} steps, 100 samples per class": score(args, samples, labels)}
    print_scores(f"cgan: the conditional DCGAN, {steps} steps (target: conditional accuracy >= 95 %)", scores)
    picture(args, "cgan_classes.png", image_grid(samples.reshape(10, 100, 1, 28, 28)[:, :10].reshape(-1, 1, 28, 28),
                                                 ncol=10))
    write_json(args.out, "cgan", {"steps": steps, "scores": scores})


def wgan(args):
    steps = 30 if args.quick else args.wgan_steps
    g, _, history, _ = train_mnist(args, "wgan", steps, **({"critic_boost": False} if args.quick else {}))
    samples = g.sample(2000, rng=np.random.default_rng(1))
    scores = {f"WGAN, {steps} generator steps": score(args, samples)}
    print_scores("wgan: RMSprop 5e-5, clip 0.01, 5 critic steps (100 for the first 25 and every 500th)", scores)
    em = np.asarray(history["em"])
    window = max(1, len(em) // 50)
    smooth = np.convolve(em, np.ones(window) / window, mode="valid")
    print("  Earth-Mover estimate (mean over windows of generator steps): "
          + ", ".join(f"{i * len(em) // 10}: {em[i * len(em) // 10:(i + 1) * len(em) // 10].mean():.3f}"
                      for i in range(10)))
    save_curves(os.path.join(args.out, "wgan_em.png"), {"-critic loss (Earth-Mover estimate)": list(smooth)},
                title="WGAN critic estimate against generator steps")
    picture(args, "wgan_samples.png", image_grid(samples[:64], ncol=8))
    write_json(args.out, "wgan", {"steps": steps, "scores": scores, "em": history["em"]})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=SECTIONS, help="a section (several allowed; default: all)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "gan"))
    ap.add_argument("--data", default=os.path.join(DATA, "mnist"))
    ap.add_argument("--quick", action="store_true", help="tiny runs: a smoke test of every section")
    ap.add_argument("--seeds", type=int, default=5, help="toy runs per model and mixture (default 5)")
    ap.add_argument("--steps", type=int, default=2000, help="generator steps of dcgan and cgan (default 2000)")
    ap.add_argument("--wgan-steps", type=int, default=1000, help="generator steps of wgan (default 1000)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return run_sections(args, SECTIONS, globals(), "gan.py")


if __name__ == "__main__":
    sys.exit(main())
