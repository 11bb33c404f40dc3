import pytest

from minigen.recipes import optimize


@pytest.fixture(autouse=True)
def no_vgg_variable(monkeypatch):
    monkeypatch.delenv("MINIGEN_VGG", raising=False)  # the commands must take random weights here


@pytest.fixture
def shared_vgg(monkeypatch, vgg):
    """Commands get the test module's random ``vgg`` fixture instead of building their own
    (load_vgg itself is exercised in tests/models/test_vgg.py)."""
    info = {"weights": "random", "seed": 0, "convention": "torchvision", "depth": 19, "last": None}
    monkeypatch.setattr(optimize, "load_vgg", lambda *args, **kwargs: (vgg, info))
