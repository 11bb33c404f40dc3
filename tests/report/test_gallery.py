"""The gallery page: images and curves written beside an index.html."""
import numpy as np

from minigen.data.images import load_image
from minigen.report import Gallery


def test_gallery_writes_zoomed_images_and_an_index(tmp_path):
    g = Gallery(str(tmp_path))
    g.section("s", "text & <escaped>")
    g.image("a.png", np.full((3, 4, 3), 0.5, np.float32), "grey", zoom=3)
    path = g.write()
    assert load_image(tmp_path / "a.png").shape == (9, 12, 3)
    html = open(path).read()
    assert "a.png" in html and "&lt;escaped&gt;" in html


def test_gallery_curves_are_drawn_at_the_requested_size(tmp_path):
    g = Gallery(str(tmp_path))
    g.section("losses", "")
    g.curves("loss.png", {"mse": [1.0, 0.5, 0.25]}, "a loss", size=(320, 200), title="loss")
    html = open(g.write()).read()
    image = load_image(tmp_path / "loss.png")
    assert image.shape == (200, 320, 3)
    assert (image < 0.5).any()                              # something was drawn
    assert "loss.png" in html and "a loss" in html
