"""Scatter plots of 2-D points: size, dots where the points are, modes marked, equal units,
a view that far outliers cannot squash, and degenerate input."""
import numpy as np
import pytest
from PIL import Image

from minigen.data.toys import TOYS, sample_toy
from minigen.report.scatter import DOT, MODE, OUTLIER, draw_scatter, save_scatter

RING, RING_STD = TOYS["ring8"]


def pixels_of(img, colour):
    """(row, column) of every pixel of exactly ``colour``."""
    return np.argwhere(np.all(np.asarray(img) == colour, axis=-1))


def to_pixel(layout, xy):
    """(column, row) in the image of the plot coordinates ``xy``, from the frame and the view."""
    x0, y0, x1, y1 = layout["plot"]
    xlo, xhi, ylo, yhi = layout["view"]
    xy = np.asarray(xy, np.float64)
    return np.stack([x0 + 1 + (xy[..., 0] - xlo) / (xhi - xlo) * (x1 - x0 - 2),
                     y0 + 1 + (yhi - xy[..., 1]) / (yhi - ylo) * (y1 - y0 - 2)], axis=-1)


def colour_near(img, uv, colour, radius=1):
    """Whether a pixel of ``colour`` lies within ``radius`` pixels of (column, row) ``uv``."""
    u, v = np.rint(uv).astype(int)
    patch = np.asarray(img)[v - radius:v + radius + 1, u - radius:u + radius + 1]
    return bool(np.all(patch == colour, axis=-1).any())


@pytest.mark.parametrize("size", [(400, 400), (320, 200), (200, 360)])
def test_the_image_has_the_requested_size_and_equal_units(size):
    img, layout = draw_scatter(sample_toy("grid25", 300, np.random.default_rng(0)), modes=TOYS["grid25"].modes,
                               size=size, std=0.05, title="grid25", return_layout=True)
    assert img.size == size and img.mode == "RGB"
    x0, y0, x1, y1 = layout["plot"]
    assert 0 < x0 < x1 < size[0] and 0 < y0 < y1 < size[1]
    xlo, xhi, ylo, yhi = layout["view"]
    assert (x1 - x0 - 2) / (xhi - xlo) == pytest.approx((y1 - y0 - 2) / (yhi - ylo))  # pixels per unit
    assert xlo < -4 and xhi > 4 and ylo < -4 and yhi > 4  # every mode in view
    # the ticks sit where the view says, and carry their value as label
    for (t, label, p) in layout["xticks"]:
        assert p == pytest.approx(to_pixel(layout, [t, 0.0])[0]) and float(label) == pytest.approx(t)
    for (t, label, p) in layout["yticks"]:
        assert p == pytest.approx(to_pixel(layout, [0.0, t])[1]) and float(label) == pytest.approx(t)
    assert len(layout["xticks"]) >= 2 and len(layout["yticks"]) >= 2


def test_a_dot_appears_where_its_point_is_and_nowhere_else():
    point = np.array([[0.5, -0.25]])
    img, layout = draw_scatter(point, modes=RING, return_layout=True)
    dots = pixels_of(img, DOT)
    assert len(dots) == 9  # one 3x3 dot
    u, v = to_pixel(layout, point[0])
    np.testing.assert_allclose(dots.mean(0), [v, u], atol=0.5)
    assert not colour_near(img, to_pixel(layout, [-0.5, 0.25]), DOT, radius=3)


def test_the_modes_are_marked_with_a_cross_and_a_three_std_circle():
    img, layout = draw_scatter(np.zeros((0, 2)), modes=RING, std=RING_STD, return_layout=True)
    red = pixels_of(img, MODE)
    centres = to_pixel(layout, RING)
    for u, v in centres:
        assert colour_near(img, (u, v), MODE)  # the cross's centre
    # every red pixel belongs to some mode's mark: within its circle's radius (+ rounding)
    x0, _, x1, _ = layout["plot"]
    xlo, xhi, _, _ = layout["view"]
    radius = max(3 * RING_STD * (x1 - x0 - 2) / (xhi - xlo), 4)  # 3 std in pixels, at least 4
    d = np.hypot(red[:, 1, None] - centres[None, :, 0], red[:, 0, None] - centres[None, :, 1]).min(1)
    assert d.max() <= radius + 1.5
    assert (d > radius - 1.5).sum() > 8 * 8  # and the circles are there
    assert len(pixels_of(draw_scatter(np.zeros((3, 2))), MODE)) == 0  # no modes, no red


def test_samples_cluster_on_the_modes():
    x = sample_toy("ring8", 2500, np.random.default_rng(1))
    img, layout = draw_scatter(x, modes=RING, std=RING_STD, return_layout=True)
    dots = pixels_of(img, DOT)[:, ::-1]  # (column, row)
    centres = to_pixel(layout, RING)
    d = np.hypot(*(dots[:, None, :] - centres[None]).transpose(2, 0, 1)).min(1)
    assert d.max() < 12  # every blue pixel within a few std (and a dot's size) of a mode
    assert layout["outside"] == 0 and not len(pixels_of(img, OUTLIER))


def test_a_far_outlier_does_not_squash_the_view():
    x = np.concatenate([RING, [[1000.0, 0.0]]])
    img, layout = draw_scatter(x, modes=RING, std=RING_STD, return_layout=True)
    xlo, xhi, ylo, yhi = layout["view"]
    assert xhi < 3 and ylo > -4  # modes' box (+-1) padded by half its side, then widened to the aspect
    assert layout["outside"] == 1
    orange = pixels_of(img, OUTLIER)
    assert len(orange) and orange[:, 1].min() >= layout["plot"][2] - 3  # drawn on the right border
    y_zero = to_pixel(layout, [0.0, 0.0])[1]
    assert abs(orange[:, 0].mean() - y_zero) <= 1
    # and the point in the view is drawn as usual
    assert len(pixels_of(draw_scatter(x[:-1], modes=RING), OUTLIER)) == 0


def test_without_modes_the_view_covers_every_point():
    x = np.array([[-3.0, 10.0], [5.0, 12.0], [0.0, 11.0]])
    img, layout = draw_scatter(x, return_layout=True)
    xlo, xhi, ylo, yhi = layout["view"]
    assert xlo < -3 and xhi > 5 and ylo < 10 and yhi > 12
    for p in x:
        assert colour_near(img, to_pixel(layout, p), DOT)


@pytest.mark.parametrize("points", [np.array([[0.3, -2.0]]), np.full((50, 2), 7.0), np.zeros((0, 2)),
                                    np.zeros((4, 2)), np.array([[np.nan, 1.0], [2.0, np.inf], [1.0, 1.0]])])
@pytest.mark.parametrize("with_modes", [False, True])
def test_degenerate_input_is_drawn(points, with_modes):
    modes = np.array([[1.0, 1.0]]) if with_modes else None
    img, layout = draw_scatter(points, modes=modes, std=0.1 if with_modes else None, size=(240, 200),
                               return_layout=True)
    assert img.size == (240, 200)
    xlo, xhi, ylo, yhi = layout["view"]
    assert xhi > xlo and yhi > ylo and np.isfinite(layout["view"]).all()
    finite = points[np.isfinite(points).all(1)]
    if len(finite) and not layout["outside"]:
        assert colour_near(img, to_pixel(layout, finite[0]), DOT)


def test_save_scatter_writes_the_drawn_image(tmp_path):
    x = sample_toy("grid25", 200, np.random.default_rng(2))
    path = save_scatter(tmp_path / "s.png", x, modes=TOYS["grid25"].modes, std=0.05, size=(300, 250))
    saved = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(saved, np.asarray(draw_scatter(x, modes=TOYS["grid25"].modes, std=0.05,
                                                                 size=(300, 250))))


@pytest.mark.parametrize("kw", [{"points": np.zeros((3, 3))}, {"points": np.zeros(4)},
                                {"modes": np.zeros((0, 2))}, {"modes": np.array([[np.nan, 0.0]])},
                                {"std": -1.0}, {"size": (30, 30)}])
def test_bad_input_is_refused(kw):
    args = {"points": np.zeros((3, 2)), "modes": RING, **kw}
    with pytest.raises(ValueError):
        draw_scatter(args.pop("points"), **args)
