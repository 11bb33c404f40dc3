"""``minigen train-style``, ``stylize`` and ``sample-texture``: feed-forward stylisation
(``recipes.feedforward``), and its demo section.

    minigen train-style --method johnson|texture-net|multistyle|adain --style S... --out CKPT
    minigen train-style --out CKPT --resume [--steps N]
    minigen stylize --model CKPT INPUT... --out FOLDER
    minigen sample-texture --model CKPT --size 256 --out texture.png

Each refuses bad input before any work: numbers out of range (argparse), an
output that would replace an input, an existing checkpoint (train-style
replaces it only with --force, continues it with --resume), --channels that
do not suit the network, a crop the network's size rule refuses, missing
style or content files. A resumed run takes every setting from the checkpoint;
a setting given again must agree (--steps may grow).
"""
import os

from ..data.files import IMAGE_EXTENSIONS
from ..data.procedural import TEXTURES
from ..errors import MinigenError
from .files import check_output, clean_stale_temporaries, output_folder
from .options import (add_checkpointing, add_device, add_logging, add_memory, add_out, add_seed, add_vgg,
                      check_device, int_range, nonneg_float, positive_float, positive_int, probability)
from .sample import add_sampling

DEMO_SECTION = "feedforward"
METHODS = ("johnson", "texture-net", "multistyle", "adain")
# What a new run takes for the settings not given (None: decided by the method or the VGG).
DEFAULTS = {"method": None, "style": None, "content": None, "steps": 200, "batch": 4, "crop": 64, "lr": None,
            "style_size": None, "vgg": None, "content_weight": None, "style_weight": None, "tv_weight": None,
            "content_layer": None, "style_layers": None, "norm": "instance", "channels": None, "residual": 5,
            "padded": False, "scales": 5, "seed": 0, "normalize": "target"}
NET_FLAGS = ("norm", "channels", "residual", "padded", "scales")


def register(subparsers):
    p = subparsers.add_parser(
        "train-style", help="train a feed-forward stylisation or texture network",
        description="Train a feed-forward network: Johnson et al.'s transform net (johnson), Ulyanov et al.'s "
                    "texture network (texture-net), one net for several styles with conditional instance norm "
                    "(multistyle) or an AdaIN decoder for arbitrary styles (adain). Writes a checkpoint (.npz or "
                    ".safetensors) that `minigen stylize`, `minigen sample-texture` and `minigen sample` rebuild "
                    "the model from; `--out CKPT --resume` continues a run with its own settings.")
    g = p.add_argument_group("method and data")
    g.add_argument("--method", choices=METHODS, help="which method to train (required for a new run)")
    g.add_argument("--style", nargs="+", metavar="S",
                   help="style image files or folders, or procedural:KIND[:SEED] with KIND in " + ", ".join(TEXTURES) +
                        " (adain: 'procedural' alone draws a new random texture every time)")
    g.add_argument("--content", help="folder of content images (random crops) or 'procedural' (default for all "
                                     "but texture-net; texture-net without --content learns a texture)")
    g.add_argument("--crop", type=positive_int, metavar="N", help="training crop size (default: 64)")
    g.add_argument("--style-size", type=positive_int, metavar="N",
                   help="shorter side of the style images (default: --crop)")
    g = p.add_argument_group("optimisation and loss")
    g.add_argument("--steps", type=positive_int, metavar="N",
                   help="training steps in all (default: 200; with --resume, the run's own total)")
    g.add_argument("--batch", type=positive_int, metavar="N", help="images per step (default: 4)")
    g.add_argument("--lr", type=positive_float, help="Adam learning rate, > 0 (default: 1e-3; adain 1e-4)")
    g.add_argument("--content-weight", type=nonneg_float, metavar="W", help="weight >= 0 (default: 1)")
    g.add_argument("--style-weight", type=nonneg_float, metavar="W",
                   help="weight >= 0 (default: 2 with --normalize target, 10 with none; adain: lambda, default 10)")
    g.add_argument("--normalize", choices=["target", "none"],
                   help="target (default): each loss term a relative error, divided by its target's energy, so the "
                        "weights mean the same with any VGG weights; none: the papers' sums (johnson, texture-net, "
                        "multistyle)")
    g.add_argument("--tv-weight", type=nonneg_float, metavar="W", help="weight >= 0 (default: 1e-5; not used by adain)")
    g.add_argument("--content-layer", help="VGG layer of the content loss (default relu2_2)")
    g.add_argument("--style-layers", nargs="+", help="VGG layers of the style loss (default: the paper's, as far "
                                                     "as the weights reach)")
    g = p.add_argument_group("network")
    g.add_argument("--norm", choices=["batch", "instance"],
                   help="normalisation of johnson / texture-net (default: instance)")
    g.add_argument("--channels", type=positive_int, nargs="+", metavar="N",
                   help="widths: johnson/multistyle three (default 32 64 128), texture-net one (default 8)")
    g.add_argument("--residual", type=positive_int, metavar="N",
                   help="residual blocks of the transform net (default: 5)")
    g.add_argument("--padded", action="store_true", default=None,
                   help="transform net with padded convs instead of the 40-pixel reflection padding and cropped "
                        "blocks")
    g.add_argument("--scales", type=int_range(1, 16), metavar="K", help="texture-net noise scales K (default: 5)")
    add_vgg(p)
    add_out(p, "style.npz", help="the checkpoint to write (.npz or .safetensors)", metavar="CKPT")
    add_checkpointing(p, 100)
    add_logging(p, 10).add_argument(
        "--time-limit", type=positive_float, metavar="SECONDS",
        help="stop after the step that passes SECONDS, save, and say how to continue (--resume)")
    add_memory(p)
    add_device(p)
    add_seed(p)
    p.set_defaults(seed=None, run=cmd_train)  # None: not given (a resumed run takes the checkpoint's)

    p = subparsers.add_parser(
        "stylize", help="stylise images with a train-style checkpoint",
        description="Stylise images (files or folders) in one forward pass; writes OUT/<name>.png.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--model", required=True, metavar="CKPT",
                   help="checkpoint written by `minigen train-style`, or a bundled network: johnson (The Starry "
                        "Night), multistyle (two styles) or adain (any style: give --styles)")
    p.add_argument("--size", type=positive_int, metavar="N", help="resize inputs so the longer side is N")
    p.add_argument("--style-size", type=positive_int, metavar="N",
                   help="adain: resize style images so the longer side is N")
    p.add_argument("--preserve-colors", action="store_true",
                   help="keep the input's colours: only the luminance (BT.601 Y) is stylised")
    p.add_argument("--alpha", type=probability, help="adain: content-style trade-off in [0, 1] (default 1)")
    p.add_argument("--styles", help="multistyle: INDEX:WEIGHT,... (e.g. 0:0.5,2:0.5; default: each style in "
                                    "turn); adain: IMAGE[:WEIGHT],... (weights normalised to sum 1)")
    add_vgg(p)
    add_out(p, "stylized", help="output folder", metavar="FOLDER")
    add_memory(p)
    add_device(p)
    add_seed(p, help="seed of the texture network's noise")
    p.set_defaults(run=cmd_stylize)

    p = subparsers.add_parser("sample-texture", help="generate textures with a texture-net checkpoint",
                              description="Generate textures of any size from noise with a texture-net checkpoint "
                                          "(`minigen sample` does the same for any generator).")
    p.add_argument("--model", required=True, metavar="CKPT",
                   help="texture-net checkpoint (trained without --content), or texture-net: the bundled one")
    add_sampling(p, "texture.png", "the texture image",
                 "how many textures: OUT itself for one, else OUT-0.png, OUT-1.png, ...")
    p.set_defaults(run=cmd_sample)


# ---- train-style ----------------------------------------------------------------------------------

def _flag(key):
    return "--" + key.replace("_", "-")


def _recorded(saved):
    """The train-style arguments a checkpoint's settings stand for."""
    from ..recipes.feedforward import METHODS as TABLE
    m = TABLE[saved["method"]]
    weights = saved["weights"]
    args = {"method": saved["method"], "style": saved["styles"], "content": saved["content"],
            "batch": saved["batch"], "crop": saved["crop"], "lr": saved["lr"], "seed": saved["seed"],
            "style_size": saved.get("style_size"), "vgg": saved["vgg"], "content_weight": weights["content"],
            "style_weight": weights[m.style_weight], "tv_weight": weights["tv"],
            "content_layer": saved["content_layer"], "style_layers": saved["style_layers"],
            "steps": saved.get("steps"), "normalize": saved.get("normalize", "none")}
    return args, m.options(saved["model"])


def _same(key, given, recorded):
    """True when a flag given again agrees with the recorded setting."""
    from ..recipes.feedforward.data import style_files
    if key == "style":
        return style_files(given) == recorded
    if key == "vgg":
        weights = recorded["weights"]
        return weights != "random" and (given == weights or (os.path.exists(given) and os.path.exists(weights)
                                                             and os.path.samefile(given, weights)))
    return given == recorded


def _resumed(args, out):
    """The arguments of a resumed run: the checkpoint's, with every one given again checked against them."""
    from ..io import checkpoint
    from ..recipes.feedforward import KIND, METHODS as TABLE
    ckpt = checkpoint.load(out, kind=KIND)
    saved = ckpt.settings
    if saved.get("method") not in METHODS:
        raise MinigenError(f"{out}: its settings name no train-style method; it cannot be resumed")
    run, options = _recorded(saved)
    for key in DEFAULTS:
        given = getattr(args, key)
        if given is None or key == "steps":
            continue  # not given, or may grow
        if key == "content_layer":  # AdaIN's is the deepest style layer, whatever is given
            given = TABLE[run["method"]].content_layer(given, run["style_layers"])
        if key in NET_FLAGS:
            if key not in options:
                continue  # an option this method does not read
            recorded = options[key]
        elif key == "style_size":
            if "style_size" not in saved:  # a checkpoint of an earlier minigen does not say
                run["style_size"] = given
                continue
            recorded = saved["style_size"] or saved["crop"]
        else:
            recorded = run[key]
        if not _same(key, given, recorded):
            shown = " ".join(map(str, given)) if isinstance(given, list) else given
            raise MinigenError(f"{_flag(key)} {shown}: {out} was made with another {_flag(key)}; a resumed run "
                               "takes its settings from the checkpoint (leave the flag out or give the same)")
    run["steps"] = args.steps or run["steps"] or DEFAULTS["steps"]
    if ckpt.step >= run["steps"]:
        raise MinigenError(f"{out}: already at step {ckpt.step} of {run['steps']}; ask for more steps (--steps)")
    return run, options


def _new(args):
    """The arguments of a new run: those given, the defaults for the rest."""
    if args.method is None:
        raise MinigenError(f"--method: give one of {', '.join(METHODS)} (or continue a run with --resume)")
    if not args.style:
        raise MinigenError("--style: give at least one style (an image, a folder or procedural[:KIND[:SEED]])")
    from ..recipes.feedforward import METHODS as TABLE
    run = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in DEFAULTS.items()}
    if run["content"] is None and TABLE[run["method"]].needs_content:
        run["content"] = "procedural"
    return run, {k: run[k] for k in NET_FLAGS}


def _weights(run):
    from ..recipes.feedforward import METHODS as TABLE
    keys = {"content": "content_weight", TABLE[run["method"]].style_weight: "style_weight", "tv": "tv_weight"}
    return {k: run[flag] for k, flag in keys.items() if run[flag] is not None}


def cmd_train(args):
    from ..io import write_json
    from ..recipes.feedforward import train_style
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.style, args.content, args.vgg], kind="checkpoint",
                       resume=args.resume, force=args.force)
    run, options = _resumed(args, out) if args.resume else _new(args)
    vgg = run["vgg"] if args.resume else args.vgg  # a resumed run: the recorded VGG info
    inputs = [run["style"], run["content"], vgg["weights"] if isinstance(vgg, dict) else vgg]
    if args.resume:  # the inputs the checkpoint names
        check_output(out, inputs=inputs, kind="checkpoint", resume=True)
    sidecar = check_output(os.path.splitext(out)[0] + ".json", inputs=inputs + [out], extensions=(".json",))
    clean_stale_temporaries(out)
    clean_stale_temporaries(sidecar)
    _, history, settings = train_style(
        run["method"], run["style"], content=run["content"], steps=run["steps"], batch=run["batch"],
        crop=run["crop"], lr=run["lr"], vgg=vgg, out=out, save_every=args.save_every, resume=args.resume,
        seed=run["seed"], device=device, weights=_weights(run), style_size=run["style_size"],
        content_layer=run["content_layer"], style_layers=run["style_layers"], net=options,
        log_every=args.log_every, max_memory=args.max_memory, time_limit=args.time_limit,
        normalize=run["normalize"])
    done = len(history["loss"])
    write_json(sidecar, {"config": settings, "final": {k: v[-1] for k, v in history.items()}})
    if done < run["steps"]:
        print(f"stopped at step {done} of {run['steps']} (--time-limit); saved {out}, continue with "
              f"`minigen train-style --out {out} --resume`")
    else:
        print(f"wrote {out}")
    return 0


# ---- stylize and sample-texture -------------------------------------------------------------------

def _stem(path, used):
    stem = os.path.splitext(os.path.basename(path))[0]
    name, k = stem, 1
    while name in used:
        name, k = f"{stem}-{k}", k + 1
    used.add(name)
    return name


def cmd_stylize(args):
    import numpy as np
    from ..data.images import save_image
    from ..recipes.feedforward import Stylizer, image_files, load_input, parse_mix
    from ..recipes.style import original_colors
    device = check_device(args.device)
    files = image_files(args.inputs)
    styles = [k for k in parse_mix(args.styles)[0] if os.path.isfile(k)] if args.styles else []
    out = check_output(args.out, inputs=[args.inputs, files, args.model, styles, args.vgg], kind="folder")
    clean_stale_temporaries(out)
    stylizer = Stylizer(args.model, device, args.vgg, args.seed, args.max_memory)
    runs = stylizer.runs(args.styles, args.alpha, args.style_size)
    used = set()
    with output_folder(out):
        for f in files:
            img = load_input(f, args.size)
            stem = _stem(f, used)
            for suffix, mix, style_images in runs:
                result = stylizer(img, 1.0 if args.alpha is None else args.alpha, mix, style_images)
                if args.preserve_colors:
                    result = original_colors(np.clip(result, 0, 1), img)
                path = os.path.join(out, f"{stem}{suffix}.png")
                save_image(path, np.clip(result, 0, 1))
                print(f"wrote {path}")
    return 0


def sample_paths(out, count):
    """The files of ``count`` images for --out: OUT itself for one, else OUT-0.png, OUT-1.png, ..."""
    root, ext = os.path.splitext(out)
    return [out] if count == 1 else [f"{root}-{k}{ext or '.png'}" for k in range(count)]


def cmd_sample(args):
    from ..data.images import save_image
    from ..recipes.feedforward import sample_textures
    device = check_device(args.device)
    paths = sample_paths(args.out, args.count)
    for path in paths:
        clean_stale_temporaries(check_output(path, inputs=[args.model], extensions=IMAGE_EXTENSIONS))
    images = sample_textures(args.model, args.size, args.count, args.seed, device, args.max_memory)
    for path, img in zip(paths, images):
        save_image(path, img)
        print(f"wrote {path}")
    return 0


def demo_section(gallery, device, seed, quick):
    """The feed-forward networks bundled with minigen on unseen procedural scenes: Johnson et al.'s network
    for one style, the two-style conditional-instance-norm network with its morph strip, textures from
    the texture network and the AdaIN decoder with unseen styles and its alpha strip; each a single
    forward pass."""
    import time

    import numpy as np

    from .. import zoo
    from ..data.procedural import scenes, texture
    from ..recipes.feedforward import Stylizer, sample_textures
    from ..report import image_grid

    size = 96 if quick else 192
    test = scenes(3, size, seed=seed + 20_000)  # (3, 3, size, size), never seen in training
    images = [t.transpose(1, 2, 0) for t in test]
    chw = lambda ims: np.stack([im.transpose(2, 0, 1) for im in ims])  # noqa: E731
    johnson = Stylizer(zoo.path("johnson"), device)
    start = time.perf_counter()
    stylised = [johnson(im) for im in images]
    seconds = (time.perf_counter() - start) / len(images)
    multi = Stylizer(zoo.path("multistyle"), device)
    names = [zoo.style_name(s) for s in multi.config["styles"]]
    per_style = [[multi(im, mix=np.eye(2)[k]) for im in images] for k in range(2)]
    weights = np.linspace(0, 1, 5)
    morph = [multi(images[0], mix=np.array([1 - a, a])) for a in weights]
    textures = sample_textures(zoo.path("texture-net"), size, 3, seed, device)
    texture_source = zoo.style_name(zoo.load_network("texture-net")[1].settings["styles"][0])
    gallery.section("feed-forward stylisation",
                    f"Networks bundled with minigen (each trained for about an hour on the CPU with the perceptual "
                    f"loss of the bundled VGG-19; `minigen/zoo/README.md` gives each command), run on "
                    f"{size}x{size} procedural scenes they never saw, one forward pass each ({seconds:.2f} s per "
                    f"image here). Johnson et al. 2016: a transform net for one style ({zoo.style_name(johnson.config['styles'][0])}). "
                    f"Dumoulin et al. 2017: one net with conditional instance norm for two styles ({names[0]}, "
                    f"{names[1]}); mixing the two (gamma, beta) rows morphs one style into the other. Ulyanov et "
                    f"al. 2016: a texture network ({texture_source}) draws new textures of any size from noise. "
                    f"Huang & Belongie 2017: one AdaIN decoder renders the content in the feature statistics of any "
                    f"style image.")
    gallery.image("ff_johnson.png", image_grid(np.concatenate([test, chw(stylised)]), ncol=3),
                  f"the scenes (top) and Johnson et al.'s network for {zoo.style_name(johnson.config['styles'][0])} (bottom)")
    gallery.image("ff_multistyle.png", image_grid(np.concatenate([chw(per_style[0]), chw(per_style[1])]), ncol=3),
                  f"one conditional-instance-norm network: {names[0]} (top), {names[1]} (bottom)")
    gallery.image("ff_morph.png", image_grid(chw(morph), ncol=5),
                  f"the morph: style weights ({names[0]}, {names[1]}) = " +
                  ", ".join(f"({1 - a:.2g}, {a:.2g})" for a in weights))
    gallery.image("ff_texture.png", image_grid(textures, ncol=3),
                  f"texture network ({texture_source}): three samples from fresh noise")
    # AdaIN: one decoder, any style image, none of them seen in training (the demo has no paintings)
    adain = Stylizer(zoo.path("adain"), device)
    styles = [stylised[2], textures[0].transpose(1, 2, 0), texture("waves", size, seed=seed).transpose(1, 2, 0)]
    transferred = [adain(images[0], 1.0, [1.0], [s]) for s in styles]
    alphas = np.linspace(0, 1, 5)
    strip = [adain(images[1], a, [1.0], [styles[2]]) for a in alphas]
    gallery.image("ff_adain.png", image_grid(np.concatenate([chw(styles), chw(transferred)]), ncol=3),
                  "Huang & Belongie 2017, one AdaIN decoder for any style: style images it never saw (top: "
                  "the Johnson net's Starry Night scene, a texture-net sample, procedural waves) and the first "
                  "scene in each (bottom)")
    gallery.image("ff_adain_alpha.png", image_grid(chw(strip), ncol=5),
                  "AdaIN's content-style trade-off, the second scene in the waves: alpha = " +
                  ", ".join(f"{a:.2g}" for a in alphas) + " (alpha 0 is the decoder's reconstruction of the "
                  "scene: after a CPU hour of training it keeps the layout, not the colours)")


