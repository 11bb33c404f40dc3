"""Scatter plots of 2-D points (e.g. a generator's samples of a toy mixture) drawn with Pillow.

``draw_scatter(points, modes, std=...)`` draws the points as small blue dots,
marks each mode with a red cross (and a red circle of radius 3 std, the
high-quality radius of ``metrics.modes``, when ``std`` is given), with round
ticks on both axes and equal units on both, so a circle stays a circle.

The view:
- without modes: the points' bounding box, padded by 10% of its larger side;
- with modes: the bounding box of modes and points together, padded the same
  way, but never beyond the modes' box padded by half its larger side (plus
  3 std), so a few far-off samples cannot squash the modes into a corner.
The shorter side of the view is then widened to the image's aspect ratio.
Points beyond the view are drawn on its border in orange, and the header line
says how many there are.
NaN and infinite points are skipped. One point, or many equal points, get a
view of +-10% of their largest coordinate (+-1 at the origin) around them;
no points and no modes, the square [-1, 1]^2.
"""
import numpy as np
from PIL import Image, ImageDraw

from ..data.images import save_image
from .curves import COLOURS, GRID, canvas, format_ticks, linear_ticks

DOT = COLOURS[0]
OUTLIER = COLOURS[4]
MODE = COLOURS[1]
MARGIN = 0.1   # padding of the view, as a fraction of the larger side of what it covers
REACH = 0.5    # with modes, the view ends at most this fraction of their larger side beyond them
CROSS = 3      # half-size of a mode's cross, in pixels


def _points(a, what):
    a = np.asarray(a, np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"draw_scatter: {what} must be an (N, 2) array, got shape {a.shape}")
    return a


def _padded(lo, hi, frac, extra=0.0):
    """The box [lo, hi] grown on every side by ``frac`` of its larger side plus ``extra``."""
    pad = frac * float((hi - lo).max()) + extra
    if pad == 0:  # a single position
        pad = 0.1 * float(np.abs(lo).max()) or 1.0
    return lo - pad, hi + pad


def _view(points, modes, std):
    """(lo, hi), the corners of the region to show (see the module docstring)."""
    extra = 3 * std if std else 0.0
    if modes is None:
        if not len(points):
            return np.array([-1.0, -1.0]), np.array([1.0, 1.0])
        return _padded(points.min(0), points.max(0), MARGIN)
    mlo, mhi = modes.min(0), modes.max(0)
    lo, hi = _padded(mlo, mhi, MARGIN, extra)
    if len(points):
        plo, phi = _padded(points.min(0), points.max(0), MARGIN)
        cap_lo, cap_hi = _padded(mlo, mhi, REACH, extra)
        lo, hi = np.maximum(np.minimum(lo, plo), cap_lo), np.minimum(np.maximum(hi, phi), cap_hi)
    return lo, hi


def _beyond(points, lo, hi):
    """Which points lie outside the box [lo, hi]."""
    return ((points < lo) | (points > hi)).any(axis=1)


def _ticks(lo, hi, length, label_size):
    """Round ticks in [lo, hi] along an axis ``length`` pixels long: about one per 40 pixels
    (2 to 8), fewer while neighbouring labels (``label_size(label)`` pixels along the axis)
    would come closer than 12 pixels, and never fewer than two (with 10 asked for, the step
    of ``linear_ticks`` is below half the range)."""
    sparsest = None
    for count in [*range(max(2, min(8, length // 40)), 1, -1), 9, 10]:
        ticks = linear_ticks(lo, hi, count)
        if len(ticks) < 2:
            continue
        if (ticks[1] - ticks[0]) * length / (hi - lo) >= max(map(label_size, format_ticks(ticks))) + 12:
            return ticks
        sparsest = ticks if sparsest is None or len(ticks) < len(sparsest) else sparsest
    return sparsest


def _equal_units(lo, hi, pw, ph):
    """Widen the shorter side of the box [lo, hi] about its centre so that one unit spans
    as many pixels along x (``pw`` pixels) as along y (``ph``)."""
    per_pixel = max((hi[0] - lo[0]) / (pw - 1), (hi[1] - lo[1]) / (ph - 1))
    half = 0.5 * per_pixel * np.array([pw - 1, ph - 1])
    centre = 0.5 * (lo + hi)
    return centre - half, centre + half


def draw_scatter(points, modes=None, size=(400, 400), title="", std=None, return_layout=False):
    """A scatter plot of (N, 2) ``points`` as an RGB PIL image of ``size`` (width, height).

    ``modes`` (K, 2), when given, are marked in red, with a circle of radius
    3 ``std`` when ``std`` is given. With ``return_layout`` the result is
    ``(image, layout)``: ``plot`` the frame's inclusive pixel box (x0, y0, x1,
    y1), ``view`` the shown region (xlo, xhi, ylo, yhi) (its corners map to the
    pixels just inside the frame), ``xticks`` / ``yticks`` as (value, label,
    pixel) triples, and ``outside`` the number of points drawn on the border.
    """
    points = _points(points, "points")
    points = points[np.isfinite(points).all(axis=1)]
    if modes is not None:
        modes = _points(modes, "modes")
        if not len(modes) or not np.isfinite(modes).all():
            raise ValueError("draw_scatter: modes must be at least one finite (x, y) pair")
    if std is not None and not (np.isfinite(std) and std > 0):
        raise ValueError(f"draw_scatter: std must be a positive number, got {std!r}")
    lo, hi = _view(points, modes, std)
    header = bool(title) or bool(_beyond(points, lo, hi).any())  # the view only grows from here

    width, height = size
    img, draw, font, text_width, line_h, text_mid = canvas(width, height)
    y0 = 6 + (line_h + 4 if header else 0)
    y1 = height - 1 - (4 + line_h + 4)
    view_lo, view_hi, x0, x1 = lo, hi, 0, width - 1
    while True:  # the view sets the ticks, their labels' width the frame, the frame the view
        yticks = _ticks(view_lo[1], view_hi[1], y1 - y0, lambda label: line_h)
        xticks = _ticks(view_lo[0], view_hi[0], x1 - x0, text_width)
        # the frame only shrinks, so this ends, with room for every label seen
        frame = (max(x0, 6 + max(text_width(s) for s in format_ticks(yticks)) + 8),
                 min(x1, width - 1 - max(10, max(text_width(s) for s in format_ticks(xticks)) // 2 + 6)))
        if frame == (x0, x1):
            break
        x0, x1 = frame
        if x1 - x0 < 20 or y1 - y0 < 20:
            raise ValueError(f"draw_scatter: size {width}x{height} leaves no room for the plot")
        view_lo, view_hi = _equal_units(lo, hi, x1 - x0 - 1, y1 - y0 - 1)
    pw, ph = x1 - x0 - 1, y1 - y0 - 1
    outside = int(_beyond(points, view_lo, view_hi).sum())
    if outside:
        title = (f"{title}  " if title else "") + f"({outside} beyond the view, on its border)"

    def pixel(xy):
        """Plot coordinates (..., 2) -> (column, row) inside the frame's own image."""
        t = (np.asarray(xy, np.float64) - view_lo) / (view_hi - view_lo)
        return np.stack([t[..., 0] * (pw - 1), (1 - t[..., 1]) * (ph - 1)], axis=-1)

    img.paste(_plot((pw, ph), pixel, points, (view_lo, view_hi), modes, std, xticks, yticks), (x0 + 1, y0 + 1))
    draw.rectangle([x0, y0, x1, y1], outline="black")
    layout = {"plot": (x0, y0, x1, y1), "view": (view_lo[0], view_hi[0], view_lo[1], view_hi[1]),
              "xticks": [], "yticks": [], "outside": outside}
    for t, label in zip(yticks, format_ticks(yticks)):
        y = y0 + 1 + float(pixel([0.0, t])[1])
        draw.line([(x0 - 4, y), (x0 - 1, y)], fill="black")
        draw.text((x0 - 6 - text_width(label), y - text_mid), label, fill="black", font=font)
        layout["yticks"].append((t, label, y))
    for t, label in zip(xticks, format_ticks(xticks)):
        x = x0 + 1 + float(pixel([t, 0.0])[0])
        draw.line([(x, y1 + 1), (x, y1 + 4)], fill="black")
        w = text_width(label)
        draw.text((min(max(x - w / 2, 0), width - w - 1), y1 + 6), label, fill="black", font=font)
        layout["xticks"].append((t, label, x))
    if title:
        draw.text((max((width - text_width(title)) / 2, 4), 6), title, fill="black", font=font)
    return (img, layout) if return_layout else img


def _plot(size, pixel, points, box, modes, std, xticks, yticks):
    """The inside of the frame: grid lines, the points as 3x3 dots (those beyond the view
    ``box`` moved onto its border), the modes on top (a circle of at least CROSS + 1 pixels)."""
    pw, ph = size
    plot = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(plot)
    for t in xticks:
        u = float(pixel([t, 0.0])[0])
        draw.line([(u, 0), (u, ph)], fill=GRID)
    for t in yticks:
        v = float(pixel([0.0, t])[1])
        draw.line([(0, v), (pw, v)], fill=GRID)
    pixels = np.asarray(plot).copy()
    beyond = _beyond(points, *box)
    for colour, chosen in ((DOT, ~beyond), (OUTLIER, beyond)):
        uv = np.rint(pixel(np.clip(points[chosen], *box))).astype(np.int64)
        for du in (-1, 0, 1):
            for dv in (-1, 0, 1):
                u, v = np.clip(uv[:, 0] + du, 0, pw - 1), np.clip(uv[:, 1] + dv, 0, ph - 1)
                pixels[v, u] = colour
    plot = Image.fromarray(pixels)
    draw = ImageDraw.Draw(plot)
    if modes is not None:
        radius = None if std is None else max(float(pixel([3 * std, 0.0])[0] - pixel([0.0, 0.0])[0]), CROSS + 1)
        for u, v in pixel(modes).tolist():
            draw.line([(u - CROSS, v), (u + CROSS, v)], fill=MODE)
            draw.line([(u, v - CROSS), (u, v + CROSS)], fill=MODE)
            if radius is not None:
                draw.ellipse([u - radius, v - radius, u + radius, v + radius], outline=MODE)
    return plot


def save_scatter(path, points, **kw):
    """Draw ``points`` with ``draw_scatter(points, **kw)`` and write it to ``path`` (atomic). Returns ``path``."""
    save_image(path, np.asarray(draw_scatter(points, **kw), np.float32) / 255)
    return path
