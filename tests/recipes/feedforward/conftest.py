"""What the feed-forward tests share: a seeded random VGG-19 cut at relu2_2, a one-image content folder,
tiny networks of each method, and ``train`` (train_style at 16x16 with those)."""
import pytest

from minigen.data.images import save_image
from minigen.data.procedural import shapes
from minigen.models.vgg import VGG
from minigen.recipes import feedforward as ff

TINY = {"johnson": ff.net_options(channels=[4, 8, 8], residual=1, scales=2),
        "multistyle": ff.net_options(channels=[4, 8, 8], residual=1, padded=True, scales=2),
        "texture-net": ff.net_options(norm="batch", channels=[4], residual=1, scales=3),
        "adain": ff.net_options(residual=1, scales=2)}
STYLES = {"johnson": ["procedural:stripes"], "texture-net": ["procedural:checks"],
          "multistyle": ["procedural:stripes", "procedural:dots:3"], "adain": ["procedural"]}
LAYERS = {"style_layers": ["relu1_1", "relu2_1"]}
INFO = {"weights": "random", "seed": 0, "convention": "torchvision", "depth": 19, "last": "relu2_2"}


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, last="relu2_2", seed=0).requires_grad_(False), dict(INFO)


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory):
    """One 16x16 image: every crop of it is the image, so every step sees the same content batch."""
    d = tmp_path_factory.mktemp("content")
    save_image(str(d / "a.png"), shapes(1, 16, seed=5)[0])
    return str(d)


@pytest.fixture(scope="module")
def train(vgg, content_dir):
    """train(method, steps, **kw): a tiny run of ``method`` on the content folder (texture-net: a texture)."""
    def run(method, steps, **kw):
        content = None if method == "texture-net" else content_dir
        return ff.train_style(method, STYLES[method], content=content, steps=steps, batch=2, crop=16,
                              lr=kw.pop("lr", 1e-2), net=TINY[method], vgg_net=kw.pop("vgg_net", vgg), log_every=1000,
                              **LAYERS, **kw)
    return run


@pytest.fixture(scope="module")
def tiny():
    """The tiny settings by name: TINY (network options), STYLES, LAYERS, INFO (the VGG's)."""
    return {"TINY": TINY, "STYLES": STYLES, "LAYERS": LAYERS, "INFO": INFO}
