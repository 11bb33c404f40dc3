"""train-sr / sr: overfitting a fixed patch, resume == uninterrupted, the commands end to end, bad input."""
import os

import numpy as np
import pytest

import minigen.cli
from minigen import backend, losses
from minigen.data.images import load_image, save_image
from minigen.data.procedural import shapes
from minigen.recipes.sr import (build_model, load_feature_net, load_sr_model, make_optimizer, make_step,
                                run_training, training_data, upscale)
from minigen.training._old import step_rng
from minigen.tensor import Tensor

TINY = {"model": "srcnn", "scales": [3], "kwargs": {"n1": 8, "n2": 4}, "patch": 24, "stride": 24, "batch": 4,
        "optim": "adam", "lr": 3e-3, "lr_step": 0, "clip": 0.0, "loss": "pixel", "data": "procedural", "seed": 0}


def _image(seed=0, size=24):
    return shapes(1, size, seed=seed)[0].transpose(1, 2, 0)


def test_srcnn_overfits_one_fixed_patch():
    _, history = run_training(TINY, 60, images=[_image()], log_every=1000)
    assert np.mean(history["mse"][-5:]) < np.mean(history["mse"][:3]) / 20


def test_vdsr_with_adjustable_clipping_learns_the_residual():
    config = dict(TINY, model="vdsr", kwargs={"depth": 4, "width": 8}, optim="sgd", lr=0.1, clip=0.01,
                  scales=[2, 3])
    _, history = run_training(config, 40, images=[_image(1)], log_every=1000)
    assert np.isfinite(history["mse"]).all()
    assert np.mean(history["mse"][-5:]) < np.mean(history["mse"][:3]) / 3


def test_resume_equals_an_uninterrupted_run(tmp_path):
    ckpt = str(tmp_path / "run.npz")
    images = [_image(2, 30), _image(3, 30)]
    config = dict(TINY, stride=6, augment=True)  # the turns are drawn from the step's generator too
    full_model, full = run_training(config, 6, images=images, log_every=1000)
    run_training(config, 4, out=ckpt, images=images, log_every=1000)
    model, resumed = run_training(config, 6, out=ckpt, resume=True, images=images, log_every=1000)
    np.testing.assert_allclose(resumed["mse"], full["mse"], rtol=1e-5)
    for k, v in full_model.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k], v, rtol=1e-5, atol=1e-7)


def test_tv_weight_adds_the_gradient_of_its_term_to_the_feature_loss():
    config = dict(TINY, model="perceptual", scales=[4], kwargs={"width": 4, "blocks": 1, "upsamplings": 2},
                  patch=16, stride=8, loss="feature")
    vgg, _ = load_feature_net(None, "cpu")
    data = training_data(config, images=[_image(4, 32)])

    def fresh():
        backend.manual_seed(0)
        model = build_model(config)
        model.train()
        return model

    def grads(w):
        model = fresh()
        terms = make_step(model, make_optimizer(model, config), data, dict(config, tv=w), 0, "cpu", vgg)(1)
        return [p.grad.copy() for p in model.parameters()], terms

    plain, _ = grads(0.0)
    regularised, terms = grads(0.5)
    model = fresh()  # the TV term alone, on the same batch
    x, _ = data.batch(step_rng(0, 1), config["batch"])
    tv = losses.total_variation(model(Tensor(x)), reduction="mean")
    tv.backward()
    np.testing.assert_allclose(float(terms["tv"].item()), 0.5 * float(tv.item()), rtol=1e-5)
    scale = max(np.abs(g).max() for g in regularised)  # float32 sums: 1e-4 of the largest entry
    for g0, g1, p in zip(plain, regularised, model.parameters()):
        np.testing.assert_allclose(g1, g0 + 0.5 * p.grad, rtol=1e-4, atol=1e-4 * scale)


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setattr(minigen.cli, "COMMAND_MODULES", ("minigen.recipes.sr",))
    return minigen.cli.main


def test_train_then_upscale_from_the_command_line(cli, tmp_path, capsys):
    ckpt, src, out = str(tmp_path / "m.safetensors"), str(tmp_path / "in.png"), str(tmp_path / "out.png")
    assert cli(["train-sr", "--model", "vdsr", "--scales", "2,3", "--steps", "3", "--batch", "2", "--patch", "16",
                "--width", "4", "--depth", "3", "--augment", "--out", ckpt]) == 0
    assert load_sr_model(ckpt)[1]["augment"] is True
    save_image(src, _image(4, 20))
    assert cli(["sr", src, "--model", ckpt, "--scale", "3", "--out", out]) == 0
    assert load_image(out).shape == (60, 60, 3)
    save_image(src, _image(4, 20)[..., 0])  # a grey image stays grey
    assert cli(["sr", src, "--model", ckpt, "--scale", "2", "--out", out]) == 0
    assert load_image(out, mode=None).shape == (40, 40)


def test_perceptual_network_trains_with_the_feature_loss(cli, tmp_path, capsys):
    ckpt, src, out = str(tmp_path / "p.npz"), str(tmp_path / "in.png"), str(tmp_path / "out.png")
    assert cli(["train-sr", "--model", "perceptual", "--scale", "4", "--steps", "2", "--batch", "2", "--patch",
                "16", "--width", "4", "--depth", "1", "--out", ckpt]) == 0
    assert "random VGG-16" in capsys.readouterr().err
    save_image(src, _image(5, 12))
    assert cli(["sr", src, "--model", ckpt, "--out", out]) == 0
    assert load_image(out).shape == (48, 48, 3)


def test_bad_input_gives_one_line_and_writes_nothing(cli, tmp_path, capsys):
    ckpt, src, out = str(tmp_path / "m.npz"), str(tmp_path / "in.png"), str(tmp_path / "out.png")
    assert cli(["train-sr", "--steps", "2", "--batch", "2", "--patch", "16", "--width", "4", "--out", ckpt]) == 0
    save_image(src, _image(6, 20))
    capsys.readouterr()

    def fails(argv, message):
        assert cli(argv) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        assert not os.path.exists(out)

    fails(["sr", src, "--model", ckpt, "--scale", "4", "--out", out], "trained for scale(s) 3, not 4")
    save_image(src, _image(6, 3))
    fails(["sr", src, "--model", ckpt, "--out", out], "smaller than the network's receptive field of 13")
    with open(src, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n broken")
    fails(["sr", src, "--model", ckpt, "--out", out], "in.png")
    with open(ckpt, "r+b") as f:
        f.truncate(100)
    fails(["sr", src, "--model", ckpt, "--out", out], "m.npz")
    fails(["train-sr", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.npz")], "not a folder")
    fails(["train-sr", "--model", "perceptual", "--scale", "3", "--out", str(tmp_path / "x.npz")], "power of two")
    fails(["train-sr", "--tv-weight", "1e-3", "--out", str(tmp_path / "x.npz")], "perceptual network only")


def test_resume_refuses_other_settings_but_takes_a_new_learning_rate(cli, tmp_path, capsys):
    ckpt = str(tmp_path / "m.npz")
    run = ["train-sr", "--batch", "2", "--patch", "16", "--width", "4", "--out", ckpt]
    assert cli(run + ["--steps", "2"]) == 0
    with open(ckpt, "rb") as f:
        before = f.read()
    capsys.readouterr()
    for other, message in ((["--scale", "2"], "made with scales [3] (not [2])"),
                           (["--width", "6"], 'made with kwargs {"n1": 4, "n2": 2} (not {"n1": 6, "n2": 3})'),
                           (["--model", "vdsr", "--width", "4"], 'made with model "srcnn" (not "vdsr")')):
        assert cli(run + ["--steps", "4", "--resume"] + other) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        with open(ckpt, "rb") as f:
            assert f.read() == before  # nothing trained, nothing written
    assert cli(run + ["--steps", "4", "--resume", "--lr", "1e-4", "--lr-step", "3"]) == 0
    printed = capsys.readouterr().out
    assert "resuming with lr 0.0001 (the checkpoint was made with 0.001)" in printed
    assert "resuming with lr_step 3 (the checkpoint was made with 0)" in printed
    model, config = load_sr_model(ckpt)
    assert config["lr"] == 1e-4 and config["lr_step"] == 3


def test_checkpoint_config_rebuilds_the_model_and_upscale_keeps_chroma():
    model = build_model(TINY)
    model.body[-1].weight.data[...] = 0  # the network outputs a constant Y = its bias
    model.body[-1].bias.data[...] = 0.5
    img = _image(7, 15)
    out = upscale(model, TINY, img, 3)
    assert out.shape == (45, 45, 3)
    from minigen.data.images import rgb_to_ycbcr
    from minigen.data.imresize import imresize
    ycc, ref = rgb_to_ycbcr(out), rgb_to_ycbcr(imresize(img, 3))
    inside = (ycc > 0.01).all(-1) & (out < 0.99).all(-1) & (out > 0.01).all(-1)  # where clipping did not act
    np.testing.assert_allclose(ycc[..., 0][inside], 0.5, atol=1e-5)
    np.testing.assert_allclose(ycc[..., 1:][inside], ref[..., 1:][inside], atol=1e-5)
