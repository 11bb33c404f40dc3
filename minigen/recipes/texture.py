"""Texture synthesis (Gatys, Ecker & Bethge, "Texture Synthesis Using
Convolutional Neural Networks", NIPS 2015): from white noise, match the Gram
matrices of a source texture's VGG features,

    x* = argmin_{x in [0,1]}  sum_l w_l E_l,   E_l = 1/(4 N_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2

(losses.style_loss, equal weights w_l), with average pooling in the VGG as in the paper.

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
import sys
import time

from ..data.images import load_image
from ..errors import MinigenError
from .common import add_run_options
from .optimize import (add_optim_options, add_vgg_options, check_layers, check_memory, check_run, fit_size,
                       gram_targets, noise, open_vgg, optimize_image, parse_layers, perceptual_objective, resize,
                       snapshot_paths, write_outputs)

_LADDER = ("relu1_1", "pool1", "pool2", "pool3", "pool4")
UP_TO = {name: _LADDER[:k + 1] for k, name in enumerate(("conv1_1",) + _LADDER[1:])}


def synthesize_texture(vgg, texture, size, layers=UP_TO["pool4"], iters=200, optimizer="lbfgs", lr=0.02, seed=0,
                       device="cpu", print_every=10, save_every=0, save_to=None):
    """A (H, W, 3) texture of ``size`` (H, W) whose Grams at ``layers`` match those of ``texture`` (H', W', 3).

    Returns (image, history); history['style'] is L_style per iteration.
    """
    targets = gram_targets(vgg, [texture], layers, device=device)
    objective = perceptual_objective(vgg, style=targets)
    x, history = optimize_image(noise(size, seed), objective, iters, optimizer, lr, print_every, save_every,
                                save_to, label="texture", device=device)
    return x[0].transpose(1, 2, 0), history


def run(args):
    device = check_run(args)
    if args.size < 1 or args.source_size < 0:
        raise MinigenError(f"--size must be a positive number of pixels and --source-size 0 or more, not "
                           f"{args.size} and {args.source_size}")
    layers = parse_layers(args.layers, "--layers") if args.layers else list(UP_TO[args.up_to])
    source = load_image(args.texture)
    source_size = fit_size(source.shape, args.source_size) if args.source_size else source.shape[:2]
    size = (args.size, args.size)
    vgg, info = open_vgg(args)
    check_layers(info, layers, "--layers" if args.layers else "--up-to")
    check_memory(info["depth"], layers, [size, source_size], args.max_memory, args.texture)
    source = resize(source, source_size)
    start = time.perf_counter()
    image, history = synthesize_texture(vgg, source, size, layers, args.iters, args.optimizer, args.lr, args.seed,
                                        device, args.print_every, args.save_every, snapshot_paths(args.out))
    sidecar = write_outputs(args.out, image, args, info, history, layers=layers,
                            seconds=time.perf_counter() - start, source_size=list(source.shape[:2]))
    print(f"wrote {args.out} and {sidecar} (style loss {history['style'][0]:.3g} -> {history['style'][-1]:.3g})",
          file=sys.stderr)
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "texture", help="synthesise a texture by Gram matching from noise (Gatys et al. 2015)",
        description="Texture synthesis: optimise white noise so that the Gram matrices of its VGG features match "
                    "TEXTURE's. Layer sets of the paper's ablation: --up-to conv1_1 (relu1_1), pool1 (+ pool1), "
                    "pool2 (+ pool2), pool3 (+ pool3), pool4 (+ pool4, the full model). Writes OUT and a JSON "
                    "sidecar with the parameters, the VGG weights used and the loss history.")
    p.add_argument("texture", help="the source texture image")
    p.add_argument("--size", type=int, default=256, help="side of the square output (default: 256)")
    p.add_argument("--source-size", type=int, default=256,
                   help="resize the source so its longer side is this, 0 to keep it (default: 256)")
    p.add_argument("--up-to", default="pool4", choices=list(UP_TO),
                   help="the paper's layer set up to this layer (default: pool4)")
    p.add_argument("--layers", default=None,
                   help="comma-separated layers instead of --up-to (e.g. relu1_1,relu2_1,relu3_1)")
    add_vgg_options(p, pool="avg")
    add_optim_options(p, iters=200)
    add_run_options(p, out="texture.png")
    p.set_defaults(run=run)
