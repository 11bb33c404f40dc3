"""Sample grids and interpolation strips: where each image lands."""
import numpy as np
import pytest

from minigen.report import image_grid, interpolation_strip


def test_image_grid_places_each_image():
    imgs = np.zeros((3, 3, 4, 5), np.float32)
    imgs[1] = 1.0
    grid = image_grid(imgs, ncol=2, pad=1)
    assert grid.shape == (2 * 5 + 1, 2 * 6 + 1, 3)
    np.testing.assert_array_equal(grid[1:5, 1:6], 0.0)      # first image
    np.testing.assert_array_equal(grid[1:5, 7:12], 1.0)     # second image
    np.testing.assert_array_equal(grid[6:10, 1:6], 0.0)     # third image starts the second row
    np.testing.assert_array_equal(grid[6:10, 7:12], 1.0)    # empty slot stays white
    np.testing.assert_array_equal(grid[0], 1.0)             # white border
    np.testing.assert_array_equal(grid[:, 6], 1.0)          # white gap between columns


def test_image_grid_keeps_pixel_values_and_clips():
    rng = np.random.default_rng(0)
    imgs = rng.uniform(-0.5, 1.5, (5, 1, 3, 2)).astype(np.float32)
    grid = image_grid(imgs, ncol=3, pad=2)
    assert grid.shape == (2 * 5 + 2, 3 * 4 + 2, 1)
    for k in range(5):
        r, q = divmod(k, 3)
        y, x = 2 + r * 5, 2 + q * 4
        np.testing.assert_array_equal(grid[y:y + 3, x:x + 2, 0], np.clip(imgs[k, 0], 0, 1))


def test_image_grid_narrows_to_the_number_of_images():
    assert image_grid(np.zeros((2, 3, 4, 4)), ncol=8, pad=1).shape == (6, 11, 3)


def test_interpolation_strip_puts_one_row_per_pair():
    rows = np.zeros((2, 4, 3, 5, 6), np.float32)
    for r in range(2):
        for k in range(4):
            rows[r, k] = (10 * r + k) / 100
    strip = interpolation_strip(rows)
    assert strip.shape == (2 * 6 + 1, 4 * 7 + 1, 3)
    for r in range(2):
        for k in range(4):
            y, x = 1 + r * 6, 1 + k * 7
            np.testing.assert_allclose(strip[y:y + 5, x:x + 6], (10 * r + k) / 100)
    np.testing.assert_array_equal(strip[6], 1.0)            # white separator between the rows
    np.testing.assert_array_equal(strip[:, 7], 1.0)         # and between neighbours in a row


def test_interpolation_strip_accepts_lists_of_uneven_rows():
    black = np.zeros((1, 2, 2), np.float32)
    strip = interpolation_strip([[black, black, black], [black]], pad=1)
    assert strip.shape == (7, 10, 1)
    np.testing.assert_array_equal(strip[4:6, 1:3], 0.0)     # the short row's image
    np.testing.assert_array_equal(strip[4:6, 4:9], 1.0)     # its missing places stay white


def test_interpolation_strip_refuses_mixed_shapes_and_nothing():
    with pytest.raises(ValueError, match="one shape"):
        interpolation_strip([[np.zeros((3, 2, 2)), np.zeros((3, 4, 4))]])
    with pytest.raises(ValueError, match="no images"):
        interpolation_strip([[]])
