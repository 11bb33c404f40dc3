"""Texture synthesis: the paper's layer sets and Gram loss reduction with L-BFGS and Adam."""
import pytest

from minigen.data.procedural import texture
from minigen.models.vgg import VGG
from minigen.recipes.texture import UP_TO, synthesize_texture


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="avg", seed=0).requires_grad_(False)  # what load_vgg gives without weights


def test_up_to_gives_the_layer_sets_of_gatys_2015():
    assert UP_TO == {"conv1_1": ("relu1_1",), "pool1": ("relu1_1", "pool1"),
                     "pool2": ("relu1_1", "pool1", "pool2"), "pool3": ("relu1_1", "pool1", "pool2", "pool3"),
                     "pool4": ("relu1_1", "pool1", "pool2", "pool3", "pool4")}


@pytest.mark.parametrize("optimizer, iters, factor", [("lbfgs", 20, 100), ("adam", 20, 10)])
def test_synthesis_reduces_the_gram_loss(vgg, optimizer, iters, factor):
    src = texture("waves", 24, seed=1).transpose(1, 2, 0)
    out, history = synthesize_texture(vgg, src, (20, 28), UP_TO["pool2"], iters, optimizer, lr=0.05, log_every=0)
    assert out.shape == (20, 28, 3) and 0 <= out.min() and out.max() <= 1
    assert history["style"][-1] < history["style"][0] / factor  # measured: lbfgs ~800x, adam ~35x
