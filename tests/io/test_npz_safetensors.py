"""Checkpoints in .npz and .safetensors: round trips, the exact bytes, corrupt and foreign files, bad arguments."""
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from minigen import Tensor, backend, io
from minigen.errors import MinigenError

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
FORMATS = [".npz", ".safetensors"]


def sample_state(dtype=np.float32, device="cpu"):
    rng = np.random.default_rng(7)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    state = {
        "conv.weight": w,
        "conv.weight_t": w.transpose(1, 0, 3, 2),          # non-contiguous view
        "conv.bias": rng.standard_normal(8).astype(dtype)[::2],  # strided view
        "scalar": np.asarray(2.5, dtype),                  # 0-d
        "empty": np.zeros((0, 5), dtype),
        "half": rng.standard_normal((2, 3)).astype(np.float16),
        "steps": np.arange(-3, 4, dtype=np.int64),
        "small": np.arange(-4, 4, dtype=np.int8).reshape(2, 4),
        "counts": np.arange(6, dtype=np.uint16),
        "pixels": np.arange(7, dtype=np.uint8),
        "mask": np.array([[True, False, True]]),
        "big_endian": np.arange(5, dtype=">i4"),
        "file": np.ones(2, dtype),  # a name np.savez itself could not take as a keyword
    }
    return {k: backend.to_device(v, device) for k, v in state.items()}


def assert_same_state(loaded, expected):
    assert list(loaded) == list(expected)
    for name, want in expected.items():
        want = np.asarray(backend.to_device(want, "cpu"))
        got = loaded[name]
        assert isinstance(got, np.ndarray), name
        assert got.dtype == want.dtype.newbyteorder("=") and got.dtype.isnative, name
        assert got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("device", DEVICES)
def test_round_trip(tmp_path, ext, dtype, device):
    state = sample_state(dtype, device)
    metadata = {"step": 1200, "lr": 1e-3, "model": "srcnn", "note": "crème brûlée ✓",
                "nested": {"sizes": [9, 1, 5], "flag": None, "ok": True}}
    path = tmp_path / ("ckpt" + ext)
    io.save(path, state, metadata)
    loaded, meta = io.load(path)
    assert_same_state(loaded, state)
    assert meta == metadata
    assert os.listdir(tmp_path) == ["ckpt" + ext]


@pytest.mark.parametrize("ext", FORMATS)
def test_module_like_state_and_no_metadata(tmp_path, ext):
    class Net:  # duck-typed stand-in for minigen.nn.Module
        def state_dict(self):
            return {"w": Tensor(np.ones((2, 2), np.float32), requires_grad=True), "b": Tensor(np.zeros(2))}

    path = str(tmp_path / ("net" + ext))
    io.save(path, Net())
    loaded, meta = io.load(path)
    assert meta == {}
    assert_same_state(loaded, {"w": np.ones((2, 2), np.float32), "b": np.zeros(2)})


def test_safetensors_layout(tmp_path):
    """The bytes follow the safetensors format exactly."""
    state = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2], np.int16),
             "c": np.array([True, False, True])}
    path = tmp_path / "x.safetensors"
    io.save(path, state, {"epoch": 3})
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0  # padded with spaces so the data is 8-byte aligned
    header = json.loads(raw[8:8 + n])
    assert header == {
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I16", "shape": [2], "data_offsets": [24, 28]},
        "c": {"dtype": "BOOL", "shape": [3], "data_offsets": [28, 31]},
        "__metadata__": {"minigen": json.dumps({"epoch": 3})},
    }
    data = raw[8 + n:]
    assert data == state["a"].astype("<f4").tobytes() + state["b"].astype("<i2").tobytes() + b"\x01\x00\x01"


def write_safetensors(path, header, data):
    text = json.dumps(header).encode() if isinstance(header, (dict, list)) else header
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def test_foreign_safetensors(tmp_path):
    """A file from another writer: sorted header, data in another order, its own metadata."""
    a = np.array([[1.5, -2.0]], np.float64)
    b = np.array([7, 8, 9], np.int32)
    header = {"__metadata__": {"format": "pt"},
              "alpha": {"dtype": "F64", "shape": [1, 2], "data_offsets": [12, 28]},
              "beta": {"dtype": "I32", "shape": [3], "data_offsets": [0, 12]},
              "gamma": {"dtype": "U8", "shape": [0], "data_offsets": [28, 28]}}
    path = tmp_path / "foreign.safetensors"
    write_safetensors(path, header, b.astype("<i4").tobytes() + a.astype("<f8").tobytes())
    state, meta = io.load(path)
    assert meta == {"format": "pt"}
    assert_same_state(state, {"alpha": a, "beta": b, "gamma": np.zeros(0, np.uint8)})


GOOD = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
DATA = np.array([1, 2], "<f4").tobytes()


@pytest.mark.parametrize("header, data, reason", [
    ({"x": {"dtype": "F17", "shape": [2], "data_offsets": [0, 8]}}, DATA, "unsupported dtype"),
    ({"x": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}}, DATA, "bad shape"),
    ({"x": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, DATA, "bad shape"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}, DATA, "bad data_offsets"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, DATA, "bad data_offsets"),
    ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, DATA, "needs 12"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "extra": 1}}, DATA, "exactly"),
    ({"x": [0, 8]}, DATA, "exactly"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, DATA + DATA, "gap or overlap"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, DATA + DATA, "gap or overlap"),
    (GOOD, DATA + b"\0\0\0\0", "cover 8 data bytes, but the file holds 12"),
    ({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, DATA, "cover 16 data bytes, but the file holds 8"),
    ({**GOOD, "__metadata__": {"a": 1}}, DATA, "str -> str"),
    ({**GOOD, "__metadata__": {"minigen": "{not json"}}, DATA, "corrupt checkpoint metadata"),
    ({**GOOD, "__metadata__": {"minigen": "[1, 2]"}}, DATA, "not a JSON object"),
    ([1, 2], b"", "not a JSON object"),
    (b'{"x": 1, "x": 2}', b"", "duplicate"),
    (b"\xff\xfe{}", b"", "not valid JSON"),
    (b"{" * 100_000, b"", "not valid JSON"),
    ({"x": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02", "0/1"),
])
def test_invalid_safetensors(tmp_path, header, data, reason):
    path = tmp_path / "bad.safetensors"
    write_safetensors(path, header, data)
    with pytest.raises(MinigenError, match=reason) as err:
        io.load(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_safetensors_header_length_checked(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(MinigenError, match="header length .* exceeds the file size"):
        io.load(path)


@pytest.mark.parametrize("ext", FORMATS)
def test_truncated_files(tmp_path, ext):
    """Every cut of a real checkpoint is refused with a one-line error."""
    path = tmp_path / ("ckpt" + ext)
    io.save(path, {"w": np.arange(10, dtype=np.float32), "i": np.arange(3)}, {"step": 5})
    raw = path.read_bytes()
    cut = tmp_path / ("cut" + ext)
    for n in range(len(raw)):
        cut.write_bytes(raw[:n])
        with pytest.raises(MinigenError) as err:
            io.load(cut)
        assert str(err.value).startswith(str(cut)) and "\n" not in str(err.value)


def test_npz_corrupt_data_detected(tmp_path):
    """A flipped byte in the array data fails the zip CRC."""
    path = tmp_path / "ckpt.npz"
    w = np.arange(64, dtype=np.float64)
    io.save(path, {"w": w})
    raw = bytearray(path.read_bytes())
    raw[raw.index(w.tobytes()) + 100] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(MinigenError, match="corrupt"):
        io.load(path)


def foreign_files(tmp_path):
    """name -> bytes of files that are not minigen checkpoints."""
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4"
                        "5c0000000049454e44ae426082")
    obj = tmp_path / "obj.npz"
    np.savez(obj, a=np.array([{"x": 1}, None], dtype=object))  # object arrays need pickle
    npy = tmp_path / "arr.npy"
    np.save(npy, np.arange(3))
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    return {"text": b"just some text\n", "png": png, "object": obj.read_bytes(),
            "npy": npy.read_bytes(), "zip": other_zip.read_bytes(), "empty": b""}


@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("kind", ["text", "png", "object", "npy", "zip", "empty"])
def test_foreign_files_refused(tmp_path, ext, kind):
    path = tmp_path / (kind + ext)
    path.write_bytes(foreign_files(tmp_path)[kind])
    with pytest.raises(MinigenError) as err:
        io.load(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_missing_directory_and_unknown_extension(tmp_path):
    with pytest.raises(MinigenError, match="no such file"):
        io.load(tmp_path / "nope.npz")
    (tmp_path / "dir.safetensors").mkdir()
    with pytest.raises(MinigenError, match="is a directory"):
        io.load(tmp_path / "dir.safetensors")
    with pytest.raises(MinigenError, match=r"unknown checkpoint format '\.pkl'"):
        io.load(tmp_path / "model.pkl")
    with pytest.raises(MinigenError, match="unknown checkpoint format"):
        io.save(tmp_path / "model", {"w": np.ones(1)})
    with pytest.raises(MinigenError, match="cannot write"):
        io.save(tmp_path / "no" / "such" / "dir.npz", {"w": np.ones(1)})
    assert sorted(os.listdir(tmp_path)) == ["dir.safetensors"]


@pytest.mark.parametrize("state, metadata, error, match", [
    ([np.ones(2)], None, TypeError, "must be a dict"),
    ({1: np.ones(2)}, None, ValueError, "bad state name"),
    ({"": np.ones(2)}, None, ValueError, "bad state name"),
    ({"__metadata__": np.ones(2)}, None, ValueError, "bad state name"),
    ({"w": {"nested": np.ones(2)}}, None, TypeError, "'w' has dtype object"),
    ({"w": object()}, None, TypeError, "'w' has dtype object"),
    ({"w": np.array(["a", "b"])}, None, TypeError, "'w' has dtype <U1"),
    ({"w": np.ones(2, np.complex64)}, None, TypeError, "complex64"),
    ({"w": np.ones(2)}, [1, 2], TypeError, "metadata must be a dict"),
    ({"w": np.ones(2)}, {"f": np.float32(1)}, TypeError, "not JSON-serialisable"),
])
@pytest.mark.parametrize("ext", FORMATS)
def test_bad_save_arguments(tmp_path, ext, state, metadata, error, match):
    with pytest.raises(error, match=match):
        io.save(tmp_path / ("x" + ext), state, metadata)
    assert os.listdir(tmp_path) == []


class Unconvertible:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("device lost")


@pytest.mark.parametrize("ext", FORMATS)
def test_failed_save_keeps_old_checkpoint(tmp_path, ext, monkeypatch):
    path = tmp_path / ("ckpt" + ext)
    old = {"w": np.arange(4, dtype=np.float32)}
    io.save(path, old, {"step": 1})
    before = path.read_bytes()

    with pytest.raises(TypeError, match="'bad' cannot be converted"):
        io.save(path, {"w": np.zeros(4, np.float32), "bad": Unconvertible()}, {"step": 2})
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]

    # A failure after the new bytes were written (here the fsync) must not touch the old file either.
    def broken_fsync(fd):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(MinigenError, match="cannot write: Input/output error"):
        io.save(path, {"w": np.zeros(4, np.float32)}, {"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]
    assert io.load(path)[1] == {"step": 1}

