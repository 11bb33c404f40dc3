"""The command line: version, gradcheck table, demo gallery, one-line errors."""
import os
import subprocess
import sys

from minigen import __version__
from minigen.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "minigen", *args], capture_output=True, text=True)


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"minigen {__version__}"


def test_gradcheck_prints_a_table_for_one_op(capsys):
    assert main(["gradcheck", "sum"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["case", "input", "mode"]
    assert any(line.startswith("sum/all") and line.rstrip().endswith("pass") for line in out)
    assert out[-1].startswith("2/2 cases passed")


def test_gradcheck_unknown_name_is_one_line_error():
    r = run_cli("gradcheck", "no-such-op")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "no gradcheck case named" in r.stderr
    assert "Traceback" not in r.stderr


def test_demo_writes_a_gallery(tmp_path):
    out = tmp_path / "gallery"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    index = (out / "index.html").read_text()
    assert "engine" in index and "engine_loss.png" in index
    for name in ("engine_loss.png", "engine_denoised.png"):
        assert os.path.getsize(out / name) > 100


def test_demo_unknown_section_and_missing_gpu_are_one_line_errors(tmp_path):
    r = run_cli("demo", "--only", "nope", "--out", str(tmp_path))
    assert r.returncode == 1 and "unknown demo section" in r.stderr and "Traceback" not in r.stderr
    from minigen import backend
    if not backend.gpu_available():
        r = run_cli("demo", "--device", "cuda", "--out", str(tmp_path))
        assert r.returncode == 1 and "CUDA" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / "index.html").exists()
