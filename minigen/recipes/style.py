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

Extensions: several style images blended by weight (their Gram targets are
mixed); ``--style-scale`` resizes the style relative to the output;
``--original-colors`` keeps the content's colours by taking only the luminance
from the result (Gatys et al., "Preserving Color in Neural Artistic Style
Transfer", 2016: BT.601 Y of the result with Cb, Cr of the content); multi-scale
solves at 1/2^k of the size first and upsamples (bilinear) the result as the
start of the next scale.
"""
import os
import sys
import time

import numpy as np

from .. import backend, functional as F
from ..data.images import load_image, rgb_to_ycbcr, ycbcr_to_rgb
from ..errors import MinigenError
from ..tensor import Tensor
from .common import add_run_options
from .optimize import (add_optim_options, add_vgg_options, check_layers, check_memory, check_run, features,
                       fit_size, gram_targets, noise, open_vgg, optimize_image, parse_layers,
                       perceptual_objective, resize, snapshot_paths, write_outputs)

CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def original_colors(result, content):
    """The result's BT.601 luminance Y with the content's chroma Cb, Cr ((H, W, 3) images in [0, 1])."""
    y = rgb_to_ycbcr(result)[..., :1]
    return np.clip(ycbcr_to_rgb(np.concatenate([y, rgb_to_ycbcr(content)[..., 1:]], axis=-1)), 0, 1)


def style_transfer(vgg, content, styles, blend=None, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                   content_weight=1.0, style_weight=1e3, tv_weight=0.0, init="content", scales=1, style_scale=1.0,
                   iters=300, optimizer="lbfgs", lr=0.02, seed=0, device="cpu", print_every=10, save_every=0,
                   snapshots=None, keep_colors=False):
    """Stylise ``content`` (H, W, 3) with ``styles`` (a list of (H', W', 3) images in [0, 1]).

    blend: style weights summing to 1 (equal by default); init: 'content',
    'random' (uniform noise) or an (H, W, 3) image; scales: number of scales,
    each solved for ``iters`` iterations; style_scale: each style is resized
    so its longer side is style_scale times the working image's; snapshots:
    tag -> (iteration -> path) for the images saved every ``save_every`` iterations.
    Returns (image (H, W, 3), history): the losses of each scale's start and
    iterations (see optimize_image), the scales one after the other, with the
    index where each scale begins in history['scale_start'].
    """
    h, w = content.shape[:2]
    history = {"scale_start": []}
    x = None
    for k in range(scales):
        f = 2.0 ** (k - scales + 1)
        size = (max(1, round(h * f)), max(1, round(w * f)))
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
                                         tv_weight=tv_weight)
        tag = f"_s{k + 1}" if scales > 1 else ""
        x, part = optimize_image(x, objective, iters, optimizer, lr, print_every, save_every,
                                 snapshots(tag) if snapshots else None, label=f"style {size[1]}x{size[0]}",
                                 device=device)
        history["scale_start"].append(len(history.get("total", [])))
        for name, values in part.items():
            history.setdefault(name, []).extend(values)
    image = x[0].transpose(1, 2, 0)
    return (original_colors(image, content) if keep_colors else image), history


def _blend(text, n):
    if text is None:
        return None
    try:
        b = [float(v) for v in text.split(",")]
    except ValueError:
        raise MinigenError(f"--style-blend: expected comma-separated numbers, got {text!r}") from None
    if len(b) != n or min(b) < 0 or sum(b) <= 0:
        raise MinigenError(f"--style-blend: give {n} non-negative weight(s), one per --style image, not {text!r}")
    return [v / sum(b) for v in b]


def run(args):
    device = check_run(args)
    if args.scales < 1:
        raise MinigenError(f"--scales must be at least 1, not {args.scales}")
    if args.style_scale <= 0:
        raise MinigenError(f"--style-scale must be positive, not {args.style_scale}")
    blend = _blend(args.style_blend, len(args.style))
    content_layers = parse_layers(args.content_layers, "--content-layers")
    style_layers = parse_layers(args.style_layers, "--style-layers")
    if args.ratio is not None and not args.ratio > 0:
        raise MinigenError(f"--ratio (alpha/beta) must be positive, not {args.ratio}")
    style_weight = args.content_weight / args.ratio if args.ratio else args.style_weight
    if min(args.content_weight, style_weight, args.tv_weight) < 0:
        raise MinigenError("--content-weight, --style-weight and --tv-weight must not be negative")
    content = load_image(args.content)
    size = fit_size(content.shape, args.size)
    styles = [load_image(s) for s in args.style]
    init = args.init
    if init not in ("content", "random"):
        if not os.path.exists(init):
            raise MinigenError(f"--init: {init} is neither 'content', 'random' nor an existing image file")
        init = load_image(init)
    style_sizes = [fit_size(s.shape, args.style_scale * max(size)) for s in styles]
    vgg, info = open_vgg(args)
    check_layers(info, content_layers, "--content-layers")
    check_layers(info, style_layers, "--style-layers")
    check_memory(info["depth"], content_layers + style_layers, [size] + style_sizes, args.max_memory, args.content)
    content = resize(content, size)
    start = time.perf_counter()
    image, history = style_transfer(
        vgg, content, styles, blend, content_layers, style_layers, args.content_weight, style_weight,
        args.tv_weight, init, args.scales, args.style_scale, args.iters, args.optimizer, args.lr, args.seed, device,
        args.print_every, args.save_every, lambda tag: snapshot_paths(args.out, tag), args.original_colors)
    ratio = args.content_weight / style_weight if style_weight else None
    sidecar = write_outputs(args.out, image, args, info, history, seconds=time.perf_counter() - start,
                            style_weight_used=style_weight, alpha_over_beta=ratio, size=list(content.shape[:2]))
    print(f"wrote {args.out} and {sidecar} (style loss {history['style'][0]:.3g} -> {history['style'][-1]:.3g}, "
          f"content loss {history['content'][0]:.3g} -> {history['content'][-1]:.3g})", file=sys.stderr)
    return 0


def register(subparsers):
    p = subparsers.add_parser(
        "style", help="neural style transfer by optimisation (Gatys et al. 2016)",
        description="Style transfer: optimise an image to keep --content's VGG features at --content-layers and "
                    "take the Gram matrices of --style at --style-layers; loss = alpha content + beta style + "
                    "tv-weight TV. Writes OUT and a JSON sidecar with every parameter, the VGG weights used and "
                    "the loss history.")
    p.add_argument("--content", required=True, help="the content image")
    p.add_argument("--style", required=True, nargs="+", help="one or more style images")
    p.add_argument("--style-blend", default=None, help="weights of the style images, e.g. 0.7,0.3 (default: equal)")
    p.add_argument("--content-layers", default=",".join(CONTENT_LAYERS),
                   help=f"comma-separated (default: {','.join(CONTENT_LAYERS)})")
    p.add_argument("--style-layers", default=",".join(STYLE_LAYERS),
                   help=f"comma-separated, weighted 1/L each (default: {','.join(STYLE_LAYERS)})")
    p.add_argument("--content-weight", type=float, default=1.0, help="alpha (default: 1)")
    p.add_argument("--style-weight", type=float, default=1e3, help="beta (default: 1e3, i.e. alpha/beta = 1e-3)")
    p.add_argument("--ratio", type=float, default=None,
                   help="alpha/beta: sets beta = alpha / RATIO, overriding --style-weight (the paper: 1e-3, 1e-4)")
    p.add_argument("--tv-weight", type=float, default=0.0, help="weight of the TV_2 smoothness term (default: 0)")
    p.add_argument("--init", default="content", help="content, random, or an image file (default: content)")
    p.add_argument("--size", type=int, default=256, help="longer side of the output (default: 256)")
    p.add_argument("--style-scale", type=float, default=1.0,
                   help="style images' longer side relative to the output's (default: 1)")
    p.add_argument("--scales", type=int, default=1,
                   help="solve at 1/2^(S-1) of --size first, upsample and continue, S scales (default: 1)")
    p.add_argument("--original-colors", action="store_true",
                   help="keep the content's colours (luminance-only transfer through BT.601 YCbCr)")
    add_vgg_options(p, pool="avg")
    add_optim_options(p, iters=300)
    add_run_options(p, out="style.png")
    p.set_defaults(run=run)


def demo_section(gallery, device, seed, quick):
    """Inversion, texture synthesis and style transfer on procedural images with relu1_1..relu3_1
    (so real weights truncated at relu3_1 work too): the VGG of $MINIGEN_VGG, else random weights."""
    from ..data.procedural import shapes, texture
    from ..models.vgg import load_vgg
    from .invert import invert
    from .texture import UP_TO, synthesize_texture

    size, iters = (40, 12) if quick else (64, 40)
    vgg, info = load_vgg(None, pooling="avg", device=device, seed=seed)
    content = shapes(1, size, seed=seed)[0].transpose(1, 2, 0)
    source = texture("dots", size, seed=seed).transpose(1, 2, 0)
    style = texture("waves", size, seed=seed + 1).transpose(1, 2, 0)
    quiet = dict(iters=iters, seed=seed, device=device, print_every=0)
    inverted, h_inv = invert(vgg, content, "relu3_1", tv_weight=0.1, **quiet)
    synthesized, h_tex = synthesize_texture(vgg, source, (size, size), UP_TO["pool2"], **quiet)
    stylised, h_sty = style_transfer(vgg, content, [style], content_layers=("relu3_1",),
                                     style_layers=("relu1_1", "relu2_1", "relu3_1"), style_weight=1e5, **quiet)
    weights = "random weights" if info["weights"] == "random" else f"weights {info['weights']}"
    gallery.section("optimisation: inversion, texture, style",
                    f"{iters} L-BFGS iterations each at {size}x{size} through VGG-{info['depth']} ({weights}, "
                    f"average pooling). Inversion of relu3_1 (Mahendran & Vedaldi 2015): normalised feature error "
                    f"{h_inv['content'][0]:.3g} -> {h_inv['content'][-1]:.3g}. Texture synthesis with the Gram "
                    f"matrices of relu1_1, pool1, pool2 (Gatys et al. 2015): style loss reduced "
                    f"{h_tex['style'][0] / h_tex['style'][-1]:.0f}x. Style transfer (Gatys et al. 2016), content "
                    f"relu3_1, style relu1_1..relu3_1, alpha/beta 1e-5, started from the content: style loss reduced "
                    f"{h_sty['style'][0] / h_sty['style'][-1]:.1f}x.")
    for name, image, caption in (("content", content, "content / inverted image"),
                                 ("inverted", inverted, "reconstructed from relu3_1"),
                                 ("source", source, "source texture"), ("texture", synthesized, "synthesised"),
                                 ("style", style, "style image"), ("stylised", stylised, "content in that style")):
        gallery.image(f"optim_{name}.png", image, caption, zoom=2)
    gallery.curves("optim_loss.png", {"inversion": h_inv["total"], "texture": h_tex["total"],
                                      "style transfer": h_sty["total"]},
                   "total loss per L-BFGS iteration (log scale)", title="optimisation losses")
