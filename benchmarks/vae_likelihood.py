"""The likelihood quality run of the autoencoders: Burda et al.'s one-stochastic-layer network
(784-200-200-50, tanh, Bernoulli decoder) on dynamically binarised MNIST, trained as a VAE and as an IWAE
(--k samples), scored by the importance-weighted NLL.

    python benchmarks/vae_likelihood.py --model vae --eval-every 50 --time-limit 2700 --out /work/runs/vae
    python benchmarks/vae_likelihood.py --model vae --resume --out /work/runs/vae   # the next piece
    python benchmarks/vae_likelihood.py --quick --out /tmp/vae                    # a smoke test

The curve: the importance-weighted NLL with k = 500 on 1,000 fixed-binarised test digits (every 10th), every
--eval-every epochs; at the end k = --nll-k on --nll-images. Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8, no
schedule, batch 100 (Burda et al.: eps 1e-4 and lr 1e-3 * 10^(-i/7) over 3^i epochs, 3,280 epochs, batch
20). Checkpointed under --out: --time-limit ends a piece, --resume continues it.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, save_picture, write_json  # noqa: E402
from vae import epochs_of, mnist, settings_of, train  # noqa: E402

import numpy as np  # noqa: E402

from minigen.data.mnist import binarize_fixed  # noqa: E402
from minigen.errors import MinigenError  # noqa: E402
from minigen.io import checkpoint as ckpt_io  # noqa: E402
from minigen.recipes import autoencoder as ae  # noqa: E402
from minigen.report import image_grid  # noqa: E402


def likelihood(args):
    data = mnist(args)
    xt = binarize_fixed(data["xt"], seed=0)
    train_data = {"x": data["x"], "y": None}
    epochs = epochs_of(args, 3280, 2)
    eval_every = args.eval_every or (1 if args.quick else 20)
    curve_k, curve_n = (50, 100) if args.quick else (args.curve_k, args.curve_images)
    nll_k, nll_n = (args.nll_k or (100 if args.quick else 5000)), (args.nll_images or len(xt))
    start = time.perf_counter()
    for name in args.model:
        settings = settings_of(model=name, hidden=[200, 200], latent=50, activation="tanh", binarize=True,
                               batch=args.batch or 100, k=args.k if name == "iwae" else 1)
        per_epoch = len(train_data["x"]) // settings["batch"]
        ckpt = os.path.join(args.out, f"likelihood_{name}.npz")
        record_path = os.path.join(args.out, f"likelihood_{name}.json")
        if os.path.exists(ckpt) and not args.resume:
            raise MinigenError(f"{ckpt} exists: continue it with --resume, or remove it")
        if args.resume and not os.path.exists(ckpt):
            raise MinigenError(f"--resume: no checkpoint at {ckpt}")
        record = {"settings": settings, "curve": [], "pieces": []}
        if args.resume and os.path.exists(record_path):
            with open(record_path) as f:
                record = json.load(f)
        done = ckpt_io.load(ckpt).step if args.resume else 0
        print(f"likelihood {name}: 784-200-200-50 tanh, batch {settings['batch']}, k {settings['k']}, "
              f"{per_epoch} steps per epoch, from epoch {done / per_epoch:.2f} to {epochs}"
              + (f", time limit {args.time_limit:.0f} s" if args.time_limit else ""), flush=True)
        t_run, model, stopped = time.perf_counter(), None, False
        while done < epochs * per_epoch:
            left = None if args.time_limit is None else args.time_limit - (time.perf_counter() - t_run)
            if left is not None and left <= 0:
                stopped = True
                break
            target = min(epochs, (done // per_epoch // eval_every + 1) * eval_every) * per_epoch
            t = time.perf_counter()
            model, history = train(settings, train_data, target, ckpt, resume=done > 0, time_limit=left)
            now, seconds = len(history["loss"]), time.perf_counter() - t
            record["pieces"].append({"from_step": done, "to_step": now, "seconds": seconds,
                                     "seconds_per_epoch": seconds * per_epoch / max(1, now - done)})
            done = now
            if done < target:
                stopped = True
                break
            t = time.perf_counter()
            nll = ae.iw_nll(model, xt[::max(1, len(xt) // curve_n)][:curve_n], k=curve_k)
            record["curve"].append({"epoch": done / per_epoch, "iw_nll": nll, "k": curve_k, "images": curve_n,
                                    "subset": "evenly spread",
                                    "train_loss_last_epoch": float(np.mean(history["loss"][-per_epoch:])),
                                    "eval_seconds": time.perf_counter() - t})
            write_json(args.out, f"likelihood_{name}", record)
            print(f"  epoch {done / per_epoch:7.1f}: IW NLL (k={curve_k}, {curve_n} test) {nll:.2f}, train "
                  f"loss {record['curve'][-1]['train_loss_last_epoch']:.2f}, "
                  f"{record['pieces'][-1]['seconds_per_epoch']:.2f} s/epoch", flush=True)
        if model is None:  # nothing left to train: the checkpoint's network
            model = ae.build(settings)
            model.load_state_dict(ckpt_io.load(ckpt).modules["net"])
            model.eval()
        t = time.perf_counter()
        final = ae.iw_nll(model, xt[:nll_n], k=nll_k)
        record["final"] = {"epoch": done / per_epoch, "iw_nll": final, "k": nll_k, "images": nll_n,
                           "stopped_by_time_limit": stopped, "eval_seconds": time.perf_counter() - t}
        record.setdefault("finals", []).append(record["final"])  # one per piece
        save_picture(os.path.join(args.out, f"likelihood_{name}_samples.png"), image_grid(model.sample(64), ncol=8))
        write_json(args.out, f"likelihood_{name}", record)
        spe = [p["seconds_per_epoch"] for p in record["pieces"] if p["to_step"] > p["from_step"]]
        target = {"vae": "<= 88 (Burda et al. 86.76 after 3,280 epochs)",
                  "iwae": "<= 86.5 (Burda et al., k=50: 84.78)"}[name]
        print(f"likelihood {name}: {'epoch':>8} {'IW NLL':>8} {'k':>5} {'images':>6}")
        for c in record["curve"]:
            print(f"{'':>{len(name) + 12}}{c['epoch']:8.1f} {c['iw_nll']:8.2f} {c['k']:5d} {c['images']:6d}")
        print(f"{'final':>{len(name) + 11}} {done / per_epoch:8.2f} {final:8.2f} {nll_k:5d} {nll_n:6d}"
              f"   target {target}")
        print(f"  {np.median(spe) if spe else float('nan'):.2f} s per epoch (median of pieces); final estimate "
              f"{record['final']['eval_seconds']:.0f} s" + ("; stopped by the time limit: continue with --resume"
                                                             if stopped else ""))
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "vae"))
    ap.add_argument("--data", default=os.path.join(DATA, "mnist"))
    ap.add_argument("--quick", action="store_true", help="tiny data and epochs: a smoke test")
    ap.add_argument("--epochs", type=int, help="epochs (default 3280)")
    ap.add_argument("--model", nargs="+", choices=["vae", "iwae"], default=["vae", "iwae"])
    ap.add_argument("--k", type=int, default=5, help="IWAE samples in training (default 5)")
    ap.add_argument("--batch", type=int, help="default 100")
    ap.add_argument("--nll-k", type=int, help="importance samples of the final estimate (default 5000)")
    ap.add_argument("--nll-images", type=int, help="test images of the final estimate (default all 10,000)")
    ap.add_argument("--curve-k", type=int, default=500)
    ap.add_argument("--curve-images", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, help="epochs between curve points (default 20)")
    ap.add_argument("--time-limit", type=float, help="seconds of training per model in this piece (the final "
                    "estimate comes after)")
    ap.add_argument("--resume", action="store_true", help="continue the checkpoints under --out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    try:
        print(f"== likelihood: {likelihood(args):.0f} s elapsed", flush=True)
    except MinigenError as e:
        print(f"vae_likelihood.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
