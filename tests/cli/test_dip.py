"""`minigen dip`: the command writes the image, its JSON and curves; resumes with the checkpoint's settings;
gives the results of the code before the redesign; refuses bad input before any work (driven through the
real `python -m minigen`, in one line, losing no file); and its demo section."""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minigen.cli as cli
from minigen.cli import dip
from minigen.data.images import load_image, save_image
from minigen.data.procedural import shapes
from minigen.io import checkpoint as ck
from minigen.metrics import psnr
from minigen.recipes.dip import fit
from minigen.report import Gallery

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")
CLASS_NAMES = re.compile(r"Traceback|[A-Z][A-Za-z]*(Error|Exception|Interrupt):")
SMALL = ["--scales", "3", "--channels", "8"]


def _image(size=32, seed=1):
    return shapes(1, size, seed=seed)[0].transpose(1, 2, 0)


def _mask(size=32, seed=0):
    return (np.random.default_rng(seed).random((size, size)) > 0.5).astype(np.float32)


def _run(monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.dip",))
    return cli.main(["dip", *argv, *SMALL, "--log-every", "1000"])


def test_command_denoise_writes_image_json_and_curves(tmp_path, monkeypatch):
    clean = _image(20)
    noisy = np.clip(clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape), 0, 1).astype(np.float32)
    save_image(tmp_path / "clean.png", clean)
    save_image(tmp_path / "noisy.png", noisy)
    out = tmp_path / "res.png"
    assert _run(monkeypatch, "denoise", str(tmp_path / "noisy.png"), "--ground-truth", str(tmp_path / "clean.png"),
                "--iters", "4", "--snapshot-every", "2", "--reg-noise-std", "1/20", "--out", str(out)) == 0
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


def test_save_every_is_the_checkpoint_interval_and_checkpoint_every_its_old_name(tmp_path, monkeypatch, capsys):
    save_image(tmp_path / "img.png", _image(20))
    saved, save = [], ck.save
    monkeypatch.setattr(ck, "save", lambda path, c: (saved.append(c.step), save(path, c)))
    base = ["denoise", str(tmp_path / "img.png"), "--iters", "5", "--snapshot-every", "2",
            "--out", str(tmp_path / "o.png")]
    for flag, ckpt in (("--save-every", "a.npz"), ("--checkpoint-every", "b.npz")):
        assert _run(monkeypatch, *base, "--checkpoint", str(tmp_path / ckpt), flag, "2") == 0
        assert saved == [2, 4, 5] and ck.load(str(tmp_path / ckpt)).step == 5
        saved.clear()
    assert (tmp_path / "o_iter000002.png").exists() and (tmp_path / "o_iter000004.png").exists()
    assert "minigen: note: --checkpoint-every is now --save-every" in capsys.readouterr().err
    assert main_help(monkeypatch, capsys).count("--save-every K sets the interval of checkpoints") == 1


def main_help(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.dip",))
    assert cli.main(["dip", "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_command_refuses_an_image_whose_activations_do_not_fit(tmp_path, monkeypatch, capsys):
    save_image(tmp_path / "img.png", _image(32))
    monkeypatch.setattr("minigen.training.memory.available", lambda: 1 << 20)
    assert _run(monkeypatch, "denoise", str(tmp_path / "img.png"), "--out", str(tmp_path / "out.png")) == 1
    err = capsys.readouterr().err
    assert "32x32: fitting it needs about" in err and "only 1.0 MiB is available" in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.usefixtures("gemm_convolutions")
def test_the_command_gives_the_result_of_the_earlier_code(tmp_path, monkeypatch):
    """The golden run of tests/fixtures/golden/make_dip.py, whose intermediate images were --save-every 2."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_dip", os.path.join(GOLDEN, "make_dip.py"))
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    save_image(tmp_path / "noisy.png", make.noisy())
    save_image(tmp_path / "clean.png", make.image(20))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.dip",))
    with np.load(os.path.join(GOLDEN, "dip.npz")) as golden:
        assert list(golden["command/argv"]) == make.COMMAND
        assert cli.main([a.format(t=tmp_path) for a in make.COMMAND] + ["--snapshot-every", "2"]) == 0

        def decoded(name):
            return np.asarray(load_image(tmp_path / name) * 255).round().astype(np.uint8)
        np.testing.assert_array_equal(decoded("out.png"), golden["command/output"])
        np.testing.assert_array_equal(np.stack([decoded("out_iter000002.png"), decoded("out_iter000004.png")]),
                                      golden["command/snapshots"])
        loss = json.loads((tmp_path / "out.json").read_text())["loss"]
        np.testing.assert_array_equal(np.array(loss, np.float64), golden["command/loss"])


def test_demo_section_shows_denoising_inpainting_and_super_resolution(tmp_path):
    gallery = Gallery(str(tmp_path))
    dip.demo_section(gallery, "cpu", 0, quick=True)
    (section,) = gallery.sections
    assert all(task in section["name"] for task in ("denoising", "inpainting", "super-resolution"))
    names = [f for f, _ in section["items"]]
    assert {"dip_denoised.png", "dip_inpainted.png", "dip_sr.png", "dip_psnr.png"} <= set(names)
    assert all((tmp_path / f).exists() for f in names)


# ---- refused before any work, through the real command --------------------------------------------------------

RESUME = ["denoise", "{t}/img.png", "--ground-truth", "{t}/gt.png", "--checkpoint", "{t}/c.npz", "--resume"]
DENOISE = ["denoise", "{t}/img.png"]


def _numbers(cases):
    """Numeric flags out of range: argparse's one line, exit status 2."""
    return {f"{flag} {value}": (DENOISE + [flag, value], 2, f"minigen dip: error: {flag}: expected {allowed}, "
                                                            f"not {value} (see `minigen dip --help`)")
            for flag, value, allowed in cases}


# name: (argv, exit status, what the one line says); {t} is the case's folder. These run the real command.
REFUSED = {
    "out is the image": (DENOISE + ["--out", "{t}/img.png"], 1, "--out {t}/img.png: is also an input"),
    "out is the mask": (["inpaint", "{t}/img.png", "--mask", "{t}/mask.png", "--out", "{t}/mask.png"], 1,
                        "is also an input"),
    "out is the ground truth": (DENOISE + ["--ground-truth", "{t}/gt.png", "--out", "{t}/gt.png"], 1,
                                "is also an input"),
    "out is not an image": (DENOISE + ["--out", "{t}/o.npz"], 1, "expected a name ending in .png, .bmp, .tif or"),
    "out is a folder": (DENOISE + ["--out", "{t}/dir.png"], 1, "is a folder; give a file name"),
    "out's folder is missing": (DENOISE + ["--out", "{t}/missing/o.png"], 1, "the folder {t}/missing does not exist"),
    "out's name is too long": (DENOISE + ["--out", "{t}/" + "a" * 300 + ".png"], 1, "is too long for the file system"),
    "checkpoint is the image": (["denoise", "{t}/img.npz", "--checkpoint", "{t}/img.npz"], 1,
                                "--checkpoint {t}/img.npz: is also an input"),
    "checkpoint is not .npz": (DENOISE + ["--checkpoint", "{t}/c.txt"], 1, "a checkpoint is written as .npz or"),
    "checkpoint exists": (DENOISE + ["--checkpoint", "{t}/c.npz"], 1,
                          "--checkpoint {t}/c.npz exists; continue it with --resume or replace it with --force"),
    "resume with another lr": (RESUME + ["--lr", "0.02"], 1,
                               "--lr 0.02: {t}/c.npz was made with --lr 0.01; leave the flag out"),
    "save-every without a checkpoint": (DENOISE + ["--save-every", "5"], 1,
                                        "--save-every needs --checkpoint CKPT: --save-every K sets the interval of "
                                        "checkpoints"),
    "a mask of another size": (["inpaint", "{t}/img.png", "--mask", "{t}/mask20x10.png"], 1,
                               "the mask is 20x10 but the image is 32x32"),
    "a colour mask": (["inpaint", "{t}/img.png", "--mask", "{t}/gt.png"], 1, "must be a grey (L) or black-and-white"),
    "a missing image": (["denoise", "{t}/none.png"], 1, "{t}/none.png: no such file"),
    "a truncated image": (["denoise", "{t}/trunc.png"], 1, "{t}/trunc.png: truncated or corrupt image"),
    **_numbers([("--factor", "2048", "an integer from 1 to 16"), ("--factor", "0", "an integer from 1 to 16"),
                ("--iters", "0", "a positive integer"), ("--lr", "inf", "a positive number"),
                ("--lr", "nan", "a positive number"), ("--lr", "0", "a positive number"),
                ("--ema", "1", "a number >= 0 and < 1"), ("--ema", "nan", "a number >= 0 and < 1"),
                ("--reg-noise-std", "nan", "a number >= 0 such as 0.03 or 1/30"),
                ("--reg-noise-std", "-1", "a number >= 0 such as 0.03 or 1/30"),
                ("--channels", "0", "a positive integer"),
                ("--scales", "0", "an integer from 1 to 10"), ("--scales", "20", "an integer from 1 to 10"),
                ("--stop-below", "nan", "a non-negative number"), ("--time-limit", "-1", "a non-negative number"),
                ("--time-limit", "nan", "a non-negative number"), ("--max-memory", "nan", "a positive number")]),
}
# More of the same, run in this process (the real command's code, without a process's start-up time).
REFUSED_HERE = {
    "out's loss curve is the image": (["denoise", "{t}/r_loss.png", "--out", "{t}/r.png"], 1,
                                      "--out {t}/r.png writes {t}/r_loss.png: is also an input"),
    "a snapshot is the image": (["denoise", "{t}/r_iter000002.png", "--snapshot-every", "2", "--out", "{t}/r.png"],
                                1, "would replace the input"),
    "out is lossy": (DENOISE + ["--out", "{t}/o.jpg"], 1, "expected a name ending in .png"),
    "checkpoint's folder is missing": (DENOISE + ["--checkpoint", "{t}/missing/c.npz"], 1, "does not exist"),
    "resume without a checkpoint": (DENOISE + ["--resume"], 1, "--resume needs --checkpoint CKPT"),
    "resume a missing checkpoint": (DENOISE + ["--checkpoint", "{t}/none.npz", "--resume"], 1,
                                    "--resume: no checkpoint at {t}/none.npz"),
    "resume and force": (RESUME + ["--force"], 1, "give one of them"),
    "resume with another network": (RESUME + ["--scales", "4"], 1, "--scales 4: {t}/c.npz was made with --scales 3"),
    "resume another task": (["sr"] + RESUME[1:], 1, "a fit of dip denoise, not of dip sr"),
    "resume on another image": (["denoise", "{t}/gt.png"] + RESUME[2:], 1, "was made with another image"),
    "resume without the ground truth": (DENOISE + RESUME[4:], 1, "was made with a ground truth; give it again"),
    "resume a finished fit": (RESUME + ["--iters", "2"], 1, "already at step 2 of 2; ask for more steps"),
    "resume a damaged checkpoint": (DENOISE + ["--checkpoint", "{t}/junk.npz", "--resume"], 1,
                                    "junk.npz: not a readable .npz checkpoint"),
    "force without a checkpoint": (DENOISE + ["--force"], 1, "--force needs --checkpoint CKPT"),
    "inpaint without a mask": (["inpaint", "{t}/img.png"], 1, "dip inpaint needs --mask"),
    "a mask for denoising": (DENOISE + ["--mask", "{t}/mask.png"], 1, "--mask is for dip inpaint, not dip denoise"),
    "meshgrid with 8 channels": (DENOISE + ["--input", "meshgrid", "--input-channels", "8"], 1,
                                 "--input meshgrid has 2 channels"),
    "too little memory": (DENOISE + ["--max-memory", "0.000001"], 1, "the --max-memory limit is 1e-06 GiB"),
    "too small an image": (["denoise", "{t}/mask20x10.png", "--scales", "5"], 1,
                           "the image is 20x10, too small for the 5-scale network"),
    "a ground truth of another size": (DENOISE + ["--ground-truth", "{t}/mask20x10.png"], 1,
                                       "the ground truth is 20x10 but the output is 32x32"),
    **_numbers([("--skip-channels", "-1", "a non-negative integer"), ("--input-channels", "0", "a positive integer"),
                ("--save-every", "-1", "a non-negative integer"),
                ("--checkpoint-every", "-1", "a non-negative integer"),
                ("--snapshot-every", "-1", "a non-negative integer"), ("--log-every", "0", "a positive integer"),
                ("--seed", "-1", "a non-negative integer"), ("--stop-below", "-1", "a non-negative number")]),
}


def _folder_state(folder):
    """{relative path: bytes (None for a folder)} of everything under ``folder``."""
    state = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            state[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                state[os.path.relpath(os.path.join(root, name), folder)] = f.read()
    return state


def _inputs(folder):
    """The files every case may name: images, masks, a checkpoint of a 2-iteration fit, damaged files."""
    os.makedirs(folder)
    img, gt = _image(32), _image(32, seed=2)
    save_image(os.path.join(folder, "img.png"), img)
    save_image(os.path.join(folder, "gt.png"), gt)
    save_image(os.path.join(folder, "mask.png"), _mask(32))
    save_image(os.path.join(folder, "mask20x10.png"), np.ones((10, 20), np.float32))
    for name in ("img.npz", "r_loss.png", "r_iter000002.png"):
        shutil.copy(os.path.join(folder, "img.png"), os.path.join(folder, name))
    with open(os.path.join(folder, "img.png"), "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "trunc.png"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(folder, "junk.npz"), "wb") as f:
        f.write(b"this is not a checkpoint")
    os.makedirs(os.path.join(folder, "dir.png"))
    # what `minigen dip denoise img.png --ground-truth gt.png --scales 3 --channels 8 --iters 2 --checkpoint c.npz`
    # writes
    fit("denoise", load_image(os.path.join(folder, "img.png")), iters=2, ground_truth=load_image(
        os.path.join(folder, "gt.png")), net_options={"scales": 3, "channels": 8},
        checkpoint=os.path.join(folder, "c.npz"), log_every=1000)


def _argv(name, cases, folder):
    """The case's arguments in ``folder``, made small and short should the case not be refused."""
    argv = [a.format(t=folder) for a in cases[name][0]]
    if "--resume" not in argv:
        argv += [] if "--scales" in argv else SMALL
        argv += [] if "--iters" in argv else ["--iters", "1"]
    return argv + ([] if "--out" in argv else ["--out", os.path.join(folder, "out.png")])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("dip-inputs") / "t")
    _inputs(folder)
    return folder


@pytest.fixture(scope="module")
def refused(inputs, tmp_path_factory):
    """{case: (folder, completed process, folder state before, after)}: the REFUSED cases, run side by side."""
    base = str(tmp_path_factory.mktemp("dip-refused"))

    def run(i, name):
        folder = os.path.join(base, f"case{i}")
        shutil.copytree(inputs, folder)
        before = _folder_state(folder)
        r = subprocess.run([sys.executable, "-m", "minigen", "dip", *_argv(name, REFUSED, folder)],
                           capture_output=True, text=True, cwd=folder, timeout=120)
        return name, (folder, r.returncode, r.stderr, before, _folder_state(folder))

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(lambda job: run(*job), enumerate(REFUSED)))


def _check_refusal(case, folder, status, stderr, before, after):
    assert status == case[1], stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert not CLASS_NAMES.search(stderr), stderr
    assert case[2].format(t=folder) in stderr
    assert after == before  # no input or checkpoint changed, no output written


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_before_any_work_in_one_line_losing_no_file(refused, name):
    _check_refusal(REFUSED[name], *refused[name])


@pytest.mark.parametrize("name", list(REFUSED_HERE))
def test_also_refused_in_one_line_losing_no_file(inputs, tmp_path, monkeypatch, capsys, name):
    folder = str(tmp_path / "t")
    shutil.copytree(inputs, folder)
    monkeypatch.chdir(folder)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.dip",))
    before = _folder_state(folder)
    status = cli.main(["dip", *_argv(name, REFUSED_HERE, folder)])
    _check_refusal(REFUSED_HERE[name], folder, status, capsys.readouterr().err, before, _folder_state(folder))


def test_resume_needs_only_the_checkpoint_and_says_where_it_goes_on(inputs, tmp_path):
    folder = str(tmp_path / "t")
    shutil.copytree(inputs, folder)
    r = subprocess.run([sys.executable, "-m", "minigen", "dip", "denoise", "img.png", "--ground-truth", "gt.png",
                        "--checkpoint", "c.npz", "--resume", "--iters", "3", "--out", "o.png"],
                       capture_output=True, text=True, cwd=folder, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "resuming from step 2 of 3" in r.stdout and "wrote o.png (3 iterations" in r.stdout
    c = ck.load(os.path.join(folder, "c.npz"), kind="dip")
    assert c.step == 3 and c.settings["net"]["down"] == [8, 8, 8] and len(c.history["psnr"]) == 3
