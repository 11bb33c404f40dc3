"""The demo gallery: an index.html of sections with images and loss curves,
all drawn with Pillow (no plotting library).
"""
import html
import os

import numpy as np
from PIL import Image, ImageDraw

from ..data.images import save_image
from ..io import atomic_write

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]


def image_grid(images, ncol=8, pad=2):
    """Tile (N, C, H, W) images in [0, 1] into one (H', W', C) array with a white border."""
    images = np.clip(np.asarray(images, np.float32), 0, 1)
    n, c, h, w = images.shape
    nrow = -(-n // ncol)
    ncol = min(n, ncol)
    grid = np.ones((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), np.float32)
    for k in range(n):
        r, q = divmod(k, ncol)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        grid[y:y + h, x:x + w] = images[k].transpose(1, 2, 0)
    return grid


def draw_curves(series, size=(480, 300), log_y=True, title=""):
    """A line chart of named value sequences (e.g. losses per step) as a PIL image."""
    width, height = size
    left, right, top, bottom = 60, 12, 24, 28
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    values = [np.asarray(v, np.float64) for v in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in values] or [np.zeros(1)])
    if log_y:
        finite = finite[finite > 0]
    if finite.size == 0:
        finite = np.ones(1)
    lo, hi = float(finite.min()), float(finite.max())
    if log_y:
        lo, hi = np.log10(lo), np.log10(hi)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    steps = max(max(len(v) for v in values) - 1, 1)
    plot_w, plot_h = width - left - right, height - top - bottom
    draw.rectangle([left, top, left + plot_w, top + plot_h], outline="black")

    def y_of(v):
        v = np.log10(v) if log_y else v
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    for frac in (0.0, 0.5, 1.0):
        value = lo + frac * (hi - lo)
        y = top + plot_h * (1 - frac)
        label = f"{10 ** value:.3g}" if log_y else f"{value:.3g}"
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((4, y - 6), label, fill="black")
    draw.text((left, top + plot_h + 8), "0", fill="black")
    draw.text((left + plot_w - 30, top + plot_h + 8), f"{steps}", fill="black")
    draw.text((left, 6), title, fill="black")
    for k, (name, v) in enumerate(zip(series, values)):
        colour = COLOURS[k % len(COLOURS)]
        ok = np.isfinite(v) & ((v > 0) if log_y else True)
        pts = [(left + plot_w * i / steps, y_of(v[i])) for i in range(len(v)) if ok[i]]
        if len(pts) > 1:
            draw.line(pts, fill=colour, width=2)
        draw.text((left + plot_w - 110, top + 6 + 14 * k), name, fill=colour)
    return img


class Gallery:
    """Collects sections of images and curves, then writes ``out/index.html``."""

    def __init__(self, out_dir, title="minigen demo"):
        self.out_dir, self.title, self.sections = out_dir, title, []
        os.makedirs(out_dir, exist_ok=True)

    def section(self, name, text):
        self.sections.append({"name": name, "text": text, "items": []})

    def image(self, filename, array, caption, zoom=1):
        """Add an HWC (or HW) image in [0, 1] to the current section, enlarged ``zoom`` times (nearest)."""
        array = np.repeat(np.repeat(np.asarray(array), zoom, axis=0), zoom, axis=1)
        save_image(os.path.join(self.out_dir, filename), array)
        self.sections[-1]["items"].append((filename, caption))

    def curves(self, filename, series, caption, **kw):
        path = os.path.join(self.out_dir, filename)
        save_image(path, np.asarray(draw_curves(series, **kw), np.float32) / 255)
        self.sections[-1]["items"].append((filename, caption))

    def write(self):
        parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
                 "figure{display:inline-block;margin:8px;vertical-align:top}"
                 "img{image-rendering:pixelated;max-width:520px}</style>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        for s in self.sections:
            parts.append(f"<h2 id='{html.escape(s['name'])}'>{html.escape(s['name'])}</h2>")
            parts.append(f"<p>{html.escape(s['text'])}</p>")
            for filename, caption in s["items"]:
                parts.append(f"<figure><img src='{html.escape(filename)}' alt='{html.escape(caption)}'>"
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        path = os.path.join(self.out_dir, "index.html")
        with atomic_write(path) as f:
            f.write(("\n".join(parts) + "\n").encode("utf-8"))
        return path
