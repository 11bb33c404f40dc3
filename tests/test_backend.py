"""backend's CPU helpers: in_threads, elementwise, contiguous, keep_freed_memory."""
import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

from minigen import backend


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
def test_in_threads_covers_the_range_once(n, threads):
    seen, pieces = np.zeros(n, int), []

    def mark(lo, hi):
        assert 0 <= lo < hi <= n
        seen[lo:hi] += 1
        pieces.append(threading.current_thread().name)
    backend.in_threads(mark, n, seen)
    assert (seen == 1).all()
    assert len(pieces) == min(threads, n)  # one piece per thread
    assert pieces.count(threading.current_thread().name) == 1  # the caller runs one of them


def test_in_threads_keeps_small_passes_whole(monkeypatch):
    monkeypatch.setenv("MINIGEN_NUM_THREADS", "4")
    calls = []
    out = np.zeros(backend.PARALLEL_MIN_ELEMENTS * 2 - 1)
    backend.in_threads(lambda lo, hi: calls.append((lo, hi)), 8, out)
    assert calls == [(0, 8)]  # under two pieces' worth of work: no hand-off


def test_in_threads_raises_a_piece_error_after_all_pieces_finish(threads):
    done = []

    def piece(lo, hi):
        done.append(lo)
        if lo == 0:
            raise ValueError("piece 0 failed")
    with pytest.raises(ValueError, match="piece 0 failed"):
        backend.in_threads(piece, 6, np.zeros(6))
    assert len(done) == min(threads, 6)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_elementwise_matches_one_call(layout, threads, rng):
    a, b = rng.standard_normal((2, 5, 7, 3))
    if layout == "transposed":
        a, b = a.T, b.T
    out = backend.elementwise(lambda x, y, out: np.multiply(x, y > 0, out=out), a, b)
    np.testing.assert_array_equal(out, a * (b > 0))
    assert out.shape == a.shape and out.dtype == a.dtype


def test_contiguous_copies(threads, rng):
    a = rng.standard_normal((6, 4, 5)).transpose(2, 0, 1)[::-1]
    out = backend.contiguous(a)
    assert out.flags.c_contiguous and not np.shares_memory(out, a)
    np.testing.assert_array_equal(out, a)


def test_thread_count_follows_the_environment(monkeypatch):
    monkeypatch.setenv("MINIGEN_NUM_THREADS", "5")
    assert backend.cpu_threads() == 5
    monkeypatch.delenv("MINIGEN_NUM_THREADS")
    assert backend.cpu_threads() >= 1


# A child process, having called keep_freed_memory or not, allocates 64 MiB and reports how
# many bytes of it glibc mapped as a block of its own (mallinfo2's hblkhd) and whether the
# heap still holds 64 MiB once the array is freed (arena).
_MMAPPED = """
import ctypes, numpy as np
from minigen import backend
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
applied = backend.keep_freed_memory()
before = mallinfo2().hblkhd
a = np.ones(1 << 24, np.float32)
mmapped = mallinfo2().hblkhd - before
del a
print(applied, mmapped, mallinfo2().arena >= 1 << 26)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
@pytest.mark.parametrize("keep", ["1", "0"])
def test_keep_freed_memory_serves_big_blocks_from_the_heap(keep):
    env = dict(os.environ, MINIGEN_KEEP_MEMORY=keep)
    out = subprocess.run([sys.executable, "-c", _MMAPPED], env=env, capture_output=True, text=True, check=True)
    applied, mmapped, kept = out.stdout.split()
    assert applied == ("True" if keep == "1" else "False")
    if keep == "1":
        assert (int(mmapped), kept) == (0, "True")  # from the heap, and still there after the free
    else:
        assert (int(mmapped) >= 1 << 26, kept) == (True, "False")  # glibc's default: a mapping of its own

