"""The error policy of every command: what reaches the user when a run fails.

Each failure becomes one line on stderr and an exit status; no exception's
class name and no traceback reach the user (set MINIGEN_DEBUG=1 to see the
traceback of anything but a MinigenError, an interrupt or a closed pipe):

- MinigenError: ``minigen: error: <message>``, its ``exit_code`` (1; 130 for a run that a signal
  stopped after saving its state, ``training.loop.Interrupted``);
- KeyboardInterrupt: ``minigen: interrupted``, status 130;
- a closed pipe (``minigen gradcheck --list | head -1``): nothing, status 141
  (128 + SIGPIPE, what a program killed by the closed pipe reports); stdout is
  pointed at the null device so that the interpreter's final flush is quiet;
- MemoryError: a sentence with the size that failed and what to try;
- OSError (permission, existing file, folder, full disk, name too long,
  read-only file system, missing file, ...): a sentence naming the file and
  what is wrong; a failing stdout (``> /dev/full``) is named as such;
- anything else: ``unexpected failure: <message>``, status 1.
"""
import errno
import os
import sys

from ..errors import MinigenError

INTERRUPTED = 130
BROKEN_PIPE = 141

# What is wrong, for the errno values a user meets; the others use the system's text.
_OS_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EEXIST: "it already exists",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENOSPC: "no space left on the device (the disk is full)",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "no such file or folder",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EMFILE: "too many open files",
    errno.EIO: "input/output error",
    errno.EFBIG: "the file is too large",
}


class StdoutFailed(OSError):
    """Writing to standard output failed (e.g. ``> /dev/full``)."""


class GuardedStdout:
    """sys.stdout while a command runs: a failed write or flush raises StdoutFailed.

    (An OSError from a write to stdout names no file, so without this it could
    not be told apart from a failing write elsewhere.) A closed pipe stays a
    BrokenPipeError. ``failure`` keeps the first failure, for callers that
    swallow it (argparse's --help does). Everything else is the wrapped stream's.
    """

    def __init__(self, stream):
        self._stream, self.failure = stream, None

    def _guard(self, method, *args):
        try:
            return method(*args)
        except BrokenPipeError as e:
            self.failure = self.failure or e
            raise
        except OSError as e:
            self.failure = self.failure or StdoutFailed(e.errno, e.strerror)
            raise self.failure from e

    def write(self, text):
        return self._guard(self._stream.write, text)

    def writelines(self, lines):
        return self._guard(self._stream.writelines, lines)

    def flush(self):
        return self._guard(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def debugging():
    return bool(os.environ.get("MINIGEN_DEBUG"))


def say(message):
    """Print ``minigen: error: message`` on stderr (quietly ignore a closed stderr)."""
    try:
        print(f"minigen: error: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def detach_stdout():
    """Point stdout at the null device: what is still buffered goes nowhere, quietly."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, sys.stdout.fileno())
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (a test's capture)
        pass


def stdout_failing():
    """True when stdout cannot take what is buffered (a closed pipe, a full disk)."""
    try:
        sys.stdout.flush()
        return False
    except (OSError, ValueError):
        return True


def _name(e):
    name = e.filename2 if e.filename2 is not None else e.filename
    if isinstance(name, int):
        return f"file descriptor {name}"
    return os.fsdecode(name) if name is not None else None


def describe_os_error(e):
    """One sentence for an OSError: the file it names and what is wrong."""
    reason = _OS_REASONS.get(e.errno) or (e.strerror or str(e) or "an input/output error").lower()
    name = _name(e)
    if isinstance(e, StdoutFailed):
        return f"cannot write to standard output: {reason}"
    if name is not None:
        return f"{name}: {reason}"
    return f"a file could not be read or written: {reason}"


def describe_memory_error(e):
    detail = str(e).strip().rstrip(".")
    detail = f" ({detail[0].lower()}{detail[1:]})" if detail else ""
    return (f"ran out of memory{detail}; try a smaller size or batch, or set --max-memory "
            "to be stopped before the run starts")


def handle(e):
    """The exit status for the exception ``e`` raised by a command, after telling the user.

    Re-raises ``e`` when MINIGEN_DEBUG is set (except for the three expected
    endings: a MinigenError, an interrupt, a closed pipe).
    """
    if isinstance(e, BrokenPipeError):
        detach_stdout()
        return BROKEN_PIPE
    if isinstance(e, StdoutFailed):  # what stdout still holds must not fail again at exit
        detach_stdout()
    if isinstance(e, KeyboardInterrupt):
        try:
            print("minigen: interrupted", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        return INTERRUPTED
    if isinstance(e, MinigenError):
        say(e)
        return e.exit_code  # 1, or 130 for a run stopped by a signal after saving its state
    if debugging():
        raise e
    if isinstance(e, MemoryError):
        say(describe_memory_error(e))
    elif isinstance(e, OSError):
        say(describe_os_error(e))
    else:
        message = " ".join(str(e).split())
        say(f"unexpected failure{': ' + message if message else ''} (set MINIGEN_DEBUG=1 for the traceback)")
    return 1
