"""``minigen demo``: run every method briefly on embedded data and write a gallery.

Its sections come from the command table (``minigen.cli.COMMAND_MODULES``):
every module there with a ``demo_section(gallery, device, seed, quick)``
adds one, named by the module's ``DEMO_SECTION`` (default: the last part of
its name), in the table's order. This module adds the first: the engine.
"""
from .files import check_output, output_folder
from .options import add_device, add_out, add_seed, check_device

DEMO_SECTION = "engine"


def demo_section(gallery, device, seed, quick):
    """A small conv denoiser trained with the bare engine."""
    from ..recipes.demo import engine_section
    engine_section(gallery, device, seed, quick)


def register(subparsers):
    from . import demo_sections
    names = list(demo_sections())
    p = subparsers.add_parser("demo", help="run every method briefly and write a gallery",
                              description="Run every method briefly on embedded data; write OUT/index.html. "
                                          f"Sections: {', '.join(names)}.")
    p.add_argument("--only", nargs="+", metavar="SECTION", choices=names,
                   help=f"run only these sections, of: {', '.join(names)}")
    p.add_argument("--quick", action="store_true", help="fewer steps (a smoke test)")
    add_out(p, "demo-out", help="output folder")
    add_device(p)
    add_seed(p)
    p.set_defaults(run=cmd_demo)


def cmd_demo(args):
    from ..report.gallery import Gallery
    from . import demo_sections
    check_device(args.device)
    sections = demo_sections()
    out = check_output(args.out, kind="folder")
    with output_folder(out):
        gallery = Gallery(out)
        for name in args.only or sections:
            sections[name](gallery, args.device, args.seed, args.quick)
        path = gallery.write()
    print(f"wrote {path}")
    return 0
