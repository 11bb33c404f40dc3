"""Feature inversion (Mahendran & Vedaldi, "Understanding Deep Image
Representations by Inverting Them", CVPR 2015): from noise, find an image whose
VGG features at one layer match those of a given image,

    x* = argmin_{x in [0,1]}  ||phi(x) - phi_0||^2 / ||phi_0||^2  +  lambda TV_2(x) / (H W)

with the paper's normalised reconstruction error and its squared-difference
total variation TV_2 (beta = 2) as the image prior, here per pixel. The
[0, 1] box replaces the paper's bounded-norm constraint.
"""
import sys
import time

import numpy as np

from .. import losses as L
from ..data.images import load_image
from .common import add_run_options
from .optimize import (add_optim_options, add_vgg_options, check_layers, check_memory, check_run, features,
                       fit_size, noise, open_vgg, optimize_image, perceptual_objective, resize, snapshot_paths,
                       write_outputs)


def invert(vgg, image, layer, iters=200, tv_weight=0.5, optimizer="lbfgs", lr=0.02, seed=0, device="cpu",
           print_every=10, save_every=0, save_to=None):
    """Reconstruct an (H, W, 3) image in [0, 1] from its features at ``layer``.

    Returns (reconstruction (H, W, 3), history); history['content'] is the
    normalised error ||phi(x) - phi_0||^2 / ||phi_0||^2.
    """
    h, w = image.shape[:2]
    target = features(vgg, image, [layer], device)
    power = float(np.mean(np.asarray(target[layer], np.float64) ** 2))  # ||phi_0||^2 / (C H W)
    # feature_loss is ||.||^2 / (C H W), so weighting it by 1 / power gives the normalised error.
    objective = perceptual_objective(vgg, content=target, content_weight=1.0 / power if power > 0 else 1.0,
                                     content_fn=L.feature_loss, tv_weight=tv_weight / (h * w))
    x, history = optimize_image(noise((h, w), seed), objective, iters, optimizer, lr, print_every, save_every,
                                save_to, label=f"invert {layer}", device=device)
    return x[0].transpose(1, 2, 0), history


def run(args):
    device = check_run(args)
    image = load_image(args.image)
    size = fit_size(image.shape, args.size)
    vgg, info = open_vgg(args)
    check_layers(info, [args.layer], "--layer")
    check_memory(info["depth"], [args.layer], [size], args.max_memory, args.image)
    image = resize(image, size)
    start = time.perf_counter()
    result, history = invert(vgg, image, args.layer, args.iters, args.tv_weight, args.optimizer, args.lr, args.seed,
                             device, args.print_every, args.save_every, snapshot_paths(args.out))
    sidecar = write_outputs(args.out, result, args, info, history, seconds=time.perf_counter() - start,
                            size=list(image.shape[:2]))
    print(f"wrote {args.out} and {sidecar} (normalised feature error {history['content'][0]:.3g} -> "
          f"{history['content'][-1]:.3g})", file=sys.stderr)
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "invert", help="reconstruct an image from its VGG features at one layer (Mahendran & Vedaldi 2015)",
        description="Feature inversion: optimise an image from noise so that its VGG features at --layer match "
                    "IMAGE's, with a total-variation prior. Writes OUT and a JSON sidecar (OUT with .json) holding "
                    "the parameters, the VGG weights used and the loss history.")
    p.add_argument("image", help="the image whose features are inverted")
    p.add_argument("--layer", default="relu3_1", help="VGG layer to match (default: relu3_1)")
    p.add_argument("--size", type=int, default=128, help="longer side of the working image (default: 128)")
    p.add_argument("--tv-weight", type=float, default=0.5,
                   help="lambda of the per-pixel TV_2 prior (default: 0.5)")
    add_vgg_options(p, pool="max")
    add_optim_options(p, iters=200)
    add_run_options(p, out="invert.png")
    p.set_defaults(run=run)
