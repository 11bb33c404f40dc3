"""The command line: version, gradcheck table, demo gallery, and the error policy of every command,
driven through the real `python -m minigen` where the process's own ending matters."""
import errno
import os
import re
import subprocess
import sys

import pytest

from minigen import __version__, gradcases
from minigen.cli import failures, main
from minigen.cli.gradcheck import EXAMPLE_CASE, EXAMPLE_OP
from minigen.errors import MinigenError

CLASS_NAMES = re.compile(r"Traceback|[A-Z][A-Za-z]*(Error|Exception|Interrupt):")


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "minigen", *map(str, args)], capture_output=True, text=True, **kw)


def one_line(stderr):
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert not CLASS_NAMES.search(stderr), stderr
    return stderr


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"minigen {__version__}"


def test_no_command_prints_the_help_and_exits_2():
    r = run_cli()
    assert r.returncode == 2 and "<command>" in r.stdout and "gradcheck" in r.stdout


def test_gradcheck_prints_a_table_for_one_op(capsys):
    assert main(["gradcheck", "sum"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["case", "input", "mode"]
    assert any(line.startswith("sum/all") and line.rstrip().endswith("pass") for line in out)
    assert out[-1].startswith("2/2 cases passed")


def test_gradcheck_help_examples_name_existing_cases(capsys):
    assert main(["gradcheck", "--help"]) == 0
    text = capsys.readouterr().out
    assert f"minigen gradcheck {EXAMPLE_CASE}" in text and f"minigen gradcheck {EXAMPLE_OP}" in text
    assert [c.name for c in gradcases.select(EXAMPLE_CASE)] == [EXAMPLE_CASE]
    assert len(gradcases.select(EXAMPLE_OP)) > 1


def test_gradcheck_unknown_name_is_one_line_error():
    r = run_cli("gradcheck", "no-such-op")
    assert r.returncode == 1 and "no gradcheck case named" in one_line(r.stderr)


@pytest.mark.parametrize("args, needle", [
    (("gradcheck", "--seed", "-1"), "minigen gradcheck: error: --seed: expected a non-negative integer, not -1"),
    (("gradcheck", "--seed", "x"), "--seed: expected a non-negative integer, not x"),
    (("gradcheck", "--bogus"), "minigen gradcheck: error: unrecognized arguments: --bogus"),
    (("texture",), "minigen texture: error: the following arguments are required"),
    (("train-sr", "--model", "nope"), "minigen train-sr: error: --model: invalid choice: 'nope'"),
    (("dmeo",), "minigen: error: unknown command 'dmeo'; did you mean 'demo'?"),
    (("demo", "--only", "nope"), "--only: invalid choice: 'nope' (choose from 'engine', 'style'"),
])
def test_usage_errors_are_one_line_with_status_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2 and r.stdout == ""
    line = one_line(r.stderr)
    assert needle in line and line.rstrip().endswith("--help`)"), line


def test_demo_help_lists_the_sections(capsys):
    assert main(["demo", "--help"]) == 0
    assert "engine, style, feedforward, sr, dip" in capsys.readouterr().out


def test_a_closed_pipe_ends_quietly():
    # `minigen gradcheck --list | head -0`: the reader is gone before the output is written.
    p = subprocess.Popen([sys.executable, "-m", "minigen", "gradcheck", "--list"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == failures.BROKEN_PIPE and err == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("args", [("gradcheck", "--list"), ("--help",)])
def test_a_full_disk_on_stdout_is_one_sentence(args):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "minigen", *args], stdout=full, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1
    assert one_line(r.stderr) == ("minigen: error: cannot write to standard output: "
                                  "no space left on the device (the disk is full)\n")


def _fails_with(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc, status, message", [
    (MinigenError("--size 0: expected a positive integer"), 1, "minigen: error: --size 0: expected a positive integer"),
    (KeyboardInterrupt(), 130, "minigen: interrupted"),
    (MemoryError("Unable to allocate 3.00 TiB for an array"), 1,
     "minigen: error: ran out of memory (unable to allocate 3.00 TiB for an array); try a smaller size or batch, "
     "or set --max-memory"),
    (PermissionError(errno.EACCES, "Permission denied", "/x/out.png"), 1, "minigen: error: /x/out.png: permission denied"),
    (FileExistsError(errno.EEXIST, "File exists", "out"), 1, "minigen: error: out: it already exists"),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "d"), 1, "minigen: error: d: it is a folder, not a file"),
    (OSError(errno.ENOSPC, "No space left on device", "big.npz"), 1, "minigen: error: big.npz: no space left on"),
    (OSError(errno.ENAMETOOLONG, "File name too long", "a" * 300), 1, "is too long for the file system"),
    (OSError(errno.EROFS, "Read-only file system", "/ro/x"), 1, "minigen: error: /ro/x: the file system is read-only"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "in.png"), 1,
     "minigen: error: in.png: no such file or folder"),
    (OSError(errno.EXDEV, "Invalid cross-device link", "a", None, "b"), 1, "minigen: error: b: invalid cross-device link"),
    (ValueError("expected non-negative integer"), 1,
     "minigen: error: unexpected failure: expected non-negative integer (set MINIGEN_DEBUG=1 for the traceback)"),
])
def test_error_policy(monkeypatch, capsys, exc, status, message):
    """Each failure of a command becomes one sentence on stderr, without the exception's class name."""
    monkeypatch.delenv("MINIGEN_DEBUG", raising=False)
    monkeypatch.setattr("minigen.cli.gradcheck.cmd_gradcheck", _fails_with(exc))
    monkeypatch.setattr("minigen.cli.COMMAND_MODULES", ("minigen.cli.gradcheck",))
    assert main(["gradcheck"]) == status
    err = capsys.readouterr().err
    assert message in one_line(err)


def test_debug_reraises_unexpected_failures(monkeypatch):
    monkeypatch.setenv("MINIGEN_DEBUG", "1")
    monkeypatch.setattr("minigen.cli.gradcheck.cmd_gradcheck", _fails_with(ValueError("boom")))
    monkeypatch.setattr("minigen.cli.COMMAND_MODULES", ("minigen.cli.gradcheck",))
    with pytest.raises(ValueError, match="boom"):
        main(["gradcheck"])


def test_demo_writes_a_gallery(tmp_path):
    out = tmp_path / "gallery"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    index = (out / "index.html").read_text()
    assert "engine" in index and "engine_loss.png" in index
    for name in ("engine_loss.png", "engine_denoised.png"):
        assert os.path.getsize(out / name) > 100


def test_demo_refuses_a_file_as_its_folder_and_a_missing_gpu(tmp_path):
    (tmp_path / "f").write_text("keep")
    r = run_cli("demo", "--out", tmp_path / "f")
    assert r.returncode == 1 and "is a file, not a folder" in one_line(r.stderr)
    from minigen import backend
    if not backend.gpu_available():
        r = run_cli("demo", "--device", "cuda", "--out", tmp_path / "new")
        assert r.returncode == 1 and "CUDA" in one_line(r.stderr)
        assert not (tmp_path / "new").exists()


def test_a_failed_demo_leaves_no_empty_folder(monkeypatch, tmp_path, capsys):
    def broken(gallery, device, seed, quick):
        raise MinigenError("section failed")
    monkeypatch.setattr("minigen.cli.demo.demo_section", broken)
    out = tmp_path / "a" / "b"
    assert main(["demo", "--only", "engine", "--out", str(out)]) == 1
    assert "section failed" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
