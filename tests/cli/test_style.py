"""The invert, texture and style commands: their outputs and sidecars, their demo section, and bad input
refused before any work (driven through the real `python -m minigen`: one stderr line, no file changed
or created)."""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import minigen.cli as cli
from minigen.data.images import load_image, save_image
from minigen.data.procedural import shapes, texture
from minigen.models.vgg import VGG
from minigen.report import Gallery

from .test_main import CLASS_NAMES

WEIGHTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "weights",
                       "vgg_normalised_conv3_1.pth")


@pytest.fixture(autouse=True)
def no_vgg_variable(monkeypatch):
    monkeypatch.setenv("MINIGEN_VGG", "random")  # the commands must take random weights here


@pytest.fixture(scope="module")
def vgg():
    return VGG(19, pooling="avg", seed=0).requires_grad_(False)  # what load_vgg gives without weights


@pytest.fixture
def shared_vgg(monkeypatch, vgg):
    """The commands get the module's random VGG instead of building their own (load_vgg has its own tests)."""
    info = {"weights": "random", "seed": 0, "convention": "torchvision", "depth": 19, "last": None}
    monkeypatch.setattr("minigen.models.vgg.load_vgg", lambda *args, **kwargs: (vgg, info))


def make_inputs(folder):
    save_image(folder / "img.png", shapes(1, 24, seed=4)[0][:, :, :20])
    save_image(folder / "tex.png", texture("dots", 20, seed=2))
    save_image(folder / "sty.png", texture("waves", 20, seed=1))
    save_image(folder / "init.png", texture("checks", 28, seed=2))
    return folder


@pytest.fixture
def files(tmp_path):
    return make_inputs(tmp_path)


def main(monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.style",))
    return cli.main([str(a) for a in argv])


# ---- results -------------------------------------------------------------------------------------

def test_invert_writes_image_and_sidecar(monkeypatch, files, shared_vgg):
    out = files / "inv.png"
    assert main(monkeypatch, "invert", files / "img.png", "--layer", "relu1_2", "--size", 16, "--iters", 5,
                "--out", out, "--log-every", 5) == 0
    assert load_image(out).shape == (16, 13, 3)
    side = json.loads((files / "inv.json").read_text())
    assert side["parameters"]["layer"] == "relu1_2" and side["parameters"]["iters"] == 5
    assert side["vgg"]["weights"] == "random" and side["vgg"]["depth"] == 19
    assert side["iterations"] == len(side["history"]["total"]) - 1 <= 5
    assert side["history"]["content"][-1] < side["history"]["content"][0]


def test_texture_with_explicit_layers_and_snapshots(monkeypatch, files):
    out = files / "t.png"
    assert main(monkeypatch, "texture", files / "tex.png", "--size", 16, "--source-size", 0, "--iters", 4,
                "--layers", "relu1_1,relu2_1", "--optimizer", "adam", "--out", out, "--seed", 5,
                "--snapshot-every", 2) == 0
    assert load_image(out).shape == (16, 16, 3)
    assert (files / "t_0002.png").exists() and (files / "t_0004.png").exists()
    side = json.loads((files / "t.json").read_text())
    assert side["layers"] == ["relu1_1", "relu2_1"] and side["source_size"] == [20, 20]
    assert side["parameters"]["optimizer"] == "adam" and side["parameters"]["seed"] == 5
    assert side["vgg"] == {"weights": "random", "seed": 5, "convention": "torchvision", "depth": 19, "last": None}
    assert len(side["history"]["style"]) == 5 and side["iterations"] == 4


def test_style_with_blend_ratio_colours_and_old_spellings(monkeypatch, capsys, files, shared_vgg):
    out = files / "st.png"
    assert main(monkeypatch, "style", "--content", files / "img.png", "--style", files / "sty.png",
                files / "init.png", "--style-blend", "3,1", "--ratio", "1e-4", "--content-layers", "relu2_1",
                "--style-layers", "relu1_1,relu2_1", "--size", 20, "--iters", 4, "--print-every", 4,
                "--original-colors", "--save-every", 2, "--out", out) == 0
    err = capsys.readouterr().err
    assert "minigen: note: --print-every is now --log-every" in err
    assert "minigen: note: --save-every is now --snapshot-every" in err
    assert load_image(out).shape == (20, 17, 3) and (files / "st_0002.png").exists()
    side = json.loads((files / "st.json").read_text())
    p = side["parameters"]
    assert p["style"] == [str(files / "sty.png"), str(files / "init.png")] and p["style_blend"] == "3,1"
    assert p["original_colors"] is True and p["content_layers"] == "relu2_1" and p["tv_weight"] == 0
    assert p["log_every"] == 4 and p["snapshot_every"] == 2
    assert side["alpha_over_beta"] == pytest.approx(1e-4) and side["style_weight_used"] == pytest.approx(1e4)
    assert side["vgg"]["weights"] == "random" and side["size"] == [20, 17]
    assert {"total", "content", "style"} <= set(side["history"]) and side["iterations"] <= 4


def test_style_init_image_tv_and_scale_snapshots(monkeypatch, files, shared_vgg):
    out = files / "st.png"
    assert main(monkeypatch, "style", "--content", files / "img.png", "--style", files / "sty.png", "--init",
                files / "init.png", "--tv-weight", "1e-2", "--style-layers", "relu1_1", "--content-layers",
                "relu1_1", "--size", 12, "--iters", 2, "--optimizer", "adam", "--scales", 2, "--snapshot-every", 2,
                "--out", out) == 0
    assert "tv" in json.loads((files / "st.json").read_text())["history"]
    assert (files / "st_s1_0002.png").exists() and (files / "st_s2_0002.png").exists()


@pytest.mark.skipif(not os.path.exists(WEIGHTS), reason="needs the shared relu3_1 VGG weights")
def test_truncated_real_weights_refuse_deeper_layers(monkeypatch, capsys, files):
    out = files / "t.png"
    assert main(monkeypatch, "texture", files / "tex.png", "--vgg", WEIGHTS, "--up-to", "pool3", "--out", out) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--up-to: layer pool3 is deeper than relu3_1" in err
    assert main(monkeypatch, "texture", files / "tex.png", "--vgg", WEIGHTS, "--up-to", "pool2", "--size", 16,
                "--iters", 3, "--out", out) == 0
    assert json.loads((files / "t.json").read_text())["vgg"]["convention"] == "caffe"


def test_demo_section_quick(tmp_path):
    from minigen.cli.style import demo_section
    gallery = Gallery(str(tmp_path))
    demo_section(gallery, "cpu", 0, quick=True)
    gallery.write()
    html = (tmp_path / "index.html").read_text()
    for name in ("optim_inverted.png", "optim_texture.png", "optim_stylised.png", "optim_loss.png"):
        assert name in html and (tmp_path / name).stat().st_size > 100


def test_the_command_table_serves_the_three_commands_and_the_demo_section():
    assert "minigen.cli.style" in cli.COMMAND_MODULES
    assert not any(name.startswith("minigen.recipes.") and name.rpartition(".")[2] in ("invert", "texture", "style")
                   for name in cli.COMMAND_MODULES)
    import minigen.cli.style as family
    assert cli.demo_sections()["style"] is family.demo_section


# ---- bad input: refused before any work, through the real command ---------------------------------

STYLE = ["style", "--content", "img.png", "--style", "sty.png"]
LONG = "a" * 300 + ".png"
# (argv in a folder holding img.png, tex.png, sty.png, init.png and the files of SETUP; exit status; text)
REFUSED = {
    # outputs that would replace an input, or cannot be written
    "out is the image": (["invert", "img.png", "--out", "img.png"], 1, "--out img.png: is also an input"),
    "out is the texture": (["texture", "tex.png", "--out", "./tex.png"], 1, "is also an input"),
    "out is the content": (STYLE + ["--out", "img.png"], 1, "--out img.png: is also an input"),
    "out is a style": (["style", "--content", "img.png", "--style", "tex.png", "sty.png", "--out", "sty.png"], 1,
                       "--out sty.png: is also an input"),
    "out is the init": (STYLE + ["--init", "init.png", "--out", "init.png"], 1, "--out init.png: is also an input"),
    "a snapshot is an input": (["invert", "res_0002.png", "--out", "res.png", "--iters", 4, "--snapshot-every", 2],
                               1, "a snapshot would replace the input"),
    "out folder missing": (["invert", "img.png", "--out", "missing/x.png"], 1, "the folder missing does not exist"),
    "out is a folder": (["texture", "tex.png", "--out", "dir.png"], 1, "--out dir.png: is a folder"),
    "sidecar is a folder": (["invert", "img.png", "--out", "side.png"], 1, "--out side.json: is a folder"),
    "out not an image": (STYLE + ["--out", "result.txt"], 1, "--out result.txt: not an image format"),
    "out is a checkpoint name": (["invert", "img.png", "--out", "x.npz"], 1, "not an image format"),
    "out name too long": (["invert", "img.png", "--out", LONG], 1, "is too long for the file system"),
    # numbers out of range, at the door
    "invert --size 0": (["invert", "img.png", "--size", 0], 2, "--size: expected a positive integer, not 0"),
    "texture --size 0": (["texture", "tex.png", "--size", 0], 2, "--size: expected a positive integer, not 0"),
    "style --size 0": (STYLE + ["--size", 0], 2, "--size: expected a positive integer, not 0"),
    "--source-size -1": (["texture", "tex.png", "--source-size", -1], 2,
                         "--source-size: expected a non-negative integer, not -1"),
    "--style-scale 0": (STYLE + ["--style-scale", 0], 2, "--style-scale: expected a positive number, not 0"),
    "--style-scale too small": (STYLE + ["--style-scale", 0.001], 1,
                                "--style-scale 0.001 (sty.png): a 0x0 image is too small for relu5_1"),
    "--iters 0": (["invert", "img.png", "--iters", 0], 2, "--iters: expected a positive integer, not 0"),
    "--iters -1": (["texture", "tex.png", "--iters", -1], 2, "--iters: expected a positive integer, not -1"),
    "--lr inf": (["invert", "img.png", "--lr", "inf"], 2, "--lr: expected a positive number, not inf"),
    "--lr nan": (["texture", "tex.png", "--lr", "nan"], 2, "--lr: expected a positive number, not nan"),
    "--lr 0": (STYLE + ["--lr", 0], 2, "--lr: expected a positive number, not 0"),
    "--content-weight nan": (STYLE + ["--content-weight", "nan"], 2,
                             "--content-weight: expected a non-negative number, not nan"),
    "--style-weight -1": (STYLE + ["--style-weight", -1], 2, "--style-weight: expected a non-negative number, not -1"),
    "--tv-weight nan": (STYLE + ["--tv-weight", "nan"], 2, "--tv-weight: expected a non-negative number, not nan"),
    "--tv-weight -1": (["invert", "img.png", "--tv-weight", -1], 2, "--tv-weight: expected a non-negative number"),
    "--ratio 0": (STYLE + ["--ratio", 0], 2, "--ratio: expected a positive number, not 0"),
    "--style-blend nan": (STYLE + ["--style-blend", "nan"], 1, "--style-blend: give 1 non-negative weight(s)"),
    "--max-memory nan": (["invert", "img.png", "--max-memory", "nan"], 2,
                         "--max-memory: expected a positive number, not nan"),
    "--max-memory 0": (["texture", "tex.png", "--max-memory", 0], 2, "--max-memory: expected a positive number, not 0"),
    "--seed -1": (STYLE + ["--seed", -1], 2, "--seed: expected a non-negative integer, not -1"),
    "--snapshot-every -1": (["invert", "img.png", "--snapshot-every", -1], 2,
                            "--snapshot-every: expected a non-negative integer, not -1"),
    "old --save-every -1": (["texture", "tex.png", "--save-every", -1], 2,
                            "--save-every: expected a non-negative integer, not -1"),
    "--scales 20": (STYLE + ["--scales", 20], 2, "--scales: expected an integer from 1 to 16, not 20"),
    "--scales too many for the size": (STYLE + ["--size", 64, "--scales", 4], 1,
                                       "--scales 4: the first scale would be 7x8, too small for relu5_1, which "
                                       "needs at least 16 pixels per side; give at most 2 at --size 64"),
    "--size too small for the layer": (["invert", "img.png", "--layer", "relu5_1", "--size", 8], 1,
                                       "--size 8: a 7x8 image is too small for relu5_1"),
    "--layers empty": (["texture", "tex.png", "--layers", ","], 2, "--layers: expected comma-separated VGG layer"),
    "--layer unknown": (["invert", "img.png", "--layer", "relu9_9"], 1, "--layer: unknown VGG-19 layer 'relu9_9'"),
    "over --max-memory": (["invert", "img.png", "--size", 4096, "--max-memory", 1], 1,
                          "optimising a 3413x4096 image through VGG-19 up to relu3_1 needs about"),
    # inputs missing, unreadable, truncated; weights missing or wrong
    "image missing": (["invert", "missing.png"], 1, "missing.png: no such file"),
    "image unreadable": (["invert", "junk.png"], 1, "junk.png: not an image file"),
    "texture truncated": (["texture", "cut.png"], 1, "cut.png: truncated or corrupt image"),
    "style truncated": (["style", "--content", "img.png", "--style", "cut.png"], 1, "cut.png: truncated or corrupt"),
    "init missing": (STYLE + ["--init", "missing.png"], 1, "--init: missing.png is neither"),
    "--vgg missing": (["invert", "img.png", "--vgg", "missing.pth"], 1, "missing.pth: no such file"),
    "--vgg junk": (["invert", "img.png", "--vgg", "bad.pth"], 1, "bad.pth"),
    "--vgg an image": (["texture", "tex.png", "--vgg", "img.png"], 1, "img.png: unknown checkpoint format"),
}
SETUP = {"junk.png": b"not an image at all", "bad.pth": b"PK\x03\x04" + b"\0" * 40}


def _setup(folder):
    folder.mkdir(exist_ok=True)
    make_inputs(folder)
    for name, data in SETUP.items():
        (folder / name).write_bytes(data)
    (folder / "cut.png").write_bytes((folder / "tex.png").read_bytes()[:80])
    (folder / "res_0002.png").write_bytes((folder / "tex.png").read_bytes())
    for name in ("dir.png", "side.json"):
        (folder / name).mkdir()
    return folder


def _contents(folder):
    """{path: bytes} of every file below ``folder``, and {path/: None} of every folder."""
    found = {}
    for root, dirs, names in os.walk(folder):
        for name in names:
            found[os.path.relpath(os.path.join(root, name), folder)] = open(os.path.join(root, name), "rb").read()
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), folder) + "/"] = None
    return found


def _run(argv, cwd, **kw):
    env = {**os.environ, "MINIGEN_VGG": "random"}
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "minigen", *map(str, argv)], cwd=cwd, env=env,
                          stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_input_is_refused_in_one_line_before_any_work(monkeypatch, capsys, tmp_path, case):
    argv, status, text = REFUSED[case]
    before = _contents(_setup(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert cli.main([str(a) for a in argv]) == status
    out, err = capsys.readouterr()
    assert out == "" and err.endswith("\n") and err.count("\n") == 1, err
    assert not CLASS_NAMES.search(err) and text in err, err
    assert _contents(tmp_path) == before  # no input changed, nothing created


@pytest.mark.parametrize("cases", [("out is the content", "--seed -1", "texture truncated", "over --max-memory")])
def test_the_minigen_process_refuses_alike(tmp_path, cases):
    folders = {case: _setup(tmp_path / str(k)) for k, case in enumerate(cases)}
    before = {case: _contents(folder) for case, folder in folders.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {case: pool.submit(_run, REFUSED[case][0], folders[case]) for case in cases}
    for case in cases:
        r = runs[case].result()
        assert r.returncode == REFUSED[case][1] and r.stdout == "", (case, r.stderr)
        assert r.stderr.count("\n") == 1 and REFUSED[case][2] in r.stderr and not CLASS_NAMES.search(r.stderr)
        assert _contents(folders[case]) == before[case]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_disk_on_stdout(tmp_path):
    _setup(tmp_path)
    with open("/dev/full", "w") as full:
        r = _run(["invert", "--help"], tmp_path, stdout=full)
        assert r.returncode == 1 and r.stderr == ("minigen: error: cannot write to standard output: "
                                                  "no space left on the device (the disk is full)\n")
        # a run writes its messages to stderr: a full stdout does not stop it
        r = _run(["texture", "tex.png", "--size", 16, "--iters", 2, "--up-to", "pool1", "--out", "t.png"], tmp_path,
                 stdout=full)
    assert r.returncode == 0 and "wrote t.png and t.json" in r.stderr and not CLASS_NAMES.search(r.stderr)
    assert load_image(tmp_path / "t.png").shape == (16, 16, 3)
