"""Optimising an image: the loop shared by feature inversion, texture synthesis and style transfer,
the perceptual objective they build, and the image at a working size.

The image x (1, 3, H, W) in [0, 1] is the only variable. Two optimisers:

- Adam runs on ``training.fit``: a RunState with no module and the Adam
  state of the image; each step takes the gradient of the loss at the
  current image, updates it, clips it to [0, 1], and reports the loss of
  the new image (fit gives the progress line and the NaN/Inf guard).
- L-BFGS (scipy's L-BFGS-B, bounds [0, 1]) cannot: scipy drives its own
  iterations and line searches, and cutting them into fit's steps would
  restart it each step, losing its curvature memory and changing the
  result. It shares fit's pieces instead: the same ``Progress`` line and
  the same NaN/Inf wording (``training.loop.check_finite``).

Both record the losses of the start and after each iteration, and call
``on_snapshot(iteration, image)`` every ``snapshot_every`` iterations.
"""
import io

import numpy as np

from .. import backend, losses as L, optim
from ..data.imresize import imresize
from ..errors import MinigenError
from ..tensor import Tensor, no_grad
from ..training.loop import RunState, check_finite, fit
from ..training.progress import Progress

OPTIMIZERS = ("lbfgs", "adam")


# ---- the optimisation loop -------------------------------------------------------------------

def optimize_image(init, objective, iters, optimizer="lbfgs", lr=0.02, log_every=10, snapshot_every=0,
                   on_snapshot=None, label="", device="cpu", dtype=np.float32, unit_step=False):
    """Minimise ``objective`` over an image, starting from ``init``.

    init: (1, 3, H, W) array in [0, 1] (copied);
    objective(x) -> (total loss Tensor, {name: loss Tensor}) for the image Tensor x;
    optimizer: 'lbfgs' (bounds [0, 1], runs all ``iters`` unless the line
        search fails: its tolerances are 0) or 'adam' (``lr``, then clip to [0, 1]);
    log_every: a progress line (losses, it/s, ETA) every so many iterations (0: none);
    on_snapshot(iteration, image (H, W, 3) array): called every ``snapshot_every`` iterations;
    unit_step: L-BFGS minimises s f with s = 1 / max |grad f(init)| (the history keeps f). On a box,
        L-BFGS-B's first step is the projected gradient step x - grad, so the loss's scale sets how far
        it goes: the paper's sums (1e9) jump to the bounds, a normalised loss (about 1) barely moves and
        can stall (a flat texture from noise: 0.87 -> 0.84 in 20 iterations; scaled, -> 0.0025). With
        s, the steepest pixel's first step spans the whole [0, 1] range whatever the loss's units.
    Returns (image (1, 3, H, W) float32 array, history {'total': [...], name: [...]}):
    the losses at the start, then after each iteration (iters + 1 values, fewer
    if L-BFGS's line search gives up early). A non-finite loss stops with a MinigenError.
    """
    if optimizer not in OPTIMIZERS:
        raise MinigenError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if iters < 1:
        raise MinigenError(f"--iters must be at least 1, not {iters}")
    x = Tensor(backend.to_device(np.array(init, dtype=dtype), device), requires_grad=True)  # a copy: init stays
    prefix = f"{label}: " if label else ""

    def evaluate(step):
        """(total, {loss name: value}) at the current x; the guard stops a non-finite total."""
        total, parts = objective(x)
        values = {"total": total.item(), **{k: float(v.item()) for k, v in parts.items()}}
        check_finite({"total": values["total"]}, step, prefix)
        return total, values

    def snapshot(iteration):
        on_snapshot(iteration, x.numpy()[0].transpose(1, 2, 0))

    every = snapshot_every if on_snapshot is not None else 0
    if optimizer == "lbfgs":
        scale = _unit_step_scale(x, objective) if unit_step else 1.0
        history = _lbfgs(x, evaluate, snapshot, every, iters, log_every, prefix, scale)
    else:
        history = _adam(x, evaluate, snapshot, every, iters, lr, log_every, prefix)
    return np.asarray(x.numpy(), np.float32), history


def _adam(x, evaluate, snapshot, snapshot_every, iters, lr, log_every, prefix):
    """Adam on ``fit``: step i backpropagates the loss of x_{i-1}, updates and clips, and evaluates x_i."""
    opt = optim.Adam([x], lr=lr)
    state = RunState(optimizers={"image": opt})
    pending, start = evaluate(0)
    state.history = {k: [v] for k, v in start.items()}

    def step(_state, i):
        nonlocal pending
        opt.zero_grad()
        pending.backward()
        opt.step()
        x.data[...] = x.data.clip(0.0, 1.0)
        pending, values = evaluate(i)
        return values

    quiet = None if log_every else _Discard()
    return fit(step, state, iters, "image", log_every=max(1, log_every), label=prefix, stream=quiet,
               snapshot_every=snapshot_every, on_snapshot=lambda _state, i: snapshot(i))


def _unit_step_scale(x, objective):
    """1 / max |grad objective(x)| (1 when the gradient is zero or not finite); x's gradient is left cleared."""
    total, _ = objective(x)
    total.backward()
    top = float(np.abs(backend.to_host(x.grad)).max()) if x.grad is not None else 0.0
    x.grad = None
    return 1.0 / top if 0 < top < float("inf") else 1.0


def _lbfgs(x, evaluate, snapshot, snapshot_every, iters, log_every, prefix, scale=1.0):
    """scipy's L-BFGS-B over x in [0, 1] on ``scale`` times the loss; the history (unscaled) grows in its
    callback, once per iteration."""
    history, last = {}, {}
    progress = Progress(iters, every=log_every, label=prefix) if log_every else None

    def record(iteration):
        for k, v in last.items():
            history.setdefault(k, []).append(v)
        if iteration == 0:
            return
        if progress is not None:
            progress.update(iteration, **last)
        if snapshot_every and iteration % snapshot_every == 0:
            snapshot(iteration)

    def closure():
        total, values = evaluate(len(history.get("total", ())))  # the iteration this evaluation belongs to
        last.clear()
        last.update(values)
        if not history:  # scipy evaluates the start first
            record(0)
        return total * scale if scale != 1.0 else total
    opt = optim.LBFGS([x], max_iter=iters, max_eval=2 * iters + 20, tolerance=0.0, grad_tolerance=0.0,
                      bounds=(0.0, 1.0))
    opt.minimize(closure, callback=lambda it, _loss: record(it))
    return history


class _Discard(io.TextIOBase):
    """A stream that keeps nothing: the progress line of a quiet run."""

    def write(self, text):
        return len(text)


# ---- the perceptual objective -----------------------------------------------------------------

def features(vgg, image, layers, device="cpu"):
    """{layer: array} VGG features of an (H, W, 3) or (1, 3, H, W) image, outside the graph."""
    a = np.asarray(image, np.float32)
    a = a.transpose(2, 0, 1)[None] if a.ndim == 3 else a
    with no_grad():
        out = vgg(Tensor(backend.to_device(np.ascontiguousarray(a), device)), list(layers))
    return {k: v.data for k, v in out.items()}


def gram_targets(vgg, images, layers, blend=None, device="cpu"):
    """{layer: Gram} style targets, gram_matrix(., 'gatys') blended over ``images`` by ``blend``
    (weights summing to 1; equal by default), so that style_loss matches the blend."""
    blend = [1.0 / len(images)] * len(images) if blend is None else blend
    targets = {}
    for image, b in zip(images, blend):
        with no_grad():
            for k, f in features(vgg, image, layers, device).items():
                g = b * L.gram_matrix(Tensor(f), "gatys").data
                targets[k] = g if k not in targets else targets[k] + g
    return targets


NORMALIZE = ("target", "none")


def energy(a, axis=None):
    """sum a^2 in float64 of a host or device array (over ``axis``; None: all of it, as a float): the
    value of a squared-error term at zero, by which the relative-error losses divide."""
    h = np.asarray(backend.to_host(a), np.float64)
    return float((h * h).sum()) if axis is None else (h * h).sum(axis=axis)


def inverse_mean_square(a):
    """1 / (the mean square of a), a floor of 1e-30 under the mean: the factor that makes a squared-error
    term against the target ``a`` a relative error (the content and feature terms of train-style, train-sr)."""
    return 1.0 / max(energy(a) / a.size, 1e-30)


def perceptual_objective(vgg, content=None, style=None, content_weight=1.0, style_weight=1.0, tv_weight=0.0,
                         content_fn=L.content_loss, style_weights=None, normalize="none"):
    """objective(x) = content_weight L_content(x) + style_weight L_style(x) + tv_weight TV(x).

    content: {layer: feature array P_l}; style: {layer: Gram target A_l} (see gram_targets);
    TV is losses.total_variation with beta = 2. The parts are reported weighted. ``normalize``:

      'none'    the paper's sums: L_content = sum_l content_fn(phi_l(x), P_l), L_style = losses.style_loss
                = sum_l w_l E_l (``style_weights`` w_l; None: 1/L each). Their size follows the
                weights' feature scale (E_l grows as its fourth power), so one alpha/beta suits one network.
      'target'  each layer's term divided by its value at zero features, i.e. by the target's own energy:
                L_content = 1/L_c sum_l ||phi_l(x) - P_l||^2 / ||P_l||^2 (for content_loss),
                L_style = sum_l w_l ||G_l - A_l||^2 / ||A_l||^2: relative errors, unchanged when a layer's
                features are scaled, so alpha/beta means the same with any weights.
    """
    content, style = content or {}, style or {}
    if normalize not in NORMALIZE:
        raise MinigenError(f"normalize must be one of {', '.join(NORMALIZE)}, not {normalize!r}")
    layers = list(dict.fromkeys(list(content) + list(style)))
    c_scale = {k: 1.0 for k in content}
    if style and style_weights is not None and not isinstance(style_weights, dict):
        style_weights = dict(zip(style, style_weights))
    if normalize == "target":
        zero = {k: float(content_fn(Tensor(v * 0), Tensor(v)).item()) for k, v in content.items()}
        c_scale = {k: 1.0 / (len(content) * z) if z > 0 else 0.0 for k, z in zero.items()}
        base = style_weights or {k: 1.0 / len(style) for k in style}
        energies = {k: energy(a) for k, a in style.items()}
        style_weights = {k: base[k] / energies[k] if energies[k] > 0 else 0.0 for k in style} if style else None

    def objective(x):
        f = vgg(x, layers)
        parts = {}
        if content:
            terms = [content_fn(f[k], Tensor(v)) * c_scale[k] for k, v in content.items()]
            parts["content"] = content_weight * sum(terms[1:], terms[0])
        if style:
            parts["style"] = style_weight * L.style_loss({k: f[k] for k in style}, style, style_weights)
        if tv_weight:
            parts["tv"] = tv_weight * L.total_variation(x)
        names = list(parts)
        return sum((parts[k] for k in names[1:]), parts[names[0]]), parts
    return objective


# ---- the image: its start and its working size -------------------------------------------------

def noise(shape, seed):
    """Uniform white noise in [0, 1], (1, 3, H, W): the random start of all three methods."""
    return np.random.default_rng(seed).uniform(0.0, 1.0, (1, 3) + tuple(shape)).astype(np.float32)


def fit_size(shape, long_side):
    """(H, W) with the longer side ``long_side`` and the aspect ratio of ``shape``."""
    if long_side < 1:
        raise MinigenError(f"--size must be a positive number of pixels, not {long_side}")
    h, w = shape[:2]
    s = long_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize(image, size):
    """(H, W, 3) image in [0, 1] -> ``size`` (H', W'): MATLAB-style antialiased bicubic, clipped to [0, 1]."""
    if tuple(image.shape[:2]) == tuple(size):
        return image
    return np.clip(imresize(image, output_shape=size), 0, 1).astype(np.float32)
