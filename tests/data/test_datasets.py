"""Image folders and SR training patches (grid, pairs, the T91 count)."""
import os

import numpy as np
import pytest

from minigen.data.datasets import SRPatches, bicubic_pair, grid_positions, list_images, load_folder, load_y, turn
from minigen.data.images import rgb_to_ycbcr, save_image
from minigen.data.imresize import imresize
from minigen.errors import MinigenError


def test_list_images_sorts_image_files_and_refuses_empty_or_missing_folders(tmp_path):
    save_image(tmp_path / "b.png", np.zeros((4, 4, 3), np.float32))
    save_image(tmp_path / "a.bmp", np.zeros((4, 4), np.float32))
    (tmp_path / "notes.txt").write_text("not an image")
    assert [os.path.basename(p) for p in list_images(tmp_path)] == ["a.bmp", "b.png"]
    os.mkdir(tmp_path / "empty")
    with pytest.raises(MinigenError, match="no image files"):
        list_images(tmp_path / "empty")
    with pytest.raises(MinigenError, match="not a folder"):
        list_images(tmp_path / "missing")


def test_load_y_is_8_bit_bt601_luma_and_grey_stays_grey(tmp_path):
    rgb = np.random.default_rng(0).random((5, 6, 3)).astype(np.float32)
    save_image(tmp_path / "c.png", rgb)
    save_image(tmp_path / "g.png", rgb[..., 0])
    y = load_y(tmp_path / "c.png")
    on_file = np.rint(rgb * 255) / 255
    np.testing.assert_allclose(y * 255, np.rint(rgb_to_ycbcr(on_file)[..., 0] * 255), atol=1e-4)
    np.testing.assert_allclose(load_y(tmp_path / "g.png"), np.rint(rgb[..., 0] * 255) / 255, atol=1e-6)


def test_grid_positions_follow_the_matlab_loops():
    assert grid_positions(33, 33, 33, 14) == [(0, 0)]
    assert grid_positions(60, 47, 33, 14) == [(0, 0), (0, 14), (14, 0), (14, 14)]
    assert grid_positions(32, 40, 33, 14) == []


def test_luma_patches_pair_the_bicubic_input_with_the_label():
    img = np.random.default_rng(1).random((50, 61)).astype(np.float32)
    data = SRPatches([img], scales=(3,), size=33, stride=14)
    hr = img[:48, :60]  # mod-crop 3
    assert len(data) == len(grid_positions(48, 60, 33, 14)) == 4
    x, y = data.batch(np.random.default_rng(0), 5)
    assert x.shape == y.shape == (5, 1, 33, 33) and x.dtype == np.float32
    up = imresize(imresize(hr, 1 / 3), 3)
    k, r, c = data.index[3]
    np.testing.assert_allclose(data.inputs[k][r:r + 33, c:c + 33], up[r:r + 33, c:c + 33], atol=1e-6)
    x2, y2 = data.batch(np.random.default_rng(0), 5)
    np.testing.assert_array_equal(x, x2)  # the generator decides the batch


def test_multi_scale_luma_patches_and_small_images_skipped():
    imgs = [np.random.default_rng(2).random((41, 41)).astype(np.float32), np.zeros((20, 20), np.float32)]
    data = SRPatches(imgs, scales=(2, 3, 4), size=24, stride=24)
    assert len(data.inputs) == 3 and len(data) == 3  # one 24x24 patch per scale; the 20x20 image is too small
    with pytest.raises(MinigenError, match="smaller than the 40x40 patch"):
        SRPatches(imgs[1:], scales=(2,), size=40)


def test_rgb_patches_give_low_resolution_inputs_aligned_with_the_targets():
    img = np.random.default_rng(3).random((40, 52, 3)).astype(np.float32)
    data = SRPatches([img], scales=(4,), size=18, stride=10, mode="rgb")  # size rounds down to 16
    x, y = data.batch(np.random.default_rng(0), 3)
    assert x.shape == (3, 3, 4, 4) and y.shape == (3, 3, 16, 16)
    lr = imresize(img, 0.25)
    k, r, c = data.index[-1]
    np.testing.assert_allclose(data.inputs[k], lr, atol=1e-6)
    assert r % 4 == 0 and c % 4 == 0


def test_turn_gives_the_eight_symmetries_of_the_square():
    a = np.random.default_rng(4).random((2, 5, 5))
    turned = [turn(a, t) for t in range(8)]
    np.testing.assert_array_equal(turned[0], a)
    np.testing.assert_array_equal(turned[1], np.stack([m.T[::-1] for m in a]))  # 90 degrees anticlockwise
    np.testing.assert_array_equal(turned[4], a[..., ::-1])
    assert len({t.tobytes() for t in turned}) == 8
    for t in range(8):  # closed under composition: each turn of a turn is one of the eight
        assert {turn(turned[t], u).tobytes() for u in range(8)} == {x.tobytes() for x in turned}


@pytest.mark.parametrize("scale", [2, 3])
def test_bicubic_degradation_commutes_with_the_turns(scale):
    hr = np.random.default_rng(5).random((24, 30)).astype(np.float32)
    _, up = bicubic_pair(hr, scale)
    for t in range(8):
        np.testing.assert_allclose(bicubic_pair(turn(hr, t).copy(), scale)[1], turn(up, t), atol=1e-5)


@pytest.mark.parametrize("mode,scale", [("y", 3), ("rgb", 2)])
def test_augmented_patches_turn_input_and_target_alike(mode, scale):
    img = np.random.default_rng(6).random((12, 12, 3) if mode == "rgb" else (12, 12)).astype(np.float32)
    plain = SRPatches([img], scales=(scale,), size=12, stride=12, mode=mode)  # one patch: the whole image
    x0, y0 = plain.batch(np.random.default_rng(0), 1)
    x, y = SRPatches([img], scales=(scale,), size=12, stride=12, mode=mode, augment=True).batch(
        np.random.default_rng(0), 32)
    seen = set()
    for xi, yi in zip(x, y):
        (t,) = [t for t in range(8) if np.array_equal(yi, turn(y0[0], t))]
        np.testing.assert_array_equal(xi, turn(x0[0], t))
        seen.add(t)
    assert len(seen) > 4


T91 = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "sr", "T91")


@pytest.mark.skipif(not os.path.isdir(T91), reason="shared SR data not present")
def test_t91_gives_the_srcnn_patch_count():
    assert len(SRPatches(load_folder(T91), scales=(3,), size=33, stride=14)) == 21884
