"""Loss curves drawn with Pillow: size, colours, a legend that covers no curve, round ticks."""
import math

import numpy as np
import pytest

from minigen.report import COLOURS, draw_curves, format_ticks, linear_ticks, log_ticks, nice_step, save_curves


def pixels_of(img, colour):
    """(y, x) of every pixel of exactly ``colour``."""
    return np.argwhere(np.all(np.asarray(img) == colour, axis=-1))


def inside(points, box):
    x0, y0, x1, y1 = box
    return (points[:, 1] >= x0) & (points[:, 1] <= x1) & (points[:, 0] >= y0) & (points[:, 0] <= y1)


def axis_map(ticks, log=False):
    """value -> pixel along an axis, fitted to its (value, label, pixel) ticks."""
    v = np.array([t[0] for t in ticks], np.float64)
    p = np.array([t[2] for t in ticks], np.float64)
    v = np.log10(v) if log else v
    slope, offset = np.polyfit(v, p, 1)
    return lambda values: offset + slope * (np.log10(values) if log else np.asarray(values, np.float64))


def off_curve(pts, x, y, layout, tol=2.5):
    """The pixels among ``pts`` (y, x) farther than ``tol`` from the polyline through (x, y)."""
    fx, fy = axis_map(layout["xticks"]), axis_map(layout["yticks"], layout["log_y"])
    cx, cy = fx(x), fy(y)
    dense_x = np.linspace(cx[0], cx[-1], 20 * len(cx))
    dense_y = np.interp(dense_x, cx, cy)
    d = np.hypot(pts[:, 1, None] - dense_x[None], pts[:, 0, None] - dense_y[None]).min(axis=1)
    return pts[d > tol]


def check_curves_stay_out_of_the_legend(series, exact=True, **kw):
    """Draw ``series`` and check the layout: the legend sits outside the plot and holds every
    swatch, the series colours appear only in their swatch or inside the plot, and (``exact``)
    inside the plot only on the line through the data, so nothing else is drawn over the curves."""
    img, layout = draw_curves(series, return_layout=True, **kw)
    assert img.size == kw.get("size", (480, 300))
    x0, y0, x1, y1 = layout["plot"]
    lx0, ly0, lx1, ly1 = layout["legend"]
    assert ly1 < y0 or lx1 < x0 or lx0 > x1                  # the legend is outside the plot
    assert 0 <= lx0 and lx1 < img.size[0] and 0 <= ly0     # and inside the image
    assert not len(pixels_of(img.crop((x0 + 1, y0 + 1, x1, y1)), (0, 0, 0)))   # no text in the plot
    for k, name in enumerate(series):
        sx0, sy0, sx1, sy1 = layout["swatches"][name]
        assert lx0 <= sx0 and sx1 <= lx1 and ly0 <= sy0 and sy1 <= ly1
        pts = pixels_of(img, COLOURS[k % len(COLOURS)])
        assert len(pts), f"series {name!r} was not drawn"
        swatch = inside(pts, layout["swatches"][name])
        in_plot = inside(pts, (x0 + 1, y0 + 1, x1 - 1, y1 - 1))
        assert np.all(swatch | in_plot)                      # the colour is nowhere else...
        assert np.any(in_plot)                               # ...and the curve is in the plot
        if exact:
            y = np.asarray(series[name], np.float64)
            assert not len(off_curve(pts[in_plot], np.arange(y.size), y, layout))
    return img, layout


def test_the_legend_never_covers_a_curve_one_series():
    # starts at the top left, where a legend inside the plot would sit
    check_curves_stay_out_of_the_legend({"loss": np.geomspace(10, 0.01, 200)}, title="one")


def test_the_legend_never_covers_a_curve_three_series_linear():
    t = np.arange(100)
    series = {"a": 5 - t / 25, "b": 1 + t / 25, "c": np.full(100, 3.0)}
    check_curves_stay_out_of_the_legend(series, log_y=False, ylabel="loss", size=(360, 240))


def test_the_legend_wraps_many_long_names_above_the_plot():
    series = {f"a rather long series name {k}": np.linspace(k + 1, 0.5, 50) for k in range(8)}
    img, layout = check_curves_stay_out_of_the_legend(series, size=(400, 400))
    legend_rows = (layout["legend"][3] - layout["legend"][1] + 1)
    assert legend_rows > 30                                 # it took more than one row


def test_a_long_noisy_run_shows_its_running_mean_in_the_series_colour():
    rng = np.random.default_rng(0)
    n = 5000
    series = {"g": np.exp(0.5 * rng.standard_normal(n)) * np.geomspace(3, 1, n),
              "d": np.exp(0.5 * rng.standard_normal(n)) * 0.7}
    img, layout = check_curves_stay_out_of_the_legend(series, exact=False, size=(640, 320))
    # the running mean is smooth: in the series colour, at most a few pixels per column
    pts = pixels_of(img, COLOURS[0])
    pts = pts[inside(pts, layout["plot"])]
    assert np.bincount(pts[:, 1]).max() <= 12


def test_the_image_has_the_requested_size_and_is_not_blank():
    img = np.asarray(draw_curves({"a": [10.0, 1.0, 0.1], "b": [1.0, 1.0, 1.0]}, size=(200, 120)))
    assert img.shape == (120, 200, 3)
    assert (img < 128).any(axis=-1).mean() > 0.02           # text, frame and lines
    assert len(pixels_of(img, COLOURS[0])) and len(pixels_of(img, COLOURS[1]))


def test_a_point_lands_where_the_ticks_say():
    img, layout = draw_curves({"x": [0.0, 1.0]}, log_y=False, return_layout=True)
    (x_first, _, px0), *_ , (x_last, _, px1) = layout["xticks"]
    ys = {value: pixel for value, _, pixel in layout["yticks"]}
    assert (x_first, x_last) == (0, 1) and 0.0 in ys and 1.0 in ys
    assert ys[1.0] < ys[0.0]                                 # larger values higher up
    pts = pixels_of(img, COLOURS[0])
    for x, y in ((px0, ys[0.0]), (px1, ys[1.0])):
        near = np.abs(pts[:, 1] - x) <= 2
        assert np.any(near & (np.abs(pts[:, 0] - y) <= 2))


def test_nan_and_inf_are_skipped():
    img, layout = draw_curves({"x": [np.nan, 2.0, 2.5, np.inf, 3.0, -np.inf]}, log_y=False, return_layout=True)
    values = [v for v, _, _ in layout["yticks"]]
    assert all(math.isfinite(v) for v in values) and 1.9 <= min(values) and max(values) <= 3.1
    assert len(pixels_of(img, COLOURS[0]))


def test_log_axis_skips_non_positive_values_or_falls_back_to_linear():
    _, layout = draw_curves({"x": [1.0, 0.0, -1.0, 0.01]}, return_layout=True)
    assert layout["log_y"] and min(v for v, _, _ in layout["yticks"]) > 0
    _, layout = draw_curves({"x": [0.0, -1.0, -2.0]}, return_layout=True)
    assert not layout["log_y"] and min(v for v, _, _ in layout["yticks"]) < 0


def test_empty_single_and_constant_series_still_draw():
    for series in ({}, {"empty": []}, {"nan": [np.nan, np.nan]}, {"one": [0.3]}, {"flat": [2.0] * 5}):
        for log_y in (True, False):
            img, layout = draw_curves(series, log_y=log_y, return_layout=True)
            assert img.size == (480, 300) and len(layout["yticks"]) >= 1
    img = draw_curves({"one": [0.3]})
    assert len(pixels_of(img, COLOURS[0])) >= 9              # a visible dot, not a lost point
    _, layout = draw_curves({"flat": [2.0] * 5}, log_y=False, return_layout=True)
    assert 2.0 in [v for v, _, _ in layout["yticks"]]


def test_x_values_can_be_given():
    _, layout = draw_curves({"fid": ([0, 1000, 2000, 3000], [80.0, 40.0, 30.0, 25.0])}, return_layout=True)
    assert [v for v, _, _ in layout["xticks"]][-1] == 3000
    with pytest.raises(ValueError, match="x has"):
        draw_curves({"bad": ([0, 1], [1.0, 2.0, 3.0])})


def test_a_size_too_small_is_refused():
    with pytest.raises(ValueError, match="no room"):
        draw_curves({"x": [1, 2]}, size=(40, 30))


def is_round(step):
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    return any(abs(mantissa - m) < 1e-9 for m in (1, 2, 5))


@pytest.mark.parametrize("lo,hi", [(0, 5000), (0, 1), (-0.3, 0.7), (14.6, 28.3), (1e5, 4e5), (1e-4, 4.2e-4),
                                   (0.123, 0.125), (-7, -3), (0, 299)])
def test_linear_ticks_are_round_numbers_inside_the_range(lo, hi):
    ticks = linear_ticks(lo, hi, max_ticks=6)
    assert 2 <= len(ticks) <= 6
    assert all(lo - 1e-12 <= t <= hi + 1e-12 for t in ticks)
    steps = np.diff(ticks)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)
    assert is_round(steps[0])
    assert all(abs(t / steps[0] - round(t / steps[0])) < 1e-6 for t in ticks)   # multiples of the step


def test_tick_examples():
    assert linear_ticks(0, 5000) == [0, 1000, 2000, 3000, 4000, 5000]
    assert linear_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert nice_step(0.13) == 0.2 and nice_step(3) == 5 and nice_step(7) == 10 and nice_step(1) == 1
    assert log_ticks(1e-3, 0.5) == [1e-3, 1e-2, 1e-1]
    assert log_ticks(0.0035, 0.1) == [0.005, 0.01, 0.02, 0.05, 0.1]
    assert log_ticks(1e-9, 1e9, max_ticks=6) == [1e-5, 1.0, 1e5]                # every fifth decade
    assert log_ticks(0.29, 0.31) == [0.29, 0.295, 0.3, 0.305, 0.31]             # too narrow for 1/2/5
    assert format_ticks([1e-3, 1e-2, 1e-1], log=True) == ["1e-3", "1e-2", "1e-1"]
    assert format_ticks([0.1, 1, 10], log=True) == ["0.1", "1", "10"]
    assert format_ticks([0.0, 0.2, 0.4]) == ["0", "0.2", "0.4"]
    assert format_ticks([0, 1000, 2000]) == ["0", "1000", "2000"]
    assert format_ticks([1e5, 2e5]) == ["1e5", "2e5"]
    assert format_ticks([0.0001, 0.00025]) == ["1e-4", "2.5e-4"]


@pytest.mark.parametrize("lo,hi", [(0.05, 5e4), (1e-3, 0.5), (0.0035, 0.1), (2, 900), (1e-9, 1e9)])
def test_log_ticks_are_decades_or_1_2_5(lo, hi):
    ticks = log_ticks(lo, hi, max_ticks=6)
    assert 2 <= len(ticks) <= 6
    assert all(lo <= t <= hi and is_round(t) for t in ticks)


def test_save_curves_writes_a_png(tmp_path):
    from minigen.data.images import load_image
    path = save_curves(str(tmp_path / "c.png"), {"a": [3.0, 2.0, 1.0]}, size=(300, 200), title="t")
    assert load_image(path).shape == (200, 300, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]   # no temporary file left
