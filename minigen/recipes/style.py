"""Style transfer (Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016): optimise an image x so that its VGG
features keep the content image's and its Gram matrices take the style's,

    L_total(x) = alpha L_content(x) + beta L_style(x) + gamma TV_2(x)

with L_content = 1/2 sum (F^l - P^l)^2 at the content layers (eq. 1,
losses.content_loss), L_style = sum_l w_l E_l at the style layers with w_l = 1/L
(eqs. 4-5, losses.style_loss) and an optional total-variation term. The paper
uses conv4_2 for content and conv1_1 ... conv5_1 for style (relu4_2 and
relu1_1 ... relu5_1 here: Caffe's ReLUs are in place), alpha/beta of 1e-3 to
1e-4, average pooling and L-BFGS.

Those sums grow with the feature scale of the weights (E_l as its fourth power),
so the paper's alpha/beta suits its Caffe VGG-19 only (the bundled network is that
one: ``normalize="none"`` keeps its meaning there). By default
(``normalize="target"``, see optimize.perceptual_objective) each layer's term is
divided by its target's energy,

    L_content = 1/L_c sum_l ||F^l - P^l||^2 / ||P^l||^2,   L_style = sum_l w_l ||G^l - A^l||^2 / ||A^l||^2,

relative errors that do not change when a layer's features are rescaled, so one
alpha/beta (STYLE_WEIGHT) stylises with ImageNet, normalised or random weights alike.

Extensions: several style images blended by weight (their Gram targets are
mixed); ``--style-scale`` resizes the style relative to the output;
``--original-colors`` keeps the content's colours by taking only the luminance
from the result (Gatys et al., "Preserving Color in Neural Artistic Style
Transfer", 2016: BT.601 Y of the result with Cb, Cr of the content); multi-scale
solves at 1/2^k of the size first and upsamples (bilinear) the result as the
start of the next scale.
"""
import numpy as np

from .. import backend, functional as F
from ..data.images import rgb_to_ycbcr, ycbcr_to_rgb
from ..tensor import Tensor
from .optimize import features, fit_size, gram_targets, noise, optimize_image, perceptual_objective, resize

CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_WEIGHT = {"target": 30.0, "none": 1e3}  # beta with alpha = 1, per normalisation: alpha/beta = 1/30, 1e-3


def scale_sizes(size, scales):
    """The (H, W) of each scale for an output of ``size``: 1/2^(scales-1) of it first, ..., then ``size``."""
    h, w = size
    return [(max(1, round(h * 2.0 ** (k - scales + 1))), max(1, round(w * 2.0 ** (k - scales + 1))))
            for k in range(scales)]


def original_colors(result, content):
    """The result's BT.601 luminance Y with the content's chroma Cb, Cr ((H, W, 3) images in [0, 1])."""
    y = rgb_to_ycbcr(result)[..., :1]
    return np.clip(ycbcr_to_rgb(np.concatenate([y, rgb_to_ycbcr(content)[..., 1:]], axis=-1)), 0, 1)


def style_transfer(vgg, content, styles, blend=None, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                   content_weight=1.0, style_weight=None, tv_weight=0.0, init="content", scales=1, style_scale=1.0,
                   iters=300, optimizer="lbfgs", lr=0.02, seed=0, device="cpu", log_every=10, snapshot_every=0,
                   on_snapshot=None, keep_colors=False, normalize="target"):
    """Stylise ``content`` (H, W, 3) with ``styles`` (a list of (H', W', 3) images in [0, 1]).

    style_weight: beta (None: STYLE_WEIGHT[normalize]); normalize: 'target' or 'none' (see the module
    docstring); blend: style weights summing to 1 (equal by default); init: 'content',
    'random' (uniform noise) or an (H, W, 3) image; scales: number of scales,
    each solved for ``iters`` iterations; style_scale: each style is resized
    so its longer side is style_scale times the working image's (see scale_sizes);
    on_snapshot(iteration, image, scale): called every ``snapshot_every``
    iterations of each scale (1, 2, ...) with the current (H', W', 3) image.
    Returns (image (H, W, 3), history): the losses of each scale's start and
    iterations (see optimize_image), the scales one after the other, with the
    index where each scale begins in history['scale_start'].
    """
    style_weight = STYLE_WEIGHT[normalize] if style_weight is None and normalize in STYLE_WEIGHT else style_weight
    history = {"scale_start": []}
    x = None
    for k, size in enumerate(scale_sizes(content.shape[:2], scales)):
        c = resize(content, size)
        s_imgs = [resize(s, fit_size(s.shape, style_scale * max(size))) for s in styles]
        if x is None:
            if isinstance(init, str) and init == "random":
                x = noise(size, seed)
            else:
                start = c if isinstance(init, str) else resize(init, size)
                x = np.ascontiguousarray(start.transpose(2, 0, 1)[None])
        else:
            x = F.interpolate(Tensor(backend.to_device(x, device)), size=size, mode="bilinear").numpy().clip(0, 1)
        objective = perceptual_objective(vgg, content=features(vgg, c, content_layers, device),
                                         style=gram_targets(vgg, s_imgs, style_layers, blend, device),
                                         content_weight=content_weight, style_weight=style_weight,
                                         tv_weight=tv_weight, normalize=normalize)
        snapshot = None if on_snapshot is None else lambda i, image, scale=k + 1: on_snapshot(i, image, scale)
        x, part = optimize_image(x, objective, iters, optimizer, lr, log_every, snapshot_every, snapshot,
                                 label=f"style {size[1]}x{size[0]}", device=device, unit_step=normalize == "target")
        history["scale_start"].append(len(history.get("total", [])))
        for name, values in part.items():
            history.setdefault(name, []).extend(values)
    image = x[0].transpose(1, 2, 0)
    return (original_colors(image, content) if keep_colors else image), history
