"""minigen train-sr / sr: the commands end to end, the golden outputs of the code before the redesign (bit for
bit), resuming with the checkpoint's own settings, and every refusal of bad input driven through the real
`python -m minigen`: status, one line on stderr, no file changed and none created."""
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import minigen.cli
from minigen.data.images import load_image, save_image
from minigen.data.procedural import shapes
from minigen.io import checkpoint as ckpt_io
from minigen.recipes.sr import load_sr_model

from .test_main import one_line

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "fixtures", "golden")
FIXTURES = os.path.join(HERE, "..", "fixtures", "checkpoints")
TRAIN = ["train-sr", "--steps", "2", "--batch", "2", "--patch", "16", "--width", "4"]
SR = ["sr", "in.png", "--model", "m.npz"]


@pytest.fixture(autouse=True)
def no_vgg_variable(monkeypatch):
    monkeypatch.setenv("MINIGEN_VGG", "random")  # the perceptual runs take the seeded random VGG-16


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setattr(minigen.cli, "COMMAND_MODULES", ("minigen.cli.sr",))
    return minigen.cli.main


def _image(seed=0, size=24):
    return shapes(1, size, seed=seed)[0].transpose(1, 2, 0)


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.usefixtures("gemm_convolutions")
@pytest.mark.parametrize("name", ["srcnn", "srcnn-955", "vdsr", "perceptual"])
def test_golden_outputs_of_the_code_before_the_redesign(cli, tmp_path, name, capsys):
    """tests/fixtures/golden/<model>.npz (made by make_sr.py there): weights, losses and sr's image, exactly."""
    g = np.load(os.path.join(GOLDEN, f"{name}.npz"))
    ckpt, src, out = (str(tmp_path / f) for f in ("m.npz", "in.png", "out.png"))
    # The feature loss as a relative error came later (the default since); the golden holds Johnson et al.'s sum.
    paper = ["--normalize", "none"] if name == "perceptual" else []
    assert cli(list(g["train"]) + paper + ["--out", ckpt]) == 0
    c = ckpt_io.load(ckpt, kind="train-sr")
    weights = {k[len("weight/"):]: g[k] for k in g.files if k.startswith("weight/")}
    assert set(c.modules["net"]) == set(weights)
    for k, v in weights.items():
        np.testing.assert_array_equal(c.modules["net"][k], v)
    for k in (k for k in g.files if k.startswith("history/")):
        np.testing.assert_array_equal(c.history[k[len("history/"):]], g[k])
    save_image(src, g["input"] / 255)
    sr = list(g["sr"])
    assert cli(sr[:2] + [ckpt] + sr[2:] + [src, "--out", out]) == 0
    np.testing.assert_array_equal(np.rint(load_image(out, mode=None) * 255).astype(np.uint8), g["output"])


def test_train_then_upscale_from_the_command_line(cli, tmp_path, capsys):
    ckpt, src, out = str(tmp_path / "m.safetensors"), str(tmp_path / "in.png"), str(tmp_path / "out.png")
    assert cli(["train-sr", "--model", "vdsr", "--scales", "2,3", "--steps", "3", "--batch", "2", "--patch", "16",
                "--width", "4", "--depth", "3", "--augment", "--out", ckpt]) == 0
    assert load_sr_model(ckpt)[1]["augment"] is True
    save_image(src, _image(4, 20))
    assert cli(["sr", src, "--model", ckpt, "--scale", "3", "--out", out]) == 0
    assert load_image(out).shape == (60, 60, 3)
    save_image(src, _image(4, 20)[..., 0])  # a grey image stays grey
    assert cli(["sr", src, "--model", ckpt, "--scale", "2", "--out", out, "--max-memory-gib", "1"]) == 0
    assert load_image(out, mode=None).shape == (40, 40)
    assert "minigen: note: --max-memory-gib is now --max-memory" in capsys.readouterr().err


def test_perceptual_network_trains_with_the_feature_loss(cli, tmp_path, capsys):
    ckpt, src, out = str(tmp_path / "p.npz"), str(tmp_path / "in.png"), str(tmp_path / "out.png")
    assert cli(["train-sr", "--model", "perceptual", "--scale", "4", "--steps", "2", "--batch", "2", "--patch",
                "16", "--width", "4", "--depth", "1", "--out", ckpt]) == 0
    assert "random VGG-16" in capsys.readouterr().err
    save_image(src, _image(5, 12))
    assert cli(["sr", src, "--model", ckpt, "--out", out]) == 0
    assert load_image(out).shape == (48, 48, 3)


def test_resume_needs_only_the_checkpoint_and_goes_on_to_the_runs_total(cli, tmp_path, capsys):
    """A run stopped after step 1 of 4, resumed with `--out CKPT --resume`, ends as the run of 4 steps."""
    from minigen.recipes.sr import run_training
    full, ckpt = str(tmp_path / "full.npz"), str(tmp_path / "m.npz")
    assert cli(["train-sr", "--model", "vdsr", "--depth", "3", "--scales", "2,3", "--augment", "--batch", "2",
                "--patch", "16", "--width", "4", "--seed", "3", "--lr-step", "3", "--steps", "4", "--out", full]) == 0
    c = ckpt_io.load(full)
    run_training(c.settings, 4, out=ckpt, log_every=100, time_limit=0.0)  # stops after its first step
    assert ckpt_io.load(ckpt).step == 1 and ckpt_io.load(ckpt).extra["steps"] == 4
    capsys.readouterr()
    assert cli(["train-sr", "--out", ckpt, "--resume"]) == 0
    assert "resuming from step 1 of 4" in capsys.readouterr().out
    resumed = ckpt_io.load(ckpt)
    assert resumed.step == 4 and resumed.history == c.history and resumed.settings == c.settings
    for k, v in c.modules["net"].items():
        np.testing.assert_array_equal(resumed.modules["net"][k], v)


def test_resume_refuses_other_settings_but_takes_a_new_learning_rate(cli, tmp_path, capsys):
    ckpt = str(tmp_path / "m.npz")
    run = ["train-sr", "--batch", "2", "--patch", "16", "--width", "4", "--out", ckpt]
    assert cli(run + ["--steps", "2"]) == 0
    before = _bytes(ckpt)
    capsys.readouterr()
    for other, message in ((["--scale", "2"], "--scale 2: "),
                           (["--scales", "3,4"], "--scales 3,4: "),
                           (["--width", "6"], '--width 6: ' + ckpt + ': made with kwargs {"n1": 4, "n2": 2} (not '
                                                                     '{"n1": 6, "n2": 3})'),
                           (["--model", "vdsr", "--width", "4"], '--model vdsr: ' + ckpt + ': made with model '
                                                                                          '"srcnn" (not "vdsr")'),
                           (["--augment", "--seed", "1"], "--augment, --seed 1: "),
                           (["--steps", "2"], "already at step 2 of 2")):
        assert cli(run + ["--steps", "4", "--resume"] + other) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
        assert _bytes(ckpt) == before  # nothing trained, nothing written
    assert cli(run + ["--steps", "4", "--resume", "--lr", "1e-4", "--lr-step", "3"]) == 0
    printed = capsys.readouterr().out
    assert "resuming with lr 0.0001 (the checkpoint was made with 0.001)" in printed
    assert "resuming with lr_step 3 (the checkpoint was made with 0)" in printed
    assert "resuming from step 2 of 4" in printed
    model, settings = load_sr_model(ckpt)
    assert settings["lr"] == 1e-4 and settings["lr_step"] == 3
    assert cli(["train-sr", "--out", ckpt, "--force", "--steps", "1", "--batch", "1", "--patch", "13"]) == 0
    assert ckpt_io.load(ckpt).step == 1  # --force: a new run


# ---- refusals, through the real command ------------------------------------------------------------------

def _folder(root):
    """The files of a folder tree, with their bytes (and the folders, empty ones included)."""
    found = {}
    for here, dirs, files in os.walk(root):
        for d in dirs:
            found[os.path.relpath(os.path.join(here, d), root) + "/"] = None
        for f in files:
            found[os.path.relpath(os.path.join(here, f), root)] = _bytes(os.path.join(here, f))
    return found


# (id, arguments, exit status, what the line says); each runs in its own copy of the folder made by `inputs`,
# which holds m.npz (a 2-step srcnn x3 run), in.png (20x20), tiny.png (3x3), broken.npz, style.npz (a
# train-style checkpoint), the folders run.npz/ and out.png/, and an empty folder empty/.
CASES = [  # through the real command, in a process of its own
    ("out-png", TRAIN + ["--out", "model.png"], 1, "--out model.png: a checkpoint is written as .npz or .safetensors"),
    ("out-folder", TRAIN + ["--out", "run.npz"], 1, "--out run.npz: is a folder; give a file name"),
    ("existing", TRAIN + ["--out", "m.npz"], 1, "--out m.npz exists; continue it with --resume or replace it "
                                                "with --force"),
    ("resume-model", ["train-sr", "--out", "m.npz", "--resume", "--steps", "4", "--model", "srcnn-955"], 1,
     '--model srcnn-955: m.npz: made with model "srcnn" (not "srcnn-955")'),
    ("resume-scale", ["train-sr", "--out", "m.npz", "--resume", "--steps", "4", "--scale", "2"], 1,
     "--scale 2: m.npz: made with scales [3] (not [2])"),
    ("width-0", TRAIN + ["--width", "0", "--out", "n.npz"], 2, "--width: expected a positive integer, not 0"),
    ("stride-0", TRAIN + ["--stride", "0", "--out", "n.npz"], 2, "--stride: expected a positive integer, not 0"),
    ("clip-negative", TRAIN + ["--clip", "-1", "--out", "n.npz"], 2, "--clip: expected a non-negative number, "
                                                                   "not -1"),
    ("patch-small", TRAIN + ["--patch", "12", "--out", "n.npz"], 1, "--patch: patch size 12x12 is too small for "
                                                                   "this srcnn network: each side needs at least 13"),
    ("vdsr-depth-0", TRAIN + ["--model", "vdsr", "--depth", "0", "--out", "n.npz"], 2,
     "--depth: expected a positive integer, not 0"),
    ("lr-step-negative", TRAIN + ["--lr-step", "-1", "--out", "n.npz"], 2,
     "--lr-step: expected a non-negative integer, not -1"),
    ("save-every-negative", TRAIN + ["--save-every", "-1", "--out", "n.npz"], 2,
     "--save-every: expected a non-negative integer, not -1"),
    ("lr-inf", TRAIN + ["--lr", "inf", "--out", "n.npz"], 2, "--lr: expected a positive number, not inf"),
    ("lr-nan", TRAIN + ["--lr", "nan", "--out", "n.npz"], 2, "--lr: expected a positive number, not nan"),
    ("scales-20", TRAIN + ["--scales", "20", "--out", "n.npz"], 2,
     "--scales: expected integers from 2 to 8 separated by commas, not '20'"),
    ("scale-1", TRAIN + ["--scale", "1", "--out", "n.npz"], 2, "--scale: expected an integer from 2 to 8, not 1"),
    ("tv-nan", TRAIN + ["--model", "perceptual", "--scale", "4", "--tv-weight", "nan", "--out", "n.npz"], 2,
     "--tv-weight: expected a non-negative number, not nan"),
    ("data-missing", TRAIN + ["--data", "nothing", "--out", "n.npz"], 1, "nothing: not a folder of images"),
    ("data-empty", TRAIN + ["--data", "empty", "--out", "n.npz"], 1, "empty: no image files"),
    ("sr-out-is-input", SR + ["--out", "in.png"], 1,
     "--out in.png: is also an input; choose another output so the input is not lost"),
    ("sr-scale-untrained", SR + ["--scale", "4", "--out", "o.png"], 1,
     "this srcnn model was trained for scale(s) 3, not 4"),
    ("sr-max-memory-nan", SR + ["--max-memory", "nan", "--out", "o.png"], 2,
     "--max-memory: expected a positive number, not nan"),
    ("sr-model-missing", ["sr", "in.png", "--model", "none.npz", "--out", "o.png"], 1, "none.npz: no such file"),
    ("sr-model-corrupt", ["sr", "in.png", "--model", "broken.npz", "--out", "o.png"], 1, "broken.npz"),
    ("sr-model-not-sr", ["sr", "in.png", "--model", "style.npz", "--out", "o.png"], 1,
     "style.npz: a train-style checkpoint, not a train-sr one"),
    ("sr-input-small", ["sr", "tiny.png", "--model", "m.npz", "--out", "o.png"], 1,
     "image of 3x3 is too small: enlarged it is 9x9, smaller than the network's receptive field of 13 pixels"),
]
MORE_CASES = [  # the same checks, run in this process (quicker)
    ("out-slash", TRAIN + ["--out", "empty/"], 1, "expected a file name, not a folder"),
    ("out-missing-folder", TRAIN + ["--out", "nowhere/m.npz"], 1, "the folder nowhere does not exist"),
    ("out-too-long", TRAIN + ["--out", "x" * 300 + ".npz"], 1, "is too long for the file system"),
    ("resume-and-force", ["train-sr", "--out", "m.npz", "--resume", "--force"], 1, "give one of them"),
    ("resume-nothing", ["train-sr", "--out", "new.npz", "--resume"], 1, "--resume: no checkpoint at new.npz"),
    ("resume-finished", ["train-sr", "--out", "m.npz", "--resume"], 1, "m.npz: already at step 2 of 2"),
    ("resume-style", ["train-sr", "--out", "style.npz", "--resume"], 1, "a train-style checkpoint, not a train-sr"),
    ("vdsr-patch-small", TRAIN + ["--model", "vdsr", "--patch", "30", "--out", "n.npz"], 1, "at least 41 pixels"),
    ("vdsr-depth-1", TRAIN + ["--model", "vdsr", "--depth", "1", "--out", "n.npz"], 1,
     "--depth: a VDSR network has at least 2 layers, not 1"),
    ("steps-0", TRAIN + ["--steps", "0", "--out", "n.npz"], 2, "--steps: expected a positive integer, not 0"),
    ("tv-not-perceptual", TRAIN + ["--tv-weight", "1e-3", "--out", "n.npz"], 1, "perceptual network only"),
    ("perceptual-x3", TRAIN + ["--model", "perceptual", "--scale", "3", "--out", "n.npz"], 1, "power of two"),
    ("seed-negative", TRAIN + ["--seed", "-1", "--out", "n.npz"], 2, "--seed: expected a non-negative integer"),
    ("data-is-out", TRAIN + ["--data", "run.npz", "--out", "run.npz"], 1, "is a folder"),
    ("sr-out-npz", SR + ["--out", "m.npz"], 1, "expected a name ending in .png"),
    ("sr-out-folder", SR + ["--out", "out.png"], 1, "is a folder; give a file name"),
    ("sr-scale-9", SR + ["--scale", "9", "--out", "o.png"], 2,
     "--scale: expected an integer from 2 to 8, not 9"),
    ("sr-max-memory-gib-nan", SR + ["--max-memory-gib", "nan", "--out", "o.png"], 2,
     "--max-memory-gib: expected a positive number, not nan"),
    ("sr-over-memory", SR + ["--max-memory", "0.0001", "--out", "o.png"], 1,
     "enlarging a 20x20 image 3x needs about"),
    ("sr-input-missing", ["sr", "none.png", "--model", "m.npz", "--out", "o.png"], 1, "none.png"),
    ("sr-input-broken", ["sr", "broken.npz", "--model", "m.npz", "--out", "o.png"], 1, "broken.npz"),
]


def _env():
    env = dict(os.environ)
    env["MINIGEN_VGG"] = "random"
    return env


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    base = tmp_path_factory.mktemp("inputs")
    subprocess.run([sys.executable, "-m", "minigen"] + TRAIN + ["--out", "m.npz"], cwd=base, env=_env(),
                   capture_output=True, check=True)
    save_image(str(base / "in.png"), _image(6, 20))
    save_image(str(base / "tiny.png"), _image(6, 3))
    with open(base / "broken.npz", "wb") as f:
        f.write(_bytes(base / "m.npz")[:100])
    shutil.copy(os.path.join(FIXTURES, "style_texture_net.npz"), base / "style.npz")
    for folder in ("run.npz", "out.png", "empty"):
        (base / folder).mkdir()
    return base


def _copy(base, folder):
    shutil.copytree(base, folder, dirs_exist_ok=True)
    return _folder(folder)


@pytest.fixture(scope="module")
def refusals(inputs, tmp_path_factory):
    """Every case of CASES run at once (they are independent): {id: (result, folder before, folder after)}."""
    def run(case):
        folder = tmp_path_factory.mktemp(case[0])
        before = _copy(inputs, folder)
        r = subprocess.run([sys.executable, "-m", "minigen", *case[1]], cwd=folder, env=_env(), capture_output=True,
                           text=True, timeout=300)
        return case[0], (r.returncode, r.stderr, before, _folder(folder))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, CASES))


@pytest.mark.parametrize("name, argv, status, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line_before_any_work(refusals, name, argv, status, message):
    code, err, before, after = refusals[name]
    assert code == status, err
    assert message in one_line(err)
    assert after == before  # no input or checkpoint changed, no file or folder created


@pytest.mark.parametrize("name, argv, status, message", MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_more_bad_input_is_refused_in_one_line_before_any_work(cli, inputs, tmp_path, monkeypatch, capsys, name,
                                                                argv, status, message):
    before = _copy(inputs, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli(argv) == status
    assert message in one_line(capsys.readouterr().err)
    assert _folder(tmp_path) == before


def test_a_resumed_run_says_where_it_starts(inputs, tmp_path):
    _copy(inputs, tmp_path)
    r = subprocess.run([sys.executable, "-m", "minigen", "train-sr", "--out", "m.npz", "--resume", "--steps", "3"],
                       cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "resuming from step 2 of 3" in r.stdout and "Traceback" not in r.stderr


def test_demo_section_the_bundled_networks_beat_bicubic(tmp_path):
    """The gallery's SR section: the bundled SRCNN and VDSR above bicubic in PSNR on its unseen image."""
    from minigen.cli import sr
    from minigen.report.gallery import Gallery
    gallery = Gallery(str(tmp_path))
    psnr = sr.demo_section(gallery, "cpu", 0, quick=True)
    assert psnr["vdsr"] > psnr["bicubic"] + 0.5 and psnr["srcnn"] > psnr["bicubic"], psnr
    (section,) = gallery.sections
    assert {"sr_vdsr.png", "sr_srcnn.png", "sr_perceptual_x4.png"} <= {f for f, _ in section["items"]}
