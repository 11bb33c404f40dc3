"""``minigen invert``, ``minigen texture``, ``minigen style``: the pixel-optimisation methods
(``recipes.invert``, ``recipes.texture``, ``recipes.style``), their shared VGG and optimiser
options, and their demo section.

Each command refuses bad input before any work: numbers out of range (argparse), outputs that would
replace an input or cannot be written (the image, its JSON sidecar OUT.json, its snapshots
OUT_0100.png), images too small for the deepest VGG layer, and runs whose estimated VGG memory
exceeds --max-memory. It then loads the images and the VGG, optimises, and writes OUT and the sidecar
(parameters, VGG weights used, loss history).
"""
import os
import re
import sys
import time

from PIL import Image

from ..data.images import load_image, save_image
from ..errors import MinigenError
from ..io import write_json
from ..recipes.vgg_layers import deepest, min_side
from .files import check_output
from .optimisation import (add_optimisation_options, big_enough, check_layer_names, layer_list, layers_or_defaults,
                           open_vgg, say_defaults, weight_facts)
from .options import check_device, int_range, nonneg_float, nonneg_int, positive_float, positive_int

DEMO_SECTION = "style"
INVERT_LAYER = "relu3_1"  # --layer's default
DEFAULT_UP_TO = "pool4"   # texture's default layer set: the paper's full model
NORMALIZE_HELP = ("target: each layer's loss is divided by its target's energy (||P_l||^2 for content, ||A_l||^2 "
                  "for a Gram), a relative error that means the same with any weights; none: the paper's sums, "
                  "whose size follows the weights' feature scale (default: target)")


# ---- outputs -------------------------------------------------------------------------------------

def image_format(path, flag="--out"):
    """Refuse a name whose extension is not an image format Pillow writes in RGB."""
    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    try:
        if fmt is None or fmt not in Image.SAVE:
            raise ValueError(fmt)
        from io import BytesIO
        Image.new("RGB", (1, 1)).save(BytesIO(), format=fmt)
    except (ValueError, OSError, KeyError):
        raise MinigenError(f"{flag} {path}: not an image format minigen writes; use .png, .jpg, .bmp, .tif, ...") \
            from None


def snapshot_name(out, iteration, tag=""):
    """'OUT-STEM{tag}_0100.EXT': the intermediate image of ``iteration``."""
    stem, ext = os.path.splitext(out)
    return f"{stem}{tag}_{iteration:04d}{ext}"


def sidecar_path(out):
    return os.path.splitext(out)[0] + ".json"


def check_outputs(args, inputs, tags=("",)):
    """The output checks before any work: OUT, its sidecar and its snapshots (one series per tag)."""
    check_device(args.device)
    image_format(args.out)
    inputs = [i for i in [*inputs, args.vgg] if i and i not in ("random", "bundled")]
    check_output(args.out, inputs)
    check_output(sidecar_path(args.out), inputs, extensions=(".json",))
    if args.snapshot_every:
        last = args.iters - args.iters % args.snapshot_every
        if last:
            check_output(snapshot_name(args.out, last, tags[-1]), inputs, flag="--snapshot-every")
        stem, ext = os.path.splitext(os.path.basename(args.out))
        folder = os.path.realpath(os.path.dirname(os.path.abspath(args.out)))
        pattern = re.compile(re.escape(stem) + "(" + "|".join(map(re.escape, tags)) + r")_(\d{4,})" + re.escape(ext))
        for src in inputs:
            src = os.path.realpath(src)
            m = pattern.fullmatch(os.path.basename(src))
            if m and os.path.dirname(src) == folder and 0 < int(m[2]) <= args.iters \
                    and int(m[2]) % args.snapshot_every == 0:
                raise MinigenError(f"--snapshot-every {args.snapshot_every}: a snapshot would replace the input "
                                   f"{src}; choose another --out")


def snapshots(args, scales=1):
    """The on_snapshot callback of a run: each intermediate image beside --out (None: none)."""
    if not args.snapshot_every:
        return None

    def save(iteration, image, scale=1):
        save_image(snapshot_name(args.out, iteration, f"_s{scale}" if scales > 1 else ""), image)
    return save


def write_outputs(args, image, vgg_info, history, start, summary, **extra):
    """The result image (atomically), its JSON sidecar (parameters, VGG info, loss history), one line on stderr."""
    save_image(args.out, image)
    parameters = {k: v for k, v in vars(args).items() if k not in ("run", "command")}
    record = {"parameters": parameters, "vgg": vgg_info, "history": history, "seconds": time.perf_counter() - start,
              "iterations": len(history.get("total", [])) - len(history.get("scale_start", [0])), **extra}
    write_json(sidecar_path(args.out), record)
    print(f"wrote {args.out} and {sidecar_path(args.out)} ({summary})", file=sys.stderr)
    return 0


# ---- the commands --------------------------------------------------------------------------------

def cmd_invert(args):
    from ..recipes.invert import invert
    from ..recipes.optimize import fit_size, resize
    check_outputs(args, [args.image])
    facts, notes = weight_facts(args), []
    layer = layers_or_defaults(facts, args.layer, [INVERT_LAYER], "--layer", notes)[0]
    checks = [([layer], "--layer")]
    check_layer_names(facts, checks)
    image = load_image(args.image)
    size = fit_size(image.shape, args.size)
    big_enough(size, [layer], f"--size {args.size}")
    say_defaults(facts, notes)
    vgg, info = open_vgg(args, facts, checks, [size])
    image, start = resize(image, size), time.perf_counter()
    result, history = invert(vgg, image, layer, args.iters, args.tv_weight, args.optimizer, args.lr, args.seed,
                             args.device, args.log_every, args.snapshot_every, snapshots(args))
    return write_outputs(args, result, info, history, start, f"normalised feature error {history['content'][0]:.3g}"
                         f" -> {history['content'][-1]:.3g}", layer=layer, size=list(image.shape[:2]))


def cmd_texture(args):
    from ..recipes.optimize import fit_size, resize
    from ..recipes.texture import UP_TO, synthesize_texture
    check_outputs(args, [args.texture])
    facts, notes = weight_facts(args), []
    if args.layers:
        layers, flag = layers_or_defaults(facts, args.layers, None, "--layers", notes), "--layers"
    elif args.up_to:
        layers, flag = list(UP_TO[args.up_to]), "--up-to"
    else:
        layers, flag = layers_or_defaults(facts, None, UP_TO[DEFAULT_UP_TO], "--layers", notes), "--up-to"
    check_layer_names(facts, [(layers, flag)])
    size = (args.size, args.size)
    big_enough(size, layers, f"--size {args.size}")
    source = load_image(args.texture)
    source_size = fit_size(source.shape, args.source_size) if args.source_size else source.shape[:2]
    big_enough(source_size, layers, f"--source-size {args.source_size} ({args.texture})")
    say_defaults(facts, notes)
    vgg, info = open_vgg(args, facts, [(layers, flag)], [size, source_size])
    source, start = resize(source, source_size), time.perf_counter()
    image, history = synthesize_texture(vgg, source, size, layers, args.iters, args.optimizer, args.lr, args.seed,
                                        args.device, args.log_every, args.snapshot_every, snapshots(args),
                                        normalize=args.normalize)
    return write_outputs(args, image, info, history, start,
                         f"style loss {history['style'][0]:.3g} -> {history['style'][-1]:.3g}", layers=layers,
                         source_size=list(source.shape[:2]))


def style_blend(text, n):
    """The --style-blend weights, normalised to sum 1 (None: equal)."""
    if text is None:
        return None
    try:
        b = [float(v) for v in text.split(",")]
    except ValueError:
        raise MinigenError(f"--style-blend: expected comma-separated numbers, got {text!r}") from None
    if len(b) != n or not all(v >= 0 for v in b) or not 0 < sum(b) < float("inf"):
        raise MinigenError(f"--style-blend: give {n} non-negative weight(s), one per --style image, not {text!r}")
    return [v / sum(b) for v in b]


def cmd_style(args):
    from ..recipes.optimize import fit_size, resize
    from ..recipes.style import CONTENT_LAYERS, STYLE_LAYERS, STYLE_WEIGHT, scale_sizes, style_transfer
    init_file = args.init if args.init not in ("content", "random") else None
    check_outputs(args, [args.content, *args.style, init_file],
                  [f"_s{k + 1}" for k in range(args.scales)] if args.scales > 1 else [""])
    blend = style_blend(args.style_blend, len(args.style))
    style_weight = args.content_weight / args.ratio if args.ratio else \
        args.style_weight if args.style_weight is not None else STYLE_WEIGHT[args.normalize]
    if style_weight == float("inf"):
        raise MinigenError(f"--ratio {args.ratio:g}: --content-weight / --ratio is too large a style weight")
    facts, notes = weight_facts(args), []
    content_layers = layers_or_defaults(facts, args.content_layers, CONTENT_LAYERS, "--content-layers", notes)
    style_layers = layers_or_defaults(facts, args.style_layers, STYLE_LAYERS, "--style-layers", notes)
    checks = [(content_layers, "--content-layers"), (style_layers, "--style-layers")]
    check_layer_names(facts, checks)
    if init_file is not None and not os.path.isfile(init_file):
        raise MinigenError(f"--init: {init_file} is neither 'content', 'random' nor an existing image file")
    content = load_image(args.content)
    size = fit_size(content.shape, args.size)
    layers = content_layers + style_layers
    big_enough(size, layers, f"--size {args.size}")
    first, need = scale_sizes(size, args.scales)[0], min_side(layers)
    if min(first) < need:
        most = max(s for s in range(1, args.scales) if min(scale_sizes(size, s)[0]) >= need)
        raise MinigenError(f"--scales {args.scales}: the first scale would be {first[1]}x{first[0]}, too small for "
                           f"{deepest(layers)}, which needs at least {need} pixels per side; give at most {most} "
                           f"at --size {args.size}")
    styles = [load_image(s) for s in args.style]
    for path, s in zip(args.style, styles):  # at the first scale, the smallest
        side = args.style_scale * max(first)
        big_enough(fit_size(s.shape, side) if side >= 1 else (0, 0), style_layers,
                   f"--style-scale {args.style_scale:g} ({path})")
    init = load_image(init_file) if init_file else args.init
    say_defaults(facts, notes)
    vgg, info = open_vgg(args, facts, checks,
                         [size] + [fit_size(s.shape, args.style_scale * max(size)) for s in styles])
    content, start = resize(content, size), time.perf_counter()
    image, history = style_transfer(
        vgg, content, styles, blend, content_layers, style_layers, args.content_weight, style_weight, args.tv_weight,
        init, args.scales, args.style_scale, args.iters, args.optimizer, args.lr, args.seed, args.device,
        args.log_every, args.snapshot_every, snapshots(args, args.scales), args.original_colors, args.normalize)
    ratio = args.content_weight / style_weight if style_weight else None
    return write_outputs(args, image, info, history, start,
                         f"style loss {history['style'][0]:.3g} -> {history['style'][-1]:.3g}, content loss "
                         f"{history['content'][0]:.3g} -> {history['content'][-1]:.3g}",
                         style_weight_used=style_weight, alpha_over_beta=ratio, content_layers_used=content_layers,
                         style_layers_used=style_layers, size=list(content.shape[:2]))


# ---- registration --------------------------------------------------------------------------------

def _command(subparsers, name, run, pool, iters, **text):
    """The parser of one command (``text``: its help and description) with the shared options."""
    p = subparsers.add_parser(name, **text)
    add_optimisation_options(p, pool=pool, iters=iters, out=f"{name}.png")
    p.set_defaults(run=run)
    return p


def register(subparsers):
    p = _command(
        subparsers, "invert", cmd_invert, "max", 200,
        help="reconstruct an image from its VGG features at one layer (Mahendran & Vedaldi 2015)",
        description="Feature inversion: optimise an image from noise so that its VGG features at --layer match "
                    "IMAGE's, with a total-variation prior. Writes OUT and a JSON sidecar (OUT with .json) holding "
                    "the parameters, the VGG weights used and the loss history.")
    p.add_argument("image", help="the image whose features are inverted")
    p.add_argument("--layer", default=None,
                   help=f"VGG layer to match (default: {INVERT_LAYER}, or the deepest ReLU of weights that stop before)")
    p.add_argument("--size", type=positive_int, default=128,
                   help="longer side of the working image, > 0 (default: 128)")
    p.add_argument("--tv-weight", type=nonneg_float, default=0.5,
                   help="lambda of the per-pixel TV_2 prior, >= 0 (default: 0.5)")

    from ..recipes.texture import UP_TO
    p = _command(
        subparsers, "texture", cmd_texture, "avg", 200,
        help="synthesise a texture by Gram matching from noise (Gatys et al. 2015)",
        description="Texture synthesis: optimise white noise so that the Gram matrices of its VGG features match "
                    "TEXTURE's. Layer sets of the paper's ablation: --up-to conv1_1 (relu1_1), pool1 (+ pool1), "
                    "pool2 (+ pool2), pool3 (+ pool3), pool4 (+ pool4, the full model). Writes OUT and a JSON "
                    "sidecar with the parameters, the VGG weights used and the loss history.")
    p.add_argument("texture", help="the source texture image")
    p.add_argument("--size", type=positive_int, default=256, help="side of the square output, > 0 (default: 256)")
    p.add_argument("--source-size", type=nonneg_int, default=256,
                   help="resize the source so its longer side is this, 0 to keep it (default: 256)")
    p.add_argument("--up-to", default=None, choices=list(UP_TO),
                   help=f"the paper's layer set up to this layer (default: {DEFAULT_UP_TO}; with weights that stop "
                        "before it, the layers of that set they have and their deepest ReLU)")
    p.add_argument("--layers", type=layer_list, default=None,
                   help="comma-separated layers instead of --up-to (e.g. relu1_1,relu2_1,relu3_1)")
    p.add_argument("--normalize", default="target", choices=["target", "none"], help=NORMALIZE_HELP)

    from ..recipes.style import CONTENT_LAYERS, STYLE_LAYERS, STYLE_WEIGHT
    p = _command(
        subparsers, "style", cmd_style, "avg", 300, help="neural style transfer by optimisation (Gatys et al. 2016)",
        description="Style transfer: optimise an image to keep --content's VGG features at --content-layers and "
                    "take the Gram matrices of --style at --style-layers; loss = alpha content + beta style + "
                    "tv-weight TV, each layer's term a relative error by default (--normalize target) or the "
                    "paper's sum (--normalize none). Writes OUT and a JSON sidecar with every parameter, the VGG "
                    "weights used and the loss history.")
    p.add_argument("--content", required=True, help="the content image")
    p.add_argument("--style", required=True, nargs="+", help="one or more style images")
    p.add_argument("--style-blend", default=None, help="weights of the style images, e.g. 0.7,0.3 (default: equal)")
    p.add_argument("--content-layers", type=layer_list, default=None,
                   help=f"comma-separated (default: {','.join(CONTENT_LAYERS)}; with weights that stop before it, "
                        "their deepest ReLU)")
    p.add_argument("--style-layers", type=layer_list, default=None,
                   help=f"comma-separated, weighted 1/L each (default: {','.join(STYLE_LAYERS)}, those the weights "
                        "have)")
    p.add_argument("--normalize", default="target", choices=["target", "none"], help=NORMALIZE_HELP)
    p.add_argument("--content-weight", type=nonneg_float, default=1.0, help="alpha, >= 0 (default: 1)")
    p.add_argument("--style-weight", type=nonneg_float, default=None,
                   help=f"beta, >= 0 (default: {STYLE_WEIGHT['target']:g} with --normalize target; "
                        f"{STYLE_WEIGHT['none']:g}, the paper's alpha/beta = 1e-3, with --normalize none)")
    p.add_argument("--ratio", type=positive_float, default=None,
                   help="alpha/beta, > 0: sets beta = alpha / RATIO, overriding --style-weight (the paper, with "
                        "--normalize none and ImageNet weights: 1e-3, 1e-4)")
    p.add_argument("--tv-weight", type=nonneg_float, default=0.0,
                   help="weight of the TV_2 smoothness term, >= 0 (default: 0)")
    p.add_argument("--init", default="content", help="content, random, or an image file (default: content)")
    p.add_argument("--size", type=positive_int, default=256, help="longer side of the output, > 0 (default: 256)")
    p.add_argument("--style-scale", type=positive_float, default=1.0,
                   help="style images' longer side relative to the output's, > 0 (default: 1)")
    p.add_argument("--scales", type=int_range(1, 16), default=1,
                   help="solve at 1/2^(S-1) of --size first, upsample and continue, S scales (default: 1)")
    p.add_argument("--original-colors", action="store_true",
                   help="keep the content's colours (luminance-only transfer through BT.601 YCbCr)")


# ---- the demo section ----------------------------------------------------------------------------

def demo_section(gallery, device, seed, quick):
    """Inversion, texture synthesis and style transfer on procedural images with relu1_1..relu3_1
    (so real weights truncated at relu3_1 work too): the VGG of $MINIGEN_VGG, else the bundled VGG-19."""
    from ..data.procedural import shapes, texture
    from ..models.vgg import load_vgg
    from ..recipes.invert import invert
    from ..recipes.style import STYLE_WEIGHT, style_transfer
    from ..recipes.texture import UP_TO, synthesize_texture

    size, iters = (40, 12) if quick else (64, 40)
    vgg, info = load_vgg(None, pooling="avg", device=device, seed=seed)
    content = shapes(1, size, seed=seed)[0].transpose(1, 2, 0)
    source = texture("dots", size, seed=seed).transpose(1, 2, 0)
    style = texture("waves", size, seed=seed + 1).transpose(1, 2, 0)
    quiet = dict(iters=iters, seed=seed, device=device, log_every=0)
    inverted, h_inv = invert(vgg, content, "relu3_1", tv_weight=0.1, **quiet)
    synthesized, h_tex = synthesize_texture(vgg, source, (size, size), UP_TO["pool2"], **quiet)
    stylised, h_sty = style_transfer(vgg, content, [style], content_layers=("relu3_1",),
                                     style_layers=("relu1_1", "relu2_1", "relu3_1"), **quiet)
    weights = {"random": "random weights", "bundled": "the bundled ImageNet weights"}.get(
        info["weights"], f"weights {info['weights']}")
    gallery.section("optimisation: inversion, texture, style",
                    f"{iters} L-BFGS iterations each at {size}x{size} through VGG-{info['depth']} ({weights}, "
                    f"average pooling). Inversion of relu3_1 (Mahendran & Vedaldi 2015): normalised feature error "
                    f"{h_inv['content'][0]:.3g} -> {h_inv['content'][-1]:.3g}. Texture synthesis with the Gram "
                    f"matrices of relu1_1, pool1, pool2 (Gatys et al. 2015): style loss reduced "
                    f"{h_tex['style'][0] / h_tex['style'][-1]:.0f}x. Style transfer (Gatys et al. 2016), content "
                    f"relu3_1, style relu1_1..relu3_1, alpha/beta 1/{STYLE_WEIGHT['target']:g} on relative errors, started "
                    f"from the content: style loss reduced "
                    f"{h_sty['style'][0] / h_sty['style'][-1]:.1f}x.")
    for name, image, caption in (("content", content, "content / inverted image"),
                                 ("inverted", inverted, "reconstructed from relu3_1"),
                                 ("source", source, "source texture"), ("texture", synthesized, "synthesised"),
                                 ("style", style, "style image"), ("stylised", stylised, "content in that style")):
        gallery.image(f"optim_{name}.png", image, caption, zoom=2)
    gallery.curves("optim_loss.png", {"inversion": h_inv["total"], "texture": h_tex["total"],
                                      "style transfer": h_sty["total"]},
                   "total loss per L-BFGS iteration (log scale)", title="optimisation losses", ylabel="loss",
                   xlabel="iteration")
