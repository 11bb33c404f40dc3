"""``minigen train-gan`` and ``minigen gan-arithmetic`` run as a user would (subprocesses): every --model
trains on digits (a toy with --data ring8), writes its checkpoint, sample grid, loss curves and snapshots
and reports its yardsticks; a run resumes; ``sample`` and ``evaluate`` read the checkpoints; bad input is
refused in one line with nothing written or changed. A small MNIST folder of procedural digits stands in
for the real files."""
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from minigen.io import checkpoint as ckpt_io

from .digit_files import digests, minigen, write_inputs

MLP = "--arch mlp --nz 4 --g-hidden 16 --d-hidden 16"
RUNS = {"gan": f"--model gan {MLP} --steps 3",
        "dcgan": "--model dcgan --width 2 --steps 2",
        "cgan": "--model cgan --width 2 --steps 2",
        "wgan": "--model wgan --width 2 --steps 2 --d-steps 2",
        "lsgan": f"--model lsgan {MLP} --coding eq8 --steps 3",
        "ring": f"--model gan --data ring8 {MLP} --steps 20",
        "folder": "--model dcgan --images pngs --rgb --width 2 --steps 1 --batch 4"}  # 64x64 RGB




@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An MNIST folder (300 training, 200 test digits), a folder of PNGs, an empty folder, an SR checkpoint
    and a tiny run of every model (its output kept)."""
    d = tmp_path_factory.mktemp("gan")
    write_inputs(d)
    runs = {}
    for name, flags in RUNS.items():
        data = [] if "--data" in flags or "--images" in flags else ["--data", "mnist", "--batch", "20"]
        r = minigen("train-gan", *flags.split(), *data, "--snapshot-every", "1", "--log-every",
                    "1", "--out", f"{name}.npz", cwd=d)
        assert r.returncode == 0, r.stderr
        runs[name] = r
    return d, runs



@pytest.mark.parametrize("name", list(RUNS))
def test_every_model_trains_and_writes_its_checkpoint_pictures_and_figures(world, name):
    d, runs = world
    r = runs[name]
    ckpt = ckpt_io.load(str(d / f"{name}.npz"))
    steps = int(RUNS[name].split("--steps ")[1].split()[0])
    assert ckpt.kind == "gan" and ckpt.step == steps and ckpt.settings["model"] == RUNS[name].split()[1]
    assert set(ckpt.modules) == {"generator", "discriminator"} and set(ckpt.optimizers) == {"g", "d"}
    for i in range(1, steps + 1):
        assert (d / f"{name}_step{i:06d}.png").exists()
    for suffix in ("_samples.png", "_loss.png"):
        assert Image.open(d / f"{name}{suffix}").size[0] > 50
    assert f"train-gan {ckpt.settings['model']}: step {steps}/{steps} d_loss" in r.stderr
    if name == "ring":
        assert "of 8 modes" in r.stdout and ckpt.settings["data"] == "ring8"
    elif name == "folder":
        assert ckpt.settings["shape"] == [3, 64, 64] and "FLD" not in r.stdout
    else:
        assert "FLD" in r.stdout and "class KL" in r.stdout
        assert ("conditional accuracy" in r.stdout) == (name == "cgan")
    if name == "wgan":  # the Earth-Mover estimate in the progress line; clipped critic; 100 critic steps early
        assert " em " in r.stderr and ckpt.extra["batches"] == 200
        assert max(float(np.abs(v).max()) for k, v in ckpt.modules["discriminator"].items()
                   if "running" not in k and "num_batches" not in k) <= 0.01 + 1e-7


def test_a_run_resumes_and_goes_further(world):
    d, _ = world
    shutil.copy(d / "gan.npz", d / "more.npz")
    r = minigen("train-gan", "--out", "more.npz", "--resume", "--steps", "5", "--data", "mnist",
                "--snapshot-every", "0", cwd=d)
    assert r.returncode == 0, r.stderr
    assert "resuming from step 3 of 5" in r.stdout + r.stderr and ckpt_io.load(str(d / "more.npz")).step == 5


@pytest.mark.parametrize("args, size", [
    ("sample gan.npz --count 16 --out s.png", (8 * 28 + 9 * 2, 2 * 28 + 3 * 2)),
    ("sample cgan.npz --count 20 --out s.png", (2 * 28 + 3 * 2, 10 * 28 + 11 * 2)),  # a row per class
    ("sample cgan.npz --class 3 --count 4 --out s.png", (4 * 28 + 5 * 2, 28 + 2 * 2)),
    ("sample dcgan.npz --interpolate --spherical --count 2 --steps 5 --out s.png", (5 * 28 + 6 * 2, 2 * 28 + 3 * 2)),
    ("sample folder.npz --count 2 --out s.png", (2 * 64 + 3 * 2, 64 + 2 * 2)),
])
def test_sample_reads_a_generator_checkpoint(world, args, size):
    d, _ = world
    r = minigen(*args.split(), cwd=d)
    assert r.returncode == 0, r.stderr
    assert Image.open(d / "s.png").size == size
    os.remove(d / "s.png")


def test_sample_and_evaluate_a_toy_generator(world):
    d, _ = world
    r = minigen("sample", "ring.npz", "--count", "500", "--out", "pts.png", cwd=d)
    assert r.returncode == 0 and "500 points" in r.stdout, r.stderr
    r = minigen("evaluate", "ring.npz", "--n", "500", "--scatter", "sc.png", cwd=d)  # the toy from the ckpt
    assert r.returncode == 0, r.stderr
    assert "points against ring8" in r.stdout and "modes captured" in r.stdout and (d / "sc.png").exists()


def test_evaluate_a_conditional_generator(world):
    d, _ = world
    r = minigen("evaluate", "cgan.npz", "--n", "100", "--data", "mnist", cwd=d)
    assert r.returncode == 0, r.stderr
    assert "FLD" in r.stdout and "accuracy of the asked class" in r.stdout


@pytest.mark.parametrize("args, fragment", [
    ("train-gan --d-steps 0 --out x.npz", "--d-steps"),
    ("train-gan --model wgan --clip 0 --out x.npz", "--clip"),
    ("train-gan --model wgan --clip -1 --out x.npz", "--clip"),
    ("train-gan --model dcgan --clip 0.1 --out x.npz", "--clip"),
    ("train-gan --model gan --coding eq8 --out x.npz", "--coding"),
    ("train-gan --data ring8 --arch dcgan --out x.npz", "--arch mlp"),
    ("train-gan --model cgan --data ring8 --out x.npz", "labels"),
    ("train-gan --model cgan --images pngs --out x.npz", "labels"),
    ("train-gan --images empty --out x.npz", "empty"),
    ("train-gan --images pngs --size 30 --out x.npz", "--size 30"),
    ("train-gan --data nowhere --out x.npz", "--data"),
    ("train-gan --data mnist --out gan.npz", "--resume"),  # an existing checkpoint is kept
    ("train-gan --out sr.npz --resume", "sr.npz"),  # a checkpoint of another kind
    ("train-gan --data mnist --batch 1000 --out x.npz", "--batch"),
    ("sample cgan.npz --class 10", "--class"),
    ("sample gan.npz --class 1", "--class"),
    ("sample ring.npz --interpolate", "points"),
    ("gan-arithmetic ring.npz", "points"),
    ("gan-arithmetic cgan.npz", "conditional"),
    ("gan-arithmetic sr.npz", "sr.npz"),
    ("gan-arithmetic gan.npz --classes 4 4", "different"),
    ("gan-arithmetic dcgan.npz --pool 100", "confidence"),  # an untrained generator draws no readable digits
])
def test_bad_input_is_one_line_and_writes_nothing(world, args, fragment):
    d, _ = world
    before = digests(d)
    r = minigen(*args.split(), cwd=d)
    assert r.returncode in (1, 2), r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "Error:" not in r.stderr
    assert digests(d) == before
