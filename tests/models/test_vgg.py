"""VGG-16/19: the layer stacks, named and early-stopping forward, random weights, weight files."""
import os

import numpy as np
import pytest

from minigen import Tensor, backend, io
from minigen import functional as F
from minigen.data.procedural import shapes
from minigen.errors import MinigenError
from minigen.models import vgg as V

REAL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "weights",
                    "vgg_normalised_conv3_1.pth")
needs_real = pytest.mark.skipif(not os.path.exists(REAL), reason="shared/data weights absent")
FIRST = [f"relu{b}_1" for b in range(1, 6)]


@pytest.fixture(scope="module")
def vgg19():
    return V.VGG(19).requires_grad_(False)  # frozen, as load_vgg gives it


def test_layer_lists_are_the_vgg_configurations():
    for depth, convs in ((16, 13), (19, 16)):
        names = V.LAYERS[depth]
        assert sum(n.startswith("conv") for n in names) == convs and len(names) == 2 * convs + 5
        assert names[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1") and names[-1] == "pool5"
    assert V.LAYERS[16][14:17] == ("conv3_3", "relu3_3", "pool3")
    assert V.LAYERS[19][-3:] == ("conv5_4", "relu5_4", "pool5")
    shapes_ = {n: c.weight.shape for n, c in V.VGG(16, seed=None).convs()}
    assert shapes_["conv1_1"] == (64, 3, 3, 3) and shapes_["conv3_1"] == (256, 128, 3, 3)
    assert shapes_["conv5_3"] == (512, 512, 3, 3) and len(shapes_) == 13


def test_forward_returns_exactly_the_requested_layers(vgg19):
    x = Tensor(shapes(2, 48, seed=1))
    out = vgg19(x, ["relu3_1", "conv1_1", "pool2", "relu3_1"])
    assert list(out) == ["relu3_1", "conv1_1", "pool2"]
    assert out["conv1_1"].shape == (2, 64, 48, 48) and out["pool2"].shape == (2, 128, 12, 12)
    assert out["relu3_1"].shape == (2, 256, 12, 12) and out["relu3_1"].data.min() >= 0
    assert vgg19(x, "pool5")["pool5"].shape == (2, 512, 1, 1)
    # each layer is the next op applied to the previous one
    both = vgg19(x, ["conv1_1", "relu1_1"])
    np.testing.assert_array_equal(both["relu1_1"].data, np.maximum(both["conv1_1"].data, 0))
    # a convolution's output is rectified in place only when it was not asked for
    assert (both["conv1_1"].data < 0).any()
    np.testing.assert_array_equal(out["conv1_1"].data, both["conv1_1"].data)
    np.testing.assert_array_equal(vgg19(x, ["relu3_1"])["relu3_1"].data, out["relu3_1"].data)


def test_forward_computes_no_deeper_than_asked():
    vgg = V.VGG(19, last="relu2_2")
    keep = vgg.conv2_2.weight.data.copy()
    vgg.conv2_2.weight.data[...] = np.nan  # only reached when relu2_2 or deeper is computed
    out = vgg(Tensor(shapes(1, 16)), ["relu1_2", "conv2_1"])
    assert all(np.isfinite(t.data).all() for t in out.values())
    vgg.conv2_2.weight.data = keep


def test_bad_requests_and_inputs_are_one_line_errors(vgg19):
    x = Tensor(shapes(1, 32))
    with pytest.raises(MinigenError, match=r"unknown layer 'relu6_1'; valid: conv1_1, relu1_1,"):
        vgg19(x, ["relu6_1"])
    with pytest.raises(MinigenError, match="relu3_4"):
        V.VGG(16, seed=None)(x, ["relu3_4"])  # a VGG-19 name that VGG-16 lacks
    with pytest.raises(MinigenError, match=r"'relu4_1' is deeper than these weights go \(they end at relu3_1\)"):
        V.VGG(19, last="relu3_1")(x, ["relu1_1", "relu4_1"])
    with pytest.raises(MinigenError, match=r"\(N, 3, H, W\)"):
        vgg19(Tensor(np.zeros((1, 1, 32, 32), np.float32)), ["relu1_1"])
    with pytest.raises(MinigenError, match="too small for relu5_1: it needs at least 16 pixels"):
        vgg19(Tensor(shapes(1, 12)), ["relu5_1"])
    for kwargs in ({"depth": 11}, {"pooling": "min"}, {"convention": "bgr"}, {"last": "relu6_1"}):
        with pytest.raises(MinigenError):
            V.VGG(seed=None, **kwargs)


def test_random_weights_keep_activations_near_unit_rms(vgg19):
    # Images unlike the calibration ones (other sizes, seeds): the ReLU RMS at relu1_1 ... relu5_1
    # stays within [0.5, 2] (He init alone drifts by orders of magnitude over 16 layers).
    noise = np.random.default_rng(42).random((1, 3, 80, 80), dtype=np.float32)
    smooth = np.random.default_rng(43).random((1, 3, 10, 10), dtype=np.float32).repeat(8, 2).repeat(8, 3)
    for image in (noise, shapes(2, 96, seed=7), smooth):
        rms = [float(np.sqrt((t.data.astype(np.float64) ** 2).mean())) for t in vgg19(Tensor(image), FIRST).values()]
        assert all(0.5 <= r <= 2.0 for r in rms), rms


def test_random_weights_are_seeded_and_leave_the_shared_generator_alone():
    backend.manual_seed(3)
    expected_draw = backend.rng().random()
    backend.manual_seed(3)
    a, b, c = V.VGG(19, last="relu2_1", seed=5), V.VGG(19, last="relu2_1", seed=5), V.VGG(19, last="relu2_1", seed=6)
    assert backend.rng().random() == expected_draw
    np.testing.assert_array_equal(a.conv2_1.weight.data, b.conv2_1.weight.data)
    assert not np.allclose(a.conv2_1.weight.data, c.conv2_1.weight.data)
    assert not a.conv1_1.bias.data.any()


def test_load_vgg_random_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.delenv("MINIGEN_VGG", raising=False)
    vgg, info = V.load_vgg("random", depth=16, pooling="avg", seed=4)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "random VGG-16 weights (seed 4)" in err and "--vgg PATH" in err
    assert "MINIGEN_VGG" in err
    assert info == {"weights": "random", "convention": "torchvision", "depth": 16, "last": None, "seed": 4}
    assert vgg.pooling == "avg" and not any(p.requires_grad for p in vgg.parameters()) and not vgg.training
    monkeypatch.setenv("MINIGEN_VGG", "random")  # the variable takes the word too
    assert V.load_vgg(None, depth=16, seed=4)[1] == info


def test_the_random_weights_line_is_printed_once_per_process(capsys, monkeypatch):
    monkeypatch.setenv("MINIGEN_VGG", "random")
    _, first = V.load_vgg(None, depth=16, seed=4)
    _, second = V.load_vgg(None, depth=16, seed=4)
    err = capsys.readouterr().err
    assert err.count("random VGG-16 weights (seed 4)") == 1 and err.count("\n") == 1
    assert first == second and second["weights"] == "random"  # the metadata still says so every time


def test_avg_pooling_and_float64(vgg19):
    x = shapes(1, 16, seed=2)
    vgg = V.VGG(19, pooling="avg", last="relu2_1")
    v32 = vgg(Tensor(x), ["pool1", "relu2_1"])
    conv = vgg(Tensor(x), ["relu1_2"])["relu1_2"].data
    np.testing.assert_allclose(v32["pool1"].data, conv.reshape(1, 64, 8, 2, 8, 2).mean((3, 5)), rtol=1e-6)
    vgg.to(dtype=np.float64)
    v64 = vgg(Tensor(x.astype(np.float64)), ["relu2_1"])["relu2_1"]
    assert v64.dtype == np.float64
    np.testing.assert_allclose(v64.data, v32["relu2_1"].data, rtol=1e-4, atol=1e-5)


def test_gradients_reach_the_input(vgg19):
    x = Tensor(shapes(1, 32, seed=3), requires_grad=True)
    feats = vgg19(x, ["relu1_1", "relu3_1"])
    (feats["relu1_1"].mean() + feats["relu3_1"].mean()).backward()
    assert x.grad.shape == x.shape and np.isfinite(x.grad).all() and np.abs(x.grad).max() > 0
    assert all(p.grad is None for p in vgg19.parameters())


def _torchvision_state(depth, upto=None, rng=None):
    """A torchvision-style state dict (features.<i>.weight/bias) with small random values."""
    rng = rng or np.random.default_rng(0)
    state, channels = {}, 3
    for i, name in enumerate(V.LAYERS[depth]):
        if name.startswith("conv"):
            width = V._width(name)
            state[f"features.{i}.weight"] = rng.standard_normal((width, channels, 3, 3)).astype(np.float32) * 0.05
            state[f"features.{i}.bias"] = rng.standard_normal(width).astype(np.float32) * 0.05
            channels = width
        if name == upto:
            break
    return state


def test_torchvision_keys_map_to_layer_names_and_the_file_decides_depth(tmp_path):
    # Up to conv2_2 VGG-16 and VGG-19 agree: the depth asked for is kept.
    state = _torchvision_state(16, upto="conv2_2")
    state["classifier.0.weight"] = np.zeros((4, 2), np.float32)  # ignored
    path = tmp_path / "vgg_part.npz"
    io.save(path, state)
    vgg, info = V.load_vgg(path, depth=16)
    assert info == {"weights": str(path), "convention": "torchvision", "depth": 16, "last": "pool2", "seed": None}
    np.testing.assert_array_equal(vgg.conv1_1.weight.data, state["features.0.weight"])
    np.testing.assert_array_equal(vgg.conv2_2.bias.data, state["features.7.bias"])
    assert vgg(Tensor(shapes(1, 8)), ["pool2"])["pool2"].shape == (1, 128, 2, 2)
    with pytest.raises(MinigenError, match=r"'conv3_1' is deeper than these weights go \(they end at pool2\)"):
        vgg(Tensor(shapes(1, 8)), ["conv3_1"])
    # Further on, the file decides: VGG-19 has conv3_4 at features.16, VGG-16 conv4_1 at features.17.
    for depth, upto, other, key, conv, last in ((19, "conv3_4", 16, "features.16.weight", "conv3_4", "pool3"),
                                                (16, "conv4_1", 19, "features.17.weight", "conv4_1", "relu4_1")):
        state = _torchvision_state(depth, upto=upto)
        io.save(tmp_path / "part.npz", state)
        vgg, info = V.load_vgg(tmp_path / "part.npz", depth=other)
        assert (info["depth"], info["last"]) == (depth, last)
        np.testing.assert_array_equal(getattr(vgg, conv).weight.data, state[key])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update({"features.5.weight": np.zeros((128, 3, 3, 3), np.float32)}),
     r"'features.5.weight' has shape \(128, 3, 3, 3\), VGG-16 conv2_1 needs \(128, 64, 3, 3\)"),
    (lambda s: s.pop("features.2.bias"), r"key 'features.2.bias' \(conv1_2\) is missing"),
    (lambda s: s.update({"features.1.running_mean": np.zeros(64, np.float32)}),
     r"unexpected key 'features.1.running_mean'"),
])
def test_files_that_do_not_fit_name_the_first_mismatch(tmp_path, change, message):
    state = _torchvision_state(16, upto="conv2_2")
    change(state)
    io.save(tmp_path / "bad.npz", state)
    with pytest.raises(MinigenError, match=message):
        V.load_vgg(tmp_path / "bad.npz", depth=16)


def test_foreign_files_and_devices(tmp_path):
    io.save(tmp_path / "other.npz", {"encoder.weight": np.zeros(3, np.float32)})
    with pytest.raises(MinigenError, match="not VGG weights.*found encoder.weight"):
        V.load_vgg(tmp_path / "other.npz")
    with pytest.raises(MinigenError, match="no such file"):
        V.load_vgg(tmp_path / "missing.pth")
    with pytest.raises(MinigenError, match="unknown device"):
        V.load_vgg(device="tpu")


def test_save_vgg_round_trip_and_env_variable(tmp_path, monkeypatch, capsys):
    vgg = V.VGG(19, convention="caffe", last="relu2_1", seed=9)
    path = tmp_path / "mine.safetensors"
    V.save_vgg(path, vgg)
    monkeypatch.setenv("MINIGEN_VGG", str(path))
    loaded, info = V.load_vgg()
    assert capsys.readouterr().err == ""
    assert info == {"weights": str(path), "convention": "caffe", "depth": 19, "last": "relu2_1", "seed": None}
    x = Tensor(shapes(1, 16, seed=4))
    np.testing.assert_array_equal(loaded(x, ["relu2_1"])["relu2_1"].data, vgg(x, ["relu2_1"])["relu2_1"].data)


def _conv3x3_reference(x, w, b):
    """Zero-padded 3x3 cross-correlation by explicit taps (independent of minigen's conv)."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], h, wd)) + b[None, :, None, None]
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return out


@needs_real
def test_real_vgg_normalised_file():
    state, _ = io.load(REAL)
    vgg, info = V.load_vgg(REAL, depth=16)
    assert info == {"weights": REAL, "convention": "caffe", "depth": 19, "last": "relu3_1", "seed": None}
    x = shapes(2, 24, seed=5).astype(np.float64)
    # The caffe convention is the file's own 1x1 input conv, and both are the documented map by hand.
    by_hand = 255.0 * x[:, ::-1] - np.array(V.CAFFE_MEAN_BGR)[None, :, None, None]
    by_file = F.conv2d(Tensor(x), Tensor(state["0.weight"].astype(np.float64)),
                       Tensor(state["0.bias"].astype(np.float64))).data
    np.testing.assert_allclose(vgg.preprocess(Tensor(x)).data, by_hand, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(by_file, by_hand, rtol=1e-6, atol=1e-4)
    # relu1_1 is the file's layer 2 on that input, with VGG's zero padding
    feats = vgg(Tensor(x.astype(np.float32)), ["relu1_1", "relu3_1"])
    want = np.maximum(_conv3x3_reference(by_hand, state["2.weight"], state["2.bias"]), 0)
    np.testing.assert_allclose(feats["relu1_1"].data, want, rtol=1e-4, atol=1e-3)
    assert feats["relu3_1"].shape == (2, 256, 6, 6) and np.isfinite(feats["relu3_1"].data).all()
    assert feats["relu3_1"].data.max() > 0
    with pytest.raises(MinigenError, match=r"'relu4_1' is deeper than these weights go \(they end at relu3_1\)"):
        vgg(Tensor(x), ["relu4_1"])


@needs_real
@pytest.mark.parametrize("key, message", [("0.weight", "'0.weight' is not the caffe input map"),
                                          ("9.weight", r"'9.weight' has shape \(128, 64, 3, 2\)")])
def test_altered_vgg_normalised_file_is_refused(tmp_path, key, message):
    state, _ = io.load(REAL)
    state[key] = state[key][..., :2] if key == "9.weight" else state[key] * 2
    io.save(tmp_path / "bad.npz", state)
    with pytest.raises(MinigenError, match=message):
        V.load_vgg(tmp_path / "bad.npz")
