"""The autoencoder networks: output shapes of every model and arch, the config round trip through
models.build (same outputs after loading the weights), the conditional VAE's use of its label, bad
configs refused, VAE.sample's shapes, range and determinism."""
import numpy as np
import pytest

from minigen import backend, models
from minigen.errors import MinigenError
from minigen.models.autoencoder import VAE, Autoencoder, PairedAutoencoder
from minigen.tensor import Tensor, no_grad

# (arch, shape, hidden): an MLP with two hidden layers, one without any, and the conv net
ARCHES = [("mlp", (1, 6, 5), (7, 4)), ("mlp", (2, 3, 3), ()), ("conv", (3, 8, 12), (4, 5))]
IDS = ["mlp", "mlp-linear", "conv"]


def _x(shape, n=3, seed=0):
    return Tensor(np.random.default_rng(seed).random((n, *shape)).astype(np.float32))


def _make(cls, arch, shape, hidden, **kw):
    backend.manual_seed(0)
    return cls(arch, shape, hidden, 3, **kw)


@pytest.mark.parametrize("arch, shape, hidden", ARCHES, ids=IDS)
def test_output_shapes(arch, shape, hidden):
    x = _x(shape)
    ae = _make(Autoencoder, arch, shape, hidden)
    assert ae.encode(x).shape == (3, 3) and ae(x).shape == (3, *shape)
    vae = _make(VAE, arch, shape, hidden)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (3, 3) and vae(x).shape == (3, *shape)
    assert vae.decode(Tensor(np.zeros((5, 3), np.float32))).shape == (5, *shape)
    cvae = _make(VAE, arch, shape, hidden, classes=4)
    y = np.array([0, 3, 1])
    assert cvae.encode(x, y)[0].shape == (3, 3) and cvae(x, y).shape == (3, *shape)
    paired = _make(PairedAutoencoder, arch, shape, hidden)
    assert paired.encode(x).shape == (3, 3)
    assert paired(x, "a").shape == paired(x, "b").shape == (3, *shape)
    # the two decoders are separate networks: the same code decodes differently
    assert not np.allclose(paired(x, "a").numpy(), paired(x, "b").numpy())


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_images_are_in_the_unit_range(likelihood):
    vae = _make(VAE, "mlp", (1, 4, 4), (6,), likelihood=likelihood)
    out = Tensor(np.linspace(-5, 5, 2 * 16).reshape(2, 1, 4, 4).astype(np.float32))
    img = vae.to_image(out).numpy()
    assert img.min() >= 0 and img.max() <= 1
    if likelihood == "bernoulli":
        np.testing.assert_allclose(img, 1 / (1 + np.exp(-out.numpy())), rtol=1e-6)
    else:
        np.testing.assert_array_equal(img, np.clip(out.numpy(), 0, 1))


@pytest.mark.parametrize("arch, shape, hidden", ARCHES, ids=IDS)
@pytest.mark.parametrize("cls, kw", [(Autoencoder, {}), (VAE, {"likelihood": "gaussian", "activation": "tanh"}),
                                     (VAE, {"classes": 4, "activation": "leaky_relu"}), (PairedAutoencoder, {})],
                         ids=["ae", "vae", "cvae", "paired"])
def test_config_round_trip_through_build(cls, kw, arch, shape, hidden):
    model = _make(cls, arch, shape, hidden, **kw)
    spec = models.spec(model)
    assert spec["kind"] == {Autoencoder: "autoencoder", VAE: "vae", PairedAutoencoder: "paired-autoencoder"}[cls]
    backend.manual_seed(1)  # other initial weights: equal outputs below come from the loaded state
    twin = models.build(spec["kind"], spec["config"])
    assert twin.config() == model.config()
    assert [p.shape for p in twin.parameters()] == [p.shape for p in model.parameters()]
    x = _x(shape)
    args = ("b",) if cls is PairedAutoencoder else (np.array([2, 0, 1]),) if kw.get("classes") else ()
    with no_grad():
        assert not np.array_equal(twin(x, *args).numpy(), model(x, *args).numpy())
        twin.load_state_dict(model.state_dict())
        np.testing.assert_array_equal(twin(x, *args).numpy(), model(x, *args).numpy())


@pytest.mark.parametrize("arch, shape, hidden", ARCHES, ids=IDS)
def test_the_conditional_vae_uses_its_label(arch, shape, hidden):
    cvae = _make(VAE, arch, shape, hidden, classes=4)
    x = _x(shape, n=1)
    with no_grad():
        outs = [cvae(x, np.array([c])).numpy() for c in range(4)]
        codes = [cvae.encode(x, np.array([c]))[0].numpy() for c in range(4)]
        z = Tensor(np.ones((1, 3), np.float32))
        decoded = [cvae.decode(z, np.array([c])).numpy() for c in range(4)]
    for c in range(1, 4):
        assert not np.allclose(outs[0], outs[c])  # through encoder and decoder
        assert not np.allclose(codes[0], codes[c])  # the encoder sees the label
        assert not np.allclose(decoded[0], decoded[c])  # the decoder sees the label
    # a batch of mixed labels gives row by row what each label alone gives
    xs = Tensor(np.repeat(x.numpy(), 4, axis=0))
    with no_grad():
        np.testing.assert_allclose(cvae(xs, np.arange(4)).numpy(), np.concatenate(outs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls, args, kw, fragment", [
    (Autoencoder, ("conv", (1, 6, 8), (4, 4), 2), {}, "divisible by 4"),
    (VAE, ("conv", (1, 8, 10), (4, 4), 2), {}, "divisible by 4"),
    (VAE, ("conv", (1, 8, 8), (4,), 2), {}, "two hidden"),
    (Autoencoder, ("conv", (1, 8, 8), (4, 4, 4), 2), {}, "two hidden"),
    (VAE, ("mlp", (1, 4, 4), (4,), 2), {"likelihood": "poisson"}, "likelihood"),
    (VAE, ("mlp", (1, 4, 4), (4,), 2), {"activation": "gelu"}, "activation"),
    (VAE, ("resnet", (1, 4, 4), (4,), 2), {}, "arch"),
    (VAE, ("mlp", (4, 4), (4,), 2), {}, "shape"),
    (VAE, ("mlp", (1, 4, 4), (4,), 0), {}, "latent"),
    (VAE, ("mlp", (1, 4, 4), (0,), 2), {}, "hidden"),
    (VAE, ("mlp", (1, 4, 4), (4,), 2), {"classes": -1}, "classes"),
    (PairedAutoencoder, ("mlp", (1, 4, 4), (4,), 2), {"classes": 3}, "classes"),
])
def test_bad_configs_raise_value_error(cls, args, kw, fragment):
    with pytest.raises(ValueError, match=fragment):
        cls(*args, **kw)
    # through the registry the same mistake is a one-line MinigenError
    config = dict(zip(("arch", "shape", "hidden", "latent"), args), **kw)
    with pytest.raises(MinigenError, match=fragment):
        models.build(cls.kind, config)


def test_paired_decode_refuses_an_unknown_domain():
    paired = _make(PairedAutoencoder, "mlp", (1, 4, 4), (4,))
    with pytest.raises(ValueError, match="domain"):
        paired.decode(Tensor(np.zeros((1, 3), np.float32)), "c")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("arch, shape, hidden", ARCHES, ids=IDS)
def test_sample_shapes_range_and_determinism(arch, shape, hidden, likelihood):
    vae = _make(VAE, arch, shape, hidden, likelihood=likelihood)
    vae.eval()
    a = vae.sample(6, rng=np.random.default_rng(5))
    assert a.shape == (6, *shape) and isinstance(a, np.ndarray)
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, vae.sample(6, rng=np.random.default_rng(5)))  # fixed rng: same images
    assert not np.allclose(a, vae.sample(6, rng=np.random.default_rng(6)))
    # the images are the decoded prior draws of that rng
    z = np.random.default_rng(5).standard_normal((6, 3)).astype(np.float32)
    with no_grad():
        np.testing.assert_allclose(a, vae.to_image(vae.decode(Tensor(z))).numpy(), rtol=1e-6)


def test_conditional_sample_cycles_the_labels_or_takes_them():
    vae = _make(VAE, "mlp", (1, 4, 4), (6,), classes=3)
    np.testing.assert_array_equal(vae.sample_labels(7), [0, 1, 2, 0, 1, 2, 0])
    assert _make(VAE, "mlp", (1, 4, 4), (6,)).sample_labels(4) is None
    cycled = vae.sample(6, rng=np.random.default_rng(0))
    given = vae.sample(6, rng=np.random.default_rng(0), labels=np.arange(6) % 3)
    np.testing.assert_array_equal(cycled, given)
    twos = vae.sample(6, rng=np.random.default_rng(0), labels=np.full(6, 2))
    assert cycled.shape == twos.shape == (6, 1, 4, 4)
    np.testing.assert_array_equal(cycled[2::3], twos[2::3])  # the draws whose cycled label was 2 anyway
    assert not np.allclose(cycled[0::3], twos[0::3])


def test_same_seed_builds_the_same_weights():
    a, b = _make(VAE, "conv", (1, 8, 8), (2, 3)), _make(VAE, "conv", (1, 8, 8), (2, 3))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(p, q, err_msg=name)
    backend.manual_seed(1)
    c = VAE("conv", (1, 8, 8), (2, 3), 3)
    assert not all(np.array_equal(p, q) for p, q in zip(a.state_dict().values(), c.state_dict().values()))


@pytest.mark.parametrize("labels, fragment", [(None, "give the labels"), (np.array([-1]), "from 0 to 2"),
                                              (np.array([3]), "from 0 to 2"), (np.array([0.5]), "integers"),
                                              (np.array([0, 1]), "1 integers")])
def test_a_conditional_model_refuses_bad_labels(labels, fragment):
    v = VAE("mlp", (1, 4, 4), (6,), 3, classes=3)
    with pytest.raises(ValueError, match=fragment):
        v(Tensor(np.zeros((1, 1, 4, 4), np.float32)), labels)
