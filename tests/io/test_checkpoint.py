"""The one checkpoint format: a round trip of every part, and the files of earlier minigen still load."""
import os

import numpy as np
import pytest

from minigen import models, optim
from minigen.errors import MinigenError
from minigen.io import checkpoint as ck
from minigen.models.texture_net import TextureNet

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "checkpoints")


def _ckpt():
    net = TextureNet(2, 2)
    opt = optim.Adam(net.parameters(), lr=1e-3)
    for p in net.parameters():
        p.grad = np.ones_like(p.data)
    opt.step()
    ema = optim.EMA(net.parameters(), decay=0.9)
    return net, ck.Checkpoint(
        "test-run", 7, {"lr": 1e-3, "sizes": [1, 2]}, {"loss": [3.0, 2.0]},
        modules={"g": net.state_dict()}, specs={"g": models.spec(net)}, optimizers={"adam": opt.state_dict()},
        ema={"g": ema.state_dict()}, rngs={"data": np.random.default_rng(5).bit_generator.state},
        seconds=1.5, extra={"running": np.arange(4.0), "note": "kept"})


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_every_part_survives_a_round_trip(tmp_path, ext):
    net, c = _ckpt()
    path = str(tmp_path / f"run{ext}")
    ck.save(path, c)
    back = ck.load(path, kind="test-run")
    assert (back.kind, back.step, back.settings, back.history, back.seconds) == \
        ("test-run", 7, {"lr": 1e-3, "sizes": [1, 2]}, {"loss": [3.0, 2.0]}, 1.5)
    for k, v in c.modules["g"].items():
        np.testing.assert_array_equal(back.modules["g"][k], v)
    twin = models.build(back.specs["g"]["kind"], back.specs["g"]["config"])
    twin.load_state_dict(back.modules["g"])
    opt = optim.Adam(twin.parameters(), lr=1e-3)
    opt.load_state_dict(back.optimizers["adam"])
    for a, b in zip(opt.state_dict()["state"], c.optimizers["adam"]["state"]):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert back.ema["g"]["decay"] == 0.9 and len(back.ema["g"]["shadow"]) == len(c.ema["g"]["shadow"])
    assert back.rngs == c.rngs
    assert back.extra["note"] == "kept"
    np.testing.assert_array_equal(back.extra["running"], np.arange(4.0))


def test_a_checkpoint_of_another_kind_or_no_checkpoint_is_refused(tmp_path):
    _, c = _ckpt()
    path = str(tmp_path / "run.npz")
    ck.save(path, c)
    with pytest.raises(MinigenError, match="a test-run checkpoint, not a train-sr one"):
        ck.load(path, kind="train-sr")
    from minigen import io
    io.save(str(tmp_path / "plain.npz"), {"w": np.zeros(2)}, metadata={"x": 1})
    with pytest.raises(MinigenError, match="not a minigen checkpoint"):
        ck.load(str(tmp_path / "plain.npz"))


LEGACY = {"style_texture_net.npz": ("train-style", "texture-net"),
          "style_johnson.safetensors": ("train-style", "transform-net"),
          "style_multistyle.npz": ("train-style", "transform-net"),
          "style_adain.npz": ("train-style", "adain-decoder"),
          "sr_srcnn.npz": ("train-sr", "srcnn"), "sr_vdsr.npz": ("train-sr", "vdsr"),
          "sr_perceptual.npz": ("train-sr", "perceptual-sr"), "dip.npz": ("dip", "dip-net")}


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_checkpoints_of_earlier_minigen_load_and_rebuild_their_network(name):
    c = ck.load(os.path.join(FIXTURES, name))
    kind, net_kind = LEGACY[name]
    assert c.kind == kind and c.specs["net"]["kind"] == net_kind and c.step in (2, 3)
    net = models.build(net_kind, c.specs["net"]["config"])
    net.load_state_dict(c.modules["net"])  # strict: every weight present, none left over
    opt = (optim.SGD if c.optimizers["opt"]["hyper"].keys() >= {"momentum"} else optim.Adam)(net.parameters())
    opt.load_state_dict(c.optimizers["opt"])
    assert "minigen" in c.rngs and (kind != "dip" or "noise" in c.rngs)
    assert c.history["loss" if kind == "dip" else next(iter(c.history))] and \
        all(len(v) in (0, c.step) for v in c.history.values())
