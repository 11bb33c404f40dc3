"""Feature inversion and the shared optimisation pieces: the loss falls; the L-BFGS and Adam loops keep the
box, report snapshots and stop on a non-finite loss with fit's wording; the VGG layer checks, the smallest
input of a layer set, and the memory estimate."""
import numpy as np
import pytest

from minigen import losses as L
from minigen.data.procedural import shapes
from minigen.errors import MinigenError
from minigen.models.vgg import VGG
from minigen.recipes import optimize as O
from minigen.recipes import vgg_layers as V
from minigen.recipes.invert import invert


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="max", seed=0).requires_grad_(False)  # what load_vgg gives without weights


def mse_to(target):
    def objective(x):
        loss = L.mse_loss(x, target, "sum")
        return loss, {"mse": loss}
    return objective


def test_inversion_reduces_the_normalised_feature_error(vgg):
    img = shapes(1, 24, seed=1)[0].transpose(1, 2, 0)
    out, history = invert(vgg, img, "relu2_1", iters=15, tv_weight=0.01, log_every=0)
    assert out.shape == (24, 24, 3) and out.min() >= 0 and out.max() <= 1
    assert len(history["content"]) == len(history["tv"]) == 16  # the start, then each iteration
    assert history["content"][-1] < history["content"][0] / 20  # measured ~1e-3 of the start
    np.testing.assert_allclose(np.add(history["content"], history["tv"]), history["total"], rtol=1e-5)


def test_adam_loop_clips_to_the_box_and_reduces_the_loss():
    target = np.full((1, 3, 4, 4), 1.5, np.float32)  # outside [0, 1]: the clip must hold x at 1
    x, history = O.optimize_image(np.zeros((1, 3, 4, 4)), mse_to(target), 60, "adam", lr=0.1, log_every=0)
    assert x.max() == 1.0 and x.min() == 1.0
    assert history["mse"][-1] < history["mse"][0] / 8 and len(history["total"]) == 61


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_snapshots_come_every_n_iterations_with_the_current_image(optimizer):
    target = np.linspace(-0.5, 1.5, 48, dtype=np.float32).reshape(1, 3, 4, 4)
    seen = []
    x, history = O.optimize_image(np.full((1, 3, 4, 4), 0.5), mse_to(target), 6, optimizer, lr=0.1, log_every=0,
                                  snapshot_every=2, on_snapshot=lambda i, image: seen.append((i, image.copy())))
    n = len(history["mse"]) - 1
    assert [i for i, _ in seen] == list(range(2, n + 1, 2)) and seen
    if n == 6:
        np.testing.assert_array_equal(seen[-1][1], x[0].transpose(1, 2, 0))


def test_lbfgs_respects_the_bounds():
    target = np.linspace(-0.5, 1.5, 48, dtype=np.float32).reshape(1, 3, 4, 4)
    x, history = O.optimize_image(np.full((1, 3, 4, 4), 0.5), mse_to(target), 6, "lbfgs", log_every=0)
    np.testing.assert_allclose(x, np.clip(target, 0, 1), atol=1e-5)
    assert 1 <= len(history["mse"]) - 1 <= 6


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_non_finite_loss_stops_both_loops_in_fit_s_words(optimizer):
    calls = []

    def objective(x):
        calls.append(1)
        loss = L.mse_loss(x, np.zeros((1, 3, 4, 4), np.float32), "sum") * (np.nan if len(calls) > 1 else 1.0)
        return loss, {"mse": loss}
    with pytest.raises(MinigenError, match=r"^texture: loss total became nan at step \d; stopped$"):
        O.optimize_image(np.full((1, 3, 4, 4), 0.5), objective, 5, optimizer, log_every=0, label="texture")


def test_the_progress_line_is_fit_s_for_both_optimisers(capsys):
    for optimizer in ("lbfgs", "adam"):
        O.optimize_image(np.full((1, 3, 4, 4), 0.5), mse_to(np.zeros((1, 3, 4, 4), np.float32)), 2, optimizer,
                         log_every=1, label="test")
        lines = capsys.readouterr().err.splitlines()
        assert lines and all(line.startswith("test: step ") and " total " in line and " it/s, ETA " in line
                             for line in lines)
    O.optimize_image(np.full((1, 3, 4, 4), 0.5), mse_to(np.zeros((1, 3, 4, 4), np.float32)), 2, "adam", log_every=0)
    assert capsys.readouterr().err == ""


def test_vgg_memory_counts_every_activation_up_to_the_deepest_layer():
    # relu1_1 of a 10x8 image: conv1_1 and relu1_1, 64 x 80 values each, float32, x MEMORY_FACTOR
    assert V.vgg_memory(19, ["relu1_1"], 10, 8) == V.MEMORY_FACTOR * 2 * 64 * 80 * 4
    # pool1 adds the pooled 64 x 5 x 4 after conv1_1, relu1_1, conv1_2, relu1_2
    assert V.vgg_memory(16, ["relu1_1", "pool1"], 10, 8) == V.MEMORY_FACTOR * (4 * 64 * 80 + 64 * 20) * 4
    assert V.vgg_memory(19, ["relu5_1"], 512, 512) > 1.5 * 2 ** 30  # style transfer at 512^2 is big


def test_the_smallest_input_of_a_layer_set():
    assert V.min_side(["relu1_1"]) == 1 and V.min_side(["pool1"]) == 2 and V.min_side(["relu2_1", "relu4_2"]) == 8
    assert V.min_side(["relu5_1", "nope"]) == 16 and V.deepest(["relu3_1", "pool2"]) == "relu3_1"
    assert V.min_side(["nope"]) == 1 and V.deepest(["nope"]) is None


def test_layer_checks_name_the_flag_and_the_limit():
    info = {"depth": 19, "last": "relu3_1", "weights": "w.pth"}
    V.check_layers(info, ["relu1_1", "pool2", "relu3_1"], "--layers")
    with pytest.raises(MinigenError, match="--layers: unknown VGG-19 layer 'relu9_1'; valid: conv1_1"):
        V.check_layers(info, ["relu9_1"], "--layers")
    with pytest.raises(MinigenError, match="--up-to: layer pool3 is deeper than relu3_1.*w.pth"):
        V.check_layers(info, ["pool3"], "--up-to")
