"""minigen sample CKPT: any checkpoint's generator rebuilt from the file alone; the same textures as
sample-texture, one image or a grid; networks that cannot sample refused in one line naming the command
that uses them (the real command, a process per case)."""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minigen.cli as cli
from minigen.data.images import load_image
from minigen.recipes import sample as sampling
from minigen.recipes.feedforward import sample_textures
from minigen.report import image_grid

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "checkpoints")
TRAIN = "train-style --steps 1 --batch 1 --crop 16 --style-layers relu1_1 --log-every 100 --vgg vgg.npz"


def _main(monkeypatch, argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.feedforward", "minigen.cli.sample"))
    return cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A texture generator, a texture network with a content input, a transform net, an SR checkpoint, a
    damaged file."""
    from minigen.models.vgg import VGG, save_vgg
    d = tmp_path_factory.mktemp("world")
    save_vgg(str(d / "vgg.npz"), VGG(19, last="relu1_1", seed=0))
    here = os.getcwd()
    os.chdir(d)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for extra in ("--method texture-net --style procedural:dots --channels 2 --scales 3 --out t.npz",
                          "--method texture-net --style procedural --content procedural --channels 2 --scales 2 "
                          "--out tc.npz",
                          "--method johnson --style procedural --channels 2 2 2 --residual 1 --padded --out j.npz"):
                assert _main(mp, TRAIN.split() + extra.split()) == 0
    finally:
        os.chdir(here)
    shutil.copy(os.path.join(FIXTURES, "sr_srcnn.npz"), d / "sr.npz")
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")
    return d


def test_one_sample_and_a_grid_equal_sample_texture(monkeypatch, world, tmp_path, capsys):
    t = str(world / "t.npz")
    assert _main(monkeypatch, ["sample", t, "--size", "20", "--seed", "4", "--out", tmp_path / "one.png"]) == 0
    assert _main(monkeypatch, ["sample-texture", "--model", t, "--size", "20", "--seed", "4",
                               "--out", tmp_path / "tex.png"]) == 0
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "tex.png").read_bytes()
    assert _main(monkeypatch, ["sample", t, "--size", "12", "--count", "3", "--out", tmp_path / "grid.png"]) == 0
    assert "wrote" in capsys.readouterr().out
    expected = np.round(image_grid(sample_textures(t, 12, count=3)) * 255) / 255
    np.testing.assert_allclose(load_image(str(tmp_path / "grid.png")), expected, atol=1e-6)


def test_a_checkpoint_of_an_earlier_minigen_samples():
    name, net = sampling.load_generator(os.path.join(FIXTURES, "style_texture_net.npz"))
    assert name == "net" and net.kind == "texture-net"
    images = sampling.sample(os.path.join(FIXTURES, "style_texture_net.npz"), count=2, size=9, seed=1)
    assert images.shape == (2, 3, 9, 9) and 0 <= images.min() and images.max() <= 1


CASES = [
    ("size 0", "sample t.npz --size 0", 2, "--size: expected a positive integer, not 0"),
    ("count 0", "sample t.npz --count 0", 2, "--count: expected a positive integer, not 0"),
    ("a transform net", "sample j.npz", 1, "its transform-net network cannot sample (a train-style checkpoint); "
                                           "use `minigen stylize --model j.npz`"),
    ("an SR network", "sample sr.npz", 1, "its srcnn network cannot sample (a train-sr checkpoint); "
                                          "use `minigen sr --model sr.npz`"),
    ("a texture net with content", "sample tc.npz", 1, "its texture-net network takes a content image and cannot "
                                                       "sample (a train-style checkpoint); use `minigen stylize"),
    ("missing", "sample missing.npz", 1, "missing.npz: no such file"),
    ("damaged", "sample corrupt.npz", 1, "corrupt.npz"),
    ("out is the checkpoint", "sample t.npz --out t.npz", 1, "--out t.npz"),
    ("out is a folder", "sample t.npz --out sub.png", 1, "is a folder"),
    ("memory", "sample t.npz --size 100000", 1, "needs about"),
]


@pytest.fixture(scope="module")
def outcomes(world, tmp_path_factory):
    def run(case):
        d = tmp_path_factory.mktemp("case")
        shutil.copytree(world, d, dirs_exist_ok=True)
        os.makedirs(d / "sub.png")
        before = {n: (d / n).read_bytes() if (d / n).is_file() else None for n in sorted(os.listdir(d))}
        r = subprocess.run([sys.executable, "-m", "minigen", *case[1].split()], cwd=d, capture_output=True,
                           text=True, timeout=120)
        after = {n: (d / n).read_bytes() if (d / n).is_file() else None for n in sorted(os.listdir(d))}
        return case[0], (r.returncode, r.stderr, before == after)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("name, argv, status, needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line(outcomes, name, argv, status, needle):
    code, err, unchanged = outcomes[name]
    assert code == status and err.count("\n") == 1 and needle in err, err
    assert not re.search(r"Traceback|[A-Z][A-Za-z]*(Error|Exception)\b", err), err
    assert unchanged  # no input changed, no output written
