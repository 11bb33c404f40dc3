"""Training and using autoencoders: AE, VAE, conditional VAE, IWAE and the paired AE.

Objectives per image x (``losses.likelihood``; the step averages over the batch):

    ae      −log p(x | d(e(x)))                       (BCE on logits, or ½‖x − x̂‖²)
    vae     −ELBO = −log p(x|z) + KL(q(z|x) ‖ N(0, I)),  z = μ + σ ε, one ε per image
    cvae    the same with the label y joined to encoder and decoder
    iwae    −L_k = −log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x), k draws z_i of q
    paired  the AE loss of a batch of domain a through decoder a plus one of domain b through decoder b;
            with ``distort`` the encoder sees a randomly distorted copy and the decoder must give back the
            original (the "dewarping" of face-swap autoencoders): "morph" erodes, keeps or dilates the
            strokes, "shear" slants by a random amount, so the shared code cannot tell the domains apart
            by stroke width or slant and each decoder learns to draw its own domain's look

Batches walk through a permutation per epoch drawn from (seed, epoch); the
noise and the dynamic binarisation of step i come from (seed, i), so a resumed
run ends exactly where an uninterrupted one would (``training.fit``).
"""
import math

import numpy as np

from .. import backend, models, optim
from .. import functional as F
from ..data.mnist import binarize
from ..losses import likelihood as lk
from ..metrics.likelihood import log_mean_exp
from ..tensor import Tensor, no_grad
from ..training.loop import RunState, fit, step_rng
from .classifier import batch_indices

KIND = "autoencoder"
MODELS = {"ae": "autoencoder", "vae": "vae", "cvae": "vae", "iwae": "vae", "paired": "paired-autoencoder"}


def build(settings):
    """The network of the settings (the model, its arch, widths, code size, likelihood, classes)."""
    config = {k: settings[k] for k in ("arch", "shape", "hidden", "latent", "activation", "likelihood")}
    if settings["model"] == "cvae":
        config["classes"] = settings["classes"]
    return models.build(MODELS[settings["model"]], config)


def _t(a, device):
    return Tensor(backend.to_device(np.asarray(a, backend.default_dtype()), device))


def nll(model, out, x):
    """−log p(x | decoder output), per image."""
    return lk.bernoulli_nll(out, x) if model.likelihood == "bernoulli" else lk.gaussian_nll(out, x)


def elbo_terms(model, x, y, eps):
    """(reconstruction −log p(x|z), KL) per image, at z = μ + σ ε."""
    mu, logvar = model.encode(x, y)
    z = lk.reparameterize(mu, logvar, eps)
    return nll(model, model.decode(z, y), x), lk.gaussian_kl(mu, logvar)


def log_weights(model, x, y, eps):
    """(k, N) log importance weights log p(x|z_i) + log p(z_i) − log q(z_i|x), z_i = μ + σ ε_i, for eps
    of shape (k, N, latent)."""
    k, n, d = eps.shape
    mu, logvar = model.encode(x, y)
    z = (mu.reshape(1, n, d) + (0.5 * logvar).exp().reshape(1, n, d) * eps).reshape(k * n, d)

    def rep(t):  # (n, ...) -> (k * n, ...): the rows repeated for every draw
        return F.expand(t.reshape(1, *t.shape), (k, *t.shape)).reshape(k * t.shape[0], *t.shape[1:])
    labels = None if y is None else np.tile(np.asarray(y), k)
    log_px = -nll(model, model.decode(z, labels), rep(x))
    log_q = lk.log_normal(z, rep(mu), rep(logvar))
    return (log_px + lk.log_standard_normal(z) - log_q).reshape(k, n)


def distort(images, rng, how):
    """The images randomly distorted, one draw per image: "morph": eroded, kept or dilated (2 x 2 grey
    morphology, each a third of the time); "shear": slanted by a shear drawn from U(−0.5, 0.5)."""
    from scipy.ndimage import grey_dilation, grey_erosion
    from ..data.digits import slant
    x = np.asarray(images)
    if how == "shear":
        return np.stack([slant(im, s) for im, s in zip(x, rng.uniform(-0.5, 0.5, len(x)))]).astype(x.dtype)
    size = (1,) * (x.ndim - 2) + (2, 2)
    which = rng.integers(0, 3, len(x)).reshape(-1, *(1,) * (x.ndim - 1))
    return np.where(which == 0, grey_erosion(x, size=size), np.where(which == 2, grey_dilation(x, size=size), x))


def objective(model, settings, x, y, rng, device):
    """(loss to minimise, {name: value for the progress line}) of one batch."""
    kind = settings["model"]
    if kind == "ae":
        loss = nll(model, model(x), x).mean()
        return loss, {"loss": loss}
    eps_shape = (settings["k"], len(x), model.latent) if kind == "iwae" else (len(x), model.latent)
    eps = _t(rng.standard_normal(eps_shape), device)
    if kind == "iwae":
        loss = -lk.iwae_bound(log_weights(model, x, y, eps)).mean()
        return loss, {"loss": loss}
    rec, kl = elbo_terms(model, x, y, eps)
    loss = (rec + kl).mean()
    return loss, {"loss": loss, "rec": rec.mean(), "kl": kl.mean()}


def train(settings, data, steps, out=None, resume=False, save_every=0, device="cpu", log_every=100,
          time_limit=None, may_change=()):
    """Train the network of ``settings`` on ``data`` ({"x": (N, C, H, W) float32 in [0, 1], "y": labels or
    None, and for the paired model "x_b": the second domain}); returns (model, history)."""
    backend.manual_seed(settings["seed"])
    model = build(settings).to(device)
    model.train()
    opt = optim.Adam(model.parameters(), lr=settings["lr"])
    x_all, y_all, x_b = data["x"], data.get("y"), data.get("x_b")
    batch, seed = settings["batch"], settings["seed"]

    def pick(xs, idx, rng):
        x = xs[idx]
        return binarize(x, rng) if settings["binarize"] else x

    def step(state, i):
        rng = step_rng(seed, i)
        idx = batch_indices(len(x_all), batch, seed, i)
        x = _t(pick(x_all, idx, rng), device)
        if settings["model"] == "paired":
            xb = _t(pick(x_b, batch_indices(len(x_b), batch, seed + 1, i), rng), device)
            seen = [x, xb]
            if settings.get("distort", "none") != "none":
                seen = [_t(distort(t.numpy(), rng, settings["distort"]), device) for t in seen]
            loss_a = nll(model, model(seen[0], "a"), x).mean()
            loss_b = nll(model, model(seen[1], "b"), xb).mean()
            loss, shown = loss_a + loss_b, {"loss_a": loss_a, "loss_b": loss_b}
        else:
            y = None if settings["model"] != "cvae" else y_all[idx]
            loss, shown = objective(model, settings, x, y, rng, device)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return shown

    state = RunState(modules={"net": model}, optimizers={"opt": opt})
    history = fit(step, state, steps, KIND, settings=settings, checkpoint=out, save_every=save_every,
                  resume=resume, may_change=may_change, log_every=log_every, label=f"train-ae {settings['model']}: ",
                  time_limit=time_limit, hint="try a smaller --lr")
    model.eval()
    return model, history


# ---- measuring -------------------------------------------------------------------------------------

def test_loss(model, settings, x, y=None, seed=0, batch=500, device="cpu"):
    """The mean over images of the training objective's loss (−ELBO for vae/cvae, with one seeded ε per
    image; −L_k for iwae; the reconstruction loss for ae), without gradients."""
    rng, total = np.random.default_rng(seed), 0.0
    with no_grad():
        for s in range(0, len(x), batch):
            xs = _t(x[s:s + batch], device)
            ys = None if y is None or not getattr(model, "classes", 0) else y[s:s + batch]
            loss, _ = objective(model, settings, xs, ys, rng, device)
            total += float(loss.item()) * len(xs)
    return total / len(x)


def iw_nll(model, x, y=None, k=5000, seed=0, batch=100, chunk=500, device="cpu"):
    """The importance-weighted estimate −log p(x) ≈ −log (1/k) Σ w_i per image (nats), averaged over the
    images x, with k draws of q(z|x) taken ``chunk`` at a time (``metrics.likelihood``)."""
    rng, values = np.random.default_rng(seed), []
    with no_grad():
        for s in range(0, len(x), batch):
            xs = _t(x[s:s + batch], device)
            ys = None if y is None or not model.classes else y[s:s + batch]
            logw = [log_weights(model, xs, ys, _t(rng.standard_normal((min(chunk, k - c), len(xs), model.latent)),
                                                  device)).numpy() for c in range(0, k, chunk)]
            values.append(-log_mean_exp(np.concatenate(logw), axis=0))
    return float(np.concatenate(values).mean())


def reconstruct(model, x, y=None, domain=None, device="cpu"):
    """Images in [0, 1] of the reconstructions of x (through decoder ``domain`` for the paired AE)."""
    with no_grad():
        xs = _t(x, device)
        out = model(xs, domain) if domain else model(xs, y) if getattr(model, "classes", 0) else model(xs)
        return model.to_image(out).numpy()


def codes(model, x, y=None, device="cpu"):
    """The codes of images x: μ for a VAE, e(x) for an AE."""
    with no_grad():
        z = model.encode(_t(x, device), y) if getattr(model, "classes", 0) else model.encode(_t(x, device))
        return (z[0] if isinstance(z, tuple) else z).numpy()


def interpolate(z0, z1, steps, spherical=False):
    """``steps`` codes from z0 to z1: on the line, or on the great circle (slerp, for Gaussian codes;
    the line again when z0 and z1 are parallel or opposite, where no one great circle joins them)."""
    t = np.linspace(0, 1, steps)[:, None]
    if not spherical:
        return (1 - t) * z0 + t * z1
    omega = math.acos(float(np.clip(np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1)), -1, 1)))
    if math.sin(omega) < 1e-6:  # parallel or opposite codes: no one great circle, so the line
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / math.sin(omega)


def manifold_codes(n):
    """The n x n grid of 2-D codes of Kingma & Welling's manifold figure: the quantiles
    Φ⁻¹(linspace(0.05, 0.95, n)) of the prior on each axis, rows from top (high z₂) to bottom."""
    from scipy.special import ndtri
    if n < 2:
        raise ValueError(f"manifold_codes: n must be at least 2, not {n}")
    q = ndtri(np.linspace(0.05, 0.95, n))
    return np.array([[a, b] for b in q[::-1] for a in q])
