"""Style transfer: loss reduction, style blending, original colours, multi-scale and its snapshots."""
import numpy as np
import pytest

from minigen import losses as L
from minigen.data.images import rgb_to_ycbcr
from minigen.data.procedural import shapes, texture
from minigen.models.vgg import VGG
from minigen.recipes.optimize import features, gram_targets
from minigen.recipes.style import original_colors, scale_sizes, style_transfer
from minigen.tensor import Tensor

LAYERS = dict(content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1"))


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="avg", seed=0).requires_grad_(False)  # what load_vgg gives without weights


def test_style_transfer_reduces_the_total_loss(vgg):
    content = shapes(1, 24, seed=1)[0].transpose(1, 2, 0)
    style = texture("waves", 24, seed=1).transpose(1, 2, 0)
    kept = content.copy()
    out, history = style_transfer(vgg, content, [style], style_weight=1e5, iters=15, log_every=0, **LAYERS)
    np.testing.assert_array_equal(content, kept)  # the start is copied, not optimised in place
    assert out.shape == (24, 24, 3) and len(history["total"]) == 16
    assert history["content"][0] == 0  # started from the content image
    assert history["total"][-1] < history["total"][0] / 2  # measured 2.4x
    assert history["style"][-1] < history["style"][0] / 3  # measured 4.5x
    np.testing.assert_allclose(np.add(history["content"], history["style"]), history["total"], rtol=1e-5)


def test_blended_gram_targets_are_the_weighted_sum(vgg):
    a, b = (texture(k, 16, seed=3).transpose(1, 2, 0) for k in ("dots", "stripes"))
    mixed = gram_targets(vgg, [a, b], ["relu1_1", "pool1"], [0.7, 0.3])
    for layer in ("relu1_1", "pool1"):
        ga, gb = (L.gram_matrix(Tensor(features(vgg, x, [layer])[layer]), "gatys").numpy() for x in (a, b))
        np.testing.assert_allclose(mixed[layer], 0.7 * ga + 0.3 * gb, rtol=1e-5, atol=1e-7)


def test_original_colors_keeps_the_content_chroma_and_the_result_luminance():
    rng = np.random.default_rng(0)
    result, content = rng.uniform(0.4, 0.6, (2, 5, 6, 3)).astype(np.float32)  # no clipping out of gamut
    out = original_colors(result, content)
    np.testing.assert_allclose(rgb_to_ycbcr(out)[..., 0], rgb_to_ycbcr(result)[..., 0], atol=1e-5)
    np.testing.assert_allclose(rgb_to_ycbcr(out)[..., 1:], rgb_to_ycbcr(content)[..., 1:], atol=1e-5)


def test_scale_sizes_halve_towards_the_first():
    assert scale_sizes((32, 24), 1) == [(32, 24)]
    assert scale_sizes((32, 25), 3) == [(8, 6), (16, 12), (32, 25)]


def test_multi_scale_solves_small_first_and_snapshots_each_scale(vgg):
    content = shapes(1, 32, seed=2)[0].transpose(1, 2, 0)[:, :24]
    style = texture("dots", 20, seed=0).transpose(1, 2, 0)
    seen = []
    out, history = style_transfer(vgg, content, [style], scales=2, iters=3, init="random", log_every=0,
                                  snapshot_every=1, on_snapshot=lambda i, image, scale: seen.append(
                                      (scale, i, image.shape)), **LAYERS)
    assert out.shape == (32, 24, 3)
    first = history["scale_start"][1]  # the 16x12 scale: its start and up to 3 iterations
    assert history["scale_start"] == [0, first] and 2 <= first <= 4 and len(history["total"]) <= 8
    assert [s for s in seen if s[0] == 1] == [(1, i, (16, 12, 3)) for i in range(1, first)]
    assert [s for s in seen if s[0] == 2][0] == (2, 1, (32, 24, 3))
