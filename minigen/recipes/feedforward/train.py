"""Training a feed-forward stylisation network, on ``training.fit``.

One trainer for the four methods of ``methods`` (``minigen train-style --method ...``):

- johnson, texture-net, multistyle: the perceptual loss
      L = w_c l_feat(phi_c(y), phi_c(x)) + w_s sum_l E_l(G(phi_l(y)), G(phi_l(s))) + w_tv TV(y)
  of the generator's output y for content x (none for a texture) and style s;
- adain: the decoder g of t = AdaIN(f(c), f(s)),
      L = ||f(g(t)) - t||^2 + lambda sum_l (||mu(phi_l(g(t))) - mu(phi_l(s))||^2
                                          + ||sigma(phi_l(g(t))) - sigma(phi_l(s))||^2).

E_l is Gatys et al.'s layer style loss on Gram matrices (``losses.style_loss``;
Johnson's squared Frobenius distance of Grams normalised by CHW is 4 E_l, a
constant absorbed by w_s), l_feat is Johnson's feature loss
(``losses.feature_loss``), TV the total variation (beta = 2, mean over the
batch). Those sums follow the feature scale of the VGG weights (E_l its fourth
power, l_feat its square), so with ImageNet weights the style term outweighs
the content term by ~1e6 and the network learns to paint the style alone,
whatever the input. By default (``normalize='target'``, as for image
optimisation: ``optimize.perceptual_objective``) each term is a relative error,

    E_l / E_l(0) = ||G_l(y) - A_l||^2 / ||A_l||^2   (each image against its own style's A_l),
    l_feat / l_feat(0) = ||phi(y) - phi(x)||^2 / ||phi(x)||^2   (over the batch),

so one set of weights balances content and style with any weights. AdaIN's
terms likewise: the content term over the mean square of t, each layer's
moment term over mean mu_s^2 + mean sigma_s^2 of the style's features.
``normalize='none'`` keeps the papers' sums (and their weights' meaning).

Every step draws its data from ``step_rng(seed, step)``, so a resumed run
ends as an uninterrupted one. The checkpoint holds module "net" and
optimiser "opt"; its settings (method, network config, VGG info, layers,
styles, weights, crop, batch, lr, seed, content, style size, steps) rebuild
the run, and ``minigen stylize`` / ``sample-texture`` / ``sample`` need
nothing else.
"""
import numpy as np

from ... import backend, losses, models, optim
from ... import functional as F
from ...errors import MinigenError
from ...models import check_size
from ...models.vgg import LAYERS
from ...tensor import no_grad
from ...training import memory
from ...training.loop import RunState, fit, step_rng
from ..optimize import energy, inverse_mean_square
from ..vgg_layers import check_layers
from .data import ContentSource, check_styles, image_files, parse_style, style_batch, style_files, to_tensor
from .methods import DEFAULT_WEIGHTS, activation_bytes, feature_net, method as find_method, net_options, vgg_bytes

KIND = "train-style"


def _perceptual(run):
    """terms(i): the loss terms of step i for johnson, texture-net and multistyle: style, content (with a
    content input), total variation."""
    with no_grad():
        grams = [{k: losses.gram_matrix(v, "gatys").data
                  for k, v in run.features(to_tensor(s.transpose(2, 0, 1)[None], run.device), run.style_layers).items()}
                 for s in run.style_images]
    stacked = {k: np.concatenate([g[k] for g in grams]) for k in run.style_layers}  # (n_styles, C, C)
    relative = run.normalize == "target"
    energies = {k: energy(a, axis=(1, 2)) for k, a in stacked.items()}  # (n_styles,) for each layer

    def terms(i):
        rng = step_rng(run.seed, i)
        x = to_tensor(run.source.batch(run.batch, rng), run.device) if run.source is not None else None
        idx = rng.integers(len(run.styles), size=run.batch)
        y = run.method.generate(run.net, x, idx, rng, run.batch, run.crop, run.device)
        fy = run.features(y)
        layer_weights = {k: 1.0 / (len(run.style_layers) * energies[k][idx]) for k in run.style_layers} \
            if relative else None
        out = {"style": run.weights["style"] * losses.style_loss({k: fy[k] for k in run.style_layers},
                                                                 {k: stacked[k][idx] for k in run.style_layers},
                                                                 layer_weights)}
        if x is not None:
            with no_grad():
                fx = run.features(x, [run.content_layer])[run.content_layer]
            scale = inverse_mean_square(fx.data) if relative else 1.0
            out["content"] = run.weights["content"] * scale * losses.feature_loss(fy[run.content_layer], fx)
        out["tv"] = run.weights["tv"] * losses.total_variation(y, reduction="mean")
        return out
    return terms


def _adain(run):
    """terms(i): the loss terms of step i for AdaIN: content (the decoded image's features against the
    target t) and style (feature means and deviations)."""
    c = run.content_layer

    def terms(i):
        rng = step_rng(run.seed, i)
        x = to_tensor(run.source.batch(run.batch, rng), run.device)
        s = to_tensor(style_batch(run.styles, run.style_images, run.batch, run.crop, rng), run.device)
        with no_grad():
            fc = run.features(x, [c])[c]
            fs = run.features(s, run.style_layers)
            t = F.adain(fc, fs[c])
        content_scale, layer_weights = 1.0, None
        if run.normalize == "target":  # each term over its target's energy: the mean square of t, and of
            content_scale = inverse_mean_square(t.data)  # the style's moments
            layer_weights = {k: 1.0 / max(_moment_energy(fs[k].data), 1e-30) for k in run.style_layers}
        fg = run.features(run.net(t), run.style_layers)
        return {"content": content_scale * losses.feature_loss(fg[c], t),
                "style": run.weights["adain_style"] * losses.moment_loss(fg, fs, layer_weights)}
    return terms


LOSSES = {"perceptual": _perceptual, "adain": _adain}


def _moment_energy(f):
    """mean mu^2 + mean sigma^2 of the per-image, per-channel moments of features f (N, C, H, W): the
    moment loss of zero features against them."""
    h = np.asarray(backend.to_host(f), np.float64)
    return float((h.mean(axis=(2, 3)) ** 2).mean() + h.var(axis=(2, 3)).mean())


class _Run:
    """What a training step reads: the network, the feature network, the data and the settings."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def features(self, x, names=None):
        return self.vgg(x, names or self.layers)


def _check_crop(model, crop):
    try:
        check_size(model, crop, crop, "training crop")
    except ValueError as e:
        raise MinigenError(f"--crop {crop}: {e}") from None


def check_plan(method, styles, content="procedural", crop=64, batch=4, net=None, content_layer=None,
               style_layers=None, max_memory=None):
    """The refusals of ``train_style`` that need no VGG, in one line each, before anything is loaded: the
    method, the number of styles, a missing content, malformed or missing style and content files,
    --channels the network does not take, unknown layer names, a crop the network's size rule refuses
    (AdaIN's decoder: once the VGG's layers are known) and the memory guard. Returns (method, styles,
    network options)."""
    m = find_method(method)
    styles = style_files(styles)
    if not styles:
        raise MinigenError("give at least one --style")
    if m.one_style and len(styles) != 1:
        raise MinigenError(f"--method {method} learns one style; got {len(styles)} (use multistyle or adain)")
    if content is None and m.needs_content:
        raise MinigenError(f"--method {method} needs --content (a folder or 'procedural')")
    check_styles(styles)
    if content not in (None, "procedural"):
        image_files([content], "content")
    options = net_options(**(net or {}))
    m.check_options(options)
    any_vgg = {"depth": 19, "last": None, "weights": "random"}  # VGG-19's names include VGG-16's
    check_layers(any_vgg, [content_layer] if content_layer else [], "--content-layer")
    check_layers(any_vgg, style_layers or [], "--style-layers")
    config = m.config(options, len(styles), None, None, content)  # None: it follows the VGG's layers
    if config is not None:
        model = models.build(m.kind, config)
        _check_crop(model, crop)
        config = model.config()
    nbytes = activation_bytes(m.kind, config or {}, crop, crop) + vgg_bytes(crop, crop)
    memory.check(f"training at --crop {crop} --batch {batch}", 3 * batch * nbytes, max_memory,
                 hint="use a smaller --crop or --batch")
    return m, styles, options


def train_style(method, styles, content="procedural", steps=200, batch=4, crop=64, lr=None, vgg=None,
                out=None, save_every=0, resume=False, seed=0, device="cpu", weights=None, style_size=None,
                content_layer=None, style_layers=None, net=None, log_every=10, vgg_net=None, max_memory=None,
                time_limit=None, normalize="target"):
    """Train one of the four methods; returns (net, history, settings).

    styles: image files, folders of them, or 'procedural[:KIND[:SEED]]' specs (AdaIN: its training
    styles). content: a folder or 'procedural' (texture-net: None for a pure texture generator).
    normalize: 'target' (each loss term a relative error; the module docstring) or 'none' (the papers'
    sums); weights: overrides of DEFAULT_WEIGHTS[normalize]; lr: Adam's (None: the method's, ``Method.lr``).
    net: the network options (``net_options``: norm, channels, residual, padded, scales). vgg: a weight file, None, or the VGG info of a run (``feature_net``);
    vgg_net: an already loaded (vgg, info) pair (tests and the demo reuse one). out, save_every,
    resume, log_every, time_limit: as ``training.fit``; max_memory: GiB (``training.memory.check``).
    Everything ``check_plan`` refuses is refused before the VGG is loaded.
    """
    m, styles, options = check_plan(method, styles, content, crop, batch, net, content_layer, style_layers,
                                    max_memory)
    if normalize not in DEFAULT_WEIGHTS:
        raise MinigenError(f"--normalize {normalize}: choose one of {', '.join(DEFAULT_WEIGHTS)}")
    w = dict(DEFAULT_WEIGHTS[normalize], **(weights or {}))
    device = backend.check_device(device)
    backend.manual_seed(seed)
    vgg_model, info = vgg_net or feature_net(vgg, device, seed)
    vgg_model.eval()
    c_layer, s_layers = m.layers(info)
    c_layer, s_layers = content_layer or c_layer, list(style_layers or s_layers)
    check_layers(info, [c_layer], "--content-layer")
    check_layers(info, s_layers, "--style-layers")
    c_layer = m.content_layer(c_layer, s_layers)
    model = models.build(m.kind, m.config(options, len(styles), info, c_layer, content)).to(device)
    _check_crop(model, crop)
    lr = m.lr if lr is None else lr
    opt = optim.Adam(model.parameters(), lr=lr)
    run = _Run(method=m, net=model, vgg=vgg_model, device=device, seed=seed, batch=batch, crop=crop, weights=w,
               normalize=normalize,
               styles=styles, style_images=[parse_style(s, style_size or crop) for s in styles],
               source=ContentSource(content, crop) if content is not None else None,
               content_layer=c_layer, style_layers=s_layers,
               layers=sorted(set(s_layers) | {c_layer}, key=LAYERS[info["depth"]].index))
    terms = LOSSES[m.loss](run)

    def step(state, i):
        opt.zero_grad()
        values = terms(i)
        total = None
        for v in values.values():
            total = v if total is None else total + v
        total.backward()
        opt.step()
        return {"loss": total, **values}

    settings = {"method": method, "model": model.config(), "vgg": info, "content_layer": c_layer,
                "style_layers": s_layers, "styles": list(styles), "weights": w, "normalize": normalize, "crop": crop,
                "batch": batch, "lr": lr, "seed": seed, "content": content, "style_size": style_size, "steps": steps}
    state = RunState(modules={"net": model}, optimizers={"opt": opt})
    history = fit(step, state, steps, KIND, settings, checkpoint=out, save_every=save_every, resume=resume,
                  may_change=("steps",), log_every=log_every, label=f"{method}: ", time_limit=time_limit)
    return model.eval(), history, settings
