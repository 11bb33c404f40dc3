"""Atomic writes: a file is replaced whole or not at all.

The new bytes go to a temporary file beside the target, named
``.NAME.minigen-tmp-PID-XXXXXXXX`` (PID: the writing process), are flushed and
fsynced, then renamed over the target. An error removes the temporary file; a
process killed mid-write cannot, so each write first removes the temporary
files of its target left by processes that no longer run.
"""
import contextlib
import os
import tempfile

from ..errors import MinigenError

TEMP_MARK = ".minigen-tmp-"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _prefix(path):
    # The target's name is cut so that a long (but valid) name leaves room for the mark.
    return "." + os.path.basename(path)[:128] + TEMP_MARK


def _running(pid):
    if os.name != "posix":  # no harmless liveness probe: every process counts as running
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def leftovers(path):
    """The temporary files of killed writes to ``path``: its marked names whose process is gone."""
    folder, prefix = os.path.dirname(os.path.abspath(path)), _prefix(os.fspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        pid = name[len(prefix):].partition("-")[0] if name.startswith(prefix) else ""
        if pid.isdigit() and not _running(int(pid)):
            found.append(os.path.join(folder, name))
    return found


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file object; on success it replaces ``path`` in one rename.

    The temporary file sits beside the target (a rename across file systems is
    not atomic). On any error it is removed and ``path`` is left untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    for stale in leftovers(path):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{_prefix(path)}{os.getpid()}-")
    except OSError as e:
        raise MinigenError(f"{path}: cannot write: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise MinigenError(f"{path}: cannot write: {e.strerror or e}") from e
        raise
