"""The GAN networks: output shapes of every kind at 28x28, 64x64 and on points; the DCGAN layer
table and its initial weight statistics; the config round trip through models.build; the conditional
networks' use and validation of labels; samples; bad configs. Then two plain training loops in the
pattern the recipe uses: one generator step leaves D's parameters untouched and one discriminator step
G's, and a tiny GAN moves p_g's mean onto a 1-D Gaussian's."""
import numpy as np
import pytest

from minigen import backend, models
from minigen.errors import MinigenError
from minigen.losses import adversarial as A
from minigen.models.dcgan import DCGANDiscriminator, DCGANGenerator
from minigen.models.gan import MLPDiscriminator, MLPGenerator
from minigen.optim import Adam
from minigen.tensor import Tensor, no_grad


def _seeded(cls, *args, **kw):
    backend.manual_seed(0)
    return cls(*args, **kw)


def _x(shape, n=3, seed=0):
    return Tensor(np.random.default_rng(seed).uniform(-1, 1, (n, *shape)).astype(np.float32))


# (generator, discriminator) pairs, small widths
PAIRS = {
    "mlp-28": (lambda k: MLPGenerator(8, (16, 32), (1, 28, 28), classes=k),
               lambda k: MLPDiscriminator((1, 28, 28), (32, 16), dropout=0.3, classes=k)),
    "mlp-points": (lambda k: MLPGenerator(2, (16,), (2,), "leaky_relu", None, classes=k),
                   lambda k: MLPDiscriminator((2,), (16, 16), classes=k)),
    "dcgan-28": (lambda k: DCGANGenerator(28, 8, 4, classes=k), lambda k: DCGANDiscriminator(28, 4, classes=k)),
    "dcgan-64": (lambda k: DCGANGenerator(64, 8, 2, 3, classes=k),
                 lambda k: DCGANDiscriminator(64, 2, 3, classes=k)),
}


@pytest.mark.parametrize("classes", [0, 4])
@pytest.mark.parametrize("name", PAIRS)
def test_output_shapes(name, classes):
    g, d = (_seeded(make, classes) for make in PAIRS[name])
    y = np.array([3, 0, 1]) if classes else None
    out = g(g.noise(3), y)
    assert out.shape == (3, *g.shape) and g.shape == d.shape
    assert d(out, y).shape == (3,)
    assert g.latent == g.nz == 8 if name != "mlp-points" else g.latent == 2
    if g.images:
        assert np.abs(out.numpy()).max() <= 1  # tanh
        assert g.size_rule() == d.size_rule() == models.SizeRule(g.shape[1], g.shape[1])


def _conv_biases(net):
    """The shapes of the biases of the convolutions (BN layers have biases too, beside 1-D weights)."""
    params = dict(net.named_parameters())
    return [p.shape for n, p in params.items() if n.endswith(".bias") and params[n[:-4] + "weight"].ndim == 4]


@pytest.mark.parametrize("size, channels", [(28, 1), (64, 3)])
def test_the_default_dcgan_layers_and_outputs(size, channels):
    """The layer table of dcgan.py at nz 100, ngf = ndf = 64: every weight's shape, a bias only where no
    batch norm follows, and the outputs' shapes."""
    g, d = _seeded(DCGANGenerator, size, channels=channels), _seeded(DCGANDiscriminator, size, channels=channels)
    gw = {28: [(100, 256, 7, 7), (256, 128, 4, 4), (128, 1, 4, 4)],
          64: [(100, 512, 4, 4), (512, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]}[size]
    dw = {28: [(64, 1, 4, 4), (128, 64, 4, 4), (1, 128, 7, 7)],
          64: [(64, 3, 4, 4), (128, 64, 4, 4), (256, 128, 4, 4), (512, 256, 4, 4), (1, 512, 4, 4)]}[size]
    assert [p.shape for p in g.parameters() if p.ndim == 4] == gw
    assert [p.shape for p in d.parameters() if p.ndim == 4] == dw
    assert _conv_biases(g) == [(channels,)]  # the output layer's only
    assert _conv_biases(d) == [(64,), (1,)]  # the first conv (no BN after it) and the last
    with no_grad():
        img = g(g.noise(2))
        assert img.shape == (2, channels, size, size) and d(img).shape == (2,)
    # the critic without batch norm: a bias on every conv, no BN parameters
    plain = DCGANDiscriminator(size, channels=channels, batch_norm=False)
    assert [p.ndim for p in plain.parameters()] == [4, 1] * len(dw)


def test_dcgan_initial_weights():
    """N(0, 0.02²) conv weights, N(1, 0.02²) BN weights, zero biases. Tolerances are 5 standard errors:
    the smallest conv weight has 3072 values (relative SE of a std 1/sqrt(2n) = 1.3%), the smallest BN
    layer 64 (SE of the mean 0.02/8 = 0.0025); the layers' default init would give conv stds 0.004 to 0.04
    that no layer's happens to match."""
    for net in (_seeded(DCGANGenerator, 64, channels=3), _seeded(DCGANDiscriminator, 64, channels=3)):
        bn_weights = []
        for name, p in net.named_parameters():
            v = p.numpy().astype(np.float64)
            if v.ndim == 4:
                se = 0.02 / np.sqrt(2 * v.size)
                assert abs(v.std() - 0.02) < 5 * se and abs(v.mean()) < 5 * 0.02 / np.sqrt(v.size), name
            elif name.endswith("bias"):
                assert not v.any(), name
            else:
                assert abs(v.mean() - 1) < 5 * 0.02 / np.sqrt(v.size), name
                bn_weights.append(v)
        pooled = np.concatenate(bn_weights)  # 960 values per network
        assert abs(pooled.std() - 0.02) < 5 * 0.02 / np.sqrt(2 * pooled.size)
    a, b = _seeded(DCGANGenerator, 28, 8, 4), _seeded(DCGANGenerator, 28, 8, 4)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(p, q, err_msg=name)  # a seed fixes the weights


@pytest.mark.parametrize("name", PAIRS)
def test_config_round_trip_through_build(name):
    for make in PAIRS[name]:
        net = _seeded(make, 3)
        spec = models.spec(net)
        backend.manual_seed(1)
        twin = models.build(spec["kind"], spec["config"])
        assert type(twin) is type(net) and twin.config() == net.config()
        x = Tensor(np.zeros((2, net.nz), np.float32)) if hasattr(net, "nz") else _x(net.shape, 2)
        y = np.array([2, 0])
        net.eval(), twin.eval()
        with no_grad():
            assert not np.array_equal(twin(x, y).numpy(), net(x, y).numpy())
            twin.load_state_dict(net.state_dict())
            np.testing.assert_array_equal(twin(x, y).numpy(), net(x, y).numpy())
    assert {k for k in models.kinds() if "gan" in k} == {"gan-generator", "gan-discriminator", "dcgan-generator",
                                                          "dcgan-discriminator"}


@pytest.mark.parametrize("name", PAIRS)
def test_conditional_networks_use_the_label_row_by_row(name):
    g, d = (_seeded(make, 4).eval() for make in PAIRS[name])  # eval: BN rows do not mix
    z, x = g.noise(1), _x(d.shape, 1)
    with no_grad():
        samples = [g(z, np.array([c])).numpy() for c in range(4)]
        scores = [d(x, np.array([c])).numpy() for c in range(4)]
        for c in range(1, 4):
            assert not np.allclose(samples[0], samples[c]) and not np.allclose(scores[0], scores[c])
        zs, xs = Tensor(np.repeat(z.numpy(), 4, 0)), Tensor(np.repeat(x.numpy(), 4, 0))
        np.testing.assert_allclose(g(zs, np.arange(4)).numpy(), np.concatenate(samples), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(d(xs, np.arange(4)).numpy(), np.concatenate(scores), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("labels, fragment", [(None, "give the labels"), (np.array([-1, 0]), "from 0 to 2"),
                                              (np.array([0, 3]), "from 0 to 2"), (np.array([0.0, 1.0]), "integers"),
                                              (np.array([0, 1, 2]), "2 integers")])
@pytest.mark.parametrize("name", PAIRS)
def test_conditional_networks_refuse_bad_labels(name, labels, fragment):
    g, d = (make(3) for make in PAIRS[name])
    with pytest.raises(ValueError, match=fragment):
        g(g.noise(2), labels)
    with pytest.raises(ValueError, match=fragment):
        d(_x(d.shape, 2), labels)


@pytest.mark.parametrize("name", PAIRS)
def test_unconditional_networks_refuse_labels(name):
    g, d = (make(0) for make in PAIRS[name])
    with pytest.raises(ValueError, match="unconditional"):
        g(g.noise(2), np.array([0, 1]))
    with pytest.raises(ValueError, match="unconditional"):
        d(_x(d.shape, 2), np.array([0, 1]))


@pytest.mark.parametrize("name", PAIRS)
def test_samples_are_the_decoded_codes_of_the_rng(name):
    g = _seeded(PAIRS[name][0], 0).eval()
    a = g.sample(5, rng=np.random.default_rng(4))
    assert isinstance(a, np.ndarray) and a.shape == (5, *g.shape)
    np.testing.assert_array_equal(a, g.sample(5, rng=np.random.default_rng(4)))
    assert not np.array_equal(a, g.sample(5, rng=np.random.default_rng(5)))  # (tiny at init in eval mode)
    z = np.random.default_rng(4).standard_normal((5, g.nz))
    np.testing.assert_array_equal(a, g.decode_images(z))
    with no_grad():
        out = g(Tensor(z.astype(np.float32))).numpy()
    if g.images:  # images in [0, 1] from the tanh's [-1, 1]
        assert a.min() >= 0 and a.max() <= 1
        np.testing.assert_allclose(a, (out + 1) / 2, rtol=1e-6, atol=1e-7)
    else:  # points as they are
        np.testing.assert_array_equal(a, out)


def test_training_codes_come_from_the_shared_generator_or_the_rng():
    g = _seeded(MLPGenerator, 4, (8,), (2,), classes=None)  # None: unconditional, as 0
    assert g.classes == 0 and g.config()["classes"] == 0
    backend.manual_seed(3)
    a = g.noise(5)
    backend.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), g.codes(5))
    assert a.shape == (5, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(g.codes(2, np.random.default_rng(1)),
                                  np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32))
    assert g.to(dtype=np.float64).noise(2).dtype == np.float64  # the parameters' dtype


def test_conditional_samples_cycle_the_labels_or_take_them():
    g = _seeded(DCGANGenerator, 28, 8, 4, classes=3).eval()
    np.testing.assert_array_equal(g.sample_labels(5), [0, 1, 2, 0, 1])
    assert _seeded(DCGANGenerator, 28, 8, 4).sample_labels(5) is None
    cycled = g.sample(6, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(cycled, g.sample(6, rng=np.random.default_rng(0), labels=np.arange(6) % 3))
    twos = g.sample(6, rng=np.random.default_rng(0), labels=np.full(6, 2))
    np.testing.assert_array_equal(cycled[2::3], twos[2::3])
    assert not np.allclose(cycled[0::3], twos[0::3])


@pytest.mark.parametrize("cls, config, fragment", [
    (MLPGenerator, {"shape": (28, 28)}, "shape"),
    (MLPGenerator, {"nz": 0}, "nz"),
    (MLPGenerator, {"output": "sigmoid"}, "output"),
    (MLPGenerator, {"activation": "gelu"}, "activation"),
    (MLPGenerator, {"hidden": (4, 0)}, "hidden"),
    (MLPDiscriminator, {"dropout": 1.0}, "dropout"),
    (MLPDiscriminator, {"classes": -1}, "classes"),
    (DCGANGenerator, {"size": 32}, "sizes \\[28, 64\\]"),
    (DCGANGenerator, {"ngf": 0}, "width"),
    (DCGANDiscriminator, {"channels": 0}, "channels"),
    (DCGANDiscriminator, {"size": 48}, "sizes"),
])
def test_bad_configs_raise_value_error(cls, config, fragment):
    with pytest.raises(ValueError, match=fragment):
        cls(**config)
    with pytest.raises(MinigenError, match=fragment):
        models.build(cls.kind, config)


def _params(net):
    return {n: p.numpy().copy() for n, p in net.named_parameters()}


def _copy(grad):
    return None if grad is None else grad.copy()


def _equal(a, b):
    return a is None and b is None or a is not None and b is not None and np.array_equal(a, b)


def _same(a, b):
    return all(np.array_equal(a[n], b[n]) for n in a)


def test_each_step_updates_its_own_network_only():
    """The recipe's pattern with two optimisers: D's step on real data and G(z).detach() moves D alone
    (the backward pass adds nothing to G's gradients); G's step through D moves G alone (D's gradients are
    filled, but D's optimiser does not step, and D drops them before its next step). Batch norm's running statistics are
    buffers, not parameters: the other network's forward pass may update them."""
    backend.manual_seed(0)
    g, d = DCGANGenerator(28, 8, 4), DCGANDiscriminator(28, 4)
    og, od = Adam(g, lr=2e-4, betas=(0.5, 0.999)), Adam(d, lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    real = _x((1, 28, 28), 4)
    for _ in range(2):
        g0, d0, g_grads = _params(g), _params(d), [_copy(p.grad) for p in g.parameters()]
        od.zero_grad()
        A.bce_discriminator(d(real), d(g(g.noise(4, rng)).detach())).backward()
        assert all(_equal(p.grad, q) for p, q in zip(g.parameters(), g_grads))  # None, then the last G step's
        od.step()
        assert _same(g0, _params(g)) and not _same(d0, _params(d))
        g1, d1 = _params(g), _params(d)
        og.zero_grad()
        A.nonsaturating_generator(d(g(g.noise(4, rng)))).backward()
        assert all(p.grad is not None for p in d.parameters())
        og.step()
        assert _same(d1, _params(d)) and not _same(g1, _params(g))


def test_a_tiny_gan_moves_p_g_onto_a_1d_gaussian():
    """G(z) = a z + b (no hidden layer) against a 16-unit D on N(3, 0.5²), 500 alternating steps of
    Adam(1e-2, β1 = 0.5), batch 64, non-saturating loss. Over seeds 0-9 the mean of 2000 samples ends
    within 0.11 of 3 (from between -0.5 and 1 at the start); 0.25 is more than twice that."""
    backend.manual_seed(0)
    g = MLPGenerator(1, (), (1,), output=None).to(dtype=np.float64)
    d = MLPDiscriminator((1,), (16,)).to(dtype=np.float64)
    og, od = Adam(g, lr=1e-2, betas=(0.5, 0.999)), Adam(d, lr=1e-2, betas=(0.5, 0.999))
    rng, z = np.random.default_rng(0), g.noise(2000, np.random.default_rng(99))
    with no_grad():
        start = g(z).numpy().mean()
    for _ in range(500):
        real = Tensor(rng.normal(3.0, 0.5, (64, 1)))
        od.zero_grad()
        A.bce_discriminator(d(real), d(g(g.noise(64, rng)).detach())).backward()
        od.step()
        og.zero_grad()
        A.nonsaturating_generator(d(g(g.noise(64, rng)))).backward()
        og.step()
    with no_grad():
        end = g(z).numpy().mean()
    assert abs(start - 3) > 2 and abs(end - 3) < 0.25, (start, end)
