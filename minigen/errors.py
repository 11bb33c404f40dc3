"""User-facing errors: the CLI prints their message as one line and exits non-zero."""


class MinigenError(Exception):
    """Bad input or a failed run, explained in one line (no traceback is shown); the command exits
    with ``exit_code``."""
    exit_code = 1
