"""Optimisers (hand-computed steps, convergence, resuming), L-BFGS, schedules, clipping, EMA."""
import copy
import math

import numpy as np
import pytest

from minigen import backend, nn, optim
from minigen.nn import Parameter
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}

P0 = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
G1 = np.array([[0.1, -0.2, 0.3], [-0.4, 0.5, 0.0]])
G2 = np.array([[-0.3, 0.1, 0.2], [0.2, -0.6, 0.4]])


def _param(dtype=np.float64, device="cpu", value=P0):
    return Parameter(backend.to_device(np.array(value, dtype), device))


def _steps(opt, p, grads):
    """Apply the given gradients one step each; returns the parameter on the host in float64."""
    for g in grads:
        p.grad = backend.to_device(np.asarray(g, p.dtype), p.device)
        opt.step()
    return p.numpy().astype(np.float64)


# ---- single steps against hand-written updates ------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_steps(dtype, device):
    p = _param(dtype, device)
    np.testing.assert_allclose(_steps(optim.SGD([p], lr=0.1), p, [G1]), P0 - 0.1 * G1, **TOL[dtype])
    assert p.dtype == dtype and p.device == device

    p = _param(dtype, device)
    got = _steps(optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01), p, [G1, G2])
    g1 = G1 + 0.01 * P0
    p1 = P0 - 0.1 * g1                      # the first buffer is the gradient itself
    b2 = 0.9 * g1 + (G2 + 0.01 * p1)
    np.testing.assert_allclose(got, p1 - 0.1 * b2, **TOL[dtype])

    p = _param(dtype, device)
    got = _steps(optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True), p, [G1, G2])
    p1 = P0 - 0.1 * (G1 + 0.5 * G1)
    b2 = 0.5 * G1 + G2
    np.testing.assert_allclose(got, p1 - 0.1 * (G2 + 0.5 * b2), **TOL[dtype])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_steps(dtype, device):
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.9, 1e-8, 0.1
    p = _param(dtype, device)
    got = _steps(optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), p, [G1, G2])
    want, m, v = P0.copy(), 0.0, 0.0
    for t, g in enumerate([G1, G2], start=1):
        g = g + wd * want
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        want = want - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(got, want, **TOL[dtype])
    assert p.dtype == dtype


def test_adam_first_step_is_lr_times_sign():
    p = _param()
    got = _steps(optim.Adam([p], lr=0.01), p, [G1])
    np.testing.assert_allclose(got, P0 - 0.01 * np.sign(G1), atol=1e-8)  # |g| / (|g| + eps), g == 0 gives 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_rmsprop_steps(momentum, dtype, device):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    p = _param(dtype, device)
    got = _steps(optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, momentum=momentum), p, [G1, G2])
    want, v, b = P0.copy(), 0.0, 0.0
    for g in (G1, G2):
        v = alpha * v + (1 - alpha) * g * g
        b = momentum * b + g / (np.sqrt(v) + eps)
        want = want - lr * b
    np.testing.assert_allclose(got, want, **TOL[dtype])


def test_parameters_without_grad_are_skipped_and_zero_grad():
    a, b = _param(), _param()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = G1.copy()
    opt.step()
    np.testing.assert_array_equal(b.data, P0)
    assert opt.state[0]["step"] == 1 and opt.state[1]["step"] == 0
    opt.zero_grad()
    assert a.grad is None


def test_module_parameters_accepted():
    net = nn.Linear(3, 2)
    opt = optim.SGD(net, lr=0.1)
    assert opt.params == net.parameters()


# ---- convergence on a quadratic -------------------------------------------------------------

@pytest.mark.parametrize("make,steps", [
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), 300),
    (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), 300),
    (lambda ps: optim.Adam(ps, lr=0.05), 800),
    (lambda ps: optim.RMSprop(ps, lr=0.01), 800),
    (lambda ps: optim.RMSprop(ps, lr=0.005, momentum=0.5), 800),
], ids=["sgd-momentum", "sgd-nesterov", "adam", "rmsprop", "rmsprop-momentum"])
def test_minimises_a_quadratic(make, steps):
    """f(p) = sum a (p - c)^2 with unequal curvatures a; the minimum is p = c."""
    a = np.array([0.5, 1.0, 4.0, 2.0], np.float32)
    c = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    p = Parameter(np.zeros(4, np.float32))
    opt = make([p])
    for _ in range(steps):
        opt.zero_grad()
        (Tensor(a) * (p - Tensor(c)) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, c, atol=2e-2)


# ---- resuming --------------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.9)),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.3),
], ids=["sgd", "adam", "rmsprop"])
def test_state_dict_round_trip_gives_the_same_next_step(make, device):
    p = _param(np.float32, device)
    opt = make([p])
    _steps(opt, p, [G1, G2])
    opt.lr *= 0.5  # a scheduled lr is part of the state
    saved_p, saved = p.numpy().copy(), opt.state_dict()
    pristine = copy.deepcopy(saved)
    assert all(isinstance(v, (int, np.ndarray)) for s in saved["state"] for v in s.values())
    expected = _steps(opt, p, [G1])

    q = _param(np.float32, device, value=saved_p)
    resumed = make([q])
    resumed.load_state_dict(saved)
    assert resumed.lr == opt.lr
    np.testing.assert_array_equal(_steps(resumed, q, [G1]), expected)
    for s, s0 in zip(saved["state"], pristine["state"]):  # loading copied: the saved state is untouched
        for k in s:
            np.testing.assert_array_equal(s[k], s0[k])


def test_load_state_dict_mismatch():
    opt = optim.Adam([_param()], lr=0.1)
    _steps(opt, opt.params[0], [G1])
    with pytest.raises(ValueError, match="state for 2 parameters"):
        optim.Adam([_param(), _param()], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="has shape"):
        optim.Adam([_param(value=np.zeros(3))], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="hyper-parameters"):
        optim.SGD([_param()], lr=0.1).load_state_dict(opt.state_dict())


# ---- L-BFGS ----------------------------------------------------------------------------------

def _rosenbrock(p):
    """sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, minimum 0 at all ones."""
    x0, x1 = p[:-1], p[1:]
    return (100.0 * (x1 - x0 * x0) ** 2 + (1.0 - x0) ** 2).sum()


@pytest.mark.parametrize("dtype", DTYPES)
def test_lbfgs_minimises_rosenbrock(dtype):
    p = Parameter(np.array([-1.2, 1.0, -0.5, 0.8], dtype))
    seen = []
    result = optim.LBFGS([p], max_iter=500).minimize(lambda: _rosenbrock(p), lambda i, f: seen.append((i, f)))
    assert result.success and p.dtype == dtype
    np.testing.assert_allclose(p.data, 1.0, atol=1e-5 if dtype == np.float64 else 1e-3)
    assert [i for i, _ in seen] == list(range(1, result.nit + 1))
    assert seen[-1][1] == pytest.approx(result.fun)
    assert all(b <= a + 1e-12 for (_, a), (_, b) in zip(seen, seen[1:]))  # monotone decrease


def test_lbfgs_several_parameters_bounds_and_max_iter():
    a, b = Parameter(np.zeros((2, 2))), Parameter(np.zeros(3))
    target_a, target_b = np.array([[2.0, 0.5], [-1.0, 0.25]]), np.array([3.0, -3.0, 0.5])

    def closure():
        return ((a - Tensor(target_a)) ** 2).sum() + ((b - Tensor(target_b)) ** 2).sum()

    optim.LBFGS([a, b], bounds=(0.0, 1.0)).minimize(closure)
    np.testing.assert_allclose(a.data, np.clip(target_a, 0, 1), atol=1e-8)
    np.testing.assert_allclose(b.data, np.clip(target_b, 0, 1), atol=1e-8)

    p = Parameter(np.array([-1.2, 1.0]))
    result = optim.LBFGS([p], max_iter=3, max_eval=100).minimize(lambda: _rosenbrock(p))
    assert result.nit == 3 and not result.success
    result = optim.LBFGS([p], max_iter=100, max_eval=5).minimize(lambda: _rosenbrock(p))
    assert result.status == 1 and result.nfev < 20  # checked between iterations: may overshoot a little
    np.testing.assert_array_equal(p.data, result.x)


def test_lbfgs_closure_must_return_a_tensor():
    p = Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="scalar loss as a Tensor"):
        optim.LBFGS([p]).minimize(lambda: 1.0)


# ---- schedules -------------------------------------------------------------------------------

def _lrs(make, n):
    opt = optim.SGD([_param()], lr=0.1)
    sched = make(opt)
    return [opt.lr] + [sched.step() for _ in range(n)]


def test_schedules():
    np.testing.assert_allclose(_lrs(lambda o: optim.StepLR(o, 2, gamma=0.5), 5),
                               [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    np.testing.assert_allclose(_lrs(lambda o: optim.ExponentialLR(o, 0.9), 3), [0.1, 0.09, 0.081, 0.0729])
    cos = _lrs(lambda o: optim.CosineAnnealingLR(o, T_max=4, eta_min=0.02), 6)
    want = [0.02 + 0.08 * (1 + math.cos(math.pi * min(t, 4) / 4)) / 2 for t in range(7)]
    np.testing.assert_allclose(cos, want)
    assert cos[2] == pytest.approx(0.06) and cos[4] == cos[6] == pytest.approx(0.02)
    np.testing.assert_allclose(_lrs(lambda o: optim.LambdaLR(o, lambda e: 1 - e / 4), 4),
                               [0.1, 0.075, 0.05, 0.025, 0.0])


def test_schedule_state_round_trip():
    opt = optim.SGD([_param()], lr=0.1)
    sched = optim.StepLR(opt, 2, gamma=0.5)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    opt2 = optim.SGD([_param()], lr=0.1)
    sched2 = optim.StepLR(opt2, 2, gamma=0.5)
    sched2.load_state_dict(state)
    assert opt2.lr == opt.lr and sched2.step() == sched.step()


# ---- clipping and EMA --------------------------------------------------------------------------

def test_clip_grad_norm():
    a, b, c = _param(np.float32), _param(np.float32, value=np.zeros(2)), _param(np.float32)
    a.grad, b.grad = np.full((2, 3), 3.0, np.float32), np.array([4.0, 0.0], np.float32)
    total = optim.clip_grad_norm_([a, b, c], max_norm=2.0)  # c has no grad
    assert total == pytest.approx(math.sqrt(6 * 9 + 16))
    new_total = math.sqrt(float((a.grad.astype(np.float64) ** 2).sum() + (b.grad.astype(np.float64) ** 2).sum()))
    assert new_total == pytest.approx(2.0, rel=1e-5)
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad / a.grad[0, 0], [4 / 3, 0])  # the direction is kept
    before = a.grad.copy()
    assert optim.clip_grad_norm_([a], max_norm=100.0) == pytest.approx(float(np.sqrt((before ** 2).sum())))
    np.testing.assert_array_equal(a.grad, before)  # under the limit: untouched


@pytest.mark.parametrize("device", DEVICES)
def test_ema(device):
    net = nn.Linear(2, 2).to(device)
    w0 = net.weight.numpy().astype(np.float64)
    ema = optim.EMA(net, decay=0.9)
    shifts = [1.0, 2.0]
    for s in shifts:
        net.weight.data += s
        ema.update()
    trained = net.weight.numpy().copy()
    # a1 = 0.9 w0 + 0.1 (w0 + 1);  a2 = 0.9 a1 + 0.1 (w0 + 3)
    want = 0.9 * (w0 + 0.1) + 0.1 * (w0 + 3)
    with ema.apply():
        np.testing.assert_allclose(net.weight.numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(net.weight.numpy(), trained)

    other = nn.Linear(2, 2).to(device)
    ema.copy_to(other)
    np.testing.assert_allclose(other.weight.numpy(), want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="do not match"):
        ema.copy_to(nn.Linear(3, 2))

    resumed = optim.EMA(net, decay=0.5)
    resumed.load_state_dict(ema.state_dict())
    assert resumed.decay == 0.9
    resumed.copy_to(other)
    np.testing.assert_allclose(other.weight.numpy(), want, rtol=1e-6, atol=1e-6)


# ---- errors -------------------------------------------------------------------------------------

def test_bad_arguments():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="must be Tensors"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(ValueError, match="lr must be positive"):
        optim.SGD([_param()], lr=0)
    with pytest.raises(ValueError, match="nesterov needs momentum"):
        optim.SGD([_param()], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([_param()], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="alpha"):
        optim.RMSprop([_param()], alpha=1.5)
    with pytest.raises(ValueError, match="decay"):
        optim.EMA([_param()], decay=1.0)
    with pytest.raises(ValueError, match="T_max"):
        optim.CosineAnnealingLR(optim.SGD([_param()], lr=0.1), T_max=0)
    with pytest.raises(ValueError, match="max_iter"):
        optim.LBFGS([_param()], max_iter=0)
