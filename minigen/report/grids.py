"""Sample grids and interpolation strips: many small images tiled into one.

Both take images as (C, H, W) arrays in [0, 1] (values outside are clipped) and
return one (H', W', C) float32 array, ready for ``save_image`` or
``Gallery.image``. The images sit on a white background: ``pad`` white pixels
between neighbours and around the edge.
"""
import numpy as np


def image_grid(images, ncol=8, pad=2):
    """Tile (N, C, H, W) images in [0, 1] into one (H', W', C) array with a white border.

    Images fill the grid row by row, ``ncol`` to a row (fewer columns when
    N < ncol); slots after the last image stay white.
    """
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


def interpolation_strip(rows, pad=1):
    """Lay out rows of images side by side, one row per sequence, as an (H', W', C) array.

    ``rows`` is a (R, K, C, H, W) array or a list of R sequences of (C, H, W)
    images, e.g. the images decoded at K points on the line between two codes,
    one row per pair of codes. Row r, image k lands at pixel row
    ``pad + r * (H + pad)`` and column ``pad + k * (W + pad)``, with a thin
    white separator of ``pad`` pixels between images and around the strip.
    Rows may differ in length: the strip is as wide as the longest, and the
    missing places stay white. All images must share one (C, H, W) shape.
    """
    rows = [[np.asarray(img, np.float32) for img in row] for row in rows]
    if not rows or not any(len(row) for row in rows):
        raise ValueError("interpolation_strip: no images")
    shapes = {img.shape for row in rows for img in row}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise ValueError(f"interpolation_strip: every image must be (C, H, W) of one shape, got {sorted(shapes)}")
    ncol = max(len(row) for row in rows)
    slots = np.ones((len(rows), ncol) + next(iter(shapes)), np.float32)
    for r, row in enumerate(rows):
        if row:
            slots[r, :len(row)] = np.stack(row)
    return image_grid(slots.reshape((-1,) + slots.shape[2:]), ncol=ncol, pad=pad)
