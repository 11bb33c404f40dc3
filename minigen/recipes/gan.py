"""Training GANs: one step function for the minimax game, DCGAN, the conditional GAN, WGAN and LSGAN.

A step of the run is one generator update after ``d_iters(i)`` discriminator
(critic) updates, each on a fresh batch of real samples and of fakes G(z):

    D step:  L_D(D(x, y), D(G(z, y').detach(), y'))   then, for WGAN, every weight clipped to [−c, c]
    G step:  L_G(D(G(z, y'), y'))                     D's parameters frozen, only G's optimiser steps

with the losses of ``losses.adversarial`` chosen by the model:

    gan, dcgan, cgan  BCE for D, the non-saturating −log D(G(z)) for G (or the minimax log(1 − D(G(z))))
    wgan              the critic's E f(G(z)) − E f(x) and −E f(G(z)); −L_D is the Earth-Mover estimate
    lsgan             least squares with the a-b-c coding of eq. 8 or eq. 9 (Mao et al.)

For a conditional GAN y is the real batch's labels and y' labels drawn
uniformly for the fakes. WGAN's critic takes 100 steps for each of the first 25
generator steps and for every 500th, else ``d_steps`` (Arjovsky et al.'s code).
Real batches walk through a permutation per epoch (``classifier.batch_indices``),
counted across the critic steps; codes and labels of step i come from
(seed, i), so a resumed run ends bit for bit where an uninterrupted one would.
Images live in [−1, 1] inside the game (x ↦ 2x − 1); the toys are points.
"""
import numpy as np

from .. import backend, models, optim
from ..data.toys import sample_toy
from ..losses import adversarial as adv
from ..tensor import Tensor
from ..training.loop import RunState, fit, step_rng
from .classifier import batch_indices

KIND = "gan"
MODELS = ("gan", "dcgan", "cgan", "wgan", "lsgan")


def build(settings):
    """(generator, discriminator) of the settings: arch mlp or dcgan, the sample shape, nz, classes."""
    shape, classes = list(settings["shape"]), settings.get("classes", 0)
    if settings["arch"] == "mlp":
        g = models.build("gan-generator", {"nz": settings["nz"], "hidden": settings["g_hidden"], "shape": shape,
                                           "activation": "relu", "output": "tanh" if len(shape) == 3 else None,
                                           "classes": classes})
        d = models.build("gan-discriminator", {"shape": shape, "hidden": settings["d_hidden"],
                                               "activation": "leaky_relu", "dropout": 0.0, "classes": classes})
    else:
        g = models.build("dcgan-generator", {"size": shape[1], "nz": settings["nz"], "ngf": settings["width"],
                                             "channels": shape[0], "classes": classes})
        d = models.build("dcgan-discriminator", {"size": shape[1], "ndf": settings["width"], "channels": shape[0],
                                                 "classes": classes, "batch_norm": True})
    return g, d


def optimizer(settings, params):
    """RMSprop (WGAN's recipe) or Adam with the settings' betas."""
    if settings["optimizer"] == "rmsprop":
        return optim.RMSprop(params, lr=settings["lr"])
    return optim.Adam(params, lr=settings["lr"], betas=tuple(settings["betas"]))


def d_iters(settings, i):
    """Discriminator (critic) updates before generator step i (1-based)."""
    if settings["model"] == "wgan" and settings.get("critic_boost", True) and (i <= 25 or (i - 1) % 500 == 0):
        return 100
    return settings["d_steps"]


def losses_of(settings):
    """(L_D(real, fake), L_G(fake)) of the model."""
    kind = settings["model"]
    if kind == "wgan":
        return adv.wasserstein_critic, adv.wasserstein_generator
    if kind == "lsgan":
        coding = settings["coding"]
        return (lambda r, f: adv.least_squares_discriminator(r, f, coding),
                lambda f: adv.least_squares_generator(f, coding))
    g_loss = adv.minimax_generator if settings.get("g_loss") == "minimax" else adv.nonsaturating_generator
    return adv.bce_discriminator, g_loss


def _t(a, device):
    return Tensor(backend.to_device(np.asarray(a, backend.default_dtype()), device))


def train(settings, data, steps, out=None, resume=False, save_every=0, device="cpu", log_every=100,
          time_limit=None, snapshot_every=0, on_snapshot=None, may_change=()):
    """Train the GAN of ``settings`` for ``steps`` generator steps on ``data``: {"x": (N, ...) samples (images
    in [0, 1]), "y": labels or None} or {"toy": name} (fresh points every batch). Returns (G, D, history);
    ``on_snapshot(G, i)`` runs every ``snapshot_every`` steps with G in eval mode."""
    backend.manual_seed(settings["seed"])
    g, d = build(settings)
    g, d = g.to(device), d.to(device)
    g.train(), d.train()
    opt_g, opt_d = optimizer(settings, g.parameters()), optimizer(settings, d.parameters())
    loss_d, loss_g = losses_of(settings)
    batch, seed, classes, clip = settings["batch"], settings["seed"], g.classes, settings.get("clip")
    toy, x_all, y_all = data.get("toy"), data.get("x"), data.get("y")
    state = RunState(modules={"generator": g, "discriminator": d}, optimizers={"g": opt_g, "d": opt_d},
                     extra={"batches": 0})

    def real_batch(rng):
        """The next real batch (and its labels): a fresh draw of the toy, or the dataset's next slice."""
        if toy:
            return _t(sample_toy(toy, batch, rng), device), None
        state.extra["batches"] += 1
        idx = batch_indices(len(x_all), batch, seed, state.extra["batches"])
        return _t(x_all[idx] * 2 - 1, device), (None if not classes else y_all[idx])

    def fakes(rng):
        labels = rng.integers(0, classes, batch) if classes else None
        return g(g.noise(batch, rng, device), labels), labels

    def step(state, i):
        rng = step_rng(seed, i)
        for _ in range(d_iters(settings, i)):
            x, y = real_batch(rng)
            fake, labels = fakes(rng)
            ld = loss_d(d(x, y), d(fake.detach(), labels))
            opt_d.zero_grad()
            ld.backward()
            opt_d.step()
            if clip:
                adv.clip_weights(d, clip)
        d.requires_grad_(False)  # G's step: gradients flow through D to G, D's own are not needed
        fake, labels = fakes(rng)
        lg = loss_g(d(fake, labels))
        opt_g.zero_grad()
        lg.backward()
        opt_g.step()
        d.requires_grad_(True)
        shown = {"d_loss": ld, "g_loss": lg}
        if settings["model"] == "wgan":
            shown["em"] = -float(ld.item())
        return shown

    def snapshot(state, i):
        g.eval()
        try:
            on_snapshot(g, i)
        finally:
            g.train()

    history = fit(step, state, steps, KIND, settings=settings, checkpoint=out, save_every=save_every,
                  resume=resume, may_change=may_change, log_every=log_every,
                  label=f"train-gan {settings['model']}: ", time_limit=time_limit,
                  snapshot_every=snapshot_every if on_snapshot else 0, on_snapshot=snapshot,
                  hint="try a smaller --lr" + (" or a smaller --clip" if settings["model"] == "wgan" else ""))
    g.eval(), d.eval()
    return g, d, history


def fixed_codes(g, n, seed):
    """The codes (and labels) of the watch grid: the same n codes at every snapshot."""
    rng = np.random.default_rng((seed, 99))
    return g.codes(n, rng), (np.arange(n) % g.classes if g.classes else None)
