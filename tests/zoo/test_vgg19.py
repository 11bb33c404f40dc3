"""The bundled ImageNet VGG-19: in the package, compact, the default feature network, and the very network
of the shared TF.js model (exactly) and of the shared float relu3_1 file (closely)."""
import os
import re

import numpy as np
import pytest

from minigen import Tensor, io, zoo
from minigen.io import tfjs
from minigen.models import vgg as V
from minigen.models.vgg_weights import align_filters, read_weights

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
TFJS = os.path.join(SHARED, "weights", "vgg19_tfjs_uint8")
FLOAT = os.path.join(SHARED, "weights", "vgg_normalised_conv3_1.pth")
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


@pytest.fixture(scope="module")
def bundled():
    return V.load_vgg("bundled")[0]


def test_the_file_is_in_the_package_and_compact():
    state, meta = io.load(zoo.vgg_path())
    assert os.path.getsize(zoo.vgg_path()) < 21 << 20
    assert len(state) == 32 and all(a.dtype == np.uint8 for a in state.values())
    assert meta["vgg"] == {"depth": 19, "convention": "caffe"} and sorted(meta["quantization"]) == sorted(state)
    with open(os.path.join(ROOT, "setup.py")) as f:  # an install ships it
        assert re.search(r'"minigen\.zoo": \[[^]]*"\*\.safetensors"', f.read())


def test_it_is_the_default_and_says_so_once(monkeypatch, capsys):
    monkeypatch.delenv("MINIGEN_VGG", raising=False)
    vgg, info = V.load_vgg(pooling="avg")
    vgg2, info2 = V.load_vgg(None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bundled ImageNet VGG-19" in err and "--vgg random" in err
    assert info == info2 == {"weights": "bundled", "convention": "caffe", "depth": 19, "last": None, "seed": None}
    assert vgg.pooling == "avg" and not vgg.training and not any(p.requires_grad for p in vgg.parameters())
    np.testing.assert_array_equal(vgg.conv5_4.weight.data, vgg2.conv5_4.weight.data)
    vgg2.conv5_4.weight.data[...] = 0  # each network has its own copy
    assert V.load_vgg()[0].conv5_4.weight.data.any()


def test_a_variable_still_overrides_it(monkeypatch, tmp_path):
    small = V.VGG(19, last="relu1_1", seed=3)
    V.save_vgg(tmp_path / "v.npz", small)
    monkeypatch.setenv("MINIGEN_VGG", str(tmp_path / "v.npz"))
    assert V.load_vgg()[1]["last"] == "relu1_1"
    monkeypatch.setenv("MINIGEN_VGG", "random")
    assert V.load_vgg()[1]["weights"] == "random"


def test_features_are_those_of_a_trained_network(bundled):
    # ImageNet filters respond to edges: a checkerboard lights up relu1_1 far more than a flat grey image
    flat = np.full((1, 3, 32, 32), 0.5, np.float32)
    board = np.kron(np.indices((8, 8)).sum(0) % 2, np.ones((4, 4)))[None, None].repeat(3, 1).astype(np.float32)
    energy = [float((bundled(Tensor(x), ["relu3_1"])["relu3_1"].data ** 2).mean()) for x in (flat, board)]
    assert energy[1] > 5 * energy[0]


@pytest.mark.skipif(not os.path.isdir(TFJS), reason="../shared/data weights absent")
def test_it_equals_the_shared_tfjs_model_exactly(bundled):
    state = tfjs.vgg_state(TFJS)
    for name, conv in bundled.convs():
        np.testing.assert_array_equal(conv.weight.data, state[name + ".weight"])
        np.testing.assert_array_equal(conv.bias.data, state[name + ".bias"])


@pytest.mark.skipif(not os.path.isfile(FLOAT), reason="../shared/data relu3_1 file absent")
def test_it_is_close_to_the_float_relu3_1_file(bundled):
    """SOURCES.md's check: undo the per-filter normalisation of the float file, then each filter has cosine
    similarity >= 0.993 with the bundled one; and relu3_1 features on an image differ by a few percent."""
    from minigen.data.images import load_image
    from minigen.recipes.optimize import fit_size, resize
    params = {f"{n}.{k}": getattr(c, k).data for n, c in bundled.convs() for k in ("weight", "bias")}
    _, _, last, normalised = read_weights(FLOAT)
    rescaled, _, cosines = align_filters(normalised, params)
    assert last == "relu3_1" and sorted(cosines) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]
    assert min(c.min() for c in cosines.values()) >= 0.993
    ref = V.VGG(19, convention="caffe", last="relu3_1", seed=None)
    ref.load_state_dict(rescaled)
    path = os.path.join(SHARED, "content", "tubingen.jpg")
    image = load_image(path) if os.path.isfile(path) else np.random.default_rng(0).random((96, 128, 3))
    x = Tensor(np.ascontiguousarray(resize(image.astype(np.float32), fit_size(image.shape, 96)).transpose(2, 0, 1)[None]))
    a, b = bundled(x, ["relu1_1", "relu3_1"]), ref(x, ["relu1_1", "relu3_1"])
    for layer, most in (("relu1_1", 0.015), ("relu3_1", 0.06)):
        err = np.linalg.norm(a[layer].data - b[layer].data) / np.linalg.norm(b[layer].data)
        assert err < most, (layer, err)
