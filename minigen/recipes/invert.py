"""Feature inversion (Mahendran & Vedaldi, "Understanding Deep Image
Representations by Inverting Them", CVPR 2015): from noise, find an image whose
VGG features at one layer match those of a given image,

    x* = argmin_{x in [0,1]}  ||phi(x) - phi_0||^2 / ||phi_0||^2  +  lambda TV_2(x) / (H W)

with the paper's normalised reconstruction error and its squared-difference
total variation TV_2 (beta = 2) as the image prior, here per pixel. The
[0, 1] box replaces the paper's bounded-norm constraint.
"""
import numpy as np

from .. import losses as L
from .optimize import features, noise, optimize_image, perceptual_objective


def invert(vgg, image, layer, iters=200, tv_weight=0.5, optimizer="lbfgs", lr=0.02, seed=0, device="cpu",
           log_every=10, snapshot_every=0, on_snapshot=None):
    """Reconstruct an (H, W, 3) image in [0, 1] from its features at ``layer``, starting from
    uniform noise drawn with ``seed`` (the other arguments: see optimize_image).

    Returns (reconstruction (H, W, 3), history); history['content'] is the
    normalised error ||phi(x) - phi_0||^2 / ||phi_0||^2.
    """
    h, w = image.shape[:2]
    target = features(vgg, image, [layer], device)
    power = float(np.mean(np.asarray(target[layer], np.float64) ** 2))  # ||phi_0||^2 / (C H W)
    # feature_loss is ||.||^2 / (C H W), so weighting it by 1 / power gives the normalised error.
    objective = perceptual_objective(vgg, content=target, content_weight=1.0 / power if power > 0 else 1.0,
                                     content_fn=L.feature_loss, tv_weight=tv_weight / (h * w))
    x, history = optimize_image(noise((h, w), seed), objective, iters, optimizer, lr, log_every, snapshot_every,
                                on_snapshot, label=f"invert {layer}", device=device)
    return x[0].transpose(1, 2, 0), history
