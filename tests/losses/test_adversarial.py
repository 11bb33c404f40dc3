"""The adversarial losses against their formulas on hand values (float64), their saturation behaviour,
the LSGAN codings, weight clipping, and the discriminator's optimum: a D trained with the BCE loss on
two known 1-D Gaussians approaches D* = p_data / (p_data + p_g), its loss log 4 − 2 JSD."""
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from minigen import backend
from minigen import gradcases as G
from minigen.losses import adversarial as A
from minigen.losses import bce_with_logits
from minigen.models.dcgan import DCGANDiscriminator
from minigen.models.gan import MLPDiscriminator
from minigen.optim import Adam, RMSprop
from minigen.tensor import Tensor, no_grad

REAL = np.array([0.0, 2.0, -3.0, 40.0])
FAKE = np.array([0.0, -1.0, 5.0, -40.0, 0.5])


def _t(a, grad=False):
    return Tensor(np.asarray(a, np.float64), requires_grad=grad)


def _softplus(v):
    return np.logaddexp(0, v)


def test_bce_discriminator_on_hand_values():
    want = _softplus(-REAL).mean() + _softplus(FAKE).mean()
    assert A.bce_discriminator(_t(REAL), _t(FAKE)).item() == pytest.approx(want, rel=1e-14)
    # the same as the cross-entropy with labels 1 (real) and 0 (fake), term by term
    other = bce_with_logits(_t(REAL), np.ones(4)).item() + bce_with_logits(_t(FAKE), np.zeros(5)).item()
    assert A.bce_discriminator(_t(REAL), _t(FAKE)).item() == pytest.approx(other, rel=1e-14)
    # D = 1/2 everywhere (l = 0) costs log 2 + log 2 = log 4: the value of the game where p_g = p_data
    assert A.bce_discriminator(_t([0.0]), _t([0.0])).item() == pytest.approx(math.log(4), rel=1e-15)
    # confident and right: ~0 (log(1 + e^-40) twice), no log of a rounded sigmoid
    assert 0 <= A.bce_discriminator(_t([40.0]), _t([-40.0])).item() < 1e-16
    assert A.bce_discriminator(_t([-40.0]), _t([40.0])).item() == pytest.approx(80, rel=1e-15)


def test_generator_losses_on_hand_values():
    assert A.minimax_generator(_t(FAKE)).item() == pytest.approx(-_softplus(FAKE).mean(), rel=1e-14)
    assert A.nonsaturating_generator(_t(FAKE)).item() == pytest.approx(_softplus(-FAKE).mean(), rel=1e-14)
    d = 1 / (1 + np.exp(-FAKE[:3]))  # unsaturated values: log(1 - D) and -log D directly
    assert A.minimax_generator(_t(FAKE[:3])).item() == pytest.approx(np.log(1 - d).mean(), rel=1e-12)
    assert A.nonsaturating_generator(_t(FAKE[:3])).item() == pytest.approx(-np.log(d).mean(), rel=1e-12)


def test_the_minimax_loss_saturates_where_the_nonsaturating_one_does_not():
    """Fakes that D rejects with confidence (l = -10): the minimax loss's gradient is -σ(-10)/n ≈ -4.5e-5/n,
    the non-saturating one's σ(-10) - 1 ≈ -1 per sample (both push l up)."""
    sigmoid = 1 / (1 + math.exp(10))  # σ(-10)
    for loss, want in ((A.minimax_generator, -sigmoid), (A.nonsaturating_generator, sigmoid - 1)):
        fake = _t([-10.0, -10.0], grad=True)
        loss(fake).backward()
        np.testing.assert_allclose(fake.grad, [want / 2, want / 2], rtol=1e-12)


def test_wasserstein_losses_on_hand_values():
    real, fake = np.array([0.5, -1.0, 2.0]), np.array([0.25, 3.0])
    assert A.wasserstein_critic(_t(real), _t(fake)).item() == pytest.approx(1.625 - 0.5, rel=1e-15)
    assert A.wasserstein_generator(_t(fake)).item() == pytest.approx(-1.625, rel=1e-15)


def test_lsgan_codings_are_the_papers_equations():
    assert A.CODINGS == {"eq8": (-1.0, 1.0, 0.0), "eq9": (0.0, 1.0, 1.0)}
    (a8, b8, c8), (_, b9, c9) = A.CODINGS["eq8"], A.CODINGS["eq9"]
    assert b8 - c8 == 1 and b8 - a8 == 2  # the conditions under which G minimises a Pearson χ² divergence
    assert c9 == b9  # G wants its samples taken as real
    assert A.lsgan_coding((0.1, 0.9, 0.8)) == (0.1, 0.9, 0.8)
    with pytest.raises(ValueError, match="unknown LSGAN coding 'eq7'"):
        A.lsgan_coding("eq7")


def test_lsgan_losses_on_hand_values():
    real, fake = _t([1.0, 0.5]), _t([0.0, -1.0, 2.0])
    # eq8 (a, b, c) = (-1, 1, 0): D: 1/2 mean(0, 0.25) + 1/2 mean(1, 0, 9); G: 1/2 mean(0, 1, 4)
    assert A.least_squares_discriminator(real, fake, "eq8").item() == pytest.approx(0.0625 + 5 / 3, rel=1e-15)
    assert A.least_squares_generator(fake, "eq8").item() == pytest.approx(5 / 6, rel=1e-15)
    # eq9 (0, 1, 1), the default: D: 1/2 mean(0, 0.25) + 1/2 mean(0, 1, 4); G: 1/2 mean(1, 4, 1)
    assert A.least_squares_discriminator(real, fake).item() == pytest.approx(0.0625 + 5 / 6, rel=1e-15)
    assert A.least_squares_generator(fake).item() == pytest.approx(1.0, rel=1e-15)
    assert A.least_squares_generator(fake, (0, 0, 0.5)).item() == pytest.approx(0.5 * np.mean([0.25, 2.25, 2.25]))


def test_losses_refuse_arrays():
    with pytest.raises(TypeError, match="Tensor"):
        A.bce_discriminator(np.zeros(2), _t([0.0]))


def test_every_adversarial_loss_has_gradcases():
    assert set(A.LOSSES) <= {n for n in dir(A) if callable(getattr(A, n))}
    for name in A.LOSSES:
        assert G.select(f"adversarial/{name}"), name


def test_clip_weights_bounds_every_parameter():
    backend.manual_seed(0)
    d = DCGANDiscriminator(28, 4)
    for p in d.parameters():
        p.data[...] = np.random.default_rng(0).normal(0, 0.05, p.shape)
    inside = {n: np.abs(p.data) <= 0.01 for n, p in d.named_parameters()}
    before = {n: p.data.copy() for n, p in d.named_parameters()}
    A.clip_weights(d, 0.01)
    for n, p in d.named_parameters():
        assert np.abs(p.data).max() <= 0.01, n
        np.testing.assert_array_equal(p.data[inside[n]], before[n][inside[n]])  # values inside kept
        np.testing.assert_array_equal(p.data[~inside[n]], 0.01 * np.sign(before[n][~inside[n]]))
    params = [_t([3.0, -0.2, 0.1])]
    A.clip_weights(params, 0.15)  # an iterable of tensors
    np.testing.assert_array_equal(params[0].data, [0.15, -0.15, 0.1])
    for c in (0, -0.01):
        with pytest.raises(ValueError, match="positive"):
            A.clip_weights(d, c)


def test_weight_clipping_after_every_critic_step():
    """WGAN's critic loop: RMSprop on the critic loss, then clip; after every step every weight lies in
    [-c, c], and the clip is active (some weights sit on the bound)."""
    backend.manual_seed(0)
    rng = np.random.default_rng(0)
    critic, c = MLPDiscriminator((2,), (8,)).to(dtype=np.float64), 0.01
    A.clip_weights(critic, c)
    opt = RMSprop(critic, lr=5e-3)
    for _ in range(5):
        opt.zero_grad()
        A.wasserstein_critic(critic(_t(rng.normal(2, 1, (32, 2)))), critic(_t(rng.normal(0, 1, (32, 2))))).backward()
        opt.step()
        assert max(np.abs(p.data).max() for p in critic.parameters()) > c  # the step leaves the box...
        A.clip_weights(critic, c)
        values = np.concatenate([p.data.ravel() for p in critic.parameters()])
        assert np.abs(values).max() <= c and np.isclose(np.abs(values), c).any()  # ...the clip brings it back


def _jsd(pd, pg):
    """JSD(p_data ‖ p_g) of two densities on the line, by quadrature."""
    def kl(p):
        return quad(lambda x: p(x) * math.log(2 * p(x) / (pd(x) + pg(x))), -12, 12)[0]
    return 0.5 * (kl(pd) + kl(pg))


def test_the_trained_discriminator_approaches_the_optimum():
    """p_data = N(1, 0.5²), p_g = N(-0.5, 1): a 16-unit D, 600 Adam steps on fresh batches of 256 of each
    (lr 2e-2, then 2e-3 for the last 200). Over seeds 0-19 the largest error of D(x) at the six points
    was 0.026 (sampling noise of the batches and the MLP's fit); 0.05 is about twice that, and far below
    D*'s own spread (0.001 to 0.9 over the points) and the errors of a wrong optimum (p_g / (p_data + p_g)
    misses by up to 0.8). The loss on 20000 fresh samples of each then matches log 4 − 2 JSD = 0.684 within
    0.03 (the Monte-Carlo spread over seeds was ±0.014), against log 4 = 1.386 for an uninformed D."""
    backend.manual_seed(0)
    rng = np.random.default_rng(0)
    d = MLPDiscriminator((1,), (16,)).to(dtype=np.float64)
    opt = Adam(d, lr=2e-2)
    for step in range(600):
        opt.lr = 2e-2 if step < 400 else 2e-3
        opt.zero_grad()
        A.bce_discriminator(d(_t(rng.normal(1.0, 0.5, (256, 1)))), d(_t(rng.normal(-0.5, 1.0, (256, 1))))).backward()
        opt.step()
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    pd, pg = norm.pdf(x, 1.0, 0.5), norm.pdf(x, -0.5, 1.0)
    with no_grad():
        got = 1 / (1 + np.exp(-d(_t(x[:, None])).numpy()))
        loss = A.bce_discriminator(d(_t(rng.normal(1.0, 0.5, (20000, 1)))),
                                   d(_t(rng.normal(-0.5, 1.0, (20000, 1))))).item()
    np.testing.assert_allclose(got, pd / (pd + pg), atol=0.05)
    optimum = math.log(4) - 2 * _jsd(lambda v: norm.pdf(v, 1.0, 0.5), lambda v: norm.pdf(v, -0.5, 1.0))
    assert optimum == pytest.approx(0.684, abs=1e-3)
    assert abs(loss - optimum) < 0.03
