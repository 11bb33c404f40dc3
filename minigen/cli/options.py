"""Options every command spells the same way, and validators for numeric flags.

Option groups (each adds its flags to a titled argument group of the parser,
shared when several are added):

    add_device(p)            --device cpu|cuda
    add_seed(p)              --seed N (N >= 0)
    add_out(p, default, help)
    add_logging(p, default)  --log-every N (N >= 1)
    add_checkpointing(p, save_every_default, where)   --save-every N (0: only at the end), --resume, --force
    add_snapshots(p)         --snapshot-every N (images; 0: only the result)
    add_memory(p)            --max-memory GIB (default: the memory available)
    add_vgg(p)               --vgg PATH|random|bundled

Validators are argparse ``type=`` callables; a bad value is refused at the door
with one line naming the flag and the allowed range, e.g. ``--seed: expected
a non-negative integer, not -1``.
"""
import argparse
import math
import sys


def _shown(text):
    return text if str(text).strip() else repr(text)


def _num(v):
    return str(int(v)) if float(v).is_integer() and math.isfinite(v) else f"{v:g}"


def int_range(lo, hi=None):
    """An argparse type: an integer with lo <= n (<= hi when given); lo may be None."""
    if lo == 0 and hi is None:
        what = "a non-negative integer"
    elif lo == 1 and hi is None:
        what = "a positive integer"
    elif hi is None:
        what = f"an integer >= {lo}"
    elif lo is None:
        what = f"an integer <= {hi}"
    else:
        what = f"an integer from {lo} to {hi}"

    def parse(text):
        try:
            n = int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, not {_shown(text)}") from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"expected {what}, not {n}")
        return n

    parse.__name__ = parse.__qualname__ = "integer"
    parse.describe = what
    return parse


def float_range(lo=None, hi=None, lo_open=False, hi_open=False):
    """An argparse type: a number within [lo, hi] (either end open, either end None: unbounded).

    NaN is always refused; an infinity only where the range names it
    (``hi=math.inf`` with ``hi_open=False``; likewise ``lo=-math.inf``).
    """
    if lo == 0 and hi is None:
        what = "a positive number" if lo_open else "a non-negative number"
    elif lo is not None and hi is not None and not lo_open and not hi_open:
        what = f"a number from {_num(lo)} to {_num(hi)}"
    else:
        parts = ([f"{'>' if lo_open else '>='} {_num(lo)}"] if lo is not None else []) + \
                ([f"{'<' if hi_open else '<='} {_num(hi)}"] if hi is not None else [])
        what = "a number " + " and ".join(parts) if parts else "a finite number"

    def parse(text):
        try:
            x = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, not {_shown(text)}") from None
        inf_allowed = (x == math.inf and hi == math.inf and not hi_open) or \
                      (x == -math.inf and lo == -math.inf and not lo_open)
        bad = math.isnan(x) or (math.isinf(x) and not inf_allowed)
        bad = bad or (lo is not None and (x < lo or (lo_open and x == lo)))
        bad = bad or (hi is not None and (x > hi or (hi_open and x == hi)))
        if bad:
            raise argparse.ArgumentTypeError(f"expected {what}, not {_shown(text)}")
        return x

    parse.__name__ = parse.__qualname__ = "number"
    parse.describe = what
    return parse


positive_int = int_range(1)
nonneg_int = int_range(0)
positive_float = float_range(0, lo_open=True)
nonneg_float = float_range(0)
probability = float_range(0, 1)


def _group(p, title):
    """The argument group ``title`` of parser ``p`` (made once); a group is used as it is."""
    if not isinstance(p, argparse.ArgumentParser):
        return p
    for g in p._action_groups:
        if g.title == title:
            return g
    return p.add_argument_group(title)


RUN, OUTPUT, FEATURES = "run options", "output and progress", "feature network"


def add_device(p, default="cpu"):
    g = _group(p, RUN)
    g.add_argument("--device", default=default, choices=["cpu", "cuda"],
                   help=f"where to compute: cpu, or cuda for an NVIDIA GPU through CuPy (default: {default})")
    return g


def add_seed(p, default=0, help="seed of every random choice of the run"):
    g = _group(p, RUN)
    g.add_argument("--seed", type=nonneg_int, default=default, metavar="N",
                   help=f"{help}: an integer >= 0 (default: {default})")
    return g


def add_memory(p, default=None):
    g = _group(p, RUN)
    where = "the memory available on this machine" if default is None else f"{_num(default)}"
    g.add_argument("--max-memory", type=positive_float, default=default, metavar="GIB",
                   help=f"refuse, before it starts, a run that would need more than GIB gibibytes "
                        f"(default: {where})")
    return g


def add_out(p, default, help="output path", metavar="PATH"):
    g = _group(p, OUTPUT)
    g.add_argument("--out", default=default, metavar=metavar, help=f"{help} (default: {default})")
    return g


def add_logging(p, default):
    g = _group(p, OUTPUT)
    g.add_argument("--log-every", type=positive_int, default=default, metavar="N",
                   help=f"print a progress line every N steps (default: {default})")
    return g


def add_checkpointing(p, save_every_default, where="--out"):
    """``where``: the flag that names the checkpoint."""
    g = _group(p, OUTPUT)
    g.add_argument("--save-every", type=nonneg_int, default=save_every_default, metavar="N",
                   help=f"save the checkpoint every N steps; 0: only at the end (default: {save_every_default})")
    g.add_argument("--resume", action="store_true",
                   help=f"continue the run saved in the checkpoint at {where} (its settings come from it)")
    g.add_argument("--force", action="store_true",
                   help=f"replace an existing checkpoint at {where} with a new run")
    return g


def add_snapshots(p, default=0):
    g = _group(p, OUTPUT)
    g.add_argument("--snapshot-every", type=nonneg_int, default=default, metavar="N",
                   help=f"save the current image every N steps; 0: only the result (default: {default})")
    return g


def add_vgg(p):
    g = _group(p, FEATURES)
    g.add_argument("--vgg", metavar="PATH", default=None,
                   help="VGG weights: 'random' (a seeded random-weight VGG), 'bundled' (the ImageNet VGG-19 "
                        "inside minigen), torchvision's vgg16/vgg19 .pth, AdaIN's vgg_normalised .pth, a Keras "
                        "VGG as a TF.js model (folder or model.json), or minigen's .npz/.safetensors "
                        "(default: $MINIGEN_VGG, else bundled)")
    return g


def deprecated_alias(p, old, new):
    """Accept the old spelling ``old`` of the flag ``new`` (already added to ``p``).

    The old flag is hidden from --help, takes the same values, and prints one
    line ``minigen: note: OLD is now NEW`` on stderr when used.
    """
    target = p._option_string_actions.get(new)
    if target is None:
        raise ValueError(f"add {new} before its old spelling {old}")

    class Alias(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print(f"minigen: note: {old} is now {new}", file=sys.stderr)
            target(parser, namespace, values, new)

    p.add_argument(old, action=Alias, dest=target.dest, nargs=target.nargs, type=target.type,
                   choices=target.choices, metavar=target.metavar, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)


def check_device(device):
    """The device name, or a one-line MinigenError when it cannot be used here (run before the work)."""
    from .. import backend
    from ..errors import MinigenError
    try:
        return backend.check_device(device)
    except (ValueError, RuntimeError) as e:
        raise MinigenError(str(e)) from None
