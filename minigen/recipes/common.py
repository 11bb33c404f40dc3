"""Pieces every command shares: its standard options, the device check, JSON sidecars."""
import json

from .. import backend
from ..errors import MinigenError
from ..io import write_json  # noqa: F401  (moved to io; this module goes when the families have moved)


def add_run_options(parser, out=None):
    """--device, --seed and (when ``out`` is given, as its default) --out."""
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to compute (default: cpu)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    if out is not None:
        parser.add_argument("--out", default=out, help=f"output path (default: {out})")


def check_device(device):
    """The device name, or a one-line MinigenError when it cannot be used here."""
    try:
        return backend.check_device(device)
    except (ValueError, RuntimeError) as e:
        raise MinigenError(str(e)) from None


