"""The feed-forward trainer (four methods) on training.fit: the loss falls, a resumed run repeats an
uninterrupted one, a resumed run refuses other settings, one-line errors for bad arguments; at tiny sizes
with a seeded random VGG-19 cut at relu2_2."""
import re

import numpy as np
import pytest

from minigen.errors import MinigenError
from minigen.io import checkpoint
from minigen.recipes import feedforward as ff


@pytest.mark.parametrize("method, factor", [("johnson", 0.4), ("texture-net", 0.1), ("multistyle", 0.5),
                                            ("adain", 0.05)])
def test_loss_falls_on_a_fixed_content_batch(train, tiny, method, factor):
    _, history, config = train(method, 30)
    first, last = np.mean(history["loss"][:3]), np.mean(history["loss"][-3:])
    assert last < factor * first, (first, last)
    assert config["method"] == method and config["vgg"] == tiny["INFO"]
    assert config["style_layers"] == tiny["LAYERS"]["style_layers"]


@pytest.mark.parametrize("method", ["johnson", "texture-net", "adain"])
def test_resume_gives_the_same_steps_as_an_uninterrupted_run(train, tmp_path, method):
    full_net, full, _ = train(method, 6)
    ckpt = str(tmp_path / "run.safetensors")
    train(method, 4, out=ckpt)
    net, resumed, _ = train(method, 6, out=ckpt, resume=True)
    assert resumed["loss"] == full["loss"]  # bit for bit
    for k, v in full_net.state_dict().items():
        np.testing.assert_array_equal(net.state_dict()[k], v)
    saved = checkpoint.load(ckpt, kind="train-style")
    assert saved.step == 6 and saved.specs["net"]["kind"] == ff.METHODS[method].kind
    assert set(saved.modules) == {"net"} and set(saved.optimizers) == {"opt"}


def test_resume_with_another_setting_is_refused(vgg, content_dir, tmp_path, tiny):
    ckpt = str(tmp_path / "run.npz")
    ff.train_style("johnson", tiny["STYLES"]["johnson"], content=content_dir, steps=2, crop=16, batch=2, lr=1e-2,
                   out=ckpt, net=tiny["TINY"]["johnson"], vgg_net=vgg, log_every=1000, **tiny["LAYERS"])
    for other, message in (({"lr": 1e-3}, "made with lr 0.01 (not 0.001)"), ({"batch": 3}, "batch 2 (not 3)")):
        settings = {"batch": 2, "lr": 1e-2, **other}
        with pytest.raises(MinigenError, match=re.escape(message)):
            ff.train_style("johnson", tiny["STYLES"]["johnson"], content=content_dir, steps=4, crop=16, out=ckpt,
                           resume=True, net=tiny["TINY"]["johnson"], vgg_net=vgg, log_every=1000, **settings,
                           **tiny["LAYERS"])
    assert checkpoint.load(ckpt).step == 2


def test_training_argument_errors(train, vgg, tiny, tmp_path):
    from minigen.data.images import save_image
    from minigen.data.procedural import shapes
    for k in range(2):
        save_image(str(tmp_path / f"s{k}.png"), shapes(1, 8, seed=k)[0])
    with pytest.raises(MinigenError, match="learns one style; got 2"):  # a folder gives all its images
        ff.train_style("johnson", [str(tmp_path)], steps=1, vgg_net=vgg, net=tiny["TINY"]["johnson"])
    with pytest.raises(MinigenError, match="relu3_1 is deeper than relu2_2"):
        train("johnson", 1, content_layer="relu3_1")
    with pytest.raises(MinigenError, match="--crop 18: .*multiple of 4"):
        ff.train_style("johnson", tiny["STYLES"]["johnson"], crop=18, steps=1, vgg_net=vgg,
                       net=tiny["TINY"]["johnson"], **tiny["LAYERS"])
    with pytest.raises(MinigenError, match="--crop 12: .*multiple of 8"):  # a texture network of 4 scales
        ff.train_style("texture-net", ["procedural"], content=None, crop=12, steps=1, vgg_net=vgg,
                       net=ff.net_options(channels=[2], scales=4), **tiny["LAYERS"])
    with pytest.raises(MinigenError, match="--channels 4 8: johnson takes 3 positive width"):
        ff.train_style("johnson", ["procedural"], steps=1, vgg_net=vgg, net=ff.net_options(channels=[4, 8]))
    with pytest.raises(MinigenError, match="--method plain: choose one of johnson"):
        ff.train_style("plain", ["procedural"], steps=1, vgg_net=vgg)
    with pytest.raises(MinigenError, match="procedural:KIND"):
        ff.parse_style("procedural:plaid", 8)


def test_the_memory_guard_refuses_before_training(vgg, tiny):
    with pytest.raises(MinigenError, match=r"training at --crop 16 --batch 2 needs about .* the --max-memory limit "
                                           r"is 1e-06 GiB; use a smaller --crop or --batch"):
        ff.train_style("johnson", ["procedural"], steps=1, crop=16, batch=2, vgg_net=vgg, max_memory=1e-6,
                       net=tiny["TINY"]["johnson"], **tiny["LAYERS"])


def test_each_method_is_one_table_entry():
    """The methods differ by their table entry only: network kind, styles, content, loss."""
    from minigen.cli.feedforward import METHODS as CHOICES
    assert list(ff.METHODS) == list(CHOICES) == ["johnson", "texture-net", "multistyle", "adain"]
    kinds = {name: m.kind for name, m in ff.METHODS.items()}
    assert kinds == {"johnson": "transform-net", "texture-net": "texture-net", "multistyle": "transform-net",
                     "adain": "adain-decoder"}
    for name, m in ff.METHODS.items():  # options() inverts config(): a resumed run rebuilds the same network
        options = ff.net_options(channels=list(m.widths) or None, residual=2, padded=True, scales=3)
        info = {"depth": 19, "last": None, "weights": "random"}
        config = m.config(options, 2, info, "relu2_1", "procedural")
        again = m.config(ff.net_options(**{**options, **m.options(config)}), 2, info, "relu2_1", "procedural")
        assert again == config, name


@pytest.mark.parametrize("method", ["johnson", "multistyle"])
def test_normalised_terms_do_not_depend_on_the_feature_scale(train, tiny, method):
    """The cause of the collapse to one flat colour: with ImageNet VGG-19 the papers' sums put the style term
    ~1e6 above the content term. With normalize='target' both terms are relative errors: features 10x larger
    (conv1_1 scaled; biases are zero, every later feature scales too) leave them unchanged, where the papers'
    sums grow as the scale squared (content) and to the fourth power (style)."""
    from minigen.models.vgg import VGG
    big = VGG(19, last="relu2_2", seed=0).requires_grad_(False)
    big.conv1_1.weight.data *= 10.0
    for normalize, power in (("target", {"content": 0, "style": 0}), ("none", {"content": 2, "style": 4})):
        _, base, _ = train(method, 1, normalize=normalize)
        _, scaled, _ = train(method, 1, normalize=normalize, vgg_net=(big, dict(tiny["INFO"])))
        for term, p in power.items():
            assert scaled[term][0] == pytest.approx(base[term][0] * 10.0 ** p, rel=1e-3), (normalize, term)
    assert train(method, 1)[2]["normalize"] == "target"  # the default
