"""The defaults of invert, texture and style with any weights: the bundled VGG-19 when none are given, default
layers cut to the depth of weights that stop early (said in one line) while layers asked for are still refused,
and --normalize with the style weight that goes with it."""
import json
import os

import pytest

import minigen.cli as cli
from minigen.data.images import save_image
from minigen.data.procedural import shapes, texture
from minigen.models.vgg import VGG, save_vgg

WEIGHTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "weights",
                       "vgg_normalised_conv3_1.pth")


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.style",))
    monkeypatch.delenv("MINIGEN_VGG", raising=False)
    save_image(tmp_path / "img.png", shapes(1, 24, seed=4)[0])
    save_image(tmp_path / "sty.png", texture("waves", 24, seed=1))
    save_vgg(tmp_path / "to_relu3_1.npz", VGG(19, convention="caffe", last="relu3_1", seed=2))
    save_vgg(tmp_path / "to_relu2_2.npz", VGG(19, last="relu2_2", seed=3))
    return tmp_path


def run(*argv):
    return cli.main([str(a) for a in argv])


def side(path):
    return json.loads(path.with_suffix(".json").read_text())


def test_style_defaults_fit_weights_that_stop_at_relu3_1(files, capsys):
    out = files / "st.png"
    assert run("style", "--content", files / "img.png", "--style", files / "sty.png", "--vgg",
               files / "to_relu3_1.npz", "--size", 24, "--iters", 3, "--out", out) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"minigen: the weights {files / 'to_relu3_1.npz'} end at relu3_1, so the defaults use the "
                      "deepest layers they have: --content-layers relu3_1; --style-layers relu1_1,relu2_1,relu3_1")
    assert [line for line in err if line.startswith("minigen")] == err[:1] and err[-1].startswith("wrote ")
    s = side(out)
    assert s["content_layers_used"] == ["relu3_1"] and s["style_layers_used"] == ["relu1_1", "relu2_1", "relu3_1"]
    # layers asked for are not cut: a deeper one is still refused, in one line, before any work
    assert run("style", "--content", files / "img.png", "--style", files / "sty.png", "--vgg",
               files / "to_relu3_1.npz", "--content-layers", "relu4_2", "--out", files / "no.png") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--content-layers: layer relu4_2 is deeper than relu3_1" in err
    assert not (files / "no.png").exists()


def test_texture_and_invert_defaults_fit_short_weights(files, capsys):
    out = files / "t.png"
    assert run("texture", files / "sty.png", "--vgg", files / "to_relu3_1.npz", "--size", 16, "--iters", 2,
               "--out", out) == 0
    assert "--layers relu1_1,pool1,pool2,relu3_1" in capsys.readouterr().err
    assert side(out)["layers"] == ["relu1_1", "pool1", "pool2", "relu3_1"]
    assert run("texture", files / "sty.png", "--vgg", files / "to_relu3_1.npz", "--up-to", "pool3",
               "--out", out) == 1
    assert "--up-to: layer pool3 is deeper than relu3_1" in capsys.readouterr().err
    out = files / "inv.png"
    assert run("invert", files / "img.png", "--vgg", files / "to_relu2_2.npz", "--size", 16, "--iters", 2,
               "--out", out) == 0
    assert "end at pool2, so the defaults use the deepest layers they have: --layer relu2_2" in \
        capsys.readouterr().err
    assert side(out)["layer"] == "relu2_2"


def test_full_weights_keep_the_papers_layers_and_say_nothing_about_them(files, capsys, monkeypatch):
    monkeypatch.setenv("MINIGEN_VGG", "random")
    out = files / "st.png"
    assert run("style", "--content", files / "img.png", "--style", files / "sty.png", "--size", 16, "--iters", 2,
               "--out", out) == 0
    assert "defaults use" not in capsys.readouterr().err
    s = side(out)
    assert s["content_layers_used"] == ["relu4_2"] and len(s["style_layers_used"]) == 5
    assert s["parameters"]["normalize"] == "target" and s["style_weight_used"] == 30


def test_normalize_none_is_the_papers_alpha_over_beta(files, monkeypatch):
    monkeypatch.setenv("MINIGEN_VGG", "random")
    out = files / "st.png"
    assert run("style", "--content", files / "img.png", "--style", files / "sty.png", "--normalize", "none",
               "--size", 16, "--iters", 2, "--out", out) == 0
    s = side(out)
    assert s["style_weight_used"] == 1000 and s["alpha_over_beta"] == pytest.approx(1e-3)
    assert s["history"]["style"][0] > 1  # the raw sum, not a relative error
    assert run("texture", files / "sty.png", "--normalize", "none", "--size", 16, "--iters", 2, "--out",
               files / "t.png") == 0


def test_the_bundled_network_is_the_default_and_stylises(files, capsys):
    out = files / "st.png"
    assert run("style", "--content", files / "img.png", "--style", files / "sty.png", "--size", 32, "--iters", 10,
               "--log-every", 1000, "--out", out) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("minigen")] == err[:1] and "bundled ImageNet VGG-19" in err[0]
    s = side(out)
    assert s["vgg"]["weights"] == "bundled" and s["content_layers_used"] == ["relu4_2"]
    assert s["history"]["style"][0] / s["history"]["style"][-1] > 3


@pytest.mark.skipif(not os.path.exists(WEIGHTS), reason="needs the shared relu3_1 VGG weights")
def test_the_shared_relu3_1_file_runs_with_the_defaults(files, capsys):
    out = files / "st.png"
    assert run("style", "--content", files / "img.png", "--style", files / "sty.png", "--vgg", WEIGHTS,
               "--size", 24, "--iters", 5, "--out", out) == 0
    assert "--content-layers relu3_1" in capsys.readouterr().err
    s = side(out)
    assert s["history"]["style"][0] / s["history"]["style"][-1] > 2
    assert run("texture", files / "sty.png", "--vgg", WEIGHTS, "--size", 16, "--iters", 2, "--out",
               files / "t.png") == 0
