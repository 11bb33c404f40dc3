"""PSNR / SSIM with the SR conventions (Y in 0-255, shaved border), and mod_crop."""
import numpy as np
import pytest

from minigen.metrics import mod_crop, psnr, psnr_y, ssim, ssim_y, to_y


def test_psnr_of_a_constant_offset():
    a = np.random.default_rng(0).random((8, 8))
    assert psnr(a + 0.1, a) == pytest.approx(20.0)
    assert psnr(a, a) == float("inf")


def test_psnr_y_of_a_constant_luma_offset_and_the_shaved_border():
    hr = np.random.default_rng(1).uniform(0.2, 0.8, (20, 20))
    sr = hr + 2 / 255  # 2 grey levels everywhere: PSNR = 20 log10(255 / 2)
    assert psnr_y(sr, hr) == pytest.approx(20 * np.log10(255 / 2))
    broken = sr.copy()
    broken[:3], broken[:, -3:] = 0, 1  # garbage in the border only
    assert psnr_y(broken, hr, shave_border=3) == pytest.approx(20 * np.log10(255 / 2))
    assert psnr_y(broken, hr) < 20


def test_y_is_bt601_on_the_0_255_scale():
    rgb = np.array([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    np.testing.assert_allclose(to_y(rgb), [[235.0, 16.0, 16 + 65.481]])
    np.testing.assert_allclose(to_y(np.array([[0.5]])), [[127.5]])  # grey images are luma already


def test_mod_crop():
    img = np.zeros((13, 17, 3))
    assert mod_crop(img, 4).shape == (12, 16, 3) and mod_crop(img, 1).shape == img.shape


def _ssim_by_loops(a, b):
    """The SSIM formula window by window, straight from Wang et al. (2004)."""
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            pa, pb = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return np.mean(vals)


def test_ssim_equals_the_windowed_formula_and_behaves():
    rng = np.random.default_rng(2)
    a = rng.uniform(0, 255, (14, 13))
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    assert ssim(a, b) == pytest.approx(_ssim_by_loops(a, b), rel=1e-10)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    assert ssim(a, b) < 0.98  # noise of sigma 20 on full-range texture: about 0.966
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        ssim(a[:10], b[:10])


def test_ssim_y_takes_rgb_or_luma():
    rgb = np.random.default_rng(3).random((16, 16, 3))
    assert ssim_y(rgb, rgb, 2) == pytest.approx(1.0)
    assert ssim_y(to_y(rgb) / 255, rgb * 0.9, 2) < 1
