"""Deep Image Prior procedures: each task fits a tiny case, output averaging, stops, the command, bad input."""
import json
import re

import numpy as np
import pytest

import minigen.cli as cli
from minigen import nn, optim
from minigen.errors import MinigenError
from minigen.data.images import load_image, save_image
from minigen.data.imresize import imresize
from minigen.data.procedural import shapes
from minigen.metrics import psnr
from minigen.recipes import dip
from minigen.recipes.dip import fit
from minigen.report import Gallery
from minigen.training._old import load_checkpoint, save_checkpoint


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
    fit("denoise", clean, iters=4, ema=0, net_options=SMALL, save_every=1, on_save=lambda i, x: raw.append(x),
        log_every=1000)
    fit("denoise", clean, iters=4, ema=beta, net_options=SMALL, save_every=1, on_save=lambda i, x: avg.append(x),
        log_every=1000)
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
    assert first["iterations"] == 1 and load_checkpoint(ckpt)[1]["step"] == 1
    fit(task, clean, iters=4, checkpoint=ckpt, resume=True, **kw)
    rest = fit(task, clean, iters=6, checkpoint=ckpt, resume=True, **kw)
    np.testing.assert_array_equal(rest["output"], whole["output"])
    for k in ("loss", "psnr", "psnr_avg"):
        assert rest[k] == whole[k] and len(rest[k]) == (6 if k != "psnr_avg" or options["ema"] else 0)
    assert rest["iterations"] == 6 and load_checkpoint(ckpt)[1]["step"] == 6


def test_checkpoint_every_k_iterations_and_at_the_end(tmp_path):
    ckpt, steps = str(tmp_path / "fit.safetensors"), []
    clean = _image()

    def seen(it, out):  # the checkpoint on disk when iteration it's image is saved: written after
        steps.append(load_checkpoint(ckpt)[1]["step"] if (tmp_path / "fit.safetensors").exists() else 0)

    fit("denoise", clean, iters=5, net_options=SMALL, checkpoint=ckpt, checkpoint_every=2, save_every=1,
        on_save=seen, log_every=1000)
    assert steps == [0, 0, 2, 2, 4] and load_checkpoint(ckpt)[1]["step"] == 5


def test_a_diverging_fit_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    ckpt = str(tmp_path / "fit.npz")
    with np.errstate(all="ignore"), pytest.raises(MinigenError, match="loss became nan at iteration 2; stopped "
                                                  r"\(try a smaller --lr\); the last good checkpoint is"):
        fit("denoise", _image(), iters=6, lr=1e30, net_options=SMALL, checkpoint=ckpt, checkpoint_every=1,
            log_every=1000)
    assert load_checkpoint(ckpt)[1]["step"] == 1


def test_resume_refuses_other_data_settings_or_a_finished_fit(tmp_path):
    clean, ckpt = _image(), str(tmp_path / "fit.npz")
    fit("denoise", clean, iters=2, net_options=SMALL, checkpoint=ckpt, log_every=1000)
    cases = [
        ({"image": _image(seed=2)}, "made with another image or mask"),
        ({"lr": 0.02}, "made with another lr"),
        ({"net_options": dict(SMALL, channels=8)}, "made with another network"),
        ({"iters": 2}, "already at iteration 2 of 2; ask for more --iters"),
        ({"checkpoint": str(tmp_path / "none.npz")}, "--resume: no checkpoint at"),
    ]
    for change, message in cases:
        kw = dict({"image": clean, "iters": 4, "net_options": SMALL, "checkpoint": ckpt, "log_every": 1000},
                  **change)
        with pytest.raises(MinigenError, match=re.escape(message)):
            fit("denoise", kw.pop("image"), resume=True, **kw)
    model = nn.Linear(2, 2)
    save_checkpoint(ckpt, model, optim.Adam(model.parameters()), 1, {"model": "srcnn"}, {})
    with pytest.raises(MinigenError, match="not a Deep Image Prior checkpoint"):
        fit("denoise", clean, iters=4, net_options=SMALL, checkpoint=ckpt, resume=True, log_every=1000)


def _run(monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.recipes.dip",))
    return cli.main(["dip", *argv, "--scales", "3", "--channels", "8", "--log-every", "1000"])


def test_command_denoise_writes_image_json_and_curves(tmp_path, monkeypatch):
    clean = _image(20)
    noisy = np.clip(clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape), 0, 1).astype(np.float32)
    save_image(tmp_path / "clean.png", clean)
    save_image(tmp_path / "noisy.png", noisy)
    out = tmp_path / "res.png"
    assert _run(monkeypatch, "denoise", str(tmp_path / "noisy.png"), "--ground-truth", str(tmp_path / "clean.png"),
                "--iters", "4", "--save-every", "2", "--reg-noise-std", "1/20", "--out", str(out)) == 0
    assert load_image(out).shape == (20, 20, 3)
    meta = json.loads((tmp_path / "res.json").read_text())
    assert meta["task"] == "denoise" and meta["iterations"] == 4 and len(meta["loss"]) == 4
    assert len(meta["psnr"]) == 4 and len(meta["psnr_avg"]) == 4 and meta["reg_noise_std"] == pytest.approx(0.05)
    assert meta["psnr_final"] == pytest.approx(psnr(load_image(out), clean), abs=0.1)
    assert meta["net"]["down"] == [8, 8, 8] and meta["net"]["arch"] == "skip"
    for name in ("res_loss.png", "res_psnr.png", "res_iter000002.png", "res_iter000004.png"):
        assert (tmp_path / name).exists()


def test_command_inpaint_and_sr(tmp_path, monkeypatch):
    img = _image(24)
    save_image(tmp_path / "img.png", img)
    save_image(tmp_path / "mask.png", _mask(24))
    assert _run(monkeypatch, "inpaint", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"),
                "--iters", "2", "--arch", "hourglass", "--out", str(tmp_path / "inp.png")) == 0
    meta = json.loads((tmp_path / "inp.json").read_text())
    assert meta["net"]["skip"] == [0, 0, 0] and 0.4 < meta["known_fraction"] < 0.6
    assert meta["net"]["input"] == "uniform" and meta["net"]["in_channels"] == 32
    assert _run(monkeypatch, "inpaint", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"),
                "--iters", "2", "--input", "meshgrid", "--upsample", "nearest", "--out", str(tmp_path / "mg.png")) == 0
    meta = json.loads((tmp_path / "mg.json").read_text())
    assert meta["net"]["input"] == "meshgrid" and meta["net"]["in_channels"] == 2
    assert meta["net"]["upsample"] == "nearest"
    save_image(tmp_path / "lr.png", img[:12, :12])
    assert _run(monkeypatch, "sr", str(tmp_path / "lr.png"), "--factor", "2", "--iters", "2",
                "--out", str(tmp_path / "sr.png")) == 0
    assert load_image(tmp_path / "sr.png").shape == (24, 24, 3)
    assert json.loads((tmp_path / "sr.json").read_text())["output_size"] == [24, 24]


def test_command_resume_continues_to_the_same_result(tmp_path, monkeypatch):
    clean = _image(20)
    save_image(tmp_path / "img.png", clean)
    base = ["denoise", str(tmp_path / "img.png"), "--ground-truth", str(tmp_path / "img.png")]
    ckpt = str(tmp_path / "fit.npz")
    assert _run(monkeypatch, *base, "--iters", "4", "--out", str(tmp_path / "whole.png")) == 0
    assert _run(monkeypatch, *base, "--iters", "2", "--checkpoint", ckpt, "--out", str(tmp_path / "half.png")) == 0
    assert _run(monkeypatch, *base, "--iters", "4", "--checkpoint", ckpt, "--resume",
                "--out", str(tmp_path / "rest.png")) == 0
    np.testing.assert_array_equal(load_image(tmp_path / "rest.png"), load_image(tmp_path / "whole.png"))
    meta = json.loads((tmp_path / "rest.json").read_text())
    assert meta["resumed"] and meta["iterations"] == 4 and len(meta["loss"]) == 4
    assert meta["loss"] == json.loads((tmp_path / "whole.json").read_text())["loss"]


@pytest.fixture
def files(tmp_path):
    save_image(tmp_path / "img.png", _image(32))
    save_image(tmp_path / "small.png", _image(8))
    save_image(tmp_path / "mask20x10.png", np.ones((10, 20), np.float32))
    save_image(tmp_path / "colour_mask.png", _image(32))
    save_image(tmp_path / "black_mask.png", np.zeros((32, 32), np.float32))
    (tmp_path / "junk.png").write_bytes(b"this is not a png")
    (tmp_path / "junk.npz").write_bytes(b"this is not a checkpoint")
    return tmp_path


@pytest.mark.parametrize("argv,message", [
    (["inpaint", "{t}/img.png", "--mask", "{t}/mask20x10.png"], "the mask is 20x10 but the image is 32x32"),
    (["inpaint", "{t}/img.png", "--mask", "{t}/colour_mask.png"], "must be a grey (L) or black-and-white image"),
    (["inpaint", "{t}/img.png", "--mask", "{t}/black_mask.png"], "marks no pixel as known"),
    (["inpaint", "{t}/img.png"], "dip inpaint needs --mask"),
    (["denoise", "{t}/img.png", "--mask", "{t}/img.png"], "--mask is for dip inpaint"),
    (["denoise", "{t}/junk.png"], "junk.png: not an image file"),
    (["denoise", "{t}/img.png", "--ground-truth", "{t}/small.png"], "the ground truth is 8x8 but the output is 32x32"),
    (["sr", "{t}/img.png", "--ground-truth", "{t}/img.png", "--factor", "2"], "output is 64x64 (2 x the input)"),
    (["denoise", "{t}/small.png"], "8x8, too small for the 3-scale network: it needs at least 9x9"),
    (["denoise", "{t}/img.png", "--out", "{t}/x.jpg"], "must be a lossless image file"),
    (["denoise", "{t}/img.png", "--iters", "0"], "--iters must be a positive integer"),
    (["denoise", "{t}/img.png", "--input-channels", "0"], "--input-channels must be a positive integer"),
    (["denoise", "{t}/img.png", "--input", "meshgrid", "--input-channels", "8"], "--input meshgrid has 2 channels"),
    (["denoise", "{t}/img.png", "--resume"], "--resume needs --checkpoint CKPT"),
    (["denoise", "{t}/img.png", "--checkpoint", "{t}/c.txt"], "--checkpoint must be a .npz or .safetensors"),
    (["denoise", "{t}/img.png", "--checkpoint", "{t}/c.npz", "--resume"], "--resume: no checkpoint at"),
    (["denoise", "{t}/img.png", "--checkpoint", "{t}/junk.npz", "--resume"], "junk.npz: not a"),
])
def test_command_errors_are_one_line(files, monkeypatch, capsys, argv, message):
    argv = [a.format(t=files) for a in argv]
    argv += [] if "--out" in argv else ["--out", str(files / "out.png")]
    argv += [] if "--iters" in argv else ["--iters", "1"]
    assert _run(monkeypatch, *argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (files / "out.png").exists()


def test_command_refuses_an_image_whose_activations_do_not_fit(files, monkeypatch, capsys):
    monkeypatch.setattr(dip, "available_memory", lambda: 1 << 20)
    assert _run(monkeypatch, "denoise", str(files / "img.png"), "--out", str(files / "out.png")) == 1
    err = capsys.readouterr().err
    assert "32x32: fitting it needs about" in err and "only 1.0 MiB is available" in err


def test_demo_section_adds_inpainting_images_and_curves(tmp_path):
    gallery = Gallery(str(tmp_path))
    dip.demo_section(gallery, "cpu", 0, quick=True)
    (section,) = gallery.sections
    assert "inpainting" in section["name"] and len(section["items"]) == 5
    assert all((tmp_path / f).exists() for f, _ in section["items"])
