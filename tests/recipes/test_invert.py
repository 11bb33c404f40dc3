"""Feature inversion: the loss falls, the command writes PNG + JSON, bad input is one line; the shared
optimisation pieces (memory estimate, layer checks, L-BFGS and Adam loops)."""
import json

import numpy as np
import pytest

import minigen.cli as cli
from minigen import losses as L
from minigen.data.images import load_image, save_image
from minigen.data.procedural import shapes
from minigen.errors import MinigenError
from minigen.models.vgg import VGG
from minigen.recipes import optimize as O
from minigen.recipes.invert import invert


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="max", seed=0).requires_grad_(False)  # what load_vgg gives without weights


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    save_image(path, shapes(1, 32, seed=3)[0])
    return path


def main(monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.recipes.invert",))
    return cli.main([str(a) for a in argv])


def test_inversion_reduces_the_normalised_feature_error(vgg):
    img = shapes(1, 24, seed=1)[0].transpose(1, 2, 0)
    out, history = invert(vgg, img, "relu2_1", iters=15, tv_weight=0.01, print_every=0)
    assert out.shape == (24, 24, 3) and out.min() >= 0 and out.max() <= 1
    assert len(history["content"]) == len(history["tv"]) == 16  # the start, then each iteration
    assert history["content"][-1] < history["content"][0] / 20  # measured ~1e-3 of the start
    np.testing.assert_allclose(np.add(history["content"], history["tv"]), history["total"], rtol=1e-5)


def test_adam_loop_clips_to_the_box_and_reduces_the_loss():
    target = np.full((1, 3, 4, 4), 1.5, np.float32)  # outside [0, 1]: the clip must hold x at 1

    def objective(x):
        loss = L.mse_loss(x, target, "sum")
        return loss, {"mse": loss}
    x, history = O.optimize_image(np.zeros((1, 3, 4, 4)), objective, 60, "adam", lr=0.1, print_every=0)
    assert x.max() == 1.0 and x.min() == 1.0
    assert history["mse"][-1] < history["mse"][0] / 8 and len(history["total"]) == 61


def test_lbfgs_respects_the_bounds_and_saves_snapshots(tmp_path):
    target = np.linspace(-0.5, 1.5, 48, dtype=np.float32).reshape(1, 3, 4, 4)

    def objective(x):
        loss = L.mse_loss(x, target, "sum")
        return loss, {"mse": loss}
    x, history = O.optimize_image(np.full((1, 3, 4, 4), 0.5), objective, 6, "lbfgs", print_every=0, save_every=1,
                                  save_to=O.snapshot_paths(str(tmp_path / "o.png")))
    np.testing.assert_allclose(x, np.clip(target, 0, 1), atol=1e-5)
    n = len(history["mse"]) - 1
    assert 1 <= n <= 6 and sorted(p.name for p in tmp_path.iterdir()) == [f"o_{k:04d}.png" for k in range(1, n + 1)]
    np.testing.assert_allclose(load_image(tmp_path / f"o_{n:04d}.png").transpose(2, 0, 1), x[0], atol=1 / 255)


def test_vgg_memory_counts_every_activation_up_to_the_deepest_layer():
    # relu1_1 of a 10x8 image: conv1_1 and relu1_1, 64 x 80 values each, float32, x MEMORY_FACTOR
    assert O.vgg_memory(19, ["relu1_1"], 10, 8) == O.MEMORY_FACTOR * 2 * 64 * 80 * 4
    # pool1 adds the pooled 64 x 5 x 4 after conv1_1, relu1_1, conv1_2, relu1_2
    assert O.vgg_memory(16, ["relu1_1", "pool1"], 10, 8) == O.MEMORY_FACTOR * (4 * 64 * 80 + 64 * 20) * 4
    assert O.vgg_memory(19, ["relu5_1"], 512, 512) > 1.5 * 2 ** 30  # style transfer at 512^2 is big
    with pytest.raises(MinigenError, match=r"needs about 1\.\d GiB, over the --max-memory limit of 1 GiB"):
        O.check_memory(19, ["relu1_1", "relu5_1"], [(64, 64), (512, 512)], 1, "x.png")


def test_layer_checks_name_the_flag_and_the_limit():
    info = {"depth": 19, "last": "relu3_1", "weights": "w.pth"}
    O.check_layers(info, ["relu1_1", "pool2", "relu3_1"], "--layers")
    with pytest.raises(MinigenError, match="--layers: unknown VGG-19 layer 'relu9_1'; valid: conv1_1"):
        O.check_layers(info, ["relu9_1"], "--layers")
    with pytest.raises(MinigenError, match="--up-to: layer pool3 is deeper than relu3_1.*w.pth"):
        O.check_layers(info, ["pool3"], "--up-to")


def test_cli_writes_image_and_sidecar(monkeypatch, tmp_path, image):
    out = tmp_path / "inv.png"
    assert main(monkeypatch, "invert", image, "--layer", "relu1_2", "--size", 16, "--iters", 5, "--out", out,
                "--print-every", 0) == 0
    assert load_image(out).shape == (16, 16, 3)
    side = json.loads((tmp_path / "inv.json").read_text())
    assert side["parameters"]["layer"] == "relu1_2" and side["parameters"]["iters"] == 5
    assert side["vgg"]["weights"] == "random" and side["vgg"]["depth"] == 19
    assert side["iterations"] == len(side["history"]["total"]) - 1 <= 5
    assert side["history"]["content"][-1] < side["history"]["content"][0]


@pytest.mark.parametrize("args, message", [
    (["--layer", "relu9_9"], "--layer: unknown VGG-19 layer 'relu9_9'"),
    (["--size", 4096], r"needs about \d+\.\d GiB, over the --max-memory limit of 4 GiB"),
    (["--size", 0], "--size must be a positive number of pixels"),
    (["--optimizer", "adam", "--iters", 0], "--iters must be at least 1"),
])
def test_cli_bad_options_are_one_line_errors(monkeypatch, capsys, tmp_path, image, args, message, shared_vgg):
    out = tmp_path / "inv.png"
    assert main(monkeypatch, "invert", image, "--out", out, *args) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("minigen: error:") and pytest.importorskip("re").search(message, err)
    assert not out.exists() and not (tmp_path / "inv.json").exists()


def test_cli_bad_files_are_one_line_errors(monkeypatch, capsys, tmp_path, image):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    cut = tmp_path / "cut.pth"
    cut.write_bytes(b"PK\x03\x04" + b"\0" * 40)  # a zip header and nothing else
    for argv, message in (([junk], "junk.png: not an image file"),
                          ([tmp_path / "none.png"], "none.png: no such file"),
                          ([image, "--vgg", cut], "cut.pth"),
                          ([image, "--out", tmp_path / "x.xyz"], "unknown image format"),
                          ([image, "--out", tmp_path / "no" / "x.png"], "does not exist")):
        assert main(monkeypatch, "invert", *argv) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and "Traceback" not in err and err.count("\n") <= 1  # vgg's random-weights line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.pth", "in.png", "junk.png"]
