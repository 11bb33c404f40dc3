"""Texture synthesis: the paper's layer sets, Gram loss reduction with L-BFGS and Adam, the command."""
import json
import os

import pytest

import minigen.cli as cli
from minigen.data.images import load_image, save_image
from minigen.data.procedural import texture
from minigen.models.vgg import VGG
from minigen.recipes.texture import UP_TO, synthesize_texture

WEIGHTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "weights",
                       "vgg_normalised_conv3_1.pth")


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="avg", seed=0).requires_grad_(False)  # what load_vgg gives without weights


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src.png"
    save_image(path, texture("dots", 32, seed=2))
    return path


def main(monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.recipes.texture",))
    return cli.main([str(a) for a in argv])


def test_up_to_gives_the_layer_sets_of_gatys_2015():
    assert UP_TO == {"conv1_1": ("relu1_1",), "pool1": ("relu1_1", "pool1"),
                     "pool2": ("relu1_1", "pool1", "pool2"), "pool3": ("relu1_1", "pool1", "pool2", "pool3"),
                     "pool4": ("relu1_1", "pool1", "pool2", "pool3", "pool4")}


@pytest.mark.parametrize("optimizer, iters, factor", [("lbfgs", 20, 100), ("adam", 20, 10)])
def test_synthesis_reduces_the_gram_loss(vgg, optimizer, iters, factor):
    src = texture("waves", 24, seed=1).transpose(1, 2, 0)
    out, history = synthesize_texture(vgg, src, (20, 28), UP_TO["pool2"], iters, optimizer, lr=0.05, print_every=0)
    assert out.shape == (20, 28, 3) and 0 <= out.min() and out.max() <= 1
    assert history["style"][-1] < history["style"][0] / factor  # measured: lbfgs ~800x, adam ~35x


def test_cli_end_to_end_with_explicit_layers(monkeypatch, tmp_path, source):
    out = tmp_path / "tex.png"
    assert main(monkeypatch, "texture", source, "--size", 16, "--source-size", 0, "--iters", 4, "--layers",
                "relu1_1,relu2_1", "--optimizer", "adam", "--out", out, "--print-every", 0, "--seed", 5) == 0
    assert load_image(out).shape == (16, 16, 3)
    side = json.loads((tmp_path / "tex.json").read_text())
    assert side["layers"] == ["relu1_1", "relu2_1"] and side["source_size"] == [32, 32]
    assert side["parameters"]["optimizer"] == "adam" and side["parameters"]["seed"] == 5
    assert side["vgg"] == {"weights": "random", "seed": 5, "convention": "torchvision", "depth": 19, "last": None}
    assert len(side["history"]["style"]) == 5 and side["iterations"] == 4


def test_cli_errors(monkeypatch, capsys, tmp_path, source, shared_vgg):
    out = tmp_path / "tex.png"
    for args, message in ((["--layers", "relu1_1,conv9_9"], "--layers: unknown VGG-19 layer 'conv9_9'"),
                          (["--size", -3], "--size must be a positive number of pixels and --source-size 0 or more")):
        assert main(monkeypatch, "texture", source, "--out", out, *args) == 1
        assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.skipif(not os.path.exists(WEIGHTS), reason="needs the shared relu3_1 VGG weights")
def test_truncated_real_weights_refuse_deeper_layers(monkeypatch, capsys, tmp_path, source):
    out = tmp_path / "tex.png"
    assert main(monkeypatch, "texture", source, "--vgg", WEIGHTS, "--up-to", "pool3", "--out", out) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--up-to: layer pool3 is deeper than relu3_1" in err
    assert main(monkeypatch, "texture", source, "--vgg", WEIGHTS, "--up-to", "pool2", "--size", 16, "--iters", 3,
                "--print-every", 0, "--out", out) == 0
    assert json.loads((tmp_path / "tex.json").read_text())["vgg"]["convention"] == "caffe"
