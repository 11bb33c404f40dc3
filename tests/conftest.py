import sys

import numpy as np
import pytest

from minigen import backend

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=[1, 3], ids=["1thread", "3threads"])
def threads(request, monkeypatch):
    """The CPU passes that backend.in_threads splits run in one piece, or in up to three
    pieces however small they are (so the tiny test arrays take the split path too)."""
    monkeypatch.setenv("MINIGEN_NUM_THREADS", str(request.param))
    monkeypatch.setattr(backend, "PARALLEL_MIN_ELEMENTS", 1)
    return request.param


@pytest.fixture
def gemm_convolutions(monkeypatch):
    """The convolution arithmetic of the code the goldens (tests/fixtures/golden) were written with: im2col
    and one GEMM per image at every size, the unit-stride adjoint always a gather, never the FFT path of
    large kernels (functional/conv_fft.py); the faster choices made since round differently in float32.
    test_conv.py and test_conv_fft.py check every path against the loop reference."""
    from minigen.functional import conv, conv_fft
    monkeypatch.setattr(conv_fft, "MIN_TAPS", float("inf"))
    monkeypatch.setattr(conv, "PER_IMAGE_MIN_PIXELS", 0)
    monkeypatch.setattr(conv, "GATHER_MAX_GROWTH", float("inf"))


@pytest.fixture(autouse=True)
def _fresh_vgg_notice(monkeypatch):
    """Each test sees load_vgg's once-per-process stderr lines as a new process would."""
    vgg = sys.modules.get("minigen.models.vgg")
    if vgg is not None:
        monkeypatch.setattr(vgg, "_random_weights_announced", False)
        monkeypatch.setattr(vgg, "_bundled_announced", False)
