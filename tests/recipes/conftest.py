import pytest


@pytest.fixture(autouse=True)
def no_vgg_variable(monkeypatch):
    monkeypatch.delenv("MINIGEN_VGG", raising=False)  # the commands must take random weights here
