"""Deep Image Prior procedures: each task fits a tiny case, output averaging, stops, checkpoints and resume,
and the results of the code before the redesign, bit for bit."""
import os
import re

import numpy as np
import pytest

from minigen import nn, optim
from minigen.errors import MinigenError
from minigen.data.imresize import imresize
from minigen.data.procedural import shapes
from minigen.io import checkpoint as ck
from minigen.metrics import psnr
from minigen.recipes.dip import fit


def _image(size=32, seed=1):
    return shapes(1, size, seed=seed)[0].transpose(1, 2, 0)


SMALL = {"scales": 3, "channels": 16}


def _mask(size=32, seed=0):
    return (np.random.default_rng(seed).random((size, size)) > 0.5).astype(np.float32)


def test_denoise_fits_a_32x32_image_within_40_iterations():
    clean = _image()
    r = fit("denoise", clean, iters=40, ema=0, ground_truth=clean, net_options=SMALL, log_every=1000)
    assert r["psnr"][0] < 16 and psnr(r["output"], clean) > 27   # ~13 dB -> ~30 dB
    assert r["loss"][-1] < r["loss"][0] / 10 and r["iterations"] == 40 and r["stopped"] is None


def test_inpaint_reduces_the_masked_energy_and_ignores_missing_pixels():
    clean, mask = _image(), _mask()
    observed = clean * mask[..., None]
    r = fit("inpaint", observed, mask=mask, iters=40, ema=0, ground_truth=clean, net_options=SMALL, log_every=1000)
    assert r["loss"][-1] < r["loss"][0] / 20
    assert psnr(r["output"], clean) > psnr(observed, clean) + 10  # missing pixels are filled in
    # Whatever the image holds at missing pixels does not matter.
    junk = observed + (1 - mask[..., None]) * np.random.default_rng(3).random(observed.shape).astype(np.float32)
    a = fit("inpaint", observed, mask=mask, iters=3, net_options=SMALL, log_every=1000)["output"]
    b = fit("inpaint", junk, mask=mask, iters=3, net_options=SMALL, log_every=1000)["output"]
    np.testing.assert_array_equal(a, b)


def test_sr_output_is_factor_times_larger_and_downsamples_to_the_input():
    hr = _image(36)
    lr = imresize(hr, 1 / 3, kernel="lanczos3")
    r = fit("sr", lr, factor=3, iters=40, ema=0, ground_truth=hr, net_options=SMALL, log_every=1000)
    assert r["output"].shape == (36, 36, 3)
    assert r["loss"][-1] < r["loss"][0] / 10
    assert psnr(imresize(r["output"], 1 / 3, kernel="lanczos3"), lr) > 30


def test_same_seed_same_result_other_seed_other_result():
    clean = _image()
    a, b, c = (fit("denoise", clean, iters=3, net_options=SMALL, seed=s, log_every=1000)["output"] for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_output_average_is_the_bias_corrected_exponential_average():
    clean, beta, raw, avg = _image(), 0.5, [], []
    fit("denoise", clean, iters=4, ema=0, net_options=SMALL, snapshot_every=1,
        on_snapshot=lambda i, x: raw.append(x), log_every=1000)
    fit("denoise", clean, iters=4, ema=beta, net_options=SMALL, snapshot_every=1,
        on_snapshot=lambda i, x: avg.append(x), log_every=1000)
    for t in range(1, 5):
        expected = sum((1 - beta) * beta ** (t - k) * raw[k - 1] for k in range(1, t + 1)) / (1 - beta ** t)
        np.testing.assert_allclose(avg[t - 1], expected, atol=1e-6)
    assert np.abs(raw[3] - avg[3]).max() > 1e-4


def test_meshgrid_code_and_nearest_upsampling():
    clean = _image()
    r = fit("denoise", clean, iters=30, ema=0, ground_truth=clean, code="meshgrid",
            net_options=dict(SMALL, arch="hourglass", upsample="nearest"), log_every=1000)
    assert r["net"].in_channels == 2 and r["net"].upsample == "nearest" and not any(len(s) for s in r["net"].skips)
    assert r["loss"][-1] < r["loss"][0] / 5


def test_stop_below_and_time_limit_end_the_run_early():
    clean = _image()
    r = fit("denoise", clean, iters=10, net_options=SMALL, stop_below=1.0, log_every=1000)
    assert r["iterations"] == 1 and r["stopped"] == "stop_below"
    r = fit("denoise", clean, iters=10, net_options=SMALL, time_limit=0.0, log_every=1000)
    assert r["iterations"] == 1 and r["stopped"] == "time_limit"


@pytest.mark.parametrize("task,options", [
    ("denoise", {"ema": 0.5}),
    ("inpaint", {"ema": 0, "code": "meshgrid", "net_options": dict(SMALL, arch="hourglass", upsample="nearest")}),
])
def test_a_resumed_fit_repeats_the_uninterrupted_one_exactly(tmp_path, task, options):
    clean, mask = _image(), _mask()
    kw = dict({"net_options": SMALL, "ground_truth": clean, "log_every": 1000}, **options)
    if task == "inpaint":
        kw["mask"] = mask
    ckpt = str(tmp_path / "fit.npz")
    whole = fit(task, clean, iters=6, **kw)
    first = fit(task, clean, iters=6, time_limit=0.0, checkpoint=ckpt, **kw)  # stops after iteration 1
    assert first["iterations"] == 1 and first["stopped"] == "time_limit" and ck.load(ckpt).step == 1
    fit(task, clean, iters=4, checkpoint=ckpt, resume=True, **kw)
    rest = fit(task, clean, iters=6, checkpoint=ckpt, resume=True, **kw)
    np.testing.assert_array_equal(rest["output"], whole["output"])
    for k in ("loss", "psnr", "psnr_avg"):
        assert rest[k] == whole[k] and len(rest[k]) == (6 if k != "psnr_avg" or options["ema"] else 0)
    assert rest["iterations"] == 6 and ck.load(ckpt).step == 6


def test_checkpoint_every_k_iterations_and_at_the_end(tmp_path):
    ckpt, steps = str(tmp_path / "fit.safetensors"), []
    clean = _image()

    def seen(it, out):  # the checkpoint on disk when iteration it's image is saved: written after
        steps.append(ck.load(ckpt).step if (tmp_path / "fit.safetensors").exists() else 0)

    fit("denoise", clean, iters=5, net_options=SMALL, checkpoint=ckpt, save_every=2, snapshot_every=1,
        on_snapshot=seen, log_every=1000)
    c = ck.load(ckpt, kind="dip")
    assert steps == [0, 0, 2, 2, 4] and c.step == 5
    assert set(c.modules) == {"net"} and set(c.optimizers) == {"opt"} and set(c.rngs) == {"minigen", "noise"}
    assert c.specs["net"]["kind"] == "dip-net" and c.settings["task"] == "denoise" and c.settings["iters"] == 5
    assert c.extra["running"].shape == (32, 32, 3)  # the output average (ema 0.99)


def test_a_diverging_fit_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    ckpt = str(tmp_path / "fit.npz")
    with np.errstate(all="ignore"), pytest.raises(MinigenError, match=r"dip denoise: loss loss became nan at step 2; "
                                                  r"stopped \(try a smaller --lr\); the last good checkpoint is"):
        fit("denoise", _image(), iters=6, lr=1e30, net_options=SMALL, checkpoint=ckpt, save_every=1,
            log_every=1000)
    assert ck.load(ckpt).step == 1


def test_resume_refuses_other_data_settings_or_a_finished_fit(tmp_path):
    clean, ckpt = _image(), str(tmp_path / "fit.npz")
    fit("denoise", clean, iters=2, net_options=SMALL, checkpoint=ckpt, log_every=1000)
    cases = [
        ({"image": _image(seed=2)}, "made with data "),
        ({"lr": 0.02}, "made with lr 0.01 (not 0.02)"),
        ({"net_options": dict(SMALL, channels=8)}, "made with net "),
        ({"iters": 2}, "already at step 2 of 2; ask for more steps"),
        ({"checkpoint": str(tmp_path / "none.npz")}, "--resume: no checkpoint at"),
    ]
    for change, message in cases:
        kw = dict({"image": clean, "iters": 4, "net_options": SMALL, "checkpoint": ckpt, "log_every": 1000},
                  **change)
        with pytest.raises(MinigenError, match=re.escape(message)):
            fit("denoise", kw.pop("image"), resume=True, **kw)
    model = nn.Linear(2, 2)
    ck.save(ckpt, ck.Checkpoint("train-sr", 1, modules={"net": model.state_dict()},
                                optimizers={"opt": optim.Adam(model.parameters()).state_dict()}))
    with pytest.raises(MinigenError, match="a train-sr checkpoint, not a dip one"):
        fit("denoise", clean, iters=4, net_options=SMALL, checkpoint=ckpt, resume=True, log_every=1000)


GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")


def golden_maker():
    """tests/fixtures/golden/make_dip.py: the runs whose results the code before the redesign wrote."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_dip", os.path.join(GOLDEN, "make_dip.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("gemm_convolutions")
@pytest.mark.parametrize("name", ["denoise", "inpaint", "sr"])
def test_each_task_fits_bit_for_bit_as_the_earlier_code(name):
    task, observation, kw = golden_maker().FITS[name]
    seen = []
    r = fit(task, observation(), snapshot_every=2, on_snapshot=lambda i, x: seen.append(x), log_every=1000, **kw)
    with np.load(os.path.join(GOLDEN, "dip.npz")) as golden:
        np.testing.assert_array_equal(r["output"], golden[f"{name}/output"])
        np.testing.assert_array_equal(np.stack(seen), golden[f"{name}/snapshots"])
        for k in ("loss", "psnr", "psnr_avg"):
            np.testing.assert_array_equal(np.array(r[k], np.float64), golden[f"{name}/{k}"])


@pytest.mark.usefixtures("gemm_convolutions")
def test_a_checkpoint_of_the_earlier_code_resumes_bit_for_bit(tmp_path):
    make, ckpt = golden_maker(), tmp_path / "fit.npz"
    with np.load(os.path.join(GOLDEN, "dip.npz")) as golden:
        ckpt.write_bytes(golden["resumed/checkpoint"].tobytes())
        r = fit("denoise", make.noisy(), **make.RESUMED, checkpoint=str(ckpt), resume=True, log_every=1000)
        np.testing.assert_array_equal(r["output"], golden["resumed/output"])
        np.testing.assert_array_equal(np.array(r["loss"], np.float64), golden["resumed/loss"])
    assert ck.load(str(ckpt)).step == 4  # now in the one checkpoint format
