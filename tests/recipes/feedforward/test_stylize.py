"""Inference from a train-style checkpoint alone: the network rebuilt from its recorded kind and config,
inputs padded to the network's size rule, one-line errors for checkpoints of other runs, damaged configs
and VGG weights that stop short of the decoder."""
import numpy as np
import pytest

from minigen import io
from minigen.data.procedural import shapes
from minigen.errors import MinigenError
from minigen.models.vgg import VGG, save_vgg
from minigen.recipes import feedforward as ff


def test_parse_mix():
    keys, w = ff.parse_mix("0:1,2:3", 3)
    assert keys == [0, 2] and np.allclose(w, [0.25, 0.75])
    keys, w = ff.parse_mix("a.png,b:c.png:3")
    assert keys == ["a.png", "b:c.png"] and np.allclose(w, [0.25, 0.75])
    with pytest.raises(MinigenError, match="out of range; this model has 3 styles"):
        ff.parse_mix("3:1", 3)
    with pytest.raises(MinigenError, match="non-negative"):
        ff.parse_mix("0:-1,1:2", 3)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, train):
    d = tmp_path_factory.mktemp("ckpt")
    paths = {m: str(d / f"{m}.npz") for m in ("multistyle", "texture-net", "adain")}
    for method, path in paths.items():
        train(method, 1, out=path)
    return paths


def test_the_checkpoint_alone_rebuilds_the_network(checkpoints):
    net, settings = ff.load_model(checkpoints["multistyle"])
    assert type(net).kind == "transform-net" and net.num_styles == 2 and settings["method"] == "multistyle"
    photo = shapes(1, 18, seed=3)[0].transpose(1, 2, 0)  # 18 is no multiple of 4: padded, then cropped back
    out = ff.Stylizer(checkpoints["multistyle"])(photo, mix=[0.5, 0.5])
    assert out.shape == (18, 18, 3) and np.isfinite(out).all()


def test_a_texture_network_with_content_pads_its_input_to_its_multiple(vgg, tmp_path):
    path = str(tmp_path / "tc.npz")
    ff.train_style("texture-net", ["procedural"], content="procedural", steps=1, batch=1, crop=16, out=path,
                   net=ff.net_options(channels=[2], scales=3), vgg_net=vgg, style_layers=["relu1_1"],
                   log_every=1000)
    photo = shapes(1, 22, seed=3)[0].transpose(1, 2, 0)[:, :18]  # 22x18: neither a multiple of 4
    out = ff.Stylizer(path, seed=1)(photo)
    assert out.shape == (22, 18, 3)
    with pytest.raises(MinigenError, match="not a texture generator .* with a content input"):
        ff.sample_textures(path, 8)


def test_checkpoints_of_other_runs_and_damaged_configs(checkpoints, tmp_path):
    with pytest.raises(MinigenError, match="not a texture generator \\(a multistyle model\\)"):
        ff.sample_textures(checkpoints["multistyle"], 8)
    with pytest.raises(MinigenError, match="a texture generator \\(no content input\\); use `minigen sample-texture`"):
        ff.Stylizer(checkpoints["texture-net"])
    other = str(tmp_path / "other.npz")
    arrays, meta = io.load(checkpoints["multistyle"])
    io.save(other, arrays, metadata={**meta, "kind": "train-sr"})
    with pytest.raises(MinigenError, match="not a feed-forward stylisation checkpoint \\(a train-sr one"):
        ff.load_model(other)
    meta["modules"]["net"]["config"]["channels"] = [4, 8, 16]
    io.save(other, arrays, metadata=meta)
    with pytest.raises(MinigenError, match="weights do not match the multistyle model config"):
        ff.load_model(other)
    meta["modules"]["net"]["config"]["norm"] = "plaid"
    io.save(other, arrays, metadata=meta)
    with pytest.raises(MinigenError, match="its multistyle model config is invalid"):
        ff.load_model(other)


def test_vgg_weights_that_stop_short_of_the_decoder_layer(checkpoints, tmp_path):
    short = str(tmp_path / "short.npz")
    save_vgg(short, VGG(19, last="relu1_1", seed=0))
    with pytest.raises(MinigenError, match="do not reach the decoder's layer relu2_1"):
        ff.Stylizer(checkpoints["adain"], vgg=short)


def test_an_earlier_checkpoint_stylises(tmp_path):
    """A checkpoint of the format before io.checkpoint (tests/fixtures/checkpoints) still loads."""
    import os
    fixtures = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "checkpoints")
    net, settings = ff.load_model(os.path.join(fixtures, "style_johnson.safetensors"))
    assert settings["method"] == "johnson" and net.config()["channels"] == [2, 2, 2]
    textures = ff.sample_textures(os.path.join(fixtures, "style_texture_net.npz"), 10, count=2, seed=1)
    assert textures.shape == (2, 3, 10, 10)
