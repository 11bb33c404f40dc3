"""Texture synthesis (Gatys, Ecker & Bethge, "Texture Synthesis Using
Convolutional Neural Networks", NIPS 2015): from white noise, match the Gram
matrices of a source texture's VGG features,

    x* = argmin_{x in [0,1]}  sum_l w_l E_l,   E_l = 1/(4 N_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2

(losses.style_loss, equal weights w_l, ``normalize="none"``), with average pooling in the VGG as in
the paper. By default (``normalize="target"``) each E_l is divided by the target's ||A^l||^2, a relative
error, so that the layers count alike whatever the scale of each one's features (with Caffe's VGG-19 the
raw E_l differ by orders of magnitude between layers; see optimize.perceptual_objective).

The paper's ablation (its Fig. 2) constrains Gram matrices "up to" a layer;
the sets, in the names of its Caffe VGG-19, are conv1_1; conv1_1, pool1;
conv1_1, pool1, pool2; ... up to pool4. Caffe applies ReLU in place, so its
conv1_1 blob is the rectified output, relu1_1 here. ``--up-to`` selects them:

    conv1_1: relu1_1
    pool1:   relu1_1, pool1
    pool2:   relu1_1, pool1, pool2
    pool3:   relu1_1, pool1, pool2, pool3
    pool4:   relu1_1, pool1, pool2, pool3, pool4      (the full model)
"""
from .optimize import gram_targets, noise, optimize_image, perceptual_objective

_LADDER = ("relu1_1", "pool1", "pool2", "pool3", "pool4")
UP_TO = {name: _LADDER[:k + 1] for k, name in enumerate(("conv1_1",) + _LADDER[1:])}


def synthesize_texture(vgg, texture, size, layers=UP_TO["pool4"], iters=200, optimizer="lbfgs", lr=0.02, seed=0,
                       device="cpu", log_every=10, snapshot_every=0, on_snapshot=None, normalize="target"):
    """A (H, W, 3) texture of ``size`` (H, W) whose Grams at ``layers`` match those of ``texture`` (H', W', 3),
    starting from uniform noise drawn with ``seed`` (the other arguments: see optimize_image).

    normalize: 'target' or 'none' (see the module docstring).
    Returns (image, history); history['style'] is L_style per iteration.
    """
    targets = gram_targets(vgg, [texture], layers, device=device)
    objective = perceptual_objective(vgg, style=targets, normalize=normalize)
    x, history = optimize_image(noise(size, seed), objective, iters, optimizer, lr, log_every, snapshot_every,
                                on_snapshot, label="texture", device=device, unit_step=normalize == "target")
    return x[0].transpose(1, 2, 0), history
