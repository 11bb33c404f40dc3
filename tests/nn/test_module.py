"""Module, Parameter, Sequential and ModuleList: registration, traversal, state, modes, devices."""
import numpy as np
import pytest

import minigen
from minigen import backend, nn
from minigen.errors import MinigenError
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


class Block(nn.Module):
    """A parameter, a buffer, a sub-module and a plain attribute."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.full(3, 2.0, np.float32))
        self.register_buffer("count", np.zeros(3, np.float32))
        self.inner = nn.Linear(3, 3)
        self.note = "plain"

    def forward(self, x):
        return self.inner(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Block(), nn.ReLU(), Block())
        self.head = nn.Linear(3, 1, bias=False)

    def forward(self, x):
        return self.head(self.body(x))


def test_parameter_requires_grad_and_registration():
    b = Block()
    assert isinstance(b.scale, nn.Parameter) and b.scale.requires_grad
    assert [n for n, _ in b.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert [n for n, _ in b.named_buffers()] == ["count"]
    assert b.note == "plain" and "note" not in b.state_dict()
    assert list(b.children()) == [b.inner]


def test_dotted_names_and_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.0.scale", "body.0.inner.weight", "body.0.inner.bias",
                     "body.2.scale", "body.2.inner.weight", "body.2.inner.bias", "head.weight"]
    assert len(net.parameters()) == 7
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.0.inner", "body.1", "body.2",
                                                    "body.2.inner", "head"]
    # Each module's own parameters and buffers, then its children's.
    assert list(net.state_dict()) == ["body.0.scale", "body.0.count", "body.0.inner.weight", "body.0.inner.bias",
                                      "body.2.scale", "body.2.count", "body.2.inner.weight", "body.2.inner.bias",
                                      "head.weight"]


def test_shared_parameter_counted_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(seq.parameters()) == 2


def test_reassignment_moves_between_tables():
    b = Block()
    b.inner = None
    assert b.inner is None and [n for n, _ in b.named_parameters()] == ["scale"]
    b.scale = None
    assert b.parameters() == []
    b.count = np.ones(3, np.float32)  # a buffer stays a buffer
    np.testing.assert_array_equal(b.state_dict()["count"], 1)
    with pytest.raises(TypeError, match="assign a Parameter"):
        b.scale = np.ones(3)
    del b.count
    assert "count" not in b.state_dict()


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(RuntimeError, match="Module.__init__"):
        Bad()


def test_register_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="raw array"):
        m.register_buffer("b", Tensor(np.ones(2)))
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("w", np.ones(2))
    with pytest.raises(TypeError, match="must be a Module"):
        m.add_module("x", 3)
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing  # noqa: B018


def test_state_dict_is_a_copy():
    net = Net()
    sd = net.state_dict()
    sd["head.weight"][...] = 7
    assert not np.any(net.head.weight.data == 7)
    assert all(isinstance(v, np.ndarray) for v in sd.values())


def test_load_state_dict_round_trip():
    minigen.manual_seed(0)
    a, b = Net(), Net()
    a.body[0].count[...] = 5
    missing, unexpected = b.load_state_dict(a.state_dict())
    assert missing == [] and unexpected == []
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va, vb, err_msg=k)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_keeps_dtype_and_accepts_tensors():
    net = nn.Linear(2, 2)
    sd = {k: Tensor(v.astype(np.float64) + 1) for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    assert net.weight.dtype == np.float32


def test_load_state_dict_reports_every_problem_in_one_message():
    net = Net()
    sd = net.state_dict()
    del sd["head.weight"]
    sd["extra.weight"] = np.zeros(1)
    sd["body.0.scale"] = np.zeros(4)
    with pytest.raises(MinigenError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert "\n" not in msg
    assert "missing: head.weight" in msg and "unexpected: extra.weight" in msg
    assert "body.0.scale (expected (3,), got (4,))" in msg


def test_load_state_dict_non_strict():
    net = Net()
    before = net.head.weight.data.copy()
    sd = {"body.0.scale": np.full(3, 9.0), "other": np.zeros(2)}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert unexpected == ["other"] and "head.weight" in missing
    np.testing.assert_array_equal(net.body[0].scale.data, 9.0)
    np.testing.assert_array_equal(net.head.weight.data, before)
    with pytest.raises(MinigenError, match="mis-shaped"):
        net.load_state_dict({"body.0.scale": np.zeros(2)}, strict=False)


def test_train_eval_recursive():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.body.train()
    assert net.body[2].inner.training and not net.training


def test_zero_grad_and_requires_grad():
    net = Net()
    x = Tensor(np.ones((2, 3), np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not net(x).requires_grad


def test_to_dtype_converts_parameters_grads_and_buffers():
    net = Net()
    net(Tensor(np.ones((1, 3), np.float32))).sum().backward()
    assert net.to(dtype=np.float64) is net
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert all(b.dtype == np.float64 for b in net.buffers())
    assert net(Tensor(np.ones((1, 3)))).dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        net.to(dtype=np.int32)
    with pytest.raises(ValueError, match="unknown device"):
        net.to("tpu")


@pytest.mark.parametrize("device", DEVICES)
def test_to_device_moves_in_place(device):
    net = Net()
    params = net.parameters()
    net.to(device)
    assert net.parameters() == params  # the same Parameter objects (optimisers keep working)
    assert all(p.device == device for p in params)
    assert all(backend.device_of(b) == device for b in net.buffers())
    sd = net.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    net.load_state_dict(sd)
    assert all(p.device == device for p in net.parameters())


def test_apply_visits_every_module():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen.count("Linear") == 3 and seen[0] == "Net"


def test_repr_is_nested_and_readable():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU())))
    assert text == ("Sequential(\n  (0): Linear(2, 3, bias=True)\n  (1): Sequential(\n    (0): ReLU()\n  )\n)")
    assert repr(nn.Parameter(np.zeros((2, 1), np.float32))) == \
        "Parameter(shape=(2, 1), dtype=float32, device='cpu')"


def test_sequential_indexing_iteration_and_forward():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b)
    seq.append(c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    x = Tensor(np.ones((4, 2), np.float32))
    np.testing.assert_array_equal(seq(x).data, c(b(a(x))).data)
    named = nn.Sequential({"conv": a, "act": b})
    assert named.conv is a and [n for n, _ in named.named_parameters()] == ["conv.weight", "conv.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(a, lambda x: x)


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    assert len(layers) == 2 and layers[1] is list(layers)[1]
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    with pytest.raises(TypeError, match="expected a Module"):
        layers.append(3)


def test_forward_not_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)
