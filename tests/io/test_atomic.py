"""Atomic writes: the old file survives any failure, and killed writes leave nothing that lasts."""
import os
import subprocess
import sys

import pytest

from minigen.io import atomic
from minigen.io.atomic import atomic_write


def test_atomic_write_interrupted_midway(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old contents")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as f:
            f.write(b"half of the new")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["out.bin"]

    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.bin"]
    if os.name == "posix":  # the temporary file's 0600 is not kept
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~atomic._UMASK


def test_the_temporary_file_is_named_after_the_target_and_the_writer(tmp_path):
    path = tmp_path / "ckpt.npz"
    with atomic_write(path) as f:
        (tmp,) = os.listdir(tmp_path)
        f.write(b"x")
    assert tmp.startswith(f".ckpt.npz{atomic.TEMP_MARK}{os.getpid()}-")
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.skipif(os.name != "posix", reason="liveness of a process id is probed on POSIX only")
def test_leftovers_of_killed_writes_are_removed_by_the_next_write(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    path = tmp_path / "ckpt.npz"
    prefix = f".ckpt.npz{atomic.TEMP_MARK}"
    dead = tmp_path / f"{prefix}{gone.pid}-abcd1234"
    alive = tmp_path / f"{prefix}{os.getpid()}-abcd1234"  # a write of a running process: kept
    other = tmp_path / f".other.npz{atomic.TEMP_MARK}{gone.pid}-abcd1234"  # another target's: kept
    for p in (dead, alive, other):
        p.write_bytes(b"half")
    assert atomic.leftovers(path) == [str(dead)]
    with atomic_write(path) as f:
        f.write(b"new")
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.npz", alive.name, other.name])


def test_a_long_target_name_leaves_room_for_the_mark(tmp_path):
    path = tmp_path / ("x" * 250 + ".npz")
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == [path.name]
