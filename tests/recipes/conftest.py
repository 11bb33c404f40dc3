import pytest


@pytest.fixture(autouse=True)
def no_vgg_variable(monkeypatch):
    monkeypatch.setenv("MINIGEN_VGG", "random")  # the commands must take random weights here
