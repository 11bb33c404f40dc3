"""The feed-forward trainer (four methods), its checkpoints and the stylize / sample-texture commands,
at tiny sizes with a seeded random VGG-19 cut at relu2_2."""
import argparse
import os
import re

import numpy as np
import pytest

import minigen.cli as cli
from minigen import io
from minigen.data.images import load_image, rgb_to_ycbcr, save_image
from minigen.data.procedural import shapes
from minigen.errors import MinigenError
from minigen.models.vgg import VGG, save_vgg
from minigen.recipes import feedforward as ff
from minigen.recipes.optimize import resize
from minigen.training._old import load_checkpoint

TINY = {"johnson": argparse.Namespace(norm="instance", channels=[4, 8, 8], residual=1, padded=False, scales=2),
        "multistyle": argparse.Namespace(norm="instance", channels=[4, 8, 8], residual=1, padded=True, scales=2),
        "texture-net": argparse.Namespace(norm="batch", channels=[4], residual=1, padded=False, scales=3),
        "adain": argparse.Namespace(norm="instance", channels=None, residual=1, padded=False, scales=2)}
STYLES = {"johnson": ["procedural:stripes"], "texture-net": ["procedural:checks"],
          "multistyle": ["procedural:stripes", "procedural:dots:3"], "adain": ["procedural"]}
LAYERS = {"style_layers": ["relu1_1", "relu2_1"]}
INFO = {"weights": "random", "seed": 0, "convention": "torchvision", "depth": 19, "last": "relu2_2"}


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, last="relu2_2", seed=0).requires_grad_(False), dict(INFO)


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory):
    """One 16x16 image: every crop of it is the image, so every step sees the same content batch."""
    d = tmp_path_factory.mktemp("content")
    save_image(str(d / "a.png"), shapes(1, 16, seed=5)[0])
    return str(d)


def _train(method, vgg, content, steps, **kw):
    content = None if method == "texture-net" else content
    return ff.train_style(method, STYLES[method], content=content, steps=steps, batch=2, crop=16, lr=kw.pop("lr", 1e-2),
                          net_args=TINY[method], vgg_net=vgg, log_every=1000, **LAYERS, **kw)


@pytest.mark.parametrize("method, factor", [("johnson", 0.3), ("texture-net", 0.1), ("multistyle", 0.5),
                                            ("adain", 0.05)])
def test_loss_falls_on_a_fixed_content_batch(vgg, content_dir, method, factor):
    _, history, config = _train(method, vgg, content_dir, 30)
    first, last = np.mean(history["loss"][:3]), np.mean(history["loss"][-3:])
    assert last < factor * first, (first, last)
    assert config["method"] == method and config["vgg"] == INFO and config["style_layers"] == LAYERS["style_layers"]


@pytest.mark.parametrize("method", ["johnson", "texture-net", "adain"])
def test_resume_gives_the_same_steps_as_an_uninterrupted_run(vgg, content_dir, tmp_path, method):
    full = _train(method, vgg, content_dir, 6)[1]
    ckpt = str(tmp_path / "run.safetensors")
    _train(method, vgg, content_dir, 4, out=ckpt)
    resumed = _train(method, vgg, content_dir, 6, out=ckpt, resume=True)[1]
    np.testing.assert_allclose(resumed["loss"], full["loss"], rtol=1e-4)
    assert load_checkpoint(ckpt)[1]["step"] == 6


def test_resume_with_another_setting_is_refused(vgg, content_dir, tmp_path):
    ckpt = str(tmp_path / "run.npz")
    _train("johnson", vgg, content_dir, 2, out=ckpt)
    for other, message in (({"lr": 1e-3}, "made with lr 0.01 (not 0.001)"), ({"batch": 3}, "batch 2 (not 3)")):
        settings = {"batch": 2, "lr": 1e-2, **other}
        with pytest.raises(MinigenError, match=re.escape(message)):
            ff.train_style("johnson", STYLES["johnson"], content=content_dir, steps=4, crop=16, out=ckpt, resume=True,
                           net_args=TINY["johnson"], vgg_net=vgg, log_every=1000, **settings, **LAYERS)
    assert load_checkpoint(ckpt)[1]["step"] == 2


def _cli(monkeypatch, argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.recipes.feedforward",))
    monkeypatch.delenv("MINIGEN_VGG", raising=False)
    return cli.main(argv)


def _train_cli(monkeypatch, tmp_path, method, out, *extra):
    weights = str(tmp_path / "vgg.npz")  # a VGG file that stops at relu2_2: quick to load and to run
    if not os.path.exists(weights):
        save_vgg(weights, VGG(19, last="relu2_2", seed=0))
    argv = ["train-style", "--method", method, "--steps", "2", "--batch", "1", "--crop", "16", "--channels", "4",
            "8", "8", "--residual", "1", "--scales", "3", "--style-layers", "relu1_1", "relu2_1",
            "--vgg", weights, "--out", str(tmp_path / out), *extra]
    if method != "johnson" and method != "multistyle":  # texture-net takes one width, adain none
        argv[argv.index("--channels"):argv.index("--residual")] = ["--channels", "4"] if method == "texture-net" else []
    return _cli(monkeypatch, argv)


def test_cli_train_stylize_and_sample_end_to_end(monkeypatch, tmp_path, capsys):
    photo = tmp_path / "in" / "photo.png"
    os.makedirs(photo.parent)
    save_image(str(photo), shapes(1, 20, seed=1)[0])
    assert _train_cli(monkeypatch, tmp_path, "multistyle", "multi.npz", "--style", "procedural:stripes",
                      "procedural:waves", "--padded") == 0
    assert os.path.exists(tmp_path / "multi.json")
    out = tmp_path / "out"
    assert _cli(monkeypatch, ["stylize", "--model", str(tmp_path / "multi.npz"), str(photo.parent),
                              "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["photo_style0.png", "photo_style1.png"]
    assert load_image(str(out / "photo_style0.png")).shape == (20, 20, 3)
    assert _cli(monkeypatch, ["stylize", "--model", str(tmp_path / "multi.npz"), str(photo), "--styles", "0:0.5,1:0.5",
                              "--preserve-colors", "--size", "24", "--out", str(tmp_path / "mix")]) == 0
    mixed = load_image(str(tmp_path / "mix" / "photo.png"))
    assert mixed.shape == (24, 24, 3)
    chroma = lambda img: rgb_to_ycbcr(img)[..., 1:].mean((0, 1))  # noqa: E731 -- --preserve-colors keeps it
    np.testing.assert_allclose(chroma(mixed), chroma(resize(load_image(str(photo)), (24, 24))), atol=0.02)

    assert _train_cli(monkeypatch, tmp_path, "texture-net", "tex.safetensors", "--style", "procedural:dots") == 0
    assert _cli(monkeypatch, ["sample-texture", "--model", str(tmp_path / "tex.safetensors"), "--size", "22",
                              "--count", "2", "--out", str(tmp_path / "t.png")]) == 0
    assert load_image(str(tmp_path / "t-1.png")).shape == (22, 22, 3)

    assert _train_cli(monkeypatch, tmp_path, "adain", "adain.npz", "--style", "procedural") == 0
    style = tmp_path / "style.png"
    save_image(str(style), shapes(1, 16, seed=9)[0])
    assert _cli(monkeypatch, ["stylize", "--model", str(tmp_path / "adain.npz"), str(photo), "--styles",
                              f"{style}:0.7,{photo}:0.3", "--alpha", "0.5", "--out", str(tmp_path / "ada")]) == 0
    assert load_image(str(tmp_path / "ada" / "photo.png")).shape == (20, 20, 3)
    capsys.readouterr()


def test_parse_mix():
    keys, w = ff.parse_mix("0:1,2:3", 3)
    assert keys == [0, 2] and np.allclose(w, [0.25, 0.75])
    keys, w = ff.parse_mix("a.png,b:c.png:3")
    assert keys == ["a.png", "b:c.png"] and np.allclose(w, [0.25, 0.75])
    with pytest.raises(ff.MinigenError, match="out of range; this model has 3 styles"):
        ff.parse_mix("3:1", 3)
    with pytest.raises(ff.MinigenError, match="non-negative"):
        ff.parse_mix("0:-1,1:2", 3)


@pytest.fixture(scope="module")
def multistyle_ckpt(tmp_path_factory, vgg, content_dir):
    path = str(tmp_path_factory.mktemp("ckpt") / "multi.npz")
    _train("multistyle", vgg, content_dir, 1, out=path)
    return path


def _error(monkeypatch, capsys, argv):
    capsys.readouterr()
    assert _cli(monkeypatch, argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("minigen: error: ")
    return err


def test_bad_checkpoints_and_inputs_are_one_line_errors(monkeypatch, capsys, tmp_path, multistyle_ckpt):
    photo = str(tmp_path / "p.png")
    save_image(photo, shapes(1, 16, seed=2)[0])
    out = str(tmp_path / "out")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    assert "corrupt.npz" in _error(monkeypatch, capsys, ["stylize", "--model", str(corrupt), photo, "--out", out])
    foreign = str(tmp_path / "foreign.npz")
    io.save(foreign, {"w": np.zeros(3)}, metadata={"step": 3, "config": {"width": 8}})
    assert "not a feed-forward stylisation checkpoint" in _error(
        monkeypatch, capsys, ["stylize", "--model", foreign, photo, "--out", out])
    assert "style index 5 is out of range; this model has 2 styles" in _error(
        monkeypatch, capsys, ["stylize", "--model", multistyle_ckpt, photo, "--styles", "5:1", "--out", out])
    arrays, meta = io.load(multistyle_ckpt)
    meta["config"]["model"]["channels"] = [4, 8, 16]
    tampered = str(tmp_path / "tampered.npz")
    io.save(tampered, arrays, metadata=meta)
    assert "weights do not match the multistyle model config" in _error(
        monkeypatch, capsys, ["stylize", "--model", tampered, photo, "--out", out])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert "notes.png: not an image" in _error(monkeypatch, capsys, ["stylize", "--model", multistyle_ckpt,
                                                                   str(text), "--out", out])
    assert "not a texture generator" in _error(
        monkeypatch, capsys, ["sample-texture", "--model", multistyle_ckpt, "--out", str(tmp_path / "t.png")])
    assert not os.path.exists(out) or os.listdir(out) == []  # nothing half-written
    assert "must end in .npz or .safetensors" in _error(
        monkeypatch, capsys, ["train-style", "--method", "johnson", "--style", "procedural", "--out", photo])
    assert "--batch must be at least 1" in _error(
        monkeypatch, capsys, ["train-style", "--method", "johnson", "--style", "procedural", "--batch", "0"])


def test_vgg_weights_that_stop_short_of_the_decoder_layer(monkeypatch, capsys, tmp_path, vgg, content_dir):
    ckpt = str(tmp_path / "adain.npz")
    _train("adain", vgg, content_dir, 1, out=ckpt)
    short = str(tmp_path / "short.npz")
    save_vgg(short, VGG(19, last="relu1_1", seed=0))
    photo = str(tmp_path / "p.png")
    save_image(photo, shapes(1, 16, seed=2)[0])
    err = _error(monkeypatch, capsys, ["stylize", "--model", ckpt, photo, "--styles", photo, "--vgg", short,
                                       "--out", str(tmp_path / "o")])
    assert "relu2_1" in err


def test_training_argument_errors(vgg, content_dir, tmp_path):
    for k in range(2):
        save_image(str(tmp_path / f"s{k}.png"), shapes(1, 8, seed=k)[0])
    with pytest.raises(ff.MinigenError, match="learns one style; got 2"):  # a folder gives all its images
        ff.train_style("johnson", [str(tmp_path)], steps=1, vgg_net=vgg, net_args=TINY["johnson"])
    with pytest.raises(ff.MinigenError, match="relu3_1 is deeper than relu2_2"):
        _train("johnson", vgg, content_dir, 1, content_layer="relu3_1")
    with pytest.raises(ff.MinigenError, match="--crop 18: .*multiple of 4"):
        ff.train_style("johnson", STYLES["johnson"], crop=18, steps=1, vgg_net=vgg, net_args=TINY["johnson"], **LAYERS)
    with pytest.raises(ff.MinigenError, match="procedural:KIND"):
        ff.parse_style("procedural:plaid", 8)
