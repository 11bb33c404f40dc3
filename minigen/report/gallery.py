"""The gallery page: an index.html of sections with images and loss curves,
all drawn with Pillow (no plotting library).
"""
import html
import os

import numpy as np

from ..data.images import save_image
from ..io import atomic_write
from .curves import save_curves


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
        """Add a chart of ``series`` to the current section; ``kw`` goes to ``draw_curves``."""
        save_curves(os.path.join(self.out_dir, filename), series, **kw)
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
