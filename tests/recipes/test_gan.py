"""The GAN recipe: WGAN's critic schedule and clipping, the losses each model plays with, a resumed run
ending bit for bit where an uninterrupted one does, a toy GAN learning the ring of 8, and the vector
arithmetic checked on a generator whose codes add by construction."""
import numpy as np
import pytest
from scipy.ndimage import grey_dilation

from minigen import backend
from minigen.data.digits import digits, stroke_mass
from minigen.io import checkpoint as ckpt_io
from minigen.losses import adversarial as adv
from minigen.recipes import arithmetic as ar
from minigen.recipes import gan
from minigen.recipes.evaluate import score_toy
from minigen.tensor import Tensor

MLP = {"arch": "mlp", "nz": 4, "width": 2, "g_hidden": [16], "d_hidden": [16], "optimizer": "adam", "lr": 1e-3,
       "betas": [0.5, 0.999], "batch": 8, "d_steps": 1, "clip": None, "critic_boost": False, "coding": "eq9",
       "g_loss": "nonsaturating", "classes": 0, "seed": 0, "shape": [1, 6, 6], "data": "test"}


def _settings(**kw):
    return {**MLP, "model": "gan", **kw}


def _images(n=40, size=6, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.random((n, 1, size, size)).astype(np.float32), "y": rng.integers(0, 10, n)}


def test_wgan_critic_steps_follow_arjovskys_schedule():
    s = _settings(model="wgan", d_steps=5, critic_boost=True)
    assert [gan.d_iters(s, i) for i in (1, 25, 26, 500, 501, 502, 1001)] == [100, 100, 5, 5, 100, 5, 100]
    assert gan.d_iters({**s, "critic_boost": False}, 1) == 5
    assert gan.d_iters(_settings(d_steps=3), 1) == 3  # other models: --d-steps throughout


def test_each_model_plays_with_its_losses():
    real, fake = Tensor(np.array([2.0, -1.0])), Tensor(np.array([0.5, -3.0]))
    for model, (d_ref, g_ref) in {
            "gan": (adv.bce_discriminator(real, fake), adv.nonsaturating_generator(fake)),
            "wgan": (adv.wasserstein_critic(real, fake), adv.wasserstein_generator(fake)),
            "lsgan": (adv.least_squares_discriminator(real, fake, "eq8"), adv.least_squares_generator(fake, "eq8"))
    }.items():
        ld, lg = gan.losses_of(_settings(model=model, coding="eq8"))
        assert ld(real, fake).item() == d_ref.item() and lg(fake).item() == g_ref.item()
    _, lg = gan.losses_of(_settings(g_loss="minimax"))
    assert lg(fake).item() == adv.minimax_generator(fake).item()


def test_wgan_clips_every_critic_weight_and_counts_its_batches():
    s = _settings(model="wgan", optimizer="rmsprop", lr=5e-3, d_steps=3, clip=0.02)
    path_steps = 4
    _, d, _ = gan.train(s, _images(), path_steps, log_every=100)
    values = np.concatenate([p.data.ravel() for p in d.parameters()])
    assert np.abs(values).max() <= 0.02
    assert np.isclose(np.abs(values), 0.02).mean() > 0.2  # the clip is active, not merely respected


def test_the_real_batches_walk_on_across_critic_steps(tmp_path):
    s = _settings(model="wgan", optimizer="rmsprop", d_steps=3, clip=0.1)
    path = str(tmp_path / "w.npz")
    gan.train(s, _images(), 4, out=path, log_every=100)
    assert ckpt_io.load(path).extra["batches"] == 12  # 3 critic batches per generator step


@pytest.mark.parametrize("kw", [dict(model="cgan", arch="dcgan", classes=10, shape=[1, 28, 28]),
                                dict(model="wgan", optimizer="rmsprop", d_steps=2, clip=0.05, critic_boost=True),
                                dict(model="gan", data="ring8", shape=[2])],
                         ids=["cgan-dcgan", "wgan-boost", "toy"])
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, kw):
    s = _settings(**kw)
    data = {"toy": "ring8"} if s["data"] == "ring8" else _images(size=s["shape"][-1])
    steps = 5
    g1, d1, _ = gan.train(s, data, steps, log_every=100)
    path = str(tmp_path / "run.npz")
    gan.train(s, data, steps, out=path, log_every=100, time_limit=0)  # stops after its first step
    assert ckpt_io.load(path).step < steps
    g2, d2, _ = gan.train(s, data, steps, out=path, resume=True, log_every=100)
    ckpt = ckpt_io.load(path)
    assert ckpt.step == steps and set(ckpt.modules) == {"generator", "discriminator"}
    assert set(ckpt.optimizers) == {"g", "d"}
    for a, b in ((g1, g2), (d1, d2)):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            np.testing.assert_array_equal(p, q, err_msg=name)
    backend.manual_seed(s["seed"])
    g0, _ = gan.build(s)
    assert not all(np.array_equal(p, q) for p, q in zip(g0.state_dict().values(), g1.state_dict().values()))


def test_a_toy_gan_puts_its_samples_on_the_ring():
    s = _settings(data="ring8", shape=[2], nz=2, g_hidden=[64, 64], d_hidden=[64, 64], batch=64, lr=2e-3)
    g, _, _ = gan.train(s, {"toy": "ring8"}, 1500, log_every=10 ** 6)
    points = g.sample(2500, rng=np.random.default_rng(1))
    radius = np.linalg.norm(points, axis=1)
    # untrained, G's points sit near the origin (radius ~0.1); trained, on the unit circle
    assert abs(np.median(radius) - 1) < 0.1, np.median(radius)
    assert score_toy(points, "ring8")["modes"] >= 3


def test_fixed_codes_are_the_same_at_every_snapshot():
    backend.manual_seed(0)
    g, _ = gan.build(_settings(model="cgan", classes=10))
    (z1, y1), (z2, y2) = gan.fixed_codes(g, 20, 3), gan.fixed_codes(g, 20, 3)
    np.testing.assert_array_equal(z1, z2)
    assert list(y1) == list(y2) == list(np.arange(20) % 10)


# ---- vector arithmetic -----------------------------------------------------------------------------

class LinearDigits:
    """A generator whose codes add by construction: z[0] < 0 draws a 1, else a 7; z[1] > 0 thickens it."""
    nz, classes, images, shape, kind = 3, 0, True, (1, 28, 28), "stub"

    def __init__(self):
        from minigen.zoo import load_network
        images, labels = digits(200, seed=0)
        x = images[:, None].astype(np.float32) / 255
        thick = grey_dilation(x, size=(1, 1, 2, 2))
        lenet, _ = load_network("lenet5")
        # of each class, the digit the classifier reads most surely both thin and thick
        surest = np.minimum(*(ar.measure(v, lenet, "mass")[1] for v in (x, thick)))
        self.templates = {k: x[max(np.flatnonzero(labels == k), key=lambda i: surest[i]), 0] for k in (1, 7)}

    def codes(self, n, rng):
        return rng.standard_normal((n, self.nz)).astype(np.float32)

    def decode_images(self, z, labels=None, device="cpu"):
        out = np.stack([self.templates[1 if v[0] < 0 else 7] for v in z])[:, None]
        thick = grey_dilation(out, size=(1, 1, 2, 2))
        return np.where((z[:, 1] > 0)[:, None, None, None], thick, out)


def test_arithmetic_adds_the_attribute_of_a_minus_b_to_c():
    g = LinearDigits()
    result = ar.arithmetic(g, "mass", classes=(1, 7), pool=300, variants=5, seed=0)
    a, b, c = (result["groups"][n] for n in "ABC")
    assert a["class"] == b["class"] == 1 and c["class"] == 7
    assert a["attribute"].min() > b["attribute"].max()  # A: the thick 1s, B: the thin ones
    r = result["results"]
    assert list(r["class"]) == [7] * 5  # a 7 ...
    assert (r["attribute"] > c["mean_attribute"]).all()  # ... with thick strokes
    lines = ar.table(result)
    assert lines[-1].startswith("check: 5 of 5 results read as class 7") and "higher" in lines[-1]
    assert ar.picture(result).shape == (4 * 28 + 5 * 2, 5 * 28 + 6 * 2, 1)
    assert float(stroke_mass(r["images"][:, 0]).mean()) == pytest.approx(float(r["attribute"].mean()))


def test_arithmetic_refuses_classes_it_cannot_find():
    with pytest.raises(Exception, match="class 3: only 0"):
        ar.arithmetic(LinearDigits(), "mass", classes=(3, 7), pool=100, seed=0)
