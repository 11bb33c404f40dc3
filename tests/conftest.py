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


@pytest.fixture(autouse=True)
def _fresh_vgg_notice(monkeypatch):
    """Each test sees load_vgg's once-per-process stderr lines as a new process would."""
    vgg = sys.modules.get("minigen.models.vgg")
    if vgg is not None:
        monkeypatch.setattr(vgg, "_random_weights_announced", False)
        monkeypatch.setattr(vgg, "_bundled_announced", False)
