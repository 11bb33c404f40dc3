"""TF.js layers models: a small model written here (manifest + shards, uint8/uint16/float16 quantisation,
float32, int32, bool) read back exactly, absent shards named, malformed manifests refused in one line,
Keras' HWIO kernels mapped onto minigen's OIHW convolution, and the conversion to a quantised minigen file."""
import json
import os

import numpy as np
import pytest

from minigen import Tensor
from minigen import functional as F
from minigen.errors import MinigenError
from minigen.io import tfjs
from minigen.models import vgg as V

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "weights", "vgg19_tfjs_uint8")
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data weights absent")


def _quantize(values, dtype):
    """(stored integers, scale, min) of float values, as the converter quantises them."""
    top = np.iinfo(dtype).max
    lo, hi = float(values.min()), float(values.max())
    scale = (hi - lo) / top
    return np.rint((values - lo) / scale).astype(dtype), scale, lo


def write_model(folder, tensors, shard_size=64, fmt="layers-model", groups=1):
    """Write a TF.js layers model: tensors = [(name, float value array, 'float32'|'int32'|'bool'|'uint8'|
    'uint16'|'float16')]; returns {name: the values a reader must give} (quantised ones dequantised)."""
    os.makedirs(folder, exist_ok=True)
    per_group = [tensors[g::groups] for g in range(groups)]
    manifest, expected = [], {}
    for g, items in enumerate(per_group):
        stream, weights = b"", []
        for name, values, kind in items:
            entry = {"name": name, "shape": list(values.shape), "dtype": "float32"}
            if kind in ("uint8", "uint16"):
                q, scale, lo = _quantize(values, np.dtype(kind))
                entry["quantization"] = {"dtype": kind, "scale": scale, "min": lo, "original_dtype": "float32"}
                expected[name] = (q.astype(np.float64) * scale + lo).astype(np.float32)
                raw = q.astype(np.dtype(kind).newbyteorder("<")).tobytes()
            elif kind == "float16":
                entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
                expected[name] = values.astype(np.float16).astype(np.float32)
                raw = values.astype("<f2").tobytes()
            else:
                entry["dtype"] = kind
                expected[name] = values.astype({"float32": np.float32, "int32": np.int32, "bool": bool}[kind])
                raw = expected[name].astype({"float32": "<f4", "int32": "<i4", "bool": "?"}[kind]).tobytes()
            stream += raw
            weights.append(entry)
        paths = []
        for k in range(max(1, -(-len(stream) // shard_size))):
            paths.append(f"group{g + 1}-shard{k + 1}of{max(1, -(-len(stream) // shard_size))}.bin")
            with open(os.path.join(folder, paths[-1]), "wb") as f:
                f.write(stream[k * shard_size:(k + 1) * shard_size])
        manifest.append({"paths": paths, "weights": weights})
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump({"format": fmt, "modelTopology": {"model_config": {}}, "weightsManifest": manifest}, f)
    return expected


def _mixed(rng):
    return [("dense/kernel", rng.standard_normal((5, 7)), "uint8"),
            ("dense/bias", rng.standard_normal(7), "float32"),
            ("conv/kernel", rng.standard_normal((3, 3, 2, 4)), "uint16"),
            ("steps", rng.integers(-9, 9, 6).astype(np.float64), "int32"),
            ("mask", rng.random(5) > 0.5, "bool"),
            ("half/kernel", rng.standard_normal((4, 3)), "float16")]


@pytest.mark.parametrize("groups", [1, 2])
def test_every_dtype_reads_back_exactly_across_shards(tmp_path, rng, groups):
    expected = write_model(tmp_path / "m", _mixed(rng), shard_size=50, groups=groups)
    assert len(os.listdir(tmp_path / "m")) > 4  # tensors span several shards
    got = tfjs.read_tensors(tmp_path / "m")  # the folder, or its model.json
    assert sorted(got) == sorted(expected)
    for name, want in expected.items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    one = tfjs.read_tensors(tmp_path / "m" / "model.json", ["conv/kernel"])
    np.testing.assert_array_equal(one["conv/kernel"], expected["conv/kernel"])
    stored = tfjs.read_tensors(tmp_path / "m", ["dense/kernel"], dequantized=False)["dense/kernel"]
    assert stored[0].dtype == np.uint8 and stored[1]["dtype"] == "uint8"
    np.testing.assert_array_equal(tfjs.dequantize(*stored), expected["dense/kernel"])


def test_dequantisation_is_the_documented_affine_map():
    q = np.array([0, 1, 128, 255], np.uint8)
    got = tfjs.dequantize(q, {"dtype": "uint8", "scale": 0.1, "min": -1.0})
    np.testing.assert_array_equal(got, np.array([-1.0, -0.9, 11.8, 24.5], np.float64).astype(np.float32))
    assert got.dtype == np.float32


def test_an_absent_shard_is_named_only_when_a_tensor_needs_it(tmp_path, rng):
    tensors = [("a", rng.standard_normal(8), "float32"), ("b", rng.standard_normal(8), "float32"),
               ("c", rng.standard_normal(40), "float32")]
    expected = write_model(tmp_path, tensors, shard_size=64)  # a and b fill shard 1; c spans shards 2-4
    os.remove(tmp_path / "group1-shard3of4.bin")
    got = tfjs.read_tensors(tmp_path, ["a", "b"])
    np.testing.assert_array_equal(got["b"], expected["b"])
    with pytest.raises(MinigenError, match=r"weight 'c' lies in shard group1-shard3of4.bin, which is absent "
                                           r"\(3 of the group's 4 shards are there\)") as e:
        tfjs.read_tensors(tmp_path)
    assert "\n" not in str(e.value)
    os.remove(tmp_path / "group1-shard2of4.bin")
    with pytest.raises(MinigenError, match=r"shard group1-shard2of4.bin .. group1-shard3of4.bin, which is absent"):
        tfjs.read_tensors(tmp_path, ["c"])


def test_a_truncated_shard_is_refused(tmp_path, rng):
    write_model(tmp_path, [("a", rng.standard_normal(30), "float32")], shard_size=64)
    with open(tmp_path / "group1-shard2of2.bin", "r+b") as f:
        f.truncate(20)
    with pytest.raises(MinigenError, match="weight 'a' needs bytes 0-120 of its group, but the shards hold 84"):
        tfjs.read_tensors(tmp_path)


@pytest.mark.parametrize("change, message", [
    (lambda m: "{not json", "not valid JSON"),
    (lambda m: [], "not a JSON object"),
    (lambda m: {**m, "format": "graph-model"}, "format 'graph-model'"),
    (lambda m: {k: v for k, v in m.items() if k != "weightsManifest"}, "no weightsManifest list"),
    (lambda m: {**m, "weightsManifest": [{"paths": ["../x.bin"], "weights": []}]}, "plain file names"),
    (lambda m: _weight(m, shape=[2, -1]), r"bad shape \[2, -1\]"),
    (lambda m: _weight(m, dtype="string"), "dtype 'string'; minigen reads float32, int32, bool"),
    (lambda m: _weight(m, quantization={"dtype": "int4"}), "quantization dtype must be one of uint8"),
    (lambda m: _weight(m, quantization={"dtype": "uint8", "scale": 0.1}), "needs finite numbers 'scale' and 'min'"),
    (lambda m: _weight(m, name=None), "has no name"),
    (lambda m: {**m, "weightsManifest": [{**m["weightsManifest"][0],
                                          "weights": m["weightsManifest"][0]["weights"] * 2}]}, "appears twice"),
])
def test_malformed_manifests_are_one_line_errors(tmp_path, rng, change, message):
    write_model(tmp_path, [("a", rng.standard_normal(4), "uint8")])
    with open(tmp_path / "model.json") as f:
        model = json.load(f)
    changed = change(model)
    with open(tmp_path / "model.json", "w") as f:
        f.write(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(MinigenError, match=message) as e:
        tfjs.read_tensors(tmp_path)
    assert "\n" not in str(e.value) and "model.json" in str(e.value)
    with pytest.raises(MinigenError, match="no such file"):
        tfjs.read_tensors(tmp_path / "elsewhere")


def _weight(model, **fields):
    group = model["weightsManifest"][0]
    return {**model, "weightsManifest": [{**group, "weights": [{**group["weights"][0], **fields}]}]}


def _keras_conv_same(x, kernel, bias):
    """Keras Conv2D (channels last, 'same' padding, stride 1) by its formula:
    y[h, w, o] = b[o] + sum_{i, j, c} x[h + i - 1, w + j - 1, c] K[i, j, c, o]."""
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = np.zeros((n, h, w, kernel.shape[3])) + bias
    for i in range(3):
        for j in range(3):
            y += np.einsum("nhwc,co->nhwo", xp[:, i:i + h, j:j + w], kernel[i, j])
    return y


def _keras_vgg_block1(tmp_path, rng, kind="float32"):
    tensors = [("vgg19/block1_conv1/kernel", rng.standard_normal((3, 3, 3, 64)) * 0.1, kind),
               ("vgg19/block1_conv1/bias", rng.standard_normal(64), kind),
               ("vgg19/block1_conv2/kernel", rng.standard_normal((3, 3, 64, 64)) * 0.05, kind),
               ("vgg19/block1_conv2/bias", rng.standard_normal(64), kind),
               ("fc1/kernel", rng.standard_normal((8, 4)), kind)]
    conv_bytes = 4 * (3 * 3 * 3 * 64 + 64 + 3 * 3 * 64 * 64 + 64)  # float32: fc1 alone in the second shard
    return write_model(tmp_path, tensors, shard_size=conv_bytes if kind == "float32" else 4096)


def test_hwio_kernels_become_minigen_convolutions(tmp_path, rng):
    expected = _keras_vgg_block1(tmp_path, rng)
    state = tfjs.vgg_state(tmp_path)
    assert sorted(state) == ["conv1_1.bias", "conv1_1.weight", "conv1_2.bias", "conv1_2.weight"]
    assert state["conv1_2.weight"].shape == (64, 64, 3, 3) and state["conv1_2.weight"].flags.c_contiguous
    x = rng.random((2, 9, 7, 64))
    keras = _keras_conv_same(x, expected["vgg19/block1_conv2/kernel"].astype(np.float64),
                             expected["vgg19/block1_conv2/bias"])
    ours = F.conv2d(Tensor(x.transpose(0, 3, 1, 2)), Tensor(state["conv1_2.weight"].astype(np.float64)),
                    Tensor(state["conv1_2.bias"].astype(np.float64)), padding=1).data
    np.testing.assert_allclose(ours, keras.transpose(0, 3, 1, 2), rtol=1e-10, atol=1e-10)


def test_load_vgg_reads_a_keras_vgg_with_caffe_input(tmp_path, rng):
    expected = _keras_vgg_block1(tmp_path, rng)
    os.remove(tmp_path / "group1-shard2of2.bin")  # fc1 lies there: a VGG reader never needs it
    vgg, info = V.load_vgg(tmp_path / "model.json")
    assert info == {"weights": str(tmp_path / "model.json"), "convention": "caffe", "depth": 19, "last": "pool1",
                    "seed": None}
    image = rng.random((1, 12, 10, 3))  # RGB in [0, 1], channels last
    caffe = 255.0 * image[..., ::-1] - np.array(V.CAFFE_MEAN_BGR)  # Keras' preprocess_input(mode='caffe')
    h = np.maximum(_keras_conv_same(caffe, expected["vgg19/block1_conv1/kernel"].astype(np.float64),
                                    expected["vgg19/block1_conv1/bias"]), 0)
    got = vgg(Tensor(image.transpose(0, 3, 1, 2).astype(np.float32)), ["relu1_1"])["relu1_1"].data
    np.testing.assert_allclose(got, h.transpose(0, 3, 1, 2), rtol=1e-4, atol=1e-3)
    with pytest.raises(MinigenError, match="deeper than these weights go"):
        vgg(Tensor(np.zeros((1, 3, 8, 8), np.float32)), ["relu2_1"])


def test_conversion_keeps_the_integers_and_loads_to_the_same_network(tmp_path, rng):
    _keras_vgg_block1(tmp_path / "m", rng, kind="uint8")
    meta = tfjs.convert_vgg(tmp_path / "m", tmp_path / "v.safetensors")
    assert meta["vgg"] == {"depth": 19, "convention": "caffe"}
    assert sorted(meta["quantization"]) == ["conv1_1.bias", "conv1_1.weight", "conv1_2.bias", "conv1_2.weight"]
    from minigen import io
    state, _ = io.load(tmp_path / "v.safetensors")
    assert state["conv1_2.weight"].dtype == np.uint8 and state["conv1_2.weight"].shape == (64, 64, 3, 3)
    a, _ = V.load_vgg(tmp_path / "v.safetensors")
    b, _ = V.load_vgg(tmp_path / "m")
    for name, conv in a.convs():
        np.testing.assert_array_equal(conv.weight.data, getattr(b, name).weight.data)
        np.testing.assert_array_equal(conv.bias.data, getattr(b, name).bias.data)
    assert tfjs.main([str(tmp_path / "m"), str(tmp_path / "w.npz")]) == 0
    assert tfjs.main([str(tmp_path / "nothing"), str(tmp_path / "x.npz")]) == 1


def test_a_non_vgg_model_is_refused(tmp_path, rng):
    write_model(tmp_path, [("dense/kernel", rng.standard_normal((2, 2)), "float32")])
    with pytest.raises(MinigenError, match="not a Keras VGG: no block<b>_conv<i>/kernel weights"):
        V.load_vgg(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MinigenError, match=r"empty/model.json: no such file \(a TF.js model is a folder"):
        V.load_vgg(tmp_path / "empty")


@needs_shared
def test_the_shared_vgg19_reads_without_its_classifier_shards():
    state = tfjs.vgg_state(SHARED)
    assert len(state) == 32 and state["conv5_4.weight"].shape == (512, 512, 3, 3)
    with pytest.raises(MinigenError, match=r"weight 'fc1/kernel' lies in shard group1-shard21of138.bin .. "
                                           r"group1-shard118of138.bin, which is absent"):
        tfjs.read_tensors(SHARED, ["fc1/kernel"])
