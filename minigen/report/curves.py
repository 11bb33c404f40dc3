"""Loss and metric curves drawn with Pillow (no plotting library).

``draw_curves({"name": values, ...})`` draws each named sequence against its
step (or against its own x values, given as a pair ``(x, y)``) in its own
colour, with labelled axes, round-number ticks and a legend in a band above
the plot, so it never covers a curve. The layout it chose can be returned too,
for tests and for callers that annotate the image.

What is not drawn, and why:
- NaN and +-Inf values are skipped; the line breaks there.
- On a log axis, values <= 0 are skipped the same way. When no value at all
  is positive, the axis falls back to a linear one (the y label then does not
  say "log scale").
- A series with no value left to draw is named in the legend as "(no data)";
  with nothing at all to draw the plot says "no data".

A long series (more values than the image is wide, e.g. the loss of every step
of a long run) is drawn faintly as it is, under its running mean in the full
colour; the legend names the window.
"""
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..data.images import save_image

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34)]
GRID = (228, 228, 228)
FONT_SIZE = 12
SWATCH = 18          # legend line length, in pixels
GAP = 14             # pixels between legend entries
INSET = 4            # pixels between the frame and the first/last point


def nice_step(raw):
    """The smallest step of the form 1, 2 or 5 x 10^k that is >= ``raw`` (> 0)."""
    k = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        step = m * 10.0 ** k
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 ** (k + 1)


def linear_ticks(lo, hi, max_ticks=6, integer=False):
    """Round tick values inside [lo, hi]: multiples of a 1/2/5 x 10^k step, at most ``max_ticks``
    of them and at least two when the range is not empty. ``integer`` keeps the step >= 1."""
    if not hi > lo:
        return [float(lo)]
    step = nice_step((hi - lo) / max(max_ticks - 1, 1))
    if integer:
        step = max(step, 1.0)
    digits = max(0, -math.floor(math.log10(step))) + 1
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [round(i * step, digits) for i in range(first, last + 1)]


def log_ticks(lo, hi, max_ticks=6):
    """Round tick values inside [lo, hi] (both > 0) for a log axis.

    1, 2 and 5 x 10^k when at most ``max_ticks`` of them fall inside; else
    decades (0.01, 0.1, 1, ...), every second or fifth ... decade when there are
    too many; else, for a range too narrow for two such ticks, linear round ticks.
    """
    a, b = math.log10(lo), math.log10(hi)
    kmin, kmax = math.floor(a + 1e-9), math.floor(b + 1e-9)
    ticks = [m * 10.0 ** k for k in range(kmin, kmax + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    if 2 <= len(ticks) <= max_ticks:
        return ticks
    kmin = math.ceil(a - 1e-9)
    if kmax - kmin >= 1:
        decade = lambda every: [k for k in range(kmin, kmax + 1) if k % every == 0]  # noqa: E731
        every = 1
        while len(decade(every)) > max_ticks and len(decade(int(nice_step(every + 1)))) >= 2:
            every = int(nice_step(every + 1))
        return [10.0 ** k for k in decade(every)]
    return [t for t in linear_ticks(lo, hi, max_ticks) if t > 0]


def format_ticks(ticks, log=False):
    """Short labels for tick values: "0.05", "200", or, when any tick is below 1e-3 or at
    least 1e5, scientific for all: "1e-4", "2.5e-3", "1e5". Decades on a log axis (``log``,
    every tick a power of ten) turn scientific sooner, outside [0.01, 1e4): "1e-3", "1e-2"."""
    ticks = [float(f"{t:.10g}") for t in ticks]
    decades = log and all(t > 0 and math.log10(t) == round(math.log10(t)) for t in ticks)
    low, high = (1e-2, 1e4) if decades else (1e-3, 1e5)
    if any(t != 0 and not low <= abs(t) < high for t in ticks):
        return ["0" if t == 0 else np.format_float_scientific(t, trim="-", exp_digits=1).replace("+", "")
                for t in ticks]
    return [np.format_float_positional(t, trim="-") for t in ticks]


def _font():
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1 or no FreeType: the fixed bitmap font
        return ImageFont.load_default()


def canvas(width, height):
    """A white RGB image and what drawing text on it needs: (image, ImageDraw, font, text_width(text),
    line height, the vertical middle of a line of text)."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = _font()

    def text_width(text):
        box = draw.textbbox((0, 0), text, font=font)
        return box[2] - box[0]

    box = draw.textbbox((0, 0), "0Ag", font=font)
    return img, draw, font, text_width, box[3] + 4, (box[1] + box[3]) / 2


def _points(values):
    """(x, y) float64 arrays of one series: a sequence of y (x = 0, 1, ...) or a pair (x, y)."""
    if isinstance(values, tuple) and len(values) == 2 and all(np.ndim(v) == 1 for v in values):
        x, y = (np.asarray(v, np.float64) for v in values)
        if x.shape != y.shape:
            raise ValueError(f"draw_curves: x has {x.size} values but y has {y.size}")
        return x, y
    y = np.asarray(values, np.float64).reshape(-1)
    return np.arange(y.size, dtype=np.float64), y


def _runs(ok):
    """Index arrays of the unbroken runs of True in the mask ``ok``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return [np.arange(a, b) for a, b in zip(edges[::2], edges[1::2])]


def _running_mean(v, window):
    """Centred running mean of ``v`` over ``window`` values (fewer at the ends)."""
    half = window // 2
    c = np.concatenate([[0.0], np.cumsum(v)])
    i = np.arange(v.size)
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, v.size)
    return (c[hi] - c[lo]) / (hi - lo)


def _tint(colour, keep=0.3):
    """``colour`` faded toward white, for the raw values under a running mean."""
    return tuple(int(round(255 - keep * (255 - c))) for c in colour)


def _range(values, log):
    """The plotted interval (in log10 units on a log axis), with a small margin."""
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        half = 0.3 if log else (abs(lo) * 0.1 or 1.0)
        return lo - half, hi + half
    margin = 0.04 * (hi - lo)
    return lo - margin, hi + margin


class _Data:
    """The series as (x, y) arrays, which points are drawn, and the ranges of both axes."""

    def __init__(self, series, log_y, width):
        self.names = list(series)
        self.points = [_points(series[name]) for name in self.names]
        finite = [np.isfinite(x) & np.isfinite(y) for x, y in self.points]
        ys = np.concatenate([y[ok] for (_, y), ok in zip(self.points, finite)] or [np.zeros(0)])
        self.log = bool(log_y and (ys > 0).any())
        self.valid = [ok & (y > 0) if self.log else ok for (_, y), ok in zip(self.points, finite)]
        ys = np.concatenate([y[ok] for (_, y), ok in zip(self.points, self.valid)] or [np.zeros(0)])
        xs = np.concatenate([x[ok] for (x, _), ok in zip(self.points, finite)] or [np.zeros(0)])
        self.empty = ys.size == 0
        self.ylo, self.yhi = (0.0, 1.0) if self.empty else _range(ys, self.log)
        self.xlo, self.xhi = (float(xs.min()), float(xs.max())) if xs.size else (0.0, 1.0)
        self.integer_x = bool(np.all(xs == np.round(xs)))
        if self.xhi - self.xlo <= 0:  # one x value: centre it
            half = 0.5 if self.integer_x else abs(self.xlo) * 0.1 or 0.5
            self.xlo, self.xhi = self.xlo - half, self.xhi + half
        # A series with more values than the image has pixel columns is drawn faintly as
        # it is, under its running mean over 1/50 of its length (on the plotted scale).
        self.windows = [max(3, int(ok.sum()) // 50) for ok in self.valid]
        self.dense = [int(ok.sum()) > width for ok in self.valid]

    def legend_entries(self):
        return [f"{name} (no data)" if not ok.any() else f"{name} (running mean of {w})" if dense else name
                for name, ok, w, dense in zip(self.names, self.valid, self.windows, self.dense)]

    def yticks(self, max_ticks):
        if self.log:
            return log_ticks(10 ** self.ylo, 10 ** self.yhi, max_ticks)
        return linear_ticks(self.ylo, self.yhi, max_ticks)


def _legend_rows(entries, text_width, wrap):
    """Entries as rows of (index, text, width) no wider than ``wrap`` pixels (one entry may be)."""
    rows, row, row_w = [], [], 0
    for k, entry in enumerate(entries):
        w = SWATCH + 4 + text_width(entry)
        if row and row_w + GAP + w > wrap:
            rows.append(row)
            row, row_w = [], 0
        row_w += (GAP if row else 0) + w
        row.append((k, entry, w))
    return rows + ([row] if row else [])


def draw_curves(series, size=(480, 300), log_y=True, title="", xlabel="step", ylabel=None,
                return_layout=False):
    """A line chart of named value sequences (e.g. losses per step) as an RGB PIL image.

    ``series`` maps a name to a sequence of y values (plotted at x = 0, 1, ...)
    or to a pair ``(x, y)`` of equal-length sequences. ``log_y`` draws y on a
    log scale (see the module docstring for what is skipped). ``size`` is
    (width, height) in pixels. ``ylabel`` defaults to the series' name when
    there is one series, else "value"; on a log axis " (log scale)" is added.
    With ``return_layout`` the result is ``(image, layout)``, where ``layout``
    is a dict of inclusive pixel boxes (x0, y0, x1, y1): ``plot`` (the frame;
    curves stay strictly inside it), ``legend`` (the band holding all entries,
    None without series), ``swatches`` (name -> the box of its colour sample);
    the ticks ``xticks`` / ``yticks`` as (value, label, pixel) triples; and
    ``log_y``, whether the axis really is logarithmic.
    """
    width, height = size
    data = _Data(series, log_y, width)
    if ylabel is None:
        ylabel = data.names[0] if len(data.names) == 1 else "value"
    ylabel += " (log scale)" if data.log and ylabel else ""
    img, draw, font, text_width, line_h, text_mid = canvas(width, height)

    # The layout, from the outside in: title, legend band, x tick labels and x label, y label
    # and y tick labels; the plot takes what is left. The legend wraps to the plot's width,
    # guessed first to choose how many y ticks fit, then measured.
    entries = data.legend_entries()
    legend_top = 6 + (line_h + 4 if title else 0)
    bottom = height - 1 - (4 + line_h + (line_h if xlabel else 0) + 4)
    legend_h = len(_legend_rows(entries, text_width, width - 80)) * line_h + (6 if entries else 0)
    yticks = data.yticks(max(2, min(8, (bottom - legend_top - legend_h) // 26)))
    ylabels = format_ticks(yticks, data.log)
    x0 = 6 + (line_h + 4 if ylabel else 0) + max([text_width(s) for s in ylabels] or [0]) + 8
    xticks = linear_ticks(data.xlo, data.xhi, 6, integer=data.integer_x)
    widest = max(text_width(s) for s in format_ticks(xticks))
    x1 = width - 1 - max(10, widest // 2 + 6)
    fit = max(2, (x1 - x0) // (widest + 24))
    if len(xticks) > fit:
        xticks = linear_ticks(data.xlo, data.xhi, fit, integer=data.integer_x)
    xlabels = format_ticks(xticks)
    rows = _legend_rows(entries, text_width, x1 - x0)
    y0, y1 = legend_top + len(rows) * line_h + (6 if rows else 0), bottom
    if x1 - x0 < 20 or y1 - y0 < 20:
        raise ValueError(f"draw_curves: size {width}x{height} leaves no room for the plot")
    pw, ph = x1 - x0 - 1, y1 - y0 - 1  # the inside of the frame

    def px(x):
        return INSET + (pw - 1 - 2 * INSET) * (np.asarray(x, np.float64) - data.xlo) / (data.xhi - data.xlo)

    def py(y):
        v = np.log10(y) if data.log else np.asarray(y, np.float64)
        return (ph - 1) * (1 - (v - data.ylo) / (data.yhi - data.ylo))

    img.paste(_plot(data, (pw, ph), px, py, xticks, yticks, font), (x0 + 1, y0 + 1))
    draw.rectangle([x0, y0, x1, y1], outline="black")
    layout = {"plot": (x0, y0, x1, y1), "legend": None, "swatches": {}, "xticks": [], "yticks": [],
              "log_y": data.log}
    for t, label in zip(yticks, ylabels):
        y = y0 + 1 + float(py(t))
        draw.line([(x0 - 4, y), (x0 - 1, y)], fill="black")
        draw.text((x0 - 6 - text_width(label), y - text_mid), label, fill="black", font=font)
        layout["yticks"].append((t, label, y))
    for t, label in zip(xticks, xlabels):
        x = x0 + 1 + float(px(t))
        draw.line([(x, y1 + 1), (x, y1 + 4)], fill="black")
        w = text_width(label)
        draw.text((min(max(x - w / 2, 0), width - w - 1), y1 + 6), label, fill="black", font=font)
        layout["xticks"].append((t, label, x))
    if xlabel:
        draw.text(((x0 + x1 - text_width(xlabel)) / 2, y1 + 6 + line_h), xlabel, fill="black", font=font)
    if ylabel:
        band = Image.new("L", (text_width(ylabel) + 2, line_h), 0)
        ImageDraw.Draw(band).text((1, 0), ylabel, fill=255, font=font)
        band = band.rotate(90, expand=True)
        img.paste((0, 0, 0), (6, (y0 + y1 - band.height) // 2), band)
    if title:
        draw.text((max((width - text_width(title)) / 2, 4), 6), title, fill="black", font=font)
    for r, row in enumerate(rows):
        x, mid = x0, legend_top + r * line_h + line_h // 2
        for k, entry, w in row:
            draw.line([(x, mid), (x + SWATCH, mid)], fill=COLOURS[k % len(COLOURS)], width=3)
            layout["swatches"][data.names[k]] = (x, mid - 1, x + SWATCH, mid + 1)
            draw.text((x + SWATCH + 4, mid - line_h // 2), entry, fill="black", font=font)
            x += w + GAP
    if rows:
        layout["legend"] = (x0, legend_top, x1, legend_top + len(rows) * line_h - 1)
    return (img, layout) if return_layout else img


def _plot(data, size, px, py, xticks, yticks, font):
    """The inside of the frame: grid lines and curves. Drawing on an image of its own
    clips every curve to the frame."""
    pw, ph = size
    plot = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(plot)
    for t in yticks:
        draw.line([(0, py(t)), (pw, py(t))], fill=GRID)
    for t in xticks:
        draw.line([(px(t), 0), (px(t), ph)], fill=GRID)
    raw, smooth = [], []  # (colour, width, x pixels, y pixels) of each unbroken run
    for k, ((x, y), ok) in enumerate(zip(data.points, data.valid)):
        colour = COLOURS[k % len(COLOURS)]
        for run in _runs(ok):
            u, v = px(x[run]), py(y[run])
            if data.dense[k]:
                raw.append((_tint(colour), 1, u, v))
                smooth.append((colour, 2, u, _running_mean(v, data.windows[k])))
            else:
                raw.append((colour, 2, u, v))
    for colour, w, u, v in raw + smooth:  # every running mean above every raw line
        if u.size == 1:
            draw.rectangle([u[0] - 2, v[0] - 2, u[0] + 2, v[0] + 2], fill=colour)
        else:
            draw.line(list(zip(u.tolist(), v.tolist())), fill=colour, width=w, joint="curve" if w > 1 else None)
    if data.empty:
        box = draw.textbbox((0, 0), "no data", font=font)
        draw.text(((pw - box[2]) / 2, (ph - box[3]) / 2), "no data", fill="black", font=font)
    return plot


def save_curves(path, series, **kw):
    """Draw ``series`` with ``draw_curves(series, **kw)`` and write it to ``path`` (atomic). Returns ``path``."""
    save_image(path, np.asarray(draw_curves(series, **kw), np.float32) / 255)
    return path
