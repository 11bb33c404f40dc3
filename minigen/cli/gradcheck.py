"""``minigen gradcheck``: the finite-difference gradient checks as a table."""
import argparse
import time

from ..errors import MinigenError
from .options import add_seed

# The help's examples; a test checks that they name existing cases.
EXAMPLE_OP, EXAMPLE_CASE = "conv2d", "conv2d/depthwise"


def register(subparsers):
    p = subparsers.add_parser(
        "gradcheck", help="check every op's gradient against finite differences",
        description="Run the float64 finite-difference checks and print a table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               f"  minigen gradcheck {EXAMPLE_OP:<20} every case of one op\n"
               f"  minigen gradcheck {EXAMPLE_CASE:<20} one case\n"
               f"  minigen gradcheck {'--list':<20} the case names")
    p.add_argument("name", nargs="?",
                   help=f"an op (e.g. {EXAMPLE_OP}) or one case (e.g. {EXAMPLE_CASE}); all if omitted")
    p.add_argument("--list", action="store_true", help="list the case names and exit")
    add_seed(p, help="seed of the random inputs")
    p.set_defaults(run=cmd_gradcheck)


def cmd_gradcheck(args):
    from .. import gradcases
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
