"""Gradcheck cases: grid_sample, affine_grid, interpolate.

Sample points sit at pixel coordinates integer + [0.15, 0.85], never on an
integer, where the bilinear weights (and so the grid gradient) have kinks;
some lie partly or wholly outside the image to exercise zero padding.
"""
import numpy as np

from .. import functional as F
from . import case, inputs


def _grid(rng, n, ho, wo, h, w, align_corners):
    """Normalised (x, y) grid whose pixel coordinates u, v are away from integers."""
    def normalised(size):
        u = rng.integers(-2, size + 1, (n, ho, wo)) + rng.uniform(0.15, 0.85, (n, ho, wo))
        return 2 * u / (size - 1) - 1 if align_corners else (2 * u + 1) / size - 1
    return np.stack([normalised(w), normalised(h)], axis=-1)


def _sample_case(align_corners, x_shape, grid_hw):
    def build(rng):
        n, _, h, w = x_shape
        return ((lambda x, grid: F.grid_sample(x, grid, align_corners)),
                inputs(rng.standard_normal(x_shape), _grid(rng, n, *grid_hw, h, w, align_corners)))
    return build


case("grid_sample/align_corners")(_sample_case(True, (2, 2, 3, 4), (2, 3)))
case("grid_sample/edges")(_sample_case(False, (1, 3, 4, 5), (3, 3)))


@case("grid_sample/affine-warp")
def _(rng):
    # A warping layer: rotation, scale and shift of the identity, sampled through affine_grid.
    a = rng.uniform(-0.4, 0.4, 2)
    theta = np.stack([[[1.1 * np.cos(t), -np.sin(t), 0.1], [np.sin(t), 0.9 * np.cos(t), -0.2]] for t in a])
    theta = theta + 0.05 * rng.standard_normal(theta.shape)
    return ((lambda x, th: F.grid_sample(x, F.affine_grid(th, (2, 2, 3, 5)))),
            inputs(rng.standard_normal((2, 2, 4, 4)), theta))


def _affine_case(align_corners, size):
    def build(rng):
        return ((lambda th: F.affine_grid(th, size, align_corners)),
                inputs(rng.standard_normal((size[0], 2, 3))))
    return build


case("affine_grid/align_corners")(_affine_case(True, (2, 1, 3, 4)))
case("affine_grid/edges")(_affine_case(False, (1, 3, 4, 3)))


def _resize_case(x_shape, **kwargs):
    def build(rng):
        return (lambda x: F.interpolate(x, **kwargs)), inputs(rng.standard_normal(x_shape))
    return build


case("interpolate/nearest-up")(_resize_case((1, 2, 3, 4), size=(5, 9)))
case("interpolate/nearest-down")(_resize_case((2, 1, 5, 6), scale_factor=0.5))
case("interpolate/bilinear-up")(_resize_case((1, 2, 3, 4), size=(5, 7), mode="bilinear"))
case("interpolate/bilinear-down")(_resize_case((1, 2, 7, 4), size=(3, 3), mode="bilinear"))
case("interpolate/bilinear-align_corners")(
    _resize_case((2, 1, 4, 3), scale_factor=(1.5, 1.7), mode="bilinear", align_corners=True))
