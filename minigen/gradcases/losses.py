"""Gradcheck cases: losses (inputs kept away from the kinks of |.| and the clipping of bce_loss)."""
import numpy as np

from .. import losses as L
from ..losses import adversarial as A
from ..losses import likelihood as LK
from . import case, inputs


def _apart(rng, shape, margin=0.1):
    """x and y with |x - y| >= margin everywhere (no kink of |x - y|)."""
    y = rng.standard_normal(shape)
    d = rng.uniform(margin, 1.0, shape) * rng.choice([-1.0, 1.0], shape)
    return y + d, y


@case("mse_loss/mean")
def _(rng):
    return L.mse_loss, inputs(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))


@case("mse_loss/sum-none")
def _(rng):
    return (lambda x, y: (L.mse_loss(x, y, "sum"), L.mse_loss(x, y, "none"))), \
        inputs(rng.standard_normal((2, 5)), rng.standard_normal((2, 5)))


@case("l1_loss/mean")
def _(rng):
    return L.l1_loss, inputs(*_apart(rng, (3, 4)))


@case("l1_loss/sum")
def _(rng):
    return (lambda x, y: L.l1_loss(x, y, "sum")), inputs(*_apart(rng, (2, 6)))


@case("bce_loss/mean")
def _(rng):
    return L.bce_loss, inputs(rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4)))


@case("bce_with_logits/mean")
def _(rng):
    return L.bce_with_logits, inputs(3 * rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4)))


@case("bce_with_logits/large-logits-none")
def _(rng):
    z = rng.uniform(20, 40, (2, 4)) * rng.choice([-1.0, 1.0], (2, 4))
    return (lambda z, y: L.bce_with_logits(z, y, "none")), inputs(z, rng.uniform(0, 1, (2, 4)))


@case("cross_entropy/2d")
def _(rng):
    target = rng.integers(0, 5, 4)
    return (lambda z: L.cross_entropy(z, target)), inputs(2 * rng.standard_normal((4, 5)))


@case("cross_entropy/4d-sum")
def _(rng):
    target = rng.integers(0, 3, (2, 2, 3))
    return (lambda z: L.cross_entropy(z, target, "sum")), inputs(rng.standard_normal((2, 3, 2, 3)))


@case("gram_matrix/johnson")
def _(rng):
    return L.gram_matrix, inputs(rng.standard_normal((2, 3, 2, 3)))


@case("gram_matrix/gatys")
def _(rng):
    return (lambda x: L.gram_matrix(x, "gatys")), inputs(rng.standard_normal((1, 4, 3, 3)))


@case("gram_matrix/raw-large")
def _(rng):
    return (lambda x: L.gram_matrix(x, None)), inputs(rng.standard_normal((2, 4, 5, 6)))


@case("total_variation/beta2")
def _(rng):
    return L.total_variation, inputs(rng.standard_normal((2, 2, 3, 4)))


@case("total_variation/beta1-none")
def _(rng):
    # Distinct random values: no neighbour difference sits at the kink 0.
    return (lambda x: L.total_variation(x, beta=1, reduction="none")), inputs(rng.standard_normal((2, 1, 4, 5)))


@case("total_variation/beta2-mean-large")
def _(rng):
    return (lambda x: L.total_variation(x, 2, "mean")), inputs(rng.standard_normal((3, 2, 5, 7)))



@case("content_loss")
def _(rng):
    return L.content_loss, inputs(rng.standard_normal((2, 3, 2, 3)), rng.standard_normal((2, 3, 2, 3)))


@case("feature_loss")
def _(rng):
    return L.feature_loss, inputs(rng.standard_normal((2, 3, 3, 2)), rng.standard_normal((2, 3, 3, 2)))


@case("style_loss/two-layers")
def _(rng):
    def fn(f1, f2, a1, a2):
        return L.style_loss({"a": f1, "b": f2}, {"a": a1, "b": a2}, {"a": 0.3, "b": 2.0})
    a1 = L.gram_matrix(inputs(rng.standard_normal((1, 3, 3, 3)))[0], "gatys").numpy()
    a2 = L.gram_matrix(inputs(rng.standard_normal((1, 2, 2, 2)))[0], "gatys").numpy()
    return fn, inputs(rng.standard_normal((1, 3, 3, 3)), rng.standard_normal((1, 2, 2, 2)), a1, a2)


@case("style_loss/batch-broadcast-target")
def _(rng):
    a = L.gram_matrix(inputs(rng.standard_normal((1, 3, 2, 3)))[0], "gatys").numpy()
    return (lambda f: L.style_loss([f], [a])), inputs(rng.standard_normal((2, 3, 2, 3)))


@case("moment_loss/two-layers")
def _(rng):
    def fn(f1, f2, s1, s2):
        return L.moment_loss({"a": f1, "b": f2}, {"a": s1, "b": s2})
    return fn, inputs(rng.standard_normal((2, 3, 3, 2)), rng.standard_normal((2, 2, 2, 3)),
                      rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((2, 2, 3, 3)))


# ---- likelihood losses (losses/likelihood.py) ----------------------------------------------

@case("likelihood/elbo")
def _(rng):
    """KL, both decoder NLLs and the reparameterised code, jointly in mu, log var, eps, logits and x."""
    def fn(mu, logvar, eps, logits, x):
        z = LK.reparameterize(mu, logvar, eps)
        return (LK.gaussian_kl(mu, logvar), LK.bernoulli_nll(logits, x), LK.gaussian_nll(logits, x),
                LK.log_normal(z, mu, logvar), LK.log_standard_normal(z))
    return fn, inputs(rng.standard_normal((3, 4)), rng.uniform(-1, 1, (3, 4)), rng.standard_normal((3, 4)),
                      rng.standard_normal((3, 2, 5)), rng.uniform(0, 1, (3, 2, 5)))


@case("likelihood/iwae-bound")
def _(rng):
    return LK.iwae_bound, inputs(rng.standard_normal((5, 3)) * 3)


# ---- adversarial losses (losses/adversarial.py) ----------------------------------------------

def _logits(rng, n):
    """n logits: spread ones and the two saturated ends -30 and 30 of the softplus forms, shuffled."""
    return rng.permutation(np.concatenate([3 * rng.standard_normal(n - 2), [-30.0, 30.0]]))


@case("adversarial/bce_discriminator")
def _(rng):
    return A.bce_discriminator, inputs(_logits(rng, 6), _logits(rng, 5))


@case("adversarial/minimax_generator")
def _(rng):
    return A.minimax_generator, inputs(_logits(rng, 6))


@case("adversarial/nonsaturating_generator")
def _(rng):
    return A.nonsaturating_generator, inputs(_logits(rng, 6))


@case("adversarial/wasserstein_critic")
def _(rng):
    return A.wasserstein_critic, inputs(rng.standard_normal(4), rng.standard_normal(3))


@case("adversarial/wasserstein_generator")
def _(rng):
    return A.wasserstein_generator, inputs(rng.standard_normal(4))


@case("adversarial/least_squares_discriminator")
def _(rng):
    def fn(real, fake):
        return A.least_squares_discriminator(real, fake, "eq8"), A.least_squares_discriminator(real, fake, "eq9")
    return fn, inputs(rng.standard_normal(4), rng.standard_normal(3))


@case("adversarial/least_squares_generator")
def _(rng):
    return (lambda f: (A.least_squares_generator(f, "eq8"), A.least_squares_generator(f, "eq9"))), \
        inputs(rng.standard_normal(4))
