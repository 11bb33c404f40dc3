"""Reading torch .pth files without torch: both formats, refusal of foreign pickles, truncation."""
import os
import pickle
import zipfile

import numpy as np
import pytest

from minigen import io
from minigen.errors import MinigenError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
ZIP = os.path.join(FIXTURES, "torch_state.pth")
LEGACY = os.path.join(FIXTURES, "torch_state_legacy.pth")
REAL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "weights",
                    "vgg_normalised_conv3_1.pth")


def expected():
    with np.load(os.path.join(FIXTURES, "torch_state_expected.npz")) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("path", [ZIP, LEGACY], ids=["zip", "legacy"])
def test_fixture_loads_with_exact_values(path):
    state = io.load_torch(path)
    want = expected()
    assert list(state) == list(want)
    for name, a in want.items():
        got = state[name]
        assert got.dtype == a.dtype and got.shape == a.shape, name
        np.testing.assert_array_equal(got, a, err_msg=name)
        assert got.flags.c_contiguous and got.dtype.isnative
    # Spot values straight from the generating script's construction (not only the stored .npz).
    np.testing.assert_array_equal(state["base_t"], state["base"].T)
    np.testing.assert_array_equal(state["shared_a"], [0.5, 0.75, 1.0])
    np.testing.assert_array_equal(state["shared_b"], [0.25, 1.0, 1.75])
    np.testing.assert_array_equal(state["steps"], np.arange(-3, 5))
    assert state["scalar"].shape == () and state["scalar"] == 2.5 and state["empty"].shape == (0, 3)


def test_load_dispatches_pth_and_pt(tmp_path):
    state, meta = io.load(ZIP)
    assert meta == {} and set(state) == set(expected())
    pt = tmp_path / "w.pt"
    pt.write_bytes(open(LEGACY, "rb").read())
    np.testing.assert_array_equal(io.load(pt)[0]["base"], expected()["base"])
    with pytest.raises(MinigenError, match="does not write them"):
        io.save(tmp_path / "out.pth", {"a": np.ones(2)})
    assert not (tmp_path / "out.pth").exists()


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


def _evil_zip(path, payload):
    with zipfile.ZipFile(ZIP) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = payload if info.filename.endswith("/data.pkl") else src.read(info)
            dst.writestr(info.filename, data)


def _evil_legacy(path, payload):
    head = b"".join(pickle.dumps(v, protocol=2) for v in
                    (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}))
    with open(path, "wb") as f:
        f.write(head + payload + pickle.dumps([], protocol=2))


@pytest.mark.parametrize("wrap", [_evil_zip, _evil_legacy], ids=["zip", "legacy"])
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, wrap):
    target = tmp_path / "pwned"
    payload = pickle.dumps({"w": _Evil(target)}, protocol=2)
    path = tmp_path / "evil.pth"
    wrap(path, payload)
    with pytest.raises(MinigenError, match=r"refused to load: the pickle asks for (posix|os|nt)\.system"):
        io.load_torch(path)
    assert not target.exists()


@pytest.mark.parametrize("global_", [("torch.storage", "_load_from_bytes"), ("builtins", "eval"),
                                     ("torch", "Tensor"), ("collections", "defaultdict")])
def test_only_the_allow_list_is_accepted(tmp_path, global_):
    module, name = global_
    payload = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."  # call module.name()
    path = tmp_path / "g.pth"
    _evil_legacy(path, payload)
    with pytest.raises(MinigenError, match=f"asks for {module}.{name};"):
        io.load_torch(path)


@pytest.mark.parametrize("path", [ZIP, LEGACY], ids=["zip", "legacy"])
@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.1, 0.3, 0.5, 0.8, 0.97])
def test_truncated_files_give_one_line_errors(tmp_path, path, fraction):
    data = open(path, "rb").read()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(MinigenError) as e:
        io.load_torch(cut)
    assert str(cut) in str(e.value) and "\n" not in str(e.value)


def test_foreign_and_inconsistent_files(tmp_path):
    txt = tmp_path / "notes.pth"
    txt.write_text("hello")
    with pytest.raises(MinigenError, match="not a readable torch file"):
        io.load_torch(txt)
    other = tmp_path / "other.pth"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(MinigenError, match="data.pkl"):
        io.load_torch(other)
    # A storage whose bytes do not match its element count.
    short = tmp_path / "short.pth"
    with zipfile.ZipFile(ZIP) as src, zipfile.ZipFile(short, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[:-4] if info.filename.endswith("/data/0") else data)
    with pytest.raises(MinigenError, match="storage '0' holds"):
        io.load_torch(short)
    with pytest.raises(MinigenError, match="no such file"):
        io.load_torch(tmp_path / "missing.pth")


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    # The zip fixture with "steps" (8 int64 elements) re-pickled to claim 9 elements.
    with zipfile.ZipFile(ZIP) as src:
        pkl = next(n for n in src.namelist() if n.endswith("/data.pkl"))
        data = src.read(pkl)
    # protocol-2 pickles store the size tuple (8,) as BININT1 8 followed by TUPLE1
    steps_size = b"K\x08\x85"
    assert data.count(steps_size) == 1
    bad = tmp_path / "bad.pth"
    with zipfile.ZipFile(ZIP) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data.replace(steps_size, b"K\x09\x85") if info.filename == pkl
                         else src.read(info))
    with pytest.raises(MinigenError, match="reaches past its storage"):
        io.load_torch(bad)


@pytest.mark.skipif(not os.path.exists(REAL), reason="shared/data weights absent")
def test_real_legacy_vgg_file():
    state, meta = io.load(REAL)
    shapes = {"0": (3, 3, 1, 1), "2": (64, 3, 3, 3), "5": (64, 64, 3, 3), "9": (128, 64, 3, 3),
              "12": (128, 128, 3, 3), "16": (256, 128, 3, 3)}
    want = {}
    for k, s in shapes.items():
        want[k + ".weight"], want[k + ".bias"] = s, s[:1]
    assert {k: v.shape for k, v in state.items()} == want and meta == {}
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in state.values())
    assert sum(v.size for v in state.values()) == 555340
    np.testing.assert_array_equal(state["0.weight"][:, ::-1, 0, 0], 255 * np.eye(3, dtype=np.float32))


def _legacy_file(path, state_pickle, storages):
    """A legacy-format file from a hand-written state pickle and {key: float32 array}."""
    head = b"".join(pickle.dumps(v, protocol=2) for v in
                    (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}))
    body = b"".join(len(a).to_bytes(8, "little") + a.astype("<f4").tobytes() for a in storages.values())
    with open(path, "wb") as f:
        f.write(head + state_pickle + pickle.dumps(list(storages), protocol=2) + body)


def _tensor_pickle(size, stride, cyclic=False, after_storage=b""):
    """Protocol-2 pickle of {'t': tensor over storage 'k' (4 float32), ...} built opcode by opcode."""
    ints = lambda t: b"(" + b"".join(b"J" + v.to_bytes(4, "little", signed=True) for v in t) + b"t"  # noqa: E731
    # the persistent id ('storage', FloatStorage, 'k', 'cpu', 4, None), loaded by BINPERSID ('Q')
    pid = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00cpuJ\x04\x00\x00\x00NtQ"
    # _rebuild_tensor_v2(storage, offset 0, size, stride, requires_grad False, hooks None)
    rebuild = (b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + after_storage + b"K\x00" + ints(size) + ints(stride)
               + b"\x89NtR")
    body = b"}q\x01(X\x01\x00\x00\x00t" + rebuild
    if cyclic:
        body += b"X\x04\x00\x00\x00selfh\x01"
    return b"\x80\x02" + body + b"u."


def test_hand_built_tensors_cycles_and_expanded_views(tmp_path):
    path = tmp_path / "h.pth"
    data = {"k": np.arange(4, dtype=np.float32)}
    _legacy_file(path, _tensor_pickle((2, 2), (1, 2), cyclic=True), data)
    state = io.load_torch(path)
    assert list(state) == ["t"]
    np.testing.assert_array_equal(state["t"], [[0, 2], [1, 3]])
    _legacy_file(path, _tensor_pickle((3, 4), (0, 1)), data)  # an expanded (stride-0) view
    np.testing.assert_array_equal(io.load_torch(path)["t"], np.tile(np.arange(4), (3, 1)))
    _legacy_file(path, _tensor_pickle((2**16, 2**16), (0, 0)), data)
    with pytest.raises(MinigenError, match="more elements than its storage"):
        io.load_torch(path)


def test_pickle_build_cannot_rewrite_a_storage(tmp_path):
    # BUILD ('b') with {'numel': 2**20} on the storage, then a tensor that needs that many elements
    path = tmp_path / "b.pth"
    grow = b"}X\x05\x00\x00\x00numelJ\x00\x00\x10\x00sb"
    _legacy_file(path, _tensor_pickle((2**20,), (1,), after_storage=grow), {"k": np.zeros(4, np.float32)})
    with pytest.raises(MinigenError, match="tries to set attributes of a Storage"):
        io.load_torch(path)
