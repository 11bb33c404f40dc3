"""The demo's small denoiser: it learns, and it trains bit for bit as before the redesign."""
import os

import numpy as np
import pytest

from minigen.data.procedural import shapes
from minigen.metrics import psnr
from minigen.recipes.denoise import denoise, train_denoiser

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden", "denoise.npz")


@pytest.mark.usefixtures("gemm_convolutions")
def test_training_matches_the_golden_run_of_the_earlier_code():
    # made by tests/fixtures/golden/make_dip.py with the code of commit 5ecf307
    golden = np.load(GOLDEN)
    net, history = train_denoiser(steps=4, batch=2, size=16, seed=1, log_every=1000)
    clean = shapes(2, 16, seed=7)
    batch = clean + 0.15 * np.random.default_rng(7).standard_normal(clean.shape).astype(np.float32)
    np.testing.assert_array_equal(np.array(history), golden["loss"])
    np.testing.assert_array_equal(denoise(net, batch), golden["output"])


def test_the_denoiser_learns_to_remove_noise():
    net, history = train_denoiser(steps=40, batch=8, size=16, seed=0, log_every=1000)
    clean = shapes(4, 16, seed=10_000)
    noisy = clean + 0.15 * np.random.default_rng(0).standard_normal(clean.shape).astype(np.float32)
    assert np.mean(history[-5:]) < np.mean(history[:5])
    assert psnr(denoise(net, noisy), clean) > psnr(noisy, clean)
