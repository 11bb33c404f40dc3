"""Training and using the LeNet-5 digit classifier of the generative yardsticks.

Training (``train_lenet``, on ``training.fit``): cross-entropy with Adam, the
learning rate following a half cosine from ``lr`` to zero over the run, and
each image shifted by up to ``shift`` pixels in x and y (zeros come in at the
border) — the translations LeCun et al. (1998) also used to enlarge the set.
Batches walk through a permutation of the set drawn per epoch from (seed,
epoch), and the shifts come from (seed, step), so a resumed run ends exactly
where an uninterrupted one would.

``export`` keeps only what a user of the trained network needs (its weights,
kind, config, the settings and the measured test accuracy), as in the bundled
``minigen/zoo/lenet5.safetensors``.
"""
import math

import numpy as np

from .. import backend, losses, models, optim
from ..data.mnist import to_float
from ..io import checkpoint as ckpt_io
from ..tensor import Tensor, no_grad
from ..training.loop import RunState, fit, step_rng

KIND = "classifier"


def shift_images(x, shift, rng):
    """Each (1, H, W) image of x moved by whole pixels drawn uniformly from -shift..shift in x and y."""
    if not shift:
        return x
    n, c, h, w = x.shape
    out = np.zeros_like(x)
    d = rng.integers(-shift, shift + 1, (n, 2))
    for k, (dy, dx) in enumerate(d):
        out[k, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            x[k, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def batch_indices(n, batch, seed, i):
    """The example indices of step i (1-based): consecutive slices of a per-epoch permutation."""
    per_epoch = n // batch
    epoch, k = divmod(i - 1, per_epoch)
    order = np.random.default_rng((seed, 7, epoch)).permutation(n)
    return order[k * batch:(k + 1) * batch]


def train_lenet(images, labels, steps, settings, out=None, resume=False, save_every=0, device="cpu",
                log_every=100, time_limit=None):
    """Train a LeNet-5 on (N, 28, 28) uint8 ``images`` and their ``labels``; returns (model, history).

    settings: {"batch", "lr", "shift", "seed", "data"} (recorded in the checkpoint ``out``)."""
    batch, lr, shift, seed = settings["batch"], settings["lr"], settings["shift"], settings["seed"]
    backend.manual_seed(seed)
    model = models.build("lenet", {}).to(device)
    model.train()
    opt = optim.Adam(model.parameters(), lr=lr)
    x_all = to_float(images)

    def step(state, i):
        idx = batch_indices(len(x_all), batch, seed, i)
        x = shift_images(x_all[idx], shift, step_rng(seed, i))
        opt.lr = lr * 0.5 * (1 + math.cos(math.pi * (i - 1) / steps))
        logits = model(Tensor(backend.to_device(x, device)))
        loss = losses.cross_entropy(logits, backend.to_device(labels[idx], device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        right = (backend.to_host(logits.data).argmax(1) == labels[idx]).mean()
        return {"loss": loss, "acc": float(right)}

    state = RunState(modules={"net": model}, optimizers={"opt": opt})
    history = fit(step, state, steps, KIND, settings=dict(settings, steps=steps), checkpoint=out,
                  save_every=save_every, resume=resume, may_change=("epochs", "steps"), log_every=log_every,
                  label="train-lenet: ",
                  time_limit=time_limit, hint="try a smaller --lr")
    model.eval()
    return model, history


def predict(model, images, batch=1000, device="cpu"):
    """(logits, features) of float images (N, 1, 28, 28) in [0, 1], as host float64 arrays."""
    logits, feats = [], []
    with no_grad():
        for s in range(0, len(images), batch):
            x = Tensor(backend.to_device(np.asarray(images[s:s + batch], np.float32), device))
            f = model.features(x)
            feats.append(backend.to_host(f.data).astype(np.float64))
            logits.append(backend.to_host(model.out(f).data).astype(np.float64))
    if not logits:
        return np.zeros((0, model.classes)), np.zeros((0, 84))
    return np.concatenate(logits), np.concatenate(feats)


def accuracy(model, images, labels, device="cpu"):
    """The fraction of uint8 ``images`` whose predicted class is the label."""
    logits, _ = predict(model, to_float(images), device=device)
    return float((logits.argmax(1) == labels).mean())


def export(model, path, settings, test_accuracy):
    """Write ``model`` alone (no optimiser state or history) as a checkpoint for bundling."""
    ckpt = ckpt_io.Checkpoint(KIND, settings.get("steps", 0), settings, modules={"net": model.state_dict()},
                              specs={"net": models.spec(model)}, extra={"test_accuracy": test_accuracy})
    ckpt_io.save(path, ckpt)
