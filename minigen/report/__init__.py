"""Reports drawn with Pillow: sample grids, interpolation strips, loss/metric
curves, 2-D scatter plots with the modes marked, and the gallery page that
gathers them (the demo's index.html)."""
from .curves import (COLOURS, draw_curves, format_ticks, linear_ticks, log_ticks, nice_step,
                     save_curves)
from .gallery import Gallery
from .grids import image_grid, interpolation_strip
from .scatter import draw_scatter, save_scatter

__all__ = ["COLOURS", "Gallery", "draw_curves", "format_ticks", "image_grid", "interpolation_strip",
           "draw_scatter", "save_scatter", "linear_ticks", "log_ticks", "nice_step", "save_curves"]
