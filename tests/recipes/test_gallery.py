"""The demo gallery's image grid and Pillow line chart."""
import numpy as np

from minigen.recipes.gallery import draw_curves, image_grid


def test_image_grid_places_each_image():
    imgs = np.zeros((3, 3, 4, 5), np.float32)
    imgs[1] = 1.0
    grid = image_grid(imgs, ncol=2, pad=1)
    assert grid.shape == (2 * 5 + 1, 2 * 6 + 1, 3)
    np.testing.assert_array_equal(grid[1:5, 1:6], 0.0)      # first image
    np.testing.assert_array_equal(grid[1:5, 7:12], 1.0)     # second image
    np.testing.assert_array_equal(grid[6:10, 7:12], 1.0)    # empty slot stays white


def test_draw_curves_draws_lines_in_the_series_colours():
    img = np.asarray(draw_curves({"a": [10.0, 1.0, 0.1], "b": [1.0, 1.0, 1.0]}, size=(200, 120)))
    assert img.shape == (120, 200, 3)
    assert np.any(np.all(img == (31, 119, 180), axis=-1))   # first colour used
    assert np.any(np.all(img == (214, 39, 40), axis=-1))    # second colour used


def test_draw_curves_survives_nan_and_constant_series():
    img = draw_curves({"x": [float("nan"), 2.0, 2.0]}, log_y=False)
    assert img.size == (480, 300)


def test_gallery_writes_zoomed_images_and_an_index(tmp_path):
    from minigen.data.images import load_image
    from minigen.recipes.gallery import Gallery
    g = Gallery(str(tmp_path))
    g.section("s", "text & <escaped>")
    g.image("a.png", np.full((3, 4, 3), 0.5, np.float32), "grey", zoom=3)
    path = g.write()
    assert load_image(tmp_path / "a.png").shape == (9, 12, 3)
    html = open(path).read()
    assert "a.png" in html and "&lt;escaped&gt;" in html
