"""``minigen <command>``: the command-line interface, the only place that parses arguments.

The command table COMMAND_MODULES names one module per family of commands.
Each offers ``register(subparsers)`` (adds its commands; each command sets
``run=cmd_...`` with ``set_defaults``) and, optionally, ``demo_section(gallery,
device, seed, quick)`` with its name in ``DEMO_SECTION``: the same table
feeds ``minigen demo``.

Pieces shared by the families: ``parser.Parser`` (one-line usage errors),
``options`` (option groups and validators), ``files`` (output checks before
any work), ``failures`` (the error policy: one line, never a traceback; set
MINIGEN_DEBUG=1 to see the traceback of an unexpected failure).
"""
import importlib
import sys

from .. import __version__
from . import failures
from .parser import Parser

# One module per family of commands, in the order of `minigen --help` and of the demo.
COMMAND_MODULES = (
    "minigen.cli.gradcheck",
    "minigen.cli.demo",
    "minigen.cli.style",
    "minigen.cli.feedforward",
    "minigen.cli.sample",
    "minigen.cli.sr",
    "minigen.cli.dip",
    "minigen.cli.evaluate",
    "minigen.cli.autoencoder",
    "minigen.cli.gan",
)


def command_modules():
    """The imported modules of the command table."""
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def demo_sections():
    """Section name -> demo_section function, for every table module that has one, in table order."""
    sections = {}
    for mod in command_modules():
        if hasattr(mod, "demo_section"):
            sections[getattr(mod, "DEMO_SECTION", mod.__name__.rpartition(".")[2])] = mod.demo_section
    return sections


def build_parser():
    parser = Parser(prog="minigen", description="Generative ConvNets from scratch.")
    parser.add_argument("--version", action="version", version=f"minigen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", parser_class=Parser)
    for mod in command_modules():
        mod.register(sub)
    return parser


def _run(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .. import backend
    backend.keep_freed_memory()  # this process is ours: reuse the big activations' pages
    return args.run(args)


def _status(code):
    """The exit status of a SystemExit code (argparse's --help, --version and usage errors)."""
    if code is None or isinstance(code, int):
        return code or 0
    failures.say(code)
    return 1


def main(argv=None):
    """Run one command; returns its exit status. Every failure is one line on stderr (see failures)."""
    real_stdout = sys.stdout
    guard = sys.stdout = failures.GuardedStdout(real_stdout) if real_stdout is not None else None
    try:
        try:
            status = _run(argv)
        except SystemExit as e:
            status = _status(e.code)
        if guard is not None:
            guard.flush()  # a failing stdout (closed pipe, full disk) is reported here, not at exit
            if guard.failure is not None:  # one that a caller swallowed
                raise guard.failure
    except (Exception, KeyboardInterrupt) as e:
        status = failures.handle(e)
    finally:
        sys.stdout = real_stdout
    if failures.stdout_failing():  # leave nothing for the interpreter's final flush to trip on
        failures.detach_stdout()
    return status


if __name__ == "__main__":
    sys.exit(main())
