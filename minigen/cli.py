"""``minigen <command>``: the command-line interface.

Every failure reaches the user as one line on stderr and a non-zero exit
status; set MINIGEN_DEBUG=1 to see the traceback of an unexpected error.
"""
import argparse
import importlib
import os
import sys
import time

from . import __version__, backend
from .errors import MinigenError
from .recipes.common import add_run_options, check_device

# Method families whose recipe module adds its own commands with register(subparsers).
COMMAND_MODULES = ("minigen.recipes.invert", "minigen.recipes.texture", "minigen.recipes.style",
                   "minigen.recipes.feedforward", "minigen.recipes.sr", "minigen.recipes.dip")


def cmd_gradcheck(args):
    from . import gradcases
    if args.list:
        for c in gradcases.select():
            print(c.name)
        return 0
    cases = gradcases.select(args.name)
    if not cases:
        raise MinigenError(f"no gradcheck case named {args.name!r} (see `minigen gradcheck --list`)")
    rows, failed = [], 0
    start = time.perf_counter()
    for c in cases:
        report = gradcases.run(c, seed=args.seed)
        failed += not report.passed
        for r in report.inputs:
            rows.append((c.name, r.name, r.mode, str(r.checked), f"{r.max_abs:.1e}", f"{r.max_rel:.1e}",
                         "pass" if r.passed else "FAIL"))
    head = ("case", "input", "mode", "n", "max abs err", "max rel err", "result")
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    for row in [head] + rows:
        print("  ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip())
    print(f"{len(cases) - failed}/{len(cases)} cases passed in {time.perf_counter() - start:.1f}s "
          "(float64 central differences; pass: |analytic - numeric| <= 1e-6 + 1e-4 |numeric|)")
    return 1 if failed else 0


def cmd_demo(args):
    from .recipes.demo import SECTIONS, run_demo
    unknown = [s for s in args.only or [] if s not in SECTIONS]
    if unknown:
        raise MinigenError(f"unknown demo section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    check_device(args.device)
    path = run_demo(args.out, device=args.device, seed=args.seed, sections=args.only, quick=args.quick)
    print(f"wrote {path}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="minigen", description="Generative ConvNets from scratch.")
    parser.add_argument("--version", action="version", version=f"minigen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    p = sub.add_parser("gradcheck", help="check every op's gradient against finite differences",
                       description="Run the float64 finite-difference checks and print a table.")
    p.add_argument("name", nargs="?", help="an op (e.g. conv2d) or one case (e.g. conv2d/stride2); all if omitted")
    p.add_argument("--list", action="store_true", help="list the case names and exit")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    p.set_defaults(run=cmd_gradcheck)

    p = sub.add_parser("demo", help="run every method briefly and write a gallery",
                       description="Run every method briefly on embedded data; write OUT/index.html.")
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.add_argument("--only", nargs="+", metavar="SECTION", help="run only these sections")
    p.add_argument("--quick", action="store_true", help="fewer steps (a smoke test)")
    add_run_options(p)
    p.set_defaults(run=cmd_demo)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    backend.keep_freed_memory()  # this process is ours: reuse the big activations' pages
    try:
        return args.run(args)
    except MinigenError as e:
        print(f"minigen: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("minigen: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure: still one line unless debugging
        if os.environ.get("MINIGEN_DEBUG"):
            raise
        print(f"minigen: error: {type(e).__name__}: {e} (set MINIGEN_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
