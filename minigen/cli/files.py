"""Never lose a user's file: the checks a command runs on its outputs before any work.

    check_output(path, inputs, kind, extensions, resume, force, flag)
        refuses, in one line naming the flag and the file: an output equal to an
        input (or a folder output that holds an input file, or a file output
        that already exists inside an input folder), a file output that is an
        existing folder (or ends in a slash), a folder output that is an
        existing file, a wrong extension, a name too long for the file system,
        a parent folder that is missing or not writable, and an existing
        checkpoint without --resume or --force;
    output_folder(path)
        creates an output folder for a run and removes what it created (when
        still empty) if the run fails;
    clean_stale_temporaries(path)
        removes the temporary files that killed atomic writes left beside path.
"""
import contextlib
import os

from ..errors import MinigenError
from ..io import atomic

KINDS = ("file", "folder", "checkpoint")
CHECKPOINT_EXTENSIONS = (".npz", ".safetensors")


def _either(exts):
    exts = list(exts)
    return exts[0] if len(exts) == 1 else ", ".join(exts[:-1]) + " or " + exts[-1]


def _nearest_existing(path):
    """The longest existing ancestor of the absolute ``path`` (the path itself if it exists)."""
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _name_max(folder):
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _same(a, b):
    """True when the paths name the same file or folder (existing or not)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _inside(path, folder):
    """True when ``path`` lies somewhere under ``folder`` (both resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([path, folder]) == folder and path != folder
    except ValueError:  # different drives
        return False


def _flatten(inputs):
    for x in inputs:
        if x is None or x == "":
            continue
        if isinstance(x, (str, bytes, os.PathLike)):
            yield os.fspath(x)
        else:
            yield from _flatten(x)


def check_output(path, inputs=(), kind="file", extensions=None, resume=False, force=False, flag="--out"):
    """Refuse an output ``path`` that would lose a user's file or fail after the work.

    ``kind``: "file", "folder" (created when missing) or "checkpoint" (a file
    that a new run replaces only with ``force``; ``resume`` continues it).
    ``inputs``: the paths the command reads (files or folders, None skipped,
    lists flattened). ``extensions``: the allowed endings (a checkpoint's
    default: .npz or .safetensors). Raises MinigenError naming ``flag``;
    returns ``path`` as a str.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if path is None or os.fspath(path) == "":
        raise MinigenError(f"{flag}: expected a path, not an empty name")
    path = os.fspath(path)
    where = f"{flag} {path}"
    full = os.path.abspath(path)

    if kind == "checkpoint" and extensions is None:
        extensions = CHECKPOINT_EXTENSIONS
    if isinstance(extensions, str):
        extensions = (extensions,)
    if kind != "folder" and (path.endswith(os.sep) or path.endswith("/")):
        raise MinigenError(f"{where}: expected a file name, not a folder (it ends in a slash)")
    if extensions and os.path.splitext(path)[1].lower() not in {e.lower() for e in extensions}:
        what = "a checkpoint is written as" if kind == "checkpoint" else "expected a name ending in"
        raise MinigenError(f"{where}: {what} {_either(extensions)}")

    existing = _nearest_existing(full)
    name_max = _name_max(existing if os.path.isdir(existing) else os.path.dirname(existing))
    for part in full.split(os.sep):
        if len(os.fsencode(part)) > name_max:
            shown = part if len(part) <= 40 else part[:37] + "..."
            raise MinigenError(f"{where}: the name {shown} is too long for the file system "
                               f"({len(os.fsencode(part))} bytes; at most {name_max})")

    if kind == "folder" and os.path.exists(full) and not os.path.isdir(full):
        raise MinigenError(f"{where}: is a file, not a folder")
    if kind != "folder" and os.path.isdir(full):
        raise MinigenError(f"{where}: is a folder; give a file name")

    for src in _flatten(inputs):
        if _same(path, src):
            raise MinigenError(f"{where}: is also an input; choose another output so the input is not lost")
        if kind == "folder" and not os.path.isdir(src) and _same(os.path.dirname(os.path.abspath(src)), path):
            raise MinigenError(f"{where}: holds the input {src}, which the results could replace; "
                               "choose another folder")
        if kind != "folder" and os.path.isdir(src) and os.path.exists(full) and _inside(path, src):
            raise MinigenError(f"{where}: lies in the input folder {src}; choose another output "
                               "so no input is lost")

    # A file goes into an existing folder; a new folder is made in its nearest existing ancestor.
    if kind != "folder":
        anchor = os.path.dirname(full)
        if not os.path.isdir(anchor):
            missing = "is not a folder" if os.path.lexists(anchor) else "does not exist"
            raise MinigenError(f"{where}: the folder {os.path.dirname(path)} {missing}")
    else:
        anchor = _nearest_existing(full)
        if not os.path.isdir(anchor):
            raise MinigenError(f"{where}: {anchor} is a file, not a folder")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise MinigenError(f"{where}: the folder {anchor} is not writable")
    if kind != "folder" and os.path.exists(full) and not os.access(full, os.W_OK):
        raise MinigenError(f"{where}: the file exists and is read-only")

    if kind == "checkpoint":
        exists = os.path.exists(full)
        if resume and force:
            raise MinigenError("--resume continues a checkpoint and --force replaces it; give one of them")
        if exists and not (resume or force):
            raise MinigenError(f"{where} exists; continue it with --resume or replace it with --force")
        if resume and not exists:
            raise MinigenError(f"--resume: no checkpoint at {path} to continue")
    return path


@contextlib.contextmanager
def output_folder(path):
    """Create the folder ``path`` (and missing parents) for a run; yield it as a str.

    If the run fails (any exception, an interrupt included), the folders this
    call created are removed again when they are still empty, so a failed run
    leaves no empty output folder behind. Folders that existed are never touched.
    """
    path = os.fspath(path)
    created = []
    here = os.path.abspath(path)
    while not os.path.lexists(here):
        created.append(here)
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    os.makedirs(path, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in created:  # deepest first
            try:
                os.rmdir(folder)  # only an empty folder goes
            except OSError:
                break
        raise


def clean_stale_temporaries(path):
    """Remove the temporary files that killed atomic writes left beside ``path``; return them.

    An atomic write (minigen.io.atomic) writes ``.NAME.minigen-tmp-PID-XXXX``
    beside NAME and renames it over NAME. A killed process cannot remove its
    temporary file; this removes those whose writing process no longer runs
    (a running writer's file is left alone, so two runs side by side are safe).
    When ``path`` is a folder, the leftovers of every file in it are removed.
    """
    path = os.fspath(path)
    targets = [path]
    if os.path.isdir(path):
        with contextlib.suppress(OSError):
            targets = {os.path.join(path, name[1:name.index(atomic.TEMP_MARK)])
                       for name in os.listdir(path) if name.startswith(".") and atomic.TEMP_MARK in name}
    removed = []
    for target in targets:
        for stale in atomic.leftovers(target):
            with contextlib.suppress(OSError):
                os.unlink(stale)
                removed.append(stale)
    return sorted(removed)
