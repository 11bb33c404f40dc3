"""``minigen train-ae`` and ``minigen reconstruct`` run as a user would (subprocesses): every --model
trains, writes its checkpoint and reports a test loss; a run resumes; reconstructions, samples and the
yardsticks of the checkpoints; bad input refused in one line with nothing written or changed. A small
MNIST folder of procedural digits stands in for the real files."""
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from minigen.zoo import load_network

from .digit_files import digests, minigen, write_inputs

TINY = "--epochs 1 --batch 50 --hidden 16 --latent 2 --log-every 100"




@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An MNIST folder (300 training, 200 test digits), a folder of four PNG digits, an empty folder, an SR
    checkpoint, and a tiny checkpoint of every model (whose training output is kept)."""
    d = tmp_path_factory.mktemp("autoencoder")
    write_inputs(d)
    runs = {}
    for model in ("ae", "vae", "cvae", "iwae", "paired"):
        r = minigen("train-ae", "--model", model, "--data", "mnist", *TINY.split(), "--k", "3" if model == "iwae"
                    else "1", "--out", f"{model}.npz", cwd=d)
        assert r.returncode == 0, r.stderr
        runs[model] = r
    return d, runs



@pytest.mark.parametrize("model", ["ae", "vae", "cvae", "iwae", "paired"])
def test_every_model_trains_and_writes_its_checkpoint(world, model):
    d, runs = world
    out = runs[model].stdout
    net, ckpt = load_network(str(d / f"{model}.npz"))
    assert ckpt.kind == "autoencoder" and ckpt.settings["model"] == model
    # one epoch of 300 digits in batches of 50; the paired model's domains are 150 digits each: 3 steps
    assert ckpt.step == (3 if model == "paired" else 6)
    assert net.kind == {"ae": "autoencoder", "paired": "paired-autoencoder"}.get(model, "vae")
    assert net.latent == 2 and net.hidden == (16,) and net.shape == (1, 28, 28)
    assert getattr(net, "classes", 0) == (10 if model == "cvae" else 0)
    if model == "paired":
        assert f"wrote {model}.npz" in out
        assert ckpt.settings["distort"] == "morph"  # the default of --transform thick
    else:
        # a loss in nats per image over the 200 test digits; an untrained 784-pixel Bernoulli model is near
        # 784 log 2 = 543, so anything positive below ~600 is a sane figure for one epoch
        m = re.search(r"test loss ([0-9.]+) nats per image \(200 test digits\)", out)
        assert m and 0 < float(m.group(1)) < 600, out


def test_resume_continues_the_run(world):
    d, _ = world
    shutil.copy(d / "vae.npz", d / "again.npz")
    try:
        r = minigen("train-ae", "--out", "again.npz", "--resume", "--epochs", "2", "--log-every", "100", cwd=d)
        assert r.returncode == 0, r.stderr
        assert "resuming from step 6 of 12" in r.stdout and "test loss" in r.stdout
        _, ckpt = load_network(str(d / "again.npz"))
        assert ckpt.step == 12 and ckpt.settings["epochs"] == 2
    finally:
        os.remove(d / "again.npz")


@pytest.mark.parametrize("model, count, size", [
    ("vae", 16, (8 * 28 + 9 * 2, 4 * 28 + 5 * 2)),  # two blocks of 8: inputs above outputs, 2-pixel borders
    ("cvae", 5, (5 * 28 + 6 * 2, 2 * 28 + 3 * 2)),
    ("paired", 8, (8 * 28 + 9 * 2, 3 * 28 + 4 * 2)),  # inputs, decoder a, decoder b
])
def test_reconstruct_writes_the_picture(world, model, count, size):
    d, _ = world
    r = minigen("reconstruct", f"{model}.npz", "--data", "mnist", "--count", count, "--out", "r.png", cwd=d)
    try:
        assert r.returncode == 0, r.stderr
        assert f"({count} images" in r.stdout
        assert Image.open(d / "r.png").size == size
    finally:
        os.remove(d / "r.png")


def test_train_and_reconstruct_an_image_folder(world):
    d, _ = world
    try:
        r = minigen("train-ae", "--model", "ae", "--images", "pngs", "--size", "16", "--batch", "2", "--epochs", "1",
                    "--hidden", "8", "--out", "folder.npz", cwd=d)
        assert r.returncode == 0, r.stderr
        assert "wrote folder.npz" in r.stdout and "test loss" not in r.stdout  # no test split of a folder
        net, _ = load_network(str(d / "folder.npz"))
        assert net.shape == (1, 16, 16)
        r = minigen("reconstruct", "folder.npz", "--images", "pngs", "--out", "f.png", cwd=d)
        assert r.returncode == 0, r.stderr
        assert Image.open(d / "f.png").size == (4 * 16 + 5 * 2, 2 * 16 + 3 * 2)  # the folder's 4 images
        r = minigen("reconstruct", "folder.npz", "--out", "f2.png", cwd=d)  # it knows no test digits
        assert r.returncode == 1 and "--images" in r.stderr and not (d / "f2.png").exists()
    finally:
        for name in ("folder.npz", "f.png"):
            if (d / name).exists():
                os.remove(d / name)


def test_evaluate_and_sample_take_a_vae_checkpoint(world):
    d, _ = world
    r = minigen("evaluate", "vae.npz", "--n", "50", "--data", "mnist", cwd=d)
    assert r.returncode == 0, r.stderr
    assert "50 samples against 200" in r.stdout and "FLD" in r.stdout
    try:
        r = minigen("sample", "vae.npz", "--count", "1", "--seed", "3", "--out", "one.png", cwd=d)
        assert r.returncode == 0, r.stderr
        # one sample at the model's own size: the decoded prior draw of the seed (VAE.sample)
        net, _ = load_network(str(d / "vae.npz"))
        want = np.round(net.sample(1, rng=np.random.default_rng(3))[0, 0] * 255)
        np.testing.assert_array_equal(np.asarray(Image.open(d / "one.png")), want)
        r = minigen("sample", "cvae.npz", "--count", "20", "--class", "3", "--out", "grid.png", cwd=d)
        assert r.returncode == 0, r.stderr
        assert (d / "grid.png").exists()
    finally:
        for name in ("one.png", "grid.png"):
            if (d / name).exists():
                os.remove(d / name)


@pytest.mark.parametrize("args, fragment", [
    ("reconstruct sr.npz --data mnist", "train-sr"),  # a checkpoint of another kind
    ("train-ae --k 0 --out k.npz", "--k"),
    ("train-ae --model cvae --images pngs --out c.npz", "--images"),
    ("train-ae --arch conv --hidden 8 --out c.npz", "--hidden"),
    ("train-ae --arch conv --images pngs --size 30 --out c.npz", "--size"),
    ("train-ae --images-b pngs --out b.npz", "--images-b"),
    ("train-ae --model paired --images pngs --out p.npz", "--images-b"),
    ("train-ae --model vae --distort morph --out d.npz", "--distort"),
    ("train-ae --images pngs --data mnist --out b.npz", "--data"),
    ("train-ae --images empty --out e.npz", "empty"),
    ("reconstruct vae.npz --images empty", "empty"),
    ("reconstruct vae.npz --images pngs --out pngs/0.png", "input"),  # the output would replace an input
    ("reconstruct vae.npz --out vae.npz", "--out"),
    ("reconstruct vae.npz --count 0", "--count"),
    ("train-ae --data mnist --out vae.npz", "--resume"),  # an existing checkpoint is kept
    ("train-ae --out missing.npz --resume", "missing.npz"),
    ("train-ae --out vae.npz --resume --latent 3", "latent"),
    ("train-ae --data mnist --batch 1000 --out big.npz", "--batch"),
    ("train-ae --data nowhere --out n.npz", "--data"),
    ("train-ae --data mnist --out nofolder/a.npz", "nofolder"),
    ("sample cvae.npz --class 10", "--class"),  # a label outside the classes 0 to 9
    ("sample vae.npz --class 1", "--class"),  # an unconditional VAE
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
