"""The argument parser of every command: its own errors are one line too.

argparse prints a usage block and the error after it (often 14 lines); here an
error is one line on stderr, ``minigen <command>: error: <message> (see
`minigen <command> --help`)``, and the exit status is 2. Sub-parsers are made
with the same class, so every command behaves alike.
"""
import argparse
import difflib


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line naming the flag."""

    def error(self, message):
        message = " ".join(str(message).split())
        if message.startswith("argument "):  # "argument --seed: ..." -> "--seed: ..."
            message = message[len("argument "):]
        if message.startswith("<command>: "):
            message = message[len("<command>: "):]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("parser_class", Parser)
        return super().add_subparsers(**kwargs)

    def parse_args(self, args=None, namespace=None):
        # Arguments that no parser took are reported by the command's own parser
        # (argparse reports them at the top level, as `minigen: error: ...`).
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            self.command_parser(namespace).error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace

    def _check_value(self, action, value):
        if isinstance(action, argparse._SubParsersAction) and value not in action.choices:
            close = difflib.get_close_matches(value, action.choices, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise argparse.ArgumentError(action, f"unknown command {value!r}; {hint}the commands are "
                                                 f"{', '.join(action.choices)}")
        super()._check_value(action, value)

    def command_parser(self, namespace):
        """The sub-parser of the command in ``namespace`` (this parser when there is none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(namespace, action.dest, None) or "")
                if chosen is not None:
                    return chosen.command_parser(namespace) if isinstance(chosen, Parser) else chosen
        return self

