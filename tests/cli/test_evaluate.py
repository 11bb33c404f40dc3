"""``minigen evaluate`` and ``minigen train-lenet`` run as a user would (subprocesses): the score
table and its JSON, the nearest-neighbour picture, toy samples, and bad input refused in one line
with nothing written. A small MNIST folder of procedural digits stands in for the real files."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from minigen.data.digits import digits
from minigen.data.toys import sample_toy

from .digit_files import minigen, write_mnist




@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("evaluate")
    write_mnist(d / "mnist")
    images, labels = digits(100, seed=2)
    np.save(d / "digits.npy", images / 255.0)
    np.save(d / "labels.npy", labels)
    np.save(d / "noise.npy", np.random.default_rng(0).random((100, 1, 28, 28)))
    np.save(d / "ring.npy", sample_toy("ring8", 2500, np.random.default_rng(0)))
    np.save(d / "bad_range.npy", images / 100.0)
    nan = images / 255.0
    nan[3, 4, 5] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "wrong_shape.npy", np.zeros((10, 32, 32)))
    np.save(d / "short_labels.npy", labels[:50])
    (d / "pngs").mkdir()
    for i in range(4):
        Image.fromarray(images[i]).save(d / "pngs" / f"{i}.png")
    (d / "empty").mkdir()
    (d / "notes.txt").write_text("hello\n")
    r = minigen("train-style", "--method", "texture-net", "--style", "procedural:dots", "--steps", "1", "--batch",
                "1", "--crop", "16", "--channels", "2", "--scales", "3", "--out", "tex.npz", cwd=d)
    assert r.returncode == 0, r.stderr
    return d


def _files(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def test_digits_give_the_table_the_json_and_the_picture(world):
    r = minigen("evaluate", "digits.npy", "--data", "mnist", "--labels", "labels.npy", "--json", "s.json",
                "--nn-out", "nn.png", cwd=world)
    assert r.returncode == 0, r.stderr
    assert "FLD" in r.stdout and "accuracy of the asked class" in r.stdout
    scores = json.loads((world / "s.json").read_text())
    assert set(scores) == {"fld", "class_kl", "confidence", "inception_score", "accuracy"}
    noise = minigen("evaluate", "noise.npy", "--data", "mnist", "--json", "n.json", cwd=world)
    assert noise.returncode == 0, noise.stderr
    worse = json.loads((world / "n.json").read_text())
    # digits of the same generator as the reference score far better than uniform noise
    assert worse["fld"] > 10 * scores["fld"] and scores["accuracy"] > 0.5
    picture = Image.open(world / "nn.png")
    assert picture.size == (3 * (4 * 58 + 5 * 4), 3 * (8 * 28 + 9 * 4))  # 8 rows of 4 pairs of 28 + 2 + 28, 3x
    for name in ("s.json", "n.json", "nn.png"):
        os.remove(world / name)


def test_a_folder_of_pngs(world):
    r = minigen("evaluate", "pngs", "--data", "mnist", cwd=world)
    assert r.returncode == 0, r.stderr
    assert "4 samples against 200" in r.stdout


def test_toy_samples_and_their_scatter(world):
    r = minigen("evaluate", "ring.npy", "--toy", "ring8", "--json", "t.json", "--scatter", "t.png", cwd=world)
    assert r.returncode == 0, r.stderr
    scores = json.loads((world / "t.json").read_text())
    assert scores["modes"] == 8 and scores["high_quality"] > 97 and scores["reverse_kl"] < 0.01
    assert Image.open(world / "t.png").size == (400, 400)
    os.remove(world / "t.json")
    os.remove(world / "t.png")


@pytest.mark.parametrize("args, fragment", [
    ("evaluate wrong_shape.npy --data mnist", "(N, 28, 28)"),
    ("evaluate bad_range.npy --data mnist", "[0, 1]"),
    ("evaluate nan.npy --data mnist", "NaN"),
    ("evaluate empty --data mnist", "empty"),
    ("evaluate missing.npy --data mnist", "missing.npy"),
    ("evaluate notes.txt --data mnist", "notes.txt"),
    ("evaluate digits.npy --data mnist --labels short_labels.npy", "--labels"),
    ("evaluate digits.npy --data nowhere", "--data"),
    ("evaluate digits.npy --toy ring8", "(N, 2)"),
    ("evaluate ring.npy --data mnist", "(N, 28, 28)"),
    ("evaluate digits.npy --data mnist --json digits.npy", "--json"),
    ("evaluate digits.npy --data mnist --json out.txt", "--json"),
    ("evaluate digits.npy --data mnist --nn-out nofolder/nn.png", "nofolder"),
    ("evaluate ring.npy --scatter s.png", "--toy"),
    ("evaluate ring.npy --toy ring9", "--toy"),
    ("evaluate digits.npy --n 0", "--n"),
    ("evaluate tex.npz --n 4 --data mnist", "(N, 28, 28)"),  # a generator of colour textures, not digits
    ("evaluate digits.npy --data mnist --classifier notes.txt", "notes.txt"),
    ("train-lenet --data nowhere", "--data"),
    ("train-lenet --data mnist --epochs 0", "--epochs"),
    ("train-lenet --data mnist --lr nan", "--lr"),
    ("train-lenet --data mnist --batch 100000 --out big.npz", "--batch"),
    ("train-lenet --data mnist --out digits.npy", "--out"),
])
def test_bad_input_is_one_line_and_writes_nothing(world, args, fragment):
    before = _files(world)
    r = minigen(*args.split(), cwd=world)
    assert r.returncode in (1, 2), r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "Error:" not in r.stderr
    assert _files(world) == before


def test_train_lenet_trains_exports_and_resumes(world):
    r = minigen("train-lenet", "--data", "mnist", "--epochs", "1", "--batch", "50", "--out", "run.npz",
                "--export", "lenet.safetensors", "--log-every", "2", cwd=world)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and "on 200 " in r.stdout
    again = minigen("train-lenet", "--out", "run.npz", "--resume", "--epochs", "2", "--log-every", "2", cwd=world)
    assert again.returncode == 0, again.stderr
    assert "resuming from step 6 of 12" in again.stdout
    r = minigen("evaluate", "digits.npy", "--data", "mnist", "--classifier", "lenet.safetensors", cwd=world)
    assert r.returncode == 0 and "FLD" in r.stdout, r.stderr
    for name in ("run.npz", "lenet.safetensors"):
        os.remove(world / name)
