"""The output checks run before any work: no user's file is lost, no run fails at its end."""
import os

import pytest

from minigen.cli import files
from minigen.cli.files import check_output, clean_stale_temporaries, output_folder
from minigen.errors import MinigenError
from minigen.io import atomic_write


def refused(*args, **kw):
    with pytest.raises(MinigenError) as e:
        check_output(*args, **kw)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_fresh_outputs_pass(tmp_path):
    assert check_output(tmp_path / "a.png") == str(tmp_path / "a.png")
    assert check_output(tmp_path / "new" / "deeper", kind="folder")
    assert check_output(tmp_path / "m.npz", kind="checkpoint")
    assert check_output(tmp_path / "m.safetensors", kind="checkpoint", inputs=[tmp_path / "in.png", None])


def test_an_output_equal_to_an_input_is_refused(tmp_path):
    src = tmp_path / "photo.png"
    src.write_bytes(b"keep")
    assert "is also an input" in refused(src, inputs=[tmp_path / "style.png", src], flag="--out")
    assert refused(str(tmp_path / "sub" / ".." / "photo.png"), inputs=[src]).startswith("--out ")
    os.symlink(src, tmp_path / "link.png")
    assert "is also an input" in refused(tmp_path / "link.png", inputs=[src])
    assert "is also an input" in refused(tmp_path / "x.png", inputs=[[tmp_path / "x.png"]])  # neither exists


def test_input_folders(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"keep")
    assert "is also an input" in refused(folder, inputs=[folder], kind="folder")
    assert "lies in the input folder" in refused(folder / "a.png", inputs=[folder])
    assert check_output(folder / "new.png", inputs=[folder])  # a new file beside the inputs loses nothing
    # a folder output that holds an input file: the result named after it would replace it
    assert "holds the input" in refused(folder, inputs=[folder / "a.png"], kind="folder")
    assert check_output(tmp_path / "out", inputs=[folder / "a.png"], kind="folder")


def test_file_versus_folder(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    (tmp_path / "d").mkdir()
    assert "is a folder; give a file name" in refused(tmp_path / "d")
    (tmp_path / "d.npz").mkdir()
    assert "is a folder; give a file name" in refused(tmp_path / "d.npz", kind="checkpoint", force=True)
    assert "is a file, not a folder" in refused(tmp_path / "f", kind="folder")
    assert "is a file, not a folder" in refused(tmp_path / "f" / "sub", kind="folder")
    assert "ends in a slash" in refused(str(tmp_path / "x") + "/")
    assert "does not exist" in refused(tmp_path / "missing" / "x.png")
    assert "is not a folder" in refused(tmp_path / "f" / "x.png")
    assert "expected a path" in refused("")


def test_extensions(tmp_path):
    assert refused(tmp_path / "model.png", kind="checkpoint") == \
        f"--out {tmp_path / 'model.png'}: a checkpoint is written as .npz or .safetensors"
    assert check_output(tmp_path / "M.NPZ", kind="checkpoint")
    assert "expected a name ending in .png or .jpg" in refused(tmp_path / "x.txt", extensions=(".png", ".jpg"))
    assert check_output(tmp_path / "x.JPG", extensions=(".png", ".jpg"))
    assert "ending in .png" in refused(tmp_path / "x", extensions=".png", flag="--save")


def test_a_name_too_long_for_the_file_system(tmp_path):
    limit = files._name_max(str(tmp_path))
    message = refused(tmp_path / ("a" * (limit + 1) + ".png"))
    assert "is too long for the file system" in message and f"at most {limit}" in message
    assert "too long" in refused(tmp_path / ("d" * (limit + 1)) / "x.png")
    assert check_output(tmp_path / ("a" * (limit - 4) + ".png"))


def test_unwritable_folders(tmp_path, monkeypatch):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "old.png").write_bytes(b"")
    real = os.access

    def access(path, mode):  # works as root too, where the permission bits do not stop writes
        return False if os.fspath(path).startswith(str(tmp_path / "ro")) and mode & os.W_OK else real(path, mode)

    monkeypatch.setattr(os, "access", access)
    assert "the folder" in refused(tmp_path / "ro" / "x.png") and "is not writable" in refused(tmp_path / "ro" / "x.png")
    assert "is not writable" in refused(tmp_path / "ro" / "new" / "deeper", kind="folder")
    assert "is not writable" in refused(tmp_path / "ro", kind="folder")
    assert check_output(tmp_path / "rw" / "new", kind="folder")


def test_a_read_only_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "old.png").write_bytes(b"")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if os.fspath(p).endswith("old.png") else real(p, m))
    assert "is read-only" in refused(tmp_path / "old.png")


def test_checkpoints_are_replaced_only_with_force(tmp_path):
    ckpt = tmp_path / "m.npz"
    ckpt.write_bytes(b"run")
    assert refused(ckpt, kind="checkpoint") == f"--out {ckpt} exists; continue it with --resume or replace it with --force"
    assert check_output(ckpt, kind="checkpoint", resume=True)
    assert check_output(ckpt, kind="checkpoint", force=True)
    assert "give one of them" in refused(ckpt, kind="checkpoint", resume=True, force=True)
    assert "--resume: no checkpoint at" in refused(tmp_path / "new.npz", kind="checkpoint", resume=True)
    assert check_output(tmp_path / "x.png")  # plain outputs are replaced as before
    with pytest.raises(ValueError):
        check_output(ckpt, kind="image")


def test_output_folder_removes_what_a_failed_run_created(tmp_path):
    with output_folder(tmp_path / "ok" / "deep") as out:
        assert os.path.isdir(out)
    assert os.path.isdir(tmp_path / "ok" / "deep")

    with pytest.raises(KeyboardInterrupt):
        with output_folder(tmp_path / "a" / "b"):
            raise KeyboardInterrupt
    assert not (tmp_path / "a").exists()

    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        with output_folder(tmp_path / "kept" / "new"):
            raise RuntimeError
    assert os.listdir(tmp_path / "kept") == []  # the folder that existed stays

    with pytest.raises(RuntimeError):
        with output_folder(tmp_path / "p" / "q") as out:
            open(os.path.join(out, "partial.png"), "wb").close()
            raise RuntimeError
    assert os.listdir(tmp_path / "p" / "q") == ["partial.png"]  # a folder with a result is never removed


def _dead_pid():
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, "-c", ""])
    p.wait()
    return p.pid


def test_clean_stale_temporaries(tmp_path):
    target = tmp_path / "m.npz"
    dead, alive = _dead_pid(), os.getpid()
    stale = tmp_path / f".m.npz.minigen-tmp-{dead}-abc123"
    live = tmp_path / f".m.npz.minigen-tmp-{alive}-def456"
    other = tmp_path / f".x.png.minigen-tmp-{dead}-ghi789"
    for f in (stale, live, other):
        f.write_bytes(b"partial")
    assert clean_stale_temporaries(target) == [str(stale)]
    assert live.exists() and other.exists() and not stale.exists()
    assert clean_stale_temporaries(tmp_path) == [str(other)]  # a folder: every file's leftovers
    assert live.exists()
    with atomic_write(target) as f:  # the names are the ones atomic writes use
        f.write(b"x")
        names = os.listdir(tmp_path)
    assert any(n.startswith(".m.npz.minigen-tmp-") for n in names)
    assert clean_stale_temporaries(tmp_path / "missing" / "x.npz") == []
