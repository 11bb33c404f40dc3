"""recipes.sr: overfitting a fixed patch, VDSR's clipping, resume == uninterrupted, the TV term's gradient,
settings and their arguments, the size rule, checkpoints of earlier minigen, chroma kept by upscale."""
import os

import numpy as np
import pytest

from minigen import backend, losses
from minigen.data.images import rgb_to_ycbcr
from minigen.data.imresize import imresize
from minigen.data.procedural import shapes
from minigen.errors import MinigenError
from minigen.recipes.sr import (build_model, check_input, check_patch, load_feature_net, load_sr_model,
                                make_optimizer, make_step, run_training, settings_arguments, train_settings,
                                training_data, upscale)
from minigen.tensor import Tensor
from minigen.training.loop import step_rng

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "checkpoints")
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


def test_resume_equals_an_uninterrupted_run_bit_for_bit(tmp_path, capsys):
    ckpt = str(tmp_path / "run.npz")
    images = [_image(2, 30), _image(3, 30)]
    config = dict(TINY, stride=6, augment=True)  # the turns are drawn from the step's generator too
    full_model, full = run_training(config, 6, images=images, log_every=1000)
    run_training(config, 4, out=ckpt, images=images, log_every=1000)
    model, resumed = run_training(config, 6, out=ckpt, resume=True, images=images, log_every=1000)
    assert "resuming from step 4 of 6" in capsys.readouterr().out
    assert resumed["mse"] == full["mse"]
    for k, v in full_model.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k], v)


def test_the_normalised_feature_term_does_not_depend_on_the_vgg_scale():
    """normalize='target': the feature term over the mean square of the target's features, unchanged when every
    feature is 10x larger (conv1_1 scaled; the random VGG's biases are zero), where Johnson et al.'s sum grows
    100x; so --tv-weight keeps its meaning with the ImageNet weights."""
    from minigen.models.vgg import VGG
    config = dict(TINY, model="perceptual", scales=[4], kwargs={"width": 4, "blocks": 1, "upsamplings": 2},
                  patch=16, stride=8, loss="feature")
    data = training_data(config, images=[_image(4, 32)])

    def feature(normalize, scale):
        vgg = VGG(16, last="relu2_2", seed=0).requires_grad_(False)
        vgg.conv1_1.weight.data *= scale
        backend.manual_seed(0)
        model = build_model(config)
        settings = dict(config, normalize=normalize)
        return make_step(model, make_optimizer(model, settings), data, settings, "cpu", vgg)(None, 1)["feature"].item()
    assert feature("target", 10.0) == pytest.approx(feature("target", 1.0), rel=1e-4)
    assert feature("none", 10.0) == pytest.approx(100 * feature("none", 1.0), rel=1e-4)
    assert train_settings("perceptual", scales=[4])["normalize"] == "target"


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
        settings = dict(config, tv=w)
        terms = make_step(model, make_optimizer(model, settings), data, settings, "cpu", vgg)(None, 1)
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


@pytest.mark.parametrize("kw", [dict(), dict(model="srcnn", width=4), dict(model="srcnn-955", scales=[2, 4]),
                                dict(model="vdsr", scales=[4, 2, 3], depth=3, augment=True, optim="sgd", clip=0.01),
                                dict(model="perceptual", scales=[4], width=8, depth=2, tv_weight=1e-4, loss="pixel"),
                                dict(data="some/folder", lr=1e-4, lr_step=100, patch=20, stride=5, batch=3, seed=7)])
def test_settings_give_back_their_arguments(kw):
    settings = train_settings(**kw)
    assert train_settings(**settings_arguments(settings)) == settings
    assert settings["scales"] == sorted(set(kw.get("scales", [3])))


@pytest.mark.parametrize("kw, message", [
    (dict(scales=[1]), "scales must lie in 2..8"),
    (dict(model="perceptual", scales=[3]), "one power of two"),
    (dict(model="perceptual", scales=[2, 4]), "one power of two"),
    (dict(tv_weight=1e-3), "perceptual network only"),
    (dict(model="vdsr", depth=1), "--depth: a VDSR network has at least 2 layers, not 1"),
    (dict(model="nope"), "unknown SR model 'nope'"),
])
def test_settings_refuse_what_cannot_be_trained(kw, message):
    with pytest.raises(MinigenError, match=message):
        train_settings(**kw)


def test_the_patch_must_cover_the_receptive_field():
    check_patch(train_settings(patch=13))  # 9 + 1 + 5 - 2
    with pytest.raises(MinigenError, match="--patch: patch size 12x12 is too small for this srcnn network: each "
                                           "side needs at least 13 pixels"):
        check_patch(train_settings(patch=12))
    with pytest.raises(MinigenError, match="at least 41 pixels"):
        check_patch(train_settings(model="vdsr", patch=40))


@pytest.mark.parametrize("name, scale, size", [("sr_srcnn.npz", 3, 20), ("sr_vdsr.npz", 2, 20),
                                               ("sr_perceptual.npz", 2, 12)])
def test_checkpoints_of_earlier_minigen_upscale(name, scale, size):
    model, settings = load_sr_model(os.path.join(FIXTURES, name))
    assert settings["scales"] == [scale]
    out = upscale(model, settings, _image(8, size), scale)
    assert out.shape == (size * scale, size * scale, 3) and np.isfinite(out).all()


def test_check_input_refuses_other_scales_and_small_images():
    model = build_model(TINY)
    check_input(model, TINY, 5, 5, 3)  # 15 pixels once enlarged: enough for 13
    with pytest.raises(MinigenError, match="trained for scale.s. 3, not 2"):
        check_input(model, TINY, 20, 20, 2)
    with pytest.raises(MinigenError, match="image of 9x4 is too small: enlarged it is 27x12, smaller than the "
                                           "network's receptive field of 13"):
        check_input(model, TINY, 4, 9, 3)


def test_checkpoint_settings_rebuild_the_model_and_upscale_keeps_chroma():
    model = build_model(TINY)
    model.body[-1].weight.data[...] = 0  # the network outputs a constant Y = its bias
    model.body[-1].bias.data[...] = 0.5
    img = _image(7, 15)
    out = upscale(model, TINY, img, 3)
    assert out.shape == (45, 45, 3)
    ycc, ref = rgb_to_ycbcr(out), rgb_to_ycbcr(imresize(img, 3))
    inside = (ycc > 0.01).all(-1) & (out < 0.99).all(-1) & (out > 0.01).all(-1)  # where clipping did not act
    np.testing.assert_allclose(ycc[..., 0][inside], 0.5, atol=1e-5)
    np.testing.assert_allclose(ycc[..., 1:][inside], ref[..., 1:][inside], atol=1e-5)


@pytest.mark.parametrize("kw", [dict(model="perceptual", scales=[4], width=4, depth=1),
                                dict(model="vdsr", scales=[2], width=4, depth=3),
                                dict(model="srcnn-955", width=4)])
def test_a_tiled_upscale_equals_the_whole_image(monkeypatch, kw):
    """Large images are enlarged tile by tile, each tile reading its receptive margin: the same result as one
    pass over the whole image (here with tiles of 8 input pixels)."""
    import minigen.recipes.sr as sr
    settings = train_settings(**kw)
    backend.manual_seed(0)
    model = build_model(settings).eval()
    for m in model.modules():  # batch norm in eval mode with statistics that are not the identity
        if hasattr(m, "running_var"):
            m.running_mean[...] = 0.1
            m.running_var[...] = 2.0
    img = _image(5, 40)
    scale = settings["scales"][0]
    whole = upscale(model, settings, img, scale)
    monkeypatch.setattr(sr, "TILE", {"luma": 8, "perceptual": 8})
    calls, run = [], sr._run
    monkeypatch.setattr(sr, "_run", lambda *a: calls.append(1) or run(*a))
    np.testing.assert_allclose(upscale(model, settings, img, scale), whole, atol=1e-5)
    assert len(calls) > 4  # it did go tile by tile
