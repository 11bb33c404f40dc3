"""Layers: shapes and default initialisation, forward against the loop references or NumPy
formulas (which also checks that each layer hands its settings to the right op arguments),
modes, devices and dtypes, gradient checks of every layer, and bad arguments."""
import inspect
import math

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import backend, nn
from minigen import gradcases as G
from minigen.nn import layers
from minigen.reference import conv as RC
from minigen.reference import norm as RN
from minigen.reference import pixel_shuffle as RP
from minigen.reference import pool as RPool
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _x(shape, dtype=np.float64, device="cpu", seed=0, layout="contiguous"):
    a = np.random.default_rng(seed).standard_normal(shape)
    if layout == "transposed":  # the same values, as a non-contiguous view
        a = a.swapaxes(-1, -2).copy().swapaxes(-1, -2)
    return Tensor(backend.to_device(a.astype(dtype, copy=False), device))


def _layer(layer, dtype, device, seed=1):
    """The layer in dtype on device, with random parameters (so no identity-init hides a bug)."""
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1.0, 1.0], p.shape)
    return layer.to(device, dtype)


def _params(layer):
    return [p.numpy().astype(np.float64) for p in layer.parameters()]


# ---- construction and default initialisation ---------------------------------------------------

def test_parameter_shapes_and_default_dtype():
    assert nn.Linear(3, 5).weight.shape == (5, 3) and nn.Linear(3, 5).bias.shape == (5,)
    conv = nn.Conv2d(4, 6, (3, 5), groups=2)
    assert conv.weight.shape == (6, 2, 3, 5) and conv.weight.dtype == np.float32
    assert nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape == (4, 3, 3, 3)
    assert nn.Conv2d(2, 2, 1, bias=False).bias is None
    assert len(nn.Conv2d(2, 2, 1, bias=False).parameters()) == 1
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var"]
    np.testing.assert_array_equal(bn.running_var, 1)
    assert nn.BatchNorm2d(3, affine=False, track_running_stats=False).state_dict() == {}
    assert nn.InstanceNorm2d(3).parameters() == []
    cin = nn.ConditionalInstanceNorm2d(4, 3)
    assert cin.gamma.shape == cin.beta.shape == (4, 3)
    previous = minigen.default_dtype()
    minigen.set_default_dtype(np.float64)
    try:
        assert nn.Conv2d(1, 1, 3).weight.dtype == np.float64
        assert nn.BatchNorm2d(2).running_mean.dtype == np.float64
    finally:
        minigen.set_default_dtype(previous)


@pytest.mark.parametrize("make,fan_in", [
    (lambda: nn.Linear(200, 300), 200),
    (lambda: nn.Conv2d(16, 64, 3), 16 * 9),
    (lambda: nn.Conv2d(16, 64, 3, groups=4), 4 * 9),
    (lambda: nn.ConvTranspose2d(64, 32, 4, groups=2), 16 * 16),
], ids=["linear", "conv", "conv-groups", "conv-transpose"])
def test_default_init_is_uniform_one_over_sqrt_fan_in(make, fan_in):
    minigen.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.05  # U(-b, b): std b / sqrt(3)
    assert np.abs(w).max() > 0.98 * bound


def test_seeded_construction_is_reproducible():
    minigen.manual_seed(5)
    a = nn.Conv2d(3, 4, 3).state_dict()
    minigen.manual_seed(5)
    b = nn.Conv2d(3, 4, 3).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


# ---- forward and backward against references --------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (4, 2, 3)])
def test_linear(shape, dtype, device):
    layer = _layer(nn.Linear(3, 5), dtype, device)
    x = _x(shape, dtype, device)
    x.requires_grad = True
    y = layer(x)
    y.sum().backward()
    w, b = _params(layer)
    xh = x.numpy().astype(np.float64)
    np.testing.assert_allclose(y.numpy(), xh @ w.T + b, **TOL[dtype])
    np.testing.assert_allclose(backend.to_device(layer.weight.grad, "cpu"),
                               np.ones(shape[:-1] + (5,)).reshape(-1, 5).T @ xh.reshape(-1, 3), **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=3, padding=1), (1, 4, 5, 5)),
    (dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), (2, 4, 7, 6)),
    (dict(kernel_size=1, stride=2), (3, 4, 5, 4)),
], ids=["same", "strided-dilated-groups", "1x1"])
def test_conv2d(kw, shape, dtype, device):
    layer = _layer(nn.Conv2d(4, 6, **kw), dtype, device)
    x = _x(shape, dtype, device, layout="transposed")
    y = layer(x)
    w, b = _params(layer)
    want = RC.conv2d(x.numpy().astype(np.float64), w, b, kw.get("stride", 1), kw.get("padding", 0),
                     kw.get("dilation", 1), kw.get("groups", 1))
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), want, **TOL[dtype])


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_conv2d_padding_modes(mode):
    layer = _layer(nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode), np.float64, "cpu")
    x = _x((2, 2, 4, 5))
    w, b = _params(layer)
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (2, 2)), mode="reflect" if mode == "reflect" else "edge")
    want = RC.conv2d(padded, w, b)
    np.testing.assert_allclose(layer(x).numpy(), want, **TOL[np.float64])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw,shape", [
    (dict(kernel_size=4, stride=2, padding=1), (2, 4, 3, 3)),
    (dict(kernel_size=3, stride=2, padding=1, output_padding=1, groups=2), (1, 4, 3, 2)),
    (dict(kernel_size=(2, 3), stride=1, dilation=2), (1, 4, 4, 5)),
], ids=["dcgan-up", "output-padding-groups", "dilated"])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(kw, shape, dtype, device):
    """<convT(x; W), y> == <x, conv(y; W)> with the same weight (bias off), and the documented output size."""
    up = _layer(nn.ConvTranspose2d(4, 6, bias=False, **kw), dtype, device)
    x = _x(shape, dtype, device)
    y = up(x)
    k = up.kernel_size
    size = tuple((n - 1) * s - 2 * p + d * (kk - 1) + op + 1 for n, s, p, d, kk, op in
                 zip(shape[2:], up.stride, up.padding, up.dilation, k, up.output_padding))
    assert y.shape == (shape[0], 6) + size
    probe = _x(y.shape, dtype, device, seed=3)
    down = F.conv2d(probe, up.weight, stride=up.stride, padding=up.padding, dilation=up.dilation, groups=up.groups)
    lhs = float((y.numpy().astype(np.float64) * probe.numpy()).sum())
    rhs = float((x.numpy().astype(np.float64) * down.numpy()).sum())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-4 if dtype == np.float32 else 1e-10)
    with_bias = _layer(nn.ConvTranspose2d(4, 6, **kw), dtype, device)
    with_bias.weight.data[...] = up.weight.data
    np.testing.assert_allclose(with_bias(x).numpy() - y.numpy(),
                               np.broadcast_to(with_bias.bias.numpy().reshape(1, -1, 1, 1), y.shape), **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_training_and_eval(dtype, device):
    bn = _layer(nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), dtype, device)
    w, b = _params(bn)
    x = _x((4, 3, 2, 3), dtype, device)
    xh = x.numpy().astype(np.float64)
    y = bn(x)
    want, mean, var = RN.batch_norm(xh, np.zeros(3), np.ones(3), w, b, training=True, momentum=0.3, eps=1e-3)
    np.testing.assert_allclose(y.numpy(), want, **TOL[dtype])
    np.testing.assert_allclose(backend.to_device(bn.running_mean, "cpu"), mean, **TOL[dtype])
    np.testing.assert_allclose(backend.to_device(bn.running_var, "cpu"), var, **TOL[dtype])
    assert bn.running_mean.dtype == dtype

    bn.eval()
    x2 = _x((2, 3, 3, 3), dtype, device, seed=4)
    want, _, _ = RN.batch_norm(x2.numpy().astype(np.float64), mean, var, w, b, training=False, eps=1e-3)
    np.testing.assert_allclose(bn(x2).numpy(), want, **TOL[dtype])
    np.testing.assert_allclose(backend.to_device(bn.running_mean, "cpu"), mean, **TOL[dtype])  # unchanged


def test_batch_norm_without_running_stats_always_uses_the_batch():
    bn = nn.BatchNorm2d(2, affine=False, track_running_stats=False).eval()
    x = _x((3, 2, 2, 2))
    want, _, _ = RN.batch_norm(x.numpy(), None, None, training=True)
    np.testing.assert_allclose(bn(x).numpy(), want, **TOL[np.float64])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_and_group_norm(dtype, device):
    x = _x((2, 4, 3, 3), dtype, device, layout="transposed")
    xh = x.numpy().astype(np.float64)
    plain = nn.InstanceNorm2d(4).to(device, dtype)
    np.testing.assert_allclose(plain(x).numpy(), RN.instance_norm(xh), **TOL[dtype])
    for training in (True, False):  # the same in both modes
        affine = _layer(nn.InstanceNorm2d(4, affine=True, eps=1e-3), dtype, device).train(training)
        np.testing.assert_allclose(affine(x).numpy(), RN.instance_norm(xh, *_params(affine), eps=1e-3),
                                   **TOL[dtype])
    gn = _layer(nn.GroupNorm(2, 4), dtype, device)
    np.testing.assert_allclose(gn(x).numpy(), RN.group_norm(xh, 2, *_params(gn)), **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conditional_instance_norm(dtype, device):
    cin = _layer(nn.ConditionalInstanceNorm2d(3, 2), dtype, device)
    gamma, beta = _params(cin)
    x = _x((3, 2, 3, 2), dtype, device)
    xh = x.numpy().astype(np.float64)
    styles = np.array([2, 0, 2])
    np.testing.assert_allclose(cin(x, styles).numpy(), RN.conditional_instance_norm(xh, gamma, beta, styles),
                               **TOL[dtype])
    mix = np.random.default_rng(0).dirichlet(np.ones(3), 3)
    np.testing.assert_allclose(cin(x, mix).numpy(), RN.conditional_instance_norm(xh, gamma, beta, mix),
                               **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations(dtype, device):
    x = _x((2, 3, 4), dtype, device)
    v = x.numpy().astype(np.float64)
    cases = [
        (nn.ReLU(), np.maximum(v, 0)),
        (nn.LeakyReLU(0.2), np.where(v > 0, v, 0.2 * v)),
        (nn.Sigmoid(), 1 / (1 + np.exp(-v))),
        (nn.Tanh(), np.tanh(v)),
        (nn.ELU(0.5), np.where(v > 0, v, 0.5 * (np.exp(v) - 1))),
        (nn.Softplus(), np.log1p(np.exp(v))),
        (nn.Softplus(beta=2.0), np.log1p(np.exp(2 * v)) / 2),
    ]
    for layer, want in cases:
        y = layer(x)
        assert y.dtype == dtype, layer
        np.testing.assert_allclose(y.numpy(), want, **TOL[dtype], err_msg=repr(layer))


def test_dropout_modes():
    x = Tensor(np.ones((200, 50)))
    drop = nn.Dropout(0.25)
    minigen.manual_seed(0)
    y = drop(x).numpy()
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert drop.eval()(x) is x  # evaluation: the identity


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_resampling_padding_pooling_and_reshaping(dtype, device):
    x = _x((2, 3, 4, 6), dtype, device)
    v = x.numpy().astype(np.float64)
    np.testing.assert_allclose(nn.Upsample(scale_factor=2)(x).numpy(), v.repeat(2, 2).repeat(2, 3), **TOL[dtype])
    assert nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False)(x).shape == (2, 3, 5, 7)
    np.testing.assert_allclose(nn.ReflectionPad2d((1, 2, 3, 0))(x).numpy(),
                               np.pad(v, ((0, 0), (0, 0), (3, 0), (1, 2)), mode="reflect"), **TOL[dtype])
    np.testing.assert_allclose(nn.ReflectionPad2d(2)(x).numpy(),
                               np.pad(v, ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect"), **TOL[dtype])
    np.testing.assert_allclose(nn.Flatten()(x).numpy(), v.reshape(2, -1), **TOL[dtype])
    np.testing.assert_allclose(nn.MaxPool2d(2)(x).numpy(), RPool.max_pool2d(v, 2), **TOL[dtype])
    np.testing.assert_allclose(nn.AvgPool2d(3, stride=2, padding=1)(x).numpy(),
                               RPool.avg_pool2d(v, 3, stride=2, padding=1), **TOL[dtype])
    x12 = _x((1, 12, 2, 3), dtype, device)
    np.testing.assert_allclose(nn.PixelShuffle(2)(x12).numpy(), RP.pixel_shuffle(x12.numpy(), 2), **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
def test_a_small_network_on_device_matches_the_cpu(device):
    minigen.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect"), nn.InstanceNorm2d(8, affine=True),
                        nn.LeakyReLU(0.2), nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.BatchNorm2d(4),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    cpu_out = net(Tensor(x)).numpy()
    net.to(device)
    xd = Tensor(backend.to_device(x, device), requires_grad=True)
    out = net(xd)
    out.sum().backward()
    assert out.device == device and all(p.grad is not None for p in net.parameters())
    np.testing.assert_allclose(out.numpy(), cpu_out, rtol=1e-4, atol=1e-5)


# ---- gradient checks -------------------------------------------------------------------------------

NN_CASES = G.select("nn")
LAYERS = [c for name, c in inspect.getmembers(layers, inspect.isclass)
          if issubclass(c, nn.Module) and c.__module__ == layers.__name__ and not name.startswith("_")]


def test_every_layer_has_a_gradcase():
    covered = {c.name.split("/")[1] for c in NN_CASES}
    assert {c.__name__ for c in LAYERS} <= covered


@pytest.mark.parametrize("case", NN_CASES, ids=lambda c: c.name)
def test_gradcheck(case):
    report = G.run(case)
    assert report.passed, report.summary()
    fn, args = case.build(np.random.default_rng(0))
    assert len(report.inputs) == 1 or len(report.inputs) == len([a for a in args if a.requires_grad])


def test_gradcases_restore_the_default_dtype():
    before = minigen.default_dtype()
    G.select("nn/Linear")[0].build(np.random.default_rng(0))
    assert minigen.default_dtype() == before


# ---- bad arguments and repr ---------------------------------------------------------------------

def test_bad_arguments():
    with pytest.raises(ValueError, match="Linear: in_features must be a positive integer"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="Conv2d: groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(TypeError, match="Conv2d: kernel_size must be an int or a pair"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="Conv2d: stride must be a positive integer"):
        nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="Conv2d: padding must be non-negative"):
        nn.Conv2d(3, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="circular")
    with pytest.raises(ValueError, match="ConvTranspose2d: output_padding"):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="BatchNorm2d: momentum"):
        nn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input \(N, 3, H, W\), got shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(_x((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="InstanceNorm2d: expected input"):
        nn.InstanceNorm2d(3)(_x((2, 3, 5)))
    with pytest.raises(ValueError, match="GroupNorm: num_groups=3 must divide num_channels=4"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="Dropout: p"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="Upsample: give exactly one"):
        nn.Upsample()
    with pytest.raises(ValueError, match="ReflectionPad2d"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match="linear"):  # the op reports a shape mismatch
        nn.Linear(3, 2)(_x((2, 4)).to(dtype=np.float32))


def test_reprs():
    assert repr(nn.Conv2d(3, 8, 3, stride=2, padding=1, padding_mode="reflect")) == \
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=True, padding_mode='reflect')"
    assert repr(nn.ConvTranspose2d(8, 4, 4, 2, 1, output_padding=1, bias=False)) == \
        "ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False, output_padding=(1, 1))"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2, mode='nearest')"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
