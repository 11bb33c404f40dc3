"""Style transfer: loss reduction, style blending, original colours, multi-scale, the command and its
sidecar, bad input, and the demo section."""
import json

import numpy as np
import pytest

import minigen.cli as cli
from minigen import losses as L
from minigen.data.images import load_image, rgb_to_ycbcr, save_image
from minigen.data.procedural import shapes, texture
from minigen.models.vgg import VGG
from minigen.report import Gallery
from minigen.recipes.optimize import features, gram_targets
from minigen.recipes.style import demo_section, original_colors, style_transfer
from minigen.tensor import Tensor

LAYERS = dict(content_layers=("relu2_1",), style_layers=("relu1_1", "relu2_1"))


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="avg", seed=0).requires_grad_(False)  # what load_vgg gives without weights


@pytest.fixture
def files(tmp_path):
    save_image(tmp_path / "c.png", shapes(1, 24, seed=4)[0])
    save_image(tmp_path / "s1.png", texture("waves", 20, seed=1))
    save_image(tmp_path / "s2.png", texture("checks", 28, seed=2))
    return tmp_path


def main(monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.recipes.style",))
    return cli.main([str(a) for a in argv])


def test_style_transfer_reduces_the_total_loss(vgg):
    content = shapes(1, 24, seed=1)[0].transpose(1, 2, 0)
    style = texture("waves", 24, seed=1).transpose(1, 2, 0)
    kept = content.copy()
    out, history = style_transfer(vgg, content, [style], style_weight=1e5, iters=15, print_every=0, **LAYERS)
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


def test_multi_scale_solves_small_first(vgg):
    content = shapes(1, 32, seed=2)[0].transpose(1, 2, 0)[:, :24]
    style = texture("dots", 20, seed=0).transpose(1, 2, 0)
    out, history = style_transfer(vgg, content, [style], scales=2, iters=3, init="random", print_every=0,
                                  **LAYERS)
    assert out.shape == (32, 24, 3)
    first = history["scale_start"][1]  # the 16x12 scale: its start and up to 3 iterations
    assert history["scale_start"] == [0, first] and 2 <= first <= 4 and len(history["total"]) <= 8


def test_cli_end_to_end_with_blend_ratio_and_sidecar(monkeypatch, tmp_path, files):
    out = tmp_path / "st.png"
    assert main(monkeypatch, "style", "--content", files / "c.png", "--style", files / "s1.png", files / "s2.png",
                "--style-blend", "3,1", "--ratio", "1e-4", "--content-layers", "relu2_1", "--style-layers",
                "relu1_1,relu2_1", "--size", 20, "--iters", 4, "--print-every", 0, "--original-colors",
                "--save-every", 2, "--out", out) == 0
    assert load_image(out).shape == (20, 20, 3)
    assert (tmp_path / "st_0002.png").exists()
    side = json.loads((tmp_path / "st.json").read_text())
    p = side["parameters"]
    assert p["style"] == [str(files / "s1.png"), str(files / "s2.png")] and p["style_blend"] == "3,1"
    assert p["original_colors"] is True and p["content_layers"] == "relu2_1" and p["tv_weight"] == 0
    assert side["alpha_over_beta"] == pytest.approx(1e-4) and side["style_weight_used"] == pytest.approx(1e4)
    assert side["vgg"]["weights"] == "random" and side["size"] == [20, 20]
    assert {"total", "content", "style"} <= set(side["history"]) and side["iterations"] <= 4


def test_cli_init_image_and_tv(monkeypatch, tmp_path, files, shared_vgg):
    out = tmp_path / "st.png"
    assert main(monkeypatch, "style", "--content", files / "c.png", "--style", files / "s1.png", "--init",
                files / "s2.png", "--tv-weight", "1e-2", "--style-layers", "relu1_1", "--content-layers",
                "relu1_1", "--size", 12, "--iters", 2, "--optimizer", "adam", "--print-every", 0,
                "--out", out) == 0
    assert "tv" in json.loads((tmp_path / "st.json").read_text())["history"]


@pytest.mark.parametrize("args, message", [
    (["--style-blend", "1,2,3"], "--style-blend: give 1 non-negative weight(s)"),
    (["--style-layers", "relu1_1,nope"], "--style-layers: unknown VGG-19 layer 'nope'"),
    (["--content-layers", ""], "--content-layers: give at least one VGG layer name"),
    (["--init", "missing.png"], "--init: missing.png is neither 'content', 'random' nor an existing image file"),
    (["--scales", "0"], "--scales must be at least 1"),
    (["--size", "2048", "--max-memory", "0.5"], "over the --max-memory limit of 0.5 GiB"),
])
def test_cli_errors_are_one_line_and_write_nothing(monkeypatch, capsys, tmp_path, files, args, message, shared_vgg):
    out = tmp_path / "st.png"
    assert main(monkeypatch, "style", "--content", files / "c.png", "--style", files / "s1.png", "--out", out,
                *args) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("minigen: error:") and message in err
    assert not out.exists() and not (tmp_path / "st.json").exists()


def test_cli_unreadable_style_image(monkeypatch, capsys, tmp_path, files, shared_vgg):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    assert main(monkeypatch, "style", "--content", files / "c.png", "--style", tmp_path / "bad.jpg",
                "--out", tmp_path / "st.png") == 1
    assert "bad.jpg" in capsys.readouterr().err and not (tmp_path / "st.png").exists()


def test_demo_section_quick(tmp_path):
    gallery = Gallery(str(tmp_path))
    demo_section(gallery, "cpu", 0, quick=True)
    gallery.write()
    html = (tmp_path / "index.html").read_text()
    for name in ("optim_inverted.png", "optim_texture.png", "optim_stylised.png", "optim_loss.png"):
        assert name in html and (tmp_path / name).stat().st_size > 100
