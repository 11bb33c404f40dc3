"""Adversarial losses of GANs, on the raw outputs of the discriminator (logits) or critic, composed from
the engine's ops. Every loss is a mean over all the values it is given (one per sample).

The game (Goodfellow et al., NeurIPS 2014): G maps codes z to samples, D(x) is
the probability that x is real, and

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))].

D is a logit l with D = σ(l); the logs are written with softplus(t) = log(1 + e^t),

    log D = −softplus(−l),    log(1 − D) = −softplus(l),

evaluated without forming σ(l) (no log of a rounded 0 or 1 at |l| = 40).

- Discriminator, binary cross-entropy with label 1 for real and 0 for fake (= −V):
      L_D = E_x softplus(−l(x)) + E_z softplus(l(G(z))).
  For a fixed G the best D is D*(x) = p_data(x) / (p_data(x) + p_g(x)), where
  L_D = log 4 − 2 JSD(p_data ‖ p_g).
- Generator, minimax (the game as written; G minimises V's second term):
      L_G = E_z log(1 − D(G(z))) = −E_z softplus(l(G(z))).
  Its gradient dL_G/dl = −σ(l) vanishes when D confidently rejects the fakes
  (l → −∞), as early in training.
- Generator, non-saturating (the practice of the same paper):
      L_G = −E_z log D(G(z)) = E_z softplus(−l(G(z))),  dL_G/dl = σ(l) − 1 → −1 there.

WGAN (Arjovsky, Chintala & Bottou, ICML 2017): a critic f (no sigmoid) whose
weights are clipped to [−c, c] after every update, so that f stays in a
family of K-Lipschitz functions;

    critic:     L_f = E_z f(G(z)) − E_x f(x)      (−L_f estimates K · W_1(p_data, p_g), the Earth-Mover distance)
    generator:  L_G = −E_z f(G(z)).

LSGAN (Mao et al., ICCV 2017): least squares on D's raw output with the a-b-c
coding: a the target of fakes and b of reals for D, c the value G wants D to
give its fakes,

    L_D = ½ E_x (D(x) − b)² + ½ E_z (D(G(z)) − a)²,    L_G = ½ E_z (D(G(z)) − c)².

The paper's two codings, named after its equations (``CODINGS``):
    "eq8": a = −1, b = 1, c = 0 (b − c = 1 and b − a = 2: G then minimises the
           Pearson χ² divergence between p_data + p_g and 2 p_g);
    "eq9": a = 0, b = 1, c = 1 (the 0-1 coding: G wants its samples taken as real).
"""
from .. import backend
from .. import functional as F
from ..tensor import Tensor

CODINGS = {"eq8": (-1.0, 1.0, 0.0), "eq9": (0.0, 1.0, 1.0)}


def _values(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor of discriminator outputs, not {type(x).__name__}")
    return x


def bce_discriminator(real, fake):
    """L_D = E softplus(−l_real) + E softplus(l_fake): the cross-entropy of D with label 1 for real samples
    and 0 for fakes, on logits."""
    real, fake = _values(real, "bce_discriminator"), _values(fake, "bce_discriminator")
    return F.mean(F.softplus(-real)) + F.mean(F.softplus(fake))


def minimax_generator(fake):
    """L_G = E log(1 − D(G(z))) = −E softplus(l_fake): the generator's side of the minimax game."""
    return -F.mean(F.softplus(_values(fake, "minimax_generator")))


def nonsaturating_generator(fake):
    """L_G = −E log D(G(z)) = E softplus(−l_fake): the non-saturating generator loss."""
    return F.mean(F.softplus(-_values(fake, "nonsaturating_generator")))


def wasserstein_critic(real, fake):
    """L_f = E f(fake) − E f(real): the WGAN critic's loss (minus the Earth-Mover estimate)."""
    real, fake = _values(real, "wasserstein_critic"), _values(fake, "wasserstein_critic")
    return F.mean(fake) - F.mean(real)


def wasserstein_generator(fake):
    """L_G = −E f(G(z)): the WGAN generator's loss."""
    return -F.mean(_values(fake, "wasserstein_generator"))


def lsgan_coding(coding):
    """(a, b, c) of an LSGAN coding: 'eq8', 'eq9' or an (a, b, c) triple."""
    if isinstance(coding, str):
        if coding not in CODINGS:
            raise ValueError(f"unknown LSGAN coding {coding!r}; known: {', '.join(CODINGS)} or an (a, b, c) triple")
        return CODINGS[coding]
    a, b, c = (float(v) for v in coding)
    return a, b, c


def least_squares_discriminator(real, fake, coding="eq9"):
    """L_D = ½ E (D(x) − b)² + ½ E (D(G(z)) − a)² with the coding's a and b."""
    a, b, _ = lsgan_coding(coding)
    real = _values(real, "least_squares_discriminator")
    fake = _values(fake, "least_squares_discriminator")
    return 0.5 * F.mean((real - b) ** 2) + 0.5 * F.mean((fake - a) ** 2)


def least_squares_generator(fake, coding="eq9"):
    """L_G = ½ E (D(G(z)) − c)² with the coding's c."""
    _, _, c = lsgan_coding(coding)
    return 0.5 * F.mean((_values(fake, "least_squares_generator") - c) ** 2)


def clip_weights(params, c):
    """WGAN's weight clipping, in place: every value of every parameter clamped to [−c, c]. ``params``:
    a Module or an iterable of Tensors."""
    if not c > 0:
        raise ValueError(f"clip_weights: the clip value must be positive, not {c}")
    params = params.parameters() if callable(getattr(params, "parameters", None)) else params
    for p in params:
        backend.array_module(p.data).clip(p.data, -c, c, out=p.data)


LOSSES = ("bce_discriminator", "minimax_generator", "nonsaturating_generator", "wasserstein_critic",
          "wasserstein_generator", "least_squares_discriminator", "least_squares_generator")
__all__ = [*LOSSES, "clip_weights", "lsgan_coding", "CODINGS"]
