"""The one memory guard: estimate what a job needs, and refuse it before it starts if that is more
than allowed — ``--max-memory GIB`` where the user gives it, otherwise the memory the system could
still give (MemAvailable on Linux). Estimates are the callers' (a model's activations, VGG's feature
maps, an image's pixels); this module only compares and words the refusal."""
import math
import os

from ..errors import MinigenError

GIB = 2 ** 30


def available():
    """Bytes of memory the system could still give, or None where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def describe(nbytes):
    """A size in words: '512 bytes', '3.2 MiB', '1.5 GiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            break
        nbytes /= 1024
    return f"{nbytes:,.0f} bytes" if unit == "bytes" else f"{nbytes:,.1f} {unit}"


def limit(max_memory=None):
    """The limit in bytes: ``max_memory`` GiB when given, else the available memory (None: unknown)."""
    if max_memory is not None:
        if not (math.isfinite(max_memory) and max_memory > 0):
            raise MinigenError(f"--max-memory: expected a positive number of GiB, not {max_memory}")
        return int(max_memory * GIB)
    return available()


def check(what, nbytes, max_memory=None, hint=""):
    """Refuse ``what`` (e.g. "training at --crop 256 --batch 8") when its estimated ``nbytes`` exceed
    the limit; ``hint`` says what to change. Returns ``nbytes``."""
    cap = limit(max_memory)
    if cap is not None and nbytes > cap:
        where = f"the --max-memory limit is {max_memory:g} GiB" if max_memory is not None else \
            f"only {describe(cap)} is available (--max-memory GIB sets the limit)"
        raise MinigenError(f"{what} needs about {describe(nbytes)} of memory; {where}" + (f"; {hint}" if hint else ""))
    return nbytes
