"""Quality runs of the autoencoders (``recipes.autoencoder``): parity with the usual MNIST VAE, samples, the
paired swap and AE versus PCA (the likelihoods: vae_likelihood.py).

    python benchmarks/vae.py --only parity          # the pytorch/examples vae setting, test loss per epoch
    python benchmarks/vae.py --only conv --only paired --only pca
    python benchmarks/vae.py --quick                  # every section on a tiny setting (a smoke test)

Sections (each prints a table and its elapsed time, and writes its pictures and NAME.json under --out):

- parity: 784-400-20 MLP VAE (ReLU, Bernoulli logits), Adam 1e-3, batch 128, 10 epochs on MNIST in [0, 1]
  (not binarised); loss = (BCE summed over pixels + KL) / images; the test loss (one z per test image)
  after every epoch. Third-party runs of pytorch/examples/vae report 105.6 at epoch 10. minigen's epoch
  runs the 468 full batches only (the example also runs the last partial batch of 96). With torch
  importable, the same model (same initial weights, same batch order) is trained in torch beside it.
- conv: a conv VAE (32 64, latent 20) and a conv conditional VAE; 2,000 samples scored as ``minigen
  evaluate`` does (FLD on the bundled LeNet's features against the MNIST test set), beside calibration
  rows; the CVAE's conditional accuracy on 100 samples per class.
- paired: the paired AE, domain a the digits of one half of the training set, domain b the other half
  thickened; the swap's LeNet accuracy and stroke mass.
- pca: test reconstruction error (squared error summed over pixels, mean over images) of PCA, a linear
  AE and an MLP AE at code sizes 2, 8, 32.
"""
import argparse
import contextlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, run_sections, save_picture, write_json  # noqa: E402

import minigen  # noqa: E402,F401  (before NumPy: its OpenBLAS setting)
import numpy as np  # noqa: E402

from minigen.data.digits import digits, slant, slant_of, stroke_mass, thicken  # noqa: E402
from minigen.data.mnist import load_mnist, to_float  # noqa: E402
from minigen.errors import MinigenError  # noqa: E402
from minigen.recipes import autoencoder as ae  # noqa: E402
from minigen.recipes.classifier import batch_indices, predict  # noqa: E402
from minigen.recipes.evaluate import reference_features, score_digits  # noqa: E402
from minigen.report import image_grid, interpolation_strip  # noqa: E402
from minigen.tensor import Tensor  # noqa: E402
from minigen.zoo import load_network  # noqa: E402

SECTIONS = ("parity", "conv", "paired", "pca")


# ---- shared ----------------------------------------------------------------------------------------

def settings_of(**kw):
    s = {"model": "vae", "arch": "mlp", "shape": [1, 28, 28], "hidden": [400], "latent": 20, "activation": "relu",
         "likelihood": "bernoulli", "k": 1, "batch": 128, "lr": 1e-3, "binarize": False, "seed": 0}
    s.update(kw)
    return s


_CACHE = {}


def mnist(args):
    """{"x", "y", "xt", "yt", "train_u8", "test_u8"}: MNIST float (N, 1, 28, 28) in [0, 1] (shrunk with --quick)."""
    if "mnist" not in _CACHE:
        tr, te = load_mnist("train", args.data), load_mnist("test", args.data)
        if tr.source == "procedural":
            raise MinigenError(f"--data {args.data}: no MNIST there")
        ntr, nte = (3000, 500) if args.quick else (len(tr.images), len(te.images))
        _CACHE["mnist"] = {"x": to_float(tr.images[:ntr]), "y": tr.labels[:ntr], "xt": to_float(te.images[:nte]),
                           "yt": te.labels[:nte], "train_u8": tr.images, "test_u8": te.images}
    return _CACHE["mnist"]


def lenet():
    if "lenet" not in _CACHE:
        _CACHE["lenet"] = load_network("lenet5")[0]
    return _CACHE["lenet"]


def train(settings, data, steps, ckpt=None, resume=False, time_limit=None, log_every=None):
    """recipes.autoencoder.train with its progress on stderr (stdout keeps the tables)."""
    log_every = log_every or max(1, len(data["x"]) // settings["batch"])
    with contextlib.redirect_stdout(sys.stderr):
        return ae.train(settings, data, steps, out=ckpt, resume=resume, log_every=log_every, time_limit=time_limit)


def rows_of(*groups):
    """(N, 1, 28, 28) images from several equal-length groups interleaved as rows of a grid."""
    return np.concatenate(groups)


def epochs_of(args, default, quick=1):
    return args.epochs or (quick if args.quick else default)


# ---- parity ----------------------------------------------------------------------------------------

def torch_parity(torch, settings, data, epochs, per_epoch, init):
    """(train loss, test loss) per epoch of the same VAE in torch: same initial weights, same batches."""
    nn, tF = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 40))
    dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))
    with torch.no_grad():
        for mod, name in ((enc, "encoder"), (dec, "decoder")):
            for i in (0, 2):
                mod[i].weight.copy_(torch.from_numpy(init[f"{name}.{i}.weight"]))
                mod[i].bias.copy_(torch.from_numpy(init[f"{name}.{i}.bias"]))
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=settings["lr"])

    def loss_of(x):
        h = enc(x.reshape(len(x), -1))
        mu, logvar = h[:, :20], h[:, 20:]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = tF.binary_cross_entropy_with_logits(dec(z), x.reshape(len(x), -1), reduction="sum")
        return (rec - 0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())) / len(x)

    out, x_all, n = [], torch.from_numpy(data["x"]), len(data["x"])
    xt = torch.from_numpy(data["xt"])
    for epoch in range(1, epochs + 1):
        total = 0.0
        for i in range((epoch - 1) * per_epoch + 1, epoch * per_epoch + 1):
            loss = loss_of(x_all[torch.from_numpy(batch_indices(n, settings["batch"], settings["seed"], i))])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        with torch.no_grad():
            test = sum(loss_of(xt[s:s + 500]).item() * len(xt[s:s + 500]) for s in range(0, len(xt), 500)) / len(xt)
        out.append((total / per_epoch, test))
    return out


def parity(args):
    data = mnist(args)
    settings = settings_of()
    epochs, per_epoch = epochs_of(args, 10, 2), len(data["x"]) // settings["batch"]
    rows, t0 = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:  # the run goes on epoch by epoch through a checkpoint
        ckpt = os.path.join(tmp, "parity.npz")
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            model, history = train(settings, data, epoch * per_epoch, ckpt, resume=epoch > 1)
            seconds = time.perf_counter() - t
            train_loss = float(np.mean(history["loss"][-per_epoch:]))
            rows.append({"epoch": epoch, "train_loss": train_loss, "seconds": seconds,
                         "test_loss": ae.test_loss(model, settings, data["xt"], seed=0)})
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        import minigen.backend as backend
        backend.manual_seed(settings["seed"])
        init = ae.build(settings).state_dict()  # the weights ae.train starts from
        for row, (tr, te) in zip(rows, torch_parity(torch, settings, data, epochs, per_epoch, init)):
            row["torch_train_loss"], row["torch_test_loss"] = tr, te
    print(f"parity: 784-400-20 VAE, Adam 1e-3, batch 128, {per_epoch} steps per epoch, "
          f"{len(data['x'])} train / {len(data['xt'])} test digits in [0, 1]")
    head = f"{'epoch':>5} {'train loss':>11} {'test loss':>10}"
    if torch is not None:
        head += f" {'torch train':>12} {'torch test':>11}"
    print(head + f" {'s/epoch':>8}")
    for r in rows:
        line = f"{r['epoch']:5d} {r['train_loss']:11.2f} {r['test_loss']:10.2f}"
        if torch is not None:
            line += f" {r['torch_train_loss']:12.2f} {r['torch_test_loss']:11.2f}"
        print(line + f" {r['seconds']:8.1f}")
    if torch is None:
        print("  (torch not importable: the torch columns are skipped)")
    print("  reference: pytorch/examples vae, third-party runs: test loss 105.6 at epoch 10")
    test = data["xt"][:32]
    recon = ae.reconstruct(model, test)
    save_picture(os.path.join(args.out, "parity_samples.png"), image_grid(model.sample(64), ncol=8))
    save_picture(os.path.join(args.out, "parity_reconstructions.png"),
                 image_grid(rows_of(test[:8], recon[:8], test[8:16], recon[8:16]), ncol=8))
    write_json(args.out, "parity", {"settings": settings, "steps_per_epoch": per_epoch, "epochs": rows,
                                "reference_epoch10": 105.6, "seconds": time.perf_counter() - t0})


# ---- conv ------------------------------------------------------------------------------------------

def calibration_rows(net, ref, data, n, rng):
    u8 = data["train_u8"]
    f = lambda a: a.astype(np.float32)[:, None] / 255.0  # noqa: E731
    rows = {f"train {n} vs test": f(u8[rng.choice(len(u8), n, replace=False)]),
            f"procedural digits {n}": f(digits(n, seed=0)[0]),
            f"uniform noise {n}": rng.random((n, 1, 28, 28)).astype(np.float32)}
    return {name: score_digits(x, net, ref) for name, x in rows.items()}


def conv(args):
    data = mnist(args)
    net = lenet()
    ref = reference_features(net, data["test_u8"])
    n = 200 if args.quick else 2000
    epochs = epochs_of(args, 10)
    figures, scores, t0 = {"epochs": epochs}, {}, time.perf_counter()
    settings = settings_of(arch="conv", hidden=[32, 64], latent=20)
    steps = epochs * (len(data["x"]) // settings["batch"])
    t = time.perf_counter()
    model, history = train(settings, {"x": data["x"], "y": None}, steps, log_every=200)
    figures["vae_train_seconds"] = time.perf_counter() - t
    figures["vae_test_loss"] = ae.test_loss(model, settings, data["xt"], seed=0)
    samples = model.sample(n, rng=np.random.default_rng(1))
    scores[f"conv VAE samples {n}"] = score_digits(samples, net, ref)
    scores[f"conv VAE reconstructions of {n} test digits"] = score_digits(
        np.concatenate([ae.reconstruct(model, data["xt"][s:s + 500]) for s in range(0, min(n, len(data["xt"])), 500)]),
        net, ref)
    save_picture(os.path.join(args.out, "conv_vae_samples.png"), image_grid(samples[:64], ncol=8))
    mu = ae.codes(model, data["xt"][:16])
    strip = [model.decode_images(ae.interpolate(mu[2 * r], mu[2 * r + 1], 10)) for r in range(8)]
    save_picture(os.path.join(args.out, "conv_vae_interpolation.png"), interpolation_strip(strip))

    csettings = settings_of(model="cvae", arch="conv", hidden=[32, 64], latent=args.cvae_latent, classes=10)
    t = time.perf_counter()
    cmodel, _ = train(csettings, {"x": data["x"], "y": data["y"]}, steps, log_every=200)
    figures["cvae_train_seconds"] = time.perf_counter() - t
    figures["cvae_test_loss"] = ae.test_loss(cmodel, csettings, data["xt"], data["yt"], seed=0)
    per_class = 10 if args.quick else 100
    labels = np.repeat(np.arange(10), per_class)
    csamples = cmodel.sample(len(labels), rng=np.random.default_rng(2), labels=labels)
    scores[f"conv CVAE samples {len(labels)} ({per_class} per class)"] = score_digits(csamples, net, ref, labels=labels)
    save_picture(os.path.join(args.out, "conv_cvae_classes.png"),
                 image_grid(csamples.reshape(10, per_class, 1, 28, 28)[:, :10].reshape(-1, 1, 28, 28), ncol=10))
    calib = calibration_rows(net, ref, data, n, np.random.default_rng(0))
    print(f"conv: VAE (latent 20) and CVAE (latent {args.cvae_latent}), conv 32 64, Bernoulli, {epochs} epochs of "
          f"{len(data['x'])} digits "
          f"(VAE {figures['vae_train_seconds']:.0f} s, CVAE {figures['cvae_train_seconds']:.0f} s); test -ELBO "
          f"VAE {figures['vae_test_loss']:.2f}, CVAE {figures['cvae_test_loss']:.2f}")
    print(f"{'set':<52} {'FLD':>9} {'class KL':>9} {'conf':>6} {'IS':>6} {'cond acc':>9}")
    print("-" * 96)
    for name, s in list(scores.items()) + [(f"calibration: {k}", v) for k, v in calib.items()]:
        acc = f"{100 * s['accuracy']:8.1f}%" if "accuracy" in s else ""
        print(f"{name:<52} {s['fld']:9.3f} {s['class_kl']:9.4f} {s['confidence']:6.3f} "
              f"{s['inception_score']:6.2f} {acc:>9}")
    print("  (benchmarks/calibration.py in RESULTS.md: train 2000 vs test 2.494, procedural 123.891, uniform noise "
          "1085.986)")
    print("  target: conditional accuracy >= 95 %")
    figures.update(scores=scores, calibration=calib, seconds=time.perf_counter() - t0)
    write_json(args.out, "conv", figures)


# ---- paired ----------------------------------------------------------------------------------------

def paired(args):
    """One paired AE per code size in --paired-latent, domain b the digits under --paired-transform; the
    swap should keep the digit (the LeNet accuracy) and take the other domain's statistic (stroke mass for
    thick, slant for slant)."""
    data = mnist(args)
    net = lenet()
    half = len(data["x"]) // 2
    thick = args.paired_transform == "thick"
    transform, statistic = (thicken, stroke_mass) if thick else (slant, slant_of)
    stat_name = "mass" if thick else "slant"
    distort = "none" if args.no_distort else ("morph" if thick else "shear")
    train_data = {"x": data["x"][:half], "y": None, "x_b": transform(data["x"][half:])}
    hidden = [32, 64] if args.paired_arch == "conv" else [400]
    epochs = epochs_of(args, 20 if args.paired_arch == "mlp" else 10)
    xa, xb, y = data["xt"], transform(data["xt"]), data["yt"]
    runs, tag = {}, f"{'' if thick else '_slant'}{'_plain' if args.no_distort else ''}"
    for latent in args.paired_latent:
        settings = settings_of(model="paired", arch=args.paired_arch, hidden=hidden, latent=latent, distort=distort)
        t = time.perf_counter()
        model, _ = train(settings, train_data, epochs * (half // settings["batch"]))
        seconds = time.perf_counter() - t

        def run(x, domain):
            return np.concatenate([ae.reconstruct(model, x[s:s + 500], domain=domain) for s in range(0, len(x), 500)])
        out = {"input a": xa, "input b": xb, "a -> a (own)": run(xa, "a"), "b -> b (own)": run(xb, "b"),
               "a -> b (swap)": run(xa, "b"), "b -> a (swap)": run(xb, "a")}
        runs[latent] = {"settings": settings, "train_seconds": seconds, "table": {
            k: {"lenet_accuracy": float((predict(net, v)[0].argmax(1) == y).mean()),
                stat_name: float(statistic(v[:, 0]).mean())} for k, v in out.items()}}
        picks = slice(0, 10)
        save_picture(os.path.join(args.out, f"paired_swap_code{latent}{tag}.png"), image_grid(rows_of(
            xa[picks], out["a -> a (own)"][picks], out["a -> b (swap)"][picks],
            xb[picks], out["b -> b (own)"][picks], out["b -> a (swap)"][picks]), ncol=10))
    print(f"paired: {args.paired_arch} {' '.join(map(str, hidden))}, {epochs} epochs, distort {distort}, domain a "
          f"{half} digits, domain b {len(data['x']) - half} other digits "
          f"{'thickened (2x2 dilation)' if thick else 'slanted (shear 0.4)'}; {len(y)} test digits; train seconds "
          + ", ".join(f"code {k}: {r['train_seconds']:.0f}" for k, r in runs.items()))
    print(f"{'images':<16}" + "".join(f" {'code ' + str(k) + ' acc':>13} {stat_name:>7}" for k in runs))
    for name in next(iter(runs.values()))["table"]:
        print(f"{name:<16}" + "".join(f" {100 * r['table'][name]['lenet_accuracy']:12.2f}% "
                                      f"{r['table'][name][stat_name]:7.4f}" for r in runs.values()))
    print(f"  target: swap accuracy >= 90 %; the swap's {stat_name} near the target domain's input")
    write_json(args.out, "paired" + tag, {"epochs": epochs, "transform": args.paired_transform, "distort": distort,
                                      "runs": runs})


# ---- pca -------------------------------------------------------------------------------------------

def pca(args):
    data = mnist(args)
    x, xt = data["x"].reshape(len(data["x"]), -1).astype(np.float64), data["xt"].reshape(len(data["xt"]), -1)
    mean = x.mean(0)
    _, vecs = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    vecs = vecs[:, ::-1]
    lin_epochs, mlp_epochs = epochs_of(args, 20), epochs_of(args, 20)
    err = lambda a, b: float(((np.asarray(a, np.float64).reshape(len(b), -1) - b) ** 2).sum(1).mean())  # noqa: E731
    rows, pics, t0 = [], [data["xt"][:10]], time.perf_counter()
    for k in args.codes:
        v = vecs[:, :k]
        rec = (xt - mean) @ v @ v.T + mean
        lin = settings_of(model="ae", hidden=[], activation=None, likelihood="gaussian", latent=k)
        lmodel, _ = train(lin, {"x": data["x"], "y": None}, lin_epochs * (len(x) // lin["batch"]))
        with minigen.no_grad():
            lrec = lmodel(Tensor(data["xt"])).numpy()  # the raw linear output, unclipped like PCA
        mlp = settings_of(model="ae", hidden=[400], activation="relu", likelihood=args.pca_likelihood, latent=k)
        mmodel, _ = train(mlp, {"x": data["x"], "y": None}, mlp_epochs * (len(x) // mlp["batch"]))
        mrec = ae.reconstruct(mmodel, data["xt"])
        rows.append({"k": k, "pca": err(rec, xt), "pca_clipped": err(np.clip(rec, 0, 1), xt),
                     "linear_ae": err(lrec, xt), "mlp_ae": err(mrec, xt)})
        pics += [np.clip(rec[:10], 0, 1).reshape(-1, 1, 28, 28).astype(np.float32), np.clip(lrec[:10], 0, 1),
                 mrec[:10]]
    print(f"pca: test reconstruction error (squared error summed over 784 pixels, mean over {len(xt)} test "
          f"digits); PCA on {len(x)} training digits; linear AE (Gaussian/MSE) {lin_epochs} epochs; MLP AE "
          f"784-400-k ReLU ({args.pca_likelihood}) {mlp_epochs} epochs; Adam 1e-3, batch 128")
    print(f"{'k':>3} {'PCA':>8} {'PCA clip':>9} {'linear AE':>10} {'MLP AE':>8}")
    for r in rows:
        print(f"{r['k']:3d} {r['pca']:8.2f} {r['pca_clipped']:9.2f} {r['linear_ae']:10.2f} {r['mlp_ae']:8.2f}")
    save_picture(os.path.join(args.out, "pca_reconstructions.png"), image_grid(np.concatenate(pics), ncol=10))
    write_json(args.out, "pca", {"rows": rows, "linear_epochs": lin_epochs, "mlp_epochs": mlp_epochs,
                             "mlp_likelihood": args.pca_likelihood, "seconds": time.perf_counter() - t0})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=SECTIONS, help="a section to run (several allowed; "
                    "default: all)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "vae"))
    ap.add_argument("--data", default=os.path.join(DATA, "mnist"))
    ap.add_argument("--quick", action="store_true", help="tiny data and epochs: a smoke test of every section")
    ap.add_argument("--epochs", type=int, help="epochs (default: parity 10, conv 10, paired "
                    "20 (mlp) / 10 (conv), pca 20)")
    g = ap.add_argument_group("paired and pca")
    g.add_argument("--paired-arch", choices=["mlp", "conv"], default="mlp")
    g.add_argument("--paired-latent", type=int, nargs="+", default=[4, 8, 32],
                   help="code sizes of the paired AE, one run each (default 4 8 32)")
    g.add_argument("--paired-transform", choices=["thick", "slant"], default="thick",
                   help="domain b of the paired AE: the digits thickened or slanted (default thick)")
    g.add_argument("--no-distort", action="store_true", help="paired: the encoder sees the inputs as they are "
                   "(default: randomly eroded, kept or dilated for thick, sheared for slant: "
                   "recipes.autoencoder.distort)")
    g.add_argument("--cvae-latent", type=int, default=8, help="code size of the conv CVAE (default 8)")
    g.add_argument("--codes", type=int, nargs="+", default=[2, 8, 32])
    g.add_argument("--pca-likelihood", choices=["bernoulli", "gaussian"], default="bernoulli")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return run_sections(args, SECTIONS, globals(), "vae.py")


if __name__ == "__main__":
    sys.exit(main())
