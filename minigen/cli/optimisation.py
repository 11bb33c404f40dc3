"""What the pixel-optimisation commands (invert, texture, style) share: their VGG and optimiser options,
the facts of the weights a run will use (known before any work), the layers they read (given, or the
defaults cut to the weights' depth, said in one line), and the size and memory checks.
"""
import argparse
import sys

from ..errors import MinigenError
from ..recipes.vgg_layers import check_layers, deepest, fit_defaults, min_side, vgg_memory
from ..training import memory
from .options import (add_device, add_memory, add_out, add_logging, add_seed, add_snapshots, add_vgg,
                      deprecated_alias, positive_float, positive_int)


def layer_names(text):
    """The VGG layer names of a comma-separated --layers text."""
    return [s.strip() for s in str(text).split(",") if s.strip()]


def layer_list(text):
    """An argparse type: comma-separated VGG layer names, at least one (kept as given, for the sidecar)."""
    if not layer_names(text):
        raise argparse.ArgumentTypeError(f"expected comma-separated VGG layer names, not {text!r}")
    return text


def add_optimisation_options(p, pool, iters, out):
    """--vgg, --depth, --pool; --iters, --optimizer, --lr; --log-every, --snapshot-every (old spellings
    --print-every, --save-every); --max-memory, --device, --seed, --out."""
    g = add_vgg(p)
    g.add_argument("--depth", type=int, default=19, choices=[16, 19],
                   help="VGG depth of --vgg random (weight files and the bundled VGG-19 decide their own; "
                        "default: 19)")
    why = "as Gatys et al. use" if pool == "avg" else "as VGG was trained"
    g.add_argument("--pool", default=pool, choices=["avg", "max"], help=f"pooling in the VGG (default: {pool}, {why})")
    g = p.add_argument_group("optimisation")
    g.add_argument("--iters", type=positive_int, default=iters, metavar="N", help=f"iterations (default: {iters})")
    g.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"], help="default: lbfgs")
    g.add_argument("--lr", type=positive_float, default=0.02,
                   help="Adam's step size on [0, 1] pixels, > 0 (default: 0.02)")
    add_out(p, out, help="the result image; its JSON sidecar is OUT with .json")
    add_logging(p, 10)
    add_snapshots(p)
    deprecated_alias(p, "--print-every", "--log-every")
    deprecated_alias(p, "--save-every", "--snapshot-every")
    add_memory(p)
    add_device(p)
    add_seed(p)


def weight_facts(args):
    """{"weights", "depth", "last"} of the VGG a run will use, known before any network is built: --depth
    for random weights, VGG-19 for the bundled one, and for a file what it holds (it is read to find out,
    so a bad file is refused here, before any image is loaded)."""
    from ..models.vgg_weights import BUNDLED, RANDOM, read_source, resolve
    source = resolve(args.vgg)
    if source in (RANDOM, BUNDLED):
        return {"weights": source, "depth": args.depth if source == RANDOM else 19, "last": None}
    depth, _, last, _ = read_source(source, args.depth)
    return {"weights": source, "depth": depth, "last": last}


def check_layer_names(facts, checks):
    """Refuse, before any work, names of ``checks`` ((layers, flag) pairs) the weights of ``facts`` lack:
    unknown to their VGG, or deeper than they go."""
    for names, flag in checks:
        check_layers(facts, names, flag)


def layers_or_defaults(facts, given, defaults, flag, announce):
    """The layers of a run: ``given`` (a --flag text) as they are, or ``defaults`` cut to what the weights
    reach (``fit_defaults``); a cut is added to ``announce`` (a list of "flag: layers" notes)."""
    if given:
        return layer_names(given)
    layers, changed = fit_defaults(facts, defaults)
    if changed:
        announce.append(f"{flag} {','.join(layers)}")
    return layers


def say_defaults(facts, announce):
    """One stderr line when default layers were cut to the weights' depth."""
    if announce:
        print(f"minigen: the weights {facts['weights']} end at {facts['last']}, so the defaults use the deepest "
              f"layers they have: {'; '.join(announce)}", file=sys.stderr)


def big_enough(size, layers, what):
    """Refuse an (H, W) ``size`` smaller than the deepest of ``layers`` needs; ``what`` names the flag."""
    need = min_side(layers)
    if min(size) < need:
        raise MinigenError(f"{what}: a {size[1]}x{size[0]} image is too small for {deepest(layers)}, which needs at "
                           f"least {need} pixels per side")


def check_memory(depth, layers, sizes, max_memory):
    """The one memory guard, with the VGG activation estimate of the largest of ``sizes`` ((H, W) pairs)."""
    h, w = max(sizes, key=lambda s: s[0] * s[1])
    memory.check(f"optimising a {w}x{h} image through VGG-{depth} up to {deepest(layers)}",
                 vgg_memory(depth, layers, h, w), max_memory, hint="use a smaller --size (or raise --max-memory)")


def open_vgg(args, facts, checks, sizes):
    """(vgg, info) from --vgg/--depth/--pool/--device/--seed, after the checks that need the weights' facts
    (``weight_facts``): the layers of ``checks`` must be ones the weights reach, and the memory estimate for
    the largest of ``sizes`` must fit --max-memory."""
    from ..models.vgg import load_vgg
    check_layer_names(facts, checks)
    check_memory(facts["depth"], [name for names, _ in checks for name in names], sizes, args.max_memory)
    return load_vgg(args.vgg, depth=args.depth, pooling=args.pool, device=args.device, seed=args.seed)
