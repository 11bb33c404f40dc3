"""The CUDA sources compile (nvcc, when on PATH; no GPU needed) and define every kernel the launch
wrappers of minigen.cuda ask for, in float32 and float64; they stay self-contained for NVRTC."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "kernels").glob("*.cu"))
WRAPPERS = sorted((ROOT / "minigen" / "cuda").glob("*.py"))


def _requested():
    """(family, name) of every kernel("family", OP, "name", dtype) call in minigen/cuda."""
    call = re.compile(r'kernel\(\s*"(\w+)",\s*\w+,\s*"(\w+)"')
    return {m.groups() for path in WRAPPERS for m in call.finditer(path.read_text())}


def test_sources_and_wrappers_exist():
    assert {p.stem for p in SOURCES} >= {"conv", "norm", "sample"}
    assert {family for family, _ in _requested()} == {"conv", "norm", "sample"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_sources_are_self_contained(source):
    """NVRTC (CuPy's compiler) provides no headers: no #include, only extern "C" entry points."""
    text = source.read_text()
    assert "#include" not in text
    assert 'extern "C" __global__' in text


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
def test_nvcc_compiles_every_kernel(tmp_path):
    """Each .cu compiles for sm_90 (nvcc and ptxas, in parallel), and its symbols include
    <name>_f32 and <name>_f64 for every kernel a wrapper launches."""
    jobs = {src: subprocess.Popen(["nvcc", "-std=c++14", "-cubin", "-arch=sm_90", str(src),
                                   "-o", str(tmp_path / (src.stem + ".cubin"))],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for src in SOURCES}
    for src, job in jobs.items():
        output = job.communicate(timeout=300)[0]
        assert job.returncode == 0, f"nvcc failed on {src.name}:\n{output}"
    for family, name in sorted(_requested()):
        binary = (tmp_path / f"{family}.cubin").read_bytes()
        for suffix in ("f32", "f64"):
            assert f"{name}_{suffix}".encode() + b"\0" in binary, f"{family}.cu lacks {name}_{suffix}"
