"""minigen train-style, stylize and sample-texture: bit-identical to the code before the redesign
(tests/fixtures/golden/make_feedforward.py), end to end, `--out CKPT --resume` alone, and the file-safety
cases of each command run as a user would (a subprocess per case: exit status, one stderr line, no file
changed or created), signals and the time limit included."""
import concurrent.futures
import hashlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import minigen.cli as cli
from minigen.data.images import load_image, rgb_to_ycbcr, save_image
from minigen.data.procedural import scenes, shapes
from minigen.io import checkpoint
from minigen.models.vgg import VGG, save_vgg
from minigen.recipes.optimize import resize

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "fixtures", "golden")
FIXTURES = os.path.join(HERE, "..", "fixtures", "checkpoints")
CLASS_NAMES = re.compile(r"Traceback|[A-Z][A-Za-z]*(Error|Exception|Interrupt)\b")


def _cli(monkeypatch, argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.feedforward",))
    monkeypatch.setenv("MINIGEN_VGG", "random")
    return cli.main([str(a) for a in argv])


def _maker():
    spec = importlib.util.spec_from_file_location("make_feedforward", os.path.join(GOLDEN, "make_feedforward.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("gemm_convolutions")
@pytest.mark.parametrize("method", ["johnson", "texture-net", "multistyle", "adain"])
def test_results_equal_the_golden_bit_for_bit(monkeypatch, tmp_path, capsys, method):
    got = _maker().collect(method, str(tmp_path), run=lambda argv: _cli(monkeypatch, argv))
    capsys.readouterr()
    with np.load(os.path.join(GOLDEN, f"{method}.npz")) as golden:
        assert sorted(got) == sorted(golden.files)
        for name in golden.files:
            np.testing.assert_array_equal(got[name], golden[name], err_msg=f"{method}: {name}")


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A VGG-19 weight file that stops at relu2_2: quick to load and to run."""
    path = str(tmp_path_factory.mktemp("vgg") / "vgg.npz")
    save_vgg(path, VGG(19, last="relu2_2", seed=0))
    return path


def _train_argv(method, vgg_file, out, *extra):
    widths = {"johnson": ["4", "8", "8"], "multistyle": ["4", "8", "8"], "texture-net": ["4"], "adain": []}[method]
    return ["train-style", "--method", method, "--steps", "2", "--batch", "1", "--crop", "16",
            *(["--channels", *widths] if widths else []), "--residual", "1", "--scales", "3",
            "--style-layers", "relu1_1", "relu2_1", "--vgg", vgg_file, "--out", str(out), *extra]


def test_train_stylize_and_sample_end_to_end(monkeypatch, tmp_path, capsys, vgg_file):
    photo = tmp_path / "in" / "photo.png"
    os.makedirs(photo.parent)
    save_image(str(photo), shapes(1, 20, seed=1)[0])
    multi = tmp_path / "multi.npz"
    assert _cli(monkeypatch, _train_argv("multistyle", vgg_file, multi, "--style", "procedural:stripes",
                                         "procedural:waves", "--padded")) == 0
    assert os.path.exists(tmp_path / "multi.json")
    out = tmp_path / "out"
    assert _cli(monkeypatch, ["stylize", "--model", multi, photo.parent, "--out", out]) == 0
    assert sorted(os.listdir(out)) == ["photo_style0.png", "photo_style1.png"]
    assert load_image(str(out / "photo_style0.png")).shape == (20, 20, 3)
    assert _cli(monkeypatch, ["stylize", "--model", multi, photo, "--styles", "0:0.5,1:0.5", "--preserve-colors",
                              "--size", "24", "--out", tmp_path / "mix"]) == 0
    mixed = load_image(str(tmp_path / "mix" / "photo.png"))
    assert mixed.shape == (24, 24, 3)
    chroma = lambda img: rgb_to_ycbcr(img)[..., 1:].mean((0, 1))  # noqa: E731 -- --preserve-colors keeps it
    np.testing.assert_allclose(chroma(mixed), chroma(resize(load_image(str(photo)), (24, 24))), atol=0.02)

    tex = tmp_path / "tex.safetensors"
    assert _cli(monkeypatch, _train_argv("texture-net", vgg_file, tex, "--style", "procedural:dots")) == 0
    assert _cli(monkeypatch, ["sample-texture", "--model", tex, "--size", "22", "--count", "2",
                              "--out", tmp_path / "t.png"]) == 0
    assert load_image(str(tmp_path / "t-1.png")).shape == (22, 22, 3)

    ada = tmp_path / "adain.npz"
    assert _cli(monkeypatch, _train_argv("adain", vgg_file, ada, "--style", "procedural")) == 0
    style = tmp_path / "style.png"
    save_image(str(style), shapes(1, 16, seed=9)[0])
    assert _cli(monkeypatch, ["stylize", "--model", ada, photo, "--styles", f"{style}:0.7,{photo}:0.3",
                              "--alpha", "0.5", "--out", tmp_path / "ada"]) == 0
    assert load_image(str(tmp_path / "ada" / "photo.png")).shape == (20, 20, 3)
    capsys.readouterr()


def test_resume_needs_only_out_and_ends_as_an_uninterrupted_run(monkeypatch, tmp_path, capsys, vgg_file):
    full, part = tmp_path / "full.npz", tmp_path / "part.npz"
    common = ["--style", "procedural:stripes", "--content", "procedural", "--tv-weight", "1e-3", "--seed", "3"]
    assert _cli(monkeypatch, _train_argv("johnson", vgg_file, full, *common, "--steps", "4")) == 0
    assert _cli(monkeypatch, _train_argv("johnson", vgg_file, part, *common, "--steps", "2")) == 0
    capsys.readouterr()
    assert _cli(monkeypatch, ["train-style", "--out", part, "--resume", "--steps", "4"]) == 0
    assert "resuming from step 2 of 4" in capsys.readouterr().out
    a, b = checkpoint.load(str(full)), checkpoint.load(str(part))
    assert b.step == 4 and a.history == b.history
    for k, v in a.modules["net"].items():
        np.testing.assert_array_equal(b.modules["net"][k], v)
    # a setting given again must agree (the same value is accepted)
    assert _cli(monkeypatch, ["train-style", "--out", part, "--resume", "--steps", "5", "--crop", "16",
                              "--channels", "4", "8", "8", "--seed", "3", "--tv-weight", "1e-3",
                              "--style", "procedural:stripes", "--vgg", vgg_file]) == 0
    capsys.readouterr()
    assert _cli(monkeypatch, ["train-style", "--out", part, "--resume", "--steps", "6", "--tv-weight", "1e-2"]) == 1
    assert "--tv-weight 0.01: " in capsys.readouterr().err
    # --force replaces it with a new run
    assert _cli(monkeypatch, _train_argv("johnson", vgg_file, part, *common, "--steps", "1", "--force")) == 0
    assert checkpoint.load(str(part)).step == 1


def test_an_earlier_checkpoint_resumes_with_its_own_settings(monkeypatch, tmp_path, capsys):
    path = tmp_path / "old.npz"
    shutil.copy(os.path.join(FIXTURES, "style_texture_net.npz"), path)
    assert _cli(monkeypatch, ["train-style", "--out", path, "--resume", "--steps", "3"]) == 0
    assert "resuming from step 2 of 3" in capsys.readouterr().out
    saved = checkpoint.load(str(path), kind="train-style")
    assert saved.step == 3 and saved.settings["method"] == "texture-net" and saved.specs["net"]["kind"] == "texture-net"


def test_a_time_limit_saves_and_says_how_to_continue(monkeypatch, tmp_path, capsys, vgg_file):
    out = tmp_path / "run.npz"
    stale = tmp_path / ".run.npz.minigen-tmp-999999999-x"  # left by a killed writer
    stale.write_bytes(b"half a checkpoint")
    argv = _train_argv("johnson", vgg_file, out, "--style", "procedural", "--steps", "1000", "--log-every", "1000")
    assert _cli(monkeypatch, [*argv, "--time-limit", "0.001"]) == 0
    assert f"stopped at step 1 of 1000 (--time-limit); saved {out}" in capsys.readouterr().out
    assert checkpoint.load(str(out)).step == 1 and not stale.exists()


# ---- the real command, a process per case ------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory, vgg_file):
    """A folder of inputs: a photo in a folder, a johnson and a texture checkpoint, a damaged checkpoint, a text
    file posing as an image, an existing folder with a checkpoint's name."""
    d = tmp_path_factory.mktemp("world")
    os.makedirs(d / "in")
    save_image(str(d / "in" / "photo.png"), shapes(1, 20, seed=1)[0])
    quiet = ["--log-every", "1000", "--steps", "1"]
    with pytest.MonkeyPatch.context() as mp:
        assert _cli(mp, _train_argv("johnson", vgg_file, d / "j.npz", "--style", "procedural", *quiet)) == 0
        assert _cli(mp, _train_argv("texture-net", vgg_file, d / "t.npz", "--style", "procedural", *quiet)) == 0
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (d / "notes.png").write_text("not an image")
    os.makedirs(d / "runs.npz")
    shutil.copy(vgg_file, d / "vgg.npz")
    return d


NEW = "train-style --method johnson --style procedural"  # a new run
LONG_RUN = "--steps 100000 --batch 1 --crop 16 --channels 4 8 8 --residual 1 --style-layers relu1_1 --vgg vgg.npz"
# (name, argv run in a copy of the world folder, exit status, a fragment of the one error line)
CASES = [
    ("stylize out is the input folder", "stylize --model j.npz in --out in", 1, "is also an input"),
    ("stylize out holds the input", "stylize --model j.npz in/photo.png --out in", 1, "holds the input"),
    ("stylize out is the input file", "stylize --model j.npz in/photo.png --out in/photo.png", 1, "in/photo.png"),
    ("stylize unreadable input", "stylize --model j.npz notes.png --out o", 1, "notes.png"),
    ("stylize damaged model", "stylize --model corrupt.npz in/photo.png --out o", 1, "corrupt.npz"),
    ("train-style wrong extension", f"{NEW} --out model.png", 1, "a checkpoint is written as .npz or .safetensors"),
    ("train-style out is a folder", f"{NEW} --out runs.npz", 1, "is a folder"),
    ("train-style existing checkpoint", f"{NEW} --out j.npz", 1, "continue it with --resume or replace it with"),
    ("train-style out is an input", f"{NEW} --vgg vgg.npz --out vgg.npz --force", 1, "is also an input"),
    ("train-style name too long", f"{NEW} --out {'x' * 300}.npz", 1, "is too long for the file system"),
    ("train-style resume other crop", "train-style --out j.npz --resume --steps 5 --crop 32", 1,
     "--crop 32: j.npz was made with another --crop"),
    ("train-style resume other method", "train-style --out j.npz --resume --steps 5 --method adain", 1,
     "--method adain: j.npz was made with another --method"),
    ("train-style resume missing", "train-style --out missing.npz --resume", 1, "no checkpoint at missing.npz"),
    ("train-style resume finished", "train-style --out j.npz --resume", 1, "already at step 1 of 1"),
    ("train-style crop under the size rule", f"{NEW} --crop 8", 1, "--crop 8: training crop size 8x8 is too small"),
    ("train-style channels count", f"{NEW} --channels 4 8", 1, "--channels 4 8: johnson takes 3 positive width"),
    ("train-style memory", f"{NEW} --max-memory 1e-6", 1, "needs about"),
    ("sample-texture not a generator", "sample-texture --model j.npz", 1, "not a texture generator"),
    ("sample-texture missing", "sample-texture --model missing.npz", 1, "missing.npz: no such file"),
    ("sample-texture damaged", "sample-texture --model corrupt.npz", 1, "corrupt.npz"),
]
# Numbers out of range, refused by argparse at the door: (command, flag, value, the range)
NUMBERS = [(NEW, "--style-size", "0", "a positive integer"), (NEW, "--steps", "0", "a positive integer"),
           (NEW, "--batch", "0", "a positive integer"), (NEW, "--lr", "inf", "a positive number"),
           (NEW, "--lr", "nan", "a positive number"), (NEW, "--save-every", "-1", "a non-negative integer"),
           (NEW, "--log-every", "0", "a positive integer"), (NEW, "--channels", "0", "a positive integer"),
           (NEW, "--residual", "-1", "a positive integer"), (NEW, "--style-weight", "nan", "a non-negative number"),
           ("stylize --model j.npz in/photo.png --out o", "--size", "0", "a positive integer"),
           ("sample-texture --model t.npz", "--size", "0", "a positive integer"),
           ("sample-texture --model t.npz", "--count", "0", "a positive integer")]
CASES += [(f"{command.split()[0]} {flag} {value}", f"{command} {flag} {value}", 2,
           f"{flag}: expected {what}, not {value}") for command, flag, value, what in NUMBERS]


def _snapshot(root):
    return {os.path.relpath(os.path.join(folder, name), root):
            hashlib.sha256(open(os.path.join(folder, name), "rb").read()).hexdigest() if name in names else "dir"
            for folder, dirs, names in os.walk(root) for name in dirs + names}


def run_cases(world, tmp_path_factory, cases):
    """{name: (status, stderr, files before, files after)}: each case in its own copy of ``world``, side by side."""
    def one(case):
        name, argv = case[:2]
        d = tmp_path_factory.mktemp("case")
        shutil.copytree(world, d, dirs_exist_ok=True)
        before = _snapshot(d)
        env = {**os.environ, "MINIGEN_VGG": "random"}
        r = subprocess.run([sys.executable, "-m", "minigen", *argv.split()], cwd=d, capture_output=True, text=True,
                           env=env, timeout=120)
        return name, (r.returncode, r.stderr, before, _snapshot(d))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, cases))


@pytest.fixture(scope="module")
def outcomes(world, tmp_path_factory):
    return run_cases(world, tmp_path_factory, CASES)


def check_refused(outcome, status, needle):
    """The exit status, exactly one stderr line without a traceback or an exception's name, and no file
    changed or created."""
    code, err, before, after = outcome
    assert code == status, err
    assert err.endswith("\n") and err.count("\n") == 1 and not CLASS_NAMES.search(err), err
    assert needle in err, err
    assert after == before, sorted(set(after.items()) ^ set(before.items()))


@pytest.mark.parametrize("name, argv, status, needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_work(outcomes, name, argv, status, needle):
    check_refused(outcomes[name], status, needle)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_and_exits_with_one_line(world, tmp_path, sig):
    shutil.copytree(world, tmp_path, dirs_exist_ok=True)
    p = subprocess.Popen([sys.executable, "-m", "minigen", "train-style", "--method", "johnson", "--style",
                          "procedural", *LONG_RUN.split(), "--log-every", "1", "--out", "run.npz"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline()  # the first progress line: training has begun
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert first.startswith("johnson: step 1/100000") and p.returncode == 130, err
    last = err.splitlines()[-1]
    assert re.fullmatch(rf"minigen: error: johnson: stopped by {sig.name} at step (\d+) of 100000; saved run.npz "
                        r"\(continue with --resume\)", last), err
    assert not CLASS_NAMES.search(err) and all(line.startswith("johnson: step") for line in err.splitlines()[:-1])
    assert checkpoint.load(str(tmp_path / "run.npz")).step == int(re.search(r"step (\d+) of", last).group(1))


def test_demo_section_runs_the_bundled_networks(tmp_path):
    """The gallery's feed-forward section: Johnson's network, the two styles and the morph, textures, AdaIN
    with three styles and its alpha strip; the two CIN styles differ from each other, and each AdaIN result
    has moved towards its style's feature statistics."""
    from minigen.cli.feedforward import demo_section
    from minigen.report.gallery import Gallery
    gallery = Gallery(str(tmp_path))
    demo_section(gallery, "cpu", 0, quick=True)
    (section,) = gallery.sections
    files = {f for f, _ in section["items"]}
    assert files == {"ff_johnson.png", "ff_multistyle.png", "ff_morph.png", "ff_texture.png", "ff_adain.png",
                     "ff_adain_alpha.png"}
    grid = load_image(str(tmp_path / "ff_multistyle.png"))
    top, bottom = grid[: grid.shape[0] // 2], grid[grid.shape[0] // 2:]
    assert np.abs(top.mean(axis=(0, 1)) - bottom.mean(axis=(0, 1))).max() > 0.03  # two styles, two palettes
    # AdaIN: the decoded image's VGG feature statistics (what its style loss matches: per-channel mean and
    # standard deviation at relu1_1..relu3_1) are nearer each style's than the scene's were
    from minigen.recipes.feedforward.methods import feature_net
    from minigen.tensor import Tensor
    vgg, _ = feature_net("bundled")
    layers = ["relu1_1", "relu2_1", "relu3_1"]

    def moments(img):
        f = vgg(Tensor(np.ascontiguousarray(img.transpose(2, 0, 1)[None], np.float32)), layers)
        return np.concatenate([np.concatenate([v.data.mean(axis=(2, 3)), v.data.std(axis=(2, 3))], 1)[0]
                               for v in f.values()])
    grid = load_image(str(tmp_path / "ff_adain.png"))  # styles on top, the first scene in each below
    h, w = grid.shape[0] // 2, grid.shape[1] // 3
    tile = lambda r, k: grid[r * h + 2:(r + 1) * h - 2, k * w + 2:(k + 1) * w - 2]  # noqa: E731 (no frame)
    scene = moments(scenes(3, 96, seed=20_000)[0].transpose(1, 2, 0)[2:-2, 2:-2])  # quick: 96 px
    for k in range(3):  # the bundled decoder: 0.59, 0.60, 0.83 of the scene's distance (an unstylised
        # reconstruction would stay near 1)
        style = moments(tile(0, k))
        assert np.linalg.norm(moments(tile(1, k)) - style) < 0.9 * np.linalg.norm(scene - style), k
