"""MATLAB-compatible imresize: weights derived by hand, sizes, mirroring, antialiasing, and the
standard bicubic baseline on Set5 (when the data is present)."""
import os

import numpy as np
import pytest

from minigen.data.imresize import contributions, imresize

# Keys' cubic with a = -0.5 at the offsets that a factor-2 resize meets:
# k(1/4) = 111/128, k(3/4) = 29/128, k(5/4) = -9/128, k(7/4) = -3/128 (and k(9/4) = 0).
K14, K34, K54, K74 = 111 / 128, 29 / 128, -9 / 128, -3 / 128


def test_cubic_kernel_values_sum_to_one():
    assert K14 + K34 + K54 + K74 == 1.0


def test_upscale_by_two_matches_the_hand_computed_weights():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    out = imresize(x[:, None], output_shape=(8, 1))[:, 0]
    # Output 1 (1-based) sits at u = 1/2 + 1/4 = 0.75: taps at input -1, 0, 1, 2 with weights
    # k(1.75), k(0.75), k(-0.25), k(-1.25); -1 and 0 mirror to inputs 2 and 1.
    first = K74 * x[1] + K34 * x[0] + K14 * x[0] + K54 * x[1]
    # Output 4 sits at u = 2.25: inputs 1..4 with k(1.25), k(0.25), k(-0.75), k(-1.75).
    fourth = K54 * x[0] + K14 * x[1] + K34 * x[2] + K74 * x[3]
    assert out[0] == pytest.approx(first) and first == pytest.approx(0.90625)
    assert out[3] == pytest.approx(fourth) and fourth == pytest.approx(2.25)  # linear data is kept inside
    np.testing.assert_allclose(out + out[::-1], 5.0)  # the mirrored ramp gives a mirrored result


def test_downscale_by_two_widens_the_kernel_and_mirrors_at_the_border():
    x = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0, 6.0])
    out = imresize(x[:, None], 0.5)[:, 0]
    assert out.shape == (4,)
    # Output 1 sits at u = 1.5; h(d) = k(d / 2) / 2 over d = 1.5 - j for inputs j = -2..5, where
    # inputs -2, -1, 0 mirror to 3, 2, 1 (1-based).
    w = np.array([K74, K54, K34, K14, K14, K34, K54, K74]) / 2
    taps = x[[2, 1, 0, 0, 1, 2, 3, 4]]
    assert out[0] == pytest.approx(float(w @ taps))


def test_identity_scale_is_exact_for_both_kernels():
    img = np.random.default_rng(0).random((5, 7, 3))
    for kernel in ("cubic", "lanczos3"):
        np.testing.assert_allclose(imresize(img, 1.0, kernel=kernel), img, atol=1e-12)


@pytest.mark.parametrize("shape,scale,expected", [((10, 7), 0.3, (3, 3)), ((5, 4), 2.5, (13, 10)),
                                                  ((255, 256), 1 / 3, (85, 86)), ((9, 6), 1 / 3, (3, 2))])
def test_output_size_is_ceil_of_scale_times_size(shape, scale, expected):
    assert imresize(np.zeros(shape), scale).shape == expected


def test_constant_images_stay_constant_and_dtype_and_channels_are_kept():
    img = np.full((9, 11, 3), 0.25, np.float32)
    for kernel in ("cubic", "lanczos3"):
        for scale in (0.37, 3):
            out = imresize(img, scale, kernel=kernel)
            assert out.dtype == np.float32 and out.shape[-1] == 3
            np.testing.assert_allclose(out, 0.25, atol=1e-6)
    rng = np.random.default_rng(1)
    rgb = rng.random((6, 8, 3))
    out = imresize(rgb, 2)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], imresize(rgb[..., c], 2), atol=1e-14)


def test_antialiasing_removes_a_pattern_above_the_new_nyquist_rate():
    # A period of 3 pixels is above the Nyquist rate of a half-size image (period 4): the widened
    # kernel attenuates it to a sixth, point sampling lets most of it alias through.
    waves = np.cos(2 * np.pi * np.arange(36) / 3)[:, None] * np.ones((1, 4))
    assert np.abs(imresize(waves, 0.5)[3:-3]).max() < 0.2
    assert np.abs(imresize(waves, 0.5, antialias=False)[3:-3]).max() > 0.6


def test_each_axis_uses_its_own_scale_for_an_output_shape():
    img = np.random.default_rng(2).random((6, 9))
    out = imresize(img, output_shape=(12, 3))  # width shrinks (1/3), so it goes first
    wc, ic = contributions(9, 3, 1 / 3)
    wr, ir = contributions(6, 12, 2.0)
    expected = np.einsum("ot,ot...->o...", wr, (np.einsum("ot,...ot->...o", wc, img[:, ic]))[ir])
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError):
        imresize(np.zeros((4, 4), np.uint8), 2)
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), 2, output_shape=(8, 8))
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), 2, kernel="box")


SET5 = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "sr", "Set5")


@pytest.mark.skipif(not os.path.isdir(SET5), reason="shared SR data not present")
def test_set5_bicubic_baseline_matches_the_published_numbers():
    """The SRCNN/VDSR protocol: 8-bit Y, mod-crop, bicubic down and up, 8-bit result, PSNR on Y
    with a border of `scale` removed. Published: 33.66 / 30.39 / 28.42 dB (SSIM .9299 / .8682 / .8104)."""
    from minigen.data.datasets import list_images, load_y, quantize
    from minigen.metrics import mod_crop, psnr_y, ssim_y
    ys = [load_y(p).astype(np.float64) for p in list_images(SET5)]
    for scale, (p_ref, s_ref) in {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)}.items():
        ps, ss = [], []
        for y in ys:
            hr = mod_crop(y, scale)
            bic = quantize(imresize(imresize(hr, 1 / scale), scale))
            ps.append(psnr_y(bic, hr, scale))
            ss.append(ssim_y(bic, hr, scale))
        assert np.mean(ps) == pytest.approx(p_ref, abs=0.005)
        assert np.mean(ss) == pytest.approx(s_ref, abs=0.00005)
