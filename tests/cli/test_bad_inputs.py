"""Bad input and file safety over every command, tried as a new user would.

Each case runs the real command (``minigen.cli.main``, the console entry point) in a folder that
holds a few inputs and checkpoints, and checks that it is refused before any work with exit status 1
or 2, exactly one line on stderr naming the flag or file (no traceback, no exception class name),
and that no file there was changed or added. The process-level endings (a closed pipe, a full disk,
signals) are tested with subprocesses in test_main.py and the family tests.
"""
import hashlib
import os
import re

import numpy as np
import pytest
from PIL import Image

from minigen.cli import main

CLASS_NAMES = re.compile(r"Traceback|[A-Z][A-Za-z]*(Error|Exception|Interrupt)\b")
LONG = "x" * 300


def _png(path, size=(24, 24), mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    shape = size[::-1] + ((3,) if mode == "RGB" else ())
    Image.fromarray((rng.random(shape) * 255).astype(np.uint8), mode).save(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The folder of inputs every case runs in: images, a mask, a folder, checkpoints of each kind."""
    d = tmp_path_factory.mktemp("world")
    _png(d / "img.png")
    _png(d / "style.png", seed=1)
    _png(d / "big.png", (48, 48))
    _png(d / "tiny.png", (3, 3))
    _png(d / "mask.png", mode="L", seed=2)
    _png(d / "mask_small.png", (12, 12), mode="L")
    (d / "photos").mkdir()
    _png(d / "photos" / "a.png")
    _png(d / "photos" / "b.png", seed=3)
    (d / "empty").mkdir()
    (d / "notes.txt").write_text("not an image\n")
    (d / "fake.png").write_text("not an image\n")
    data = (d / "img.png").read_bytes()
    (d / "truncated.png").write_bytes(data[:len(data) // 2])
    quiet = ["--log-every", "1000"]
    assert main(["train-sr", "--model", "srcnn", "--steps", "1", "--batch", "2", "--width", "4", "--out",
                 str(d / "sr.npz"), *quiet]) == 0
    assert main(["train-style", "--method", "texture-net", "--style", "procedural:dots", "--steps", "1",
                 "--batch", "1", "--crop", "16", "--channels", "2", "--scales", "3", "--out", str(d / "tex.npz"),
                 *quiet]) == 0
    assert main(["train-style", "--method", "johnson", "--style", "procedural:stripes", "--steps", "1", "--batch",
                 "1", "--crop", "16", "--channels", "2", "2", "2", "--residual", "1", "--padded", "--out",
                 str(d / "johnson.npz"), *quiet]) == 0
    return d


def _snapshot(root):
    files = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            files[os.path.relpath(path, root)] = (hashlib.sha256(open(path, "rb").read()).hexdigest()
                                                  if os.path.isfile(path) else "dir")
    return files


# (argv with {d} for the folder, a fragment the one error line must contain)
CASES = [
    # ---- argparse and the shared options -------------------------------------------------------
    ("texture {d}/img.png --seed -1", "--seed"),
    ("texture {d}/img.png --seed x", "--seed"),
    ("texture {d}/img.png --device tpu", "--device"),
    ("texture {d}/img.png --nope", "unrecognized arguments"),
    ("nosuchcommand", "unknown command"),
    ("demo --only nope", "--only"),
    ("demo --out {d}/img.png", "img.png"),
    ("gradcheck no-such-op", "no gradcheck case"),
    ("gradcheck --seed -3", "--seed"),
    # ---- invert, texture, style ------------------------------------------------------------------
    ("invert {d}/img.png --out {d}/img.png", "img.png"),
    ("invert {d}/missing.png --out {d}/o.png", "missing.png"),
    ("invert {d}/truncated.png --out {d}/o.png", "truncated.png"),
    ("invert {d}/fake.png --out {d}/o.png", "fake.png"),
    ("invert {d}/notes.txt --out {d}/o.png", "notes.txt"),
    ("invert {d}/img.png --out {d}/nofolder/o.png", "nofolder"),
    ("invert {d}/img.png --out {d}/photos", "photos"),
    ("invert {d}/img.png --out {d}/o.txt", "o.txt"),
    ("invert {d}/img.png --out {d}/" + LONG + ".png", "--out"),
    ("invert {d}/img.png --iters 0 --out {d}/o.png", "--iters"),
    ("invert {d}/img.png --iters -1 --out {d}/o.png", "--iters"),
    ("invert {d}/img.png --size 0 --out {d}/o.png", "--size"),
    ("invert {d}/img.png --lr inf --optimizer adam --out {d}/o.png", "--lr"),
    ("invert {d}/img.png --lr nan --optimizer adam --out {d}/o.png", "--lr"),
    ("invert {d}/img.png --lr 0 --optimizer adam --out {d}/o.png", "--lr"),
    ("invert {d}/img.png --tv-weight nan --out {d}/o.png", "--tv-weight"),
    ("invert {d}/img.png --tv-weight -1 --out {d}/o.png", "--tv-weight"),
    ("invert {d}/img.png --layer relu9_9 --out {d}/o.png", "relu9_9"),
    ("invert {d}/img.png --max-memory nan --out {d}/o.png", "--max-memory"),
    ("invert {d}/img.png --max-memory 0 --out {d}/o.png", "--max-memory"),
    ("invert {d}/img.png --max-memory 1e-9 --out {d}/o.png", "--max-memory"),
    ("invert {d}/img.png --vgg {d}/missing.pth --out {d}/o.png", "missing.pth"),
    ("invert {d}/img.png --vgg {d}/notes.txt --out {d}/o.png", "notes.txt"),
    ("invert {d}/img.png --vgg {d}/sr.npz --out {d}/o.png", "sr.npz"),
    ("invert {d}/img.png --snapshot-every -1 --out {d}/o.png", "--snapshot-every"),
    ("texture {d}/img.png --out {d}/img.png", "img.png"),
    ("texture {d}/img.png --size 0 --out {d}/o.png", "--size"),
    ("texture {d}/img.png --size -5 --out {d}/o.png", "--size"),
    ("texture {d}/img.png --iters 0 --out {d}/o.png", "--iters"),
    ("texture {d}/img.png --up-to pool9 --out {d}/o.png", "--up-to"),
    ("texture {d}/img.png --layers relu1_1,bogus --out {d}/o.png", "bogus"),
    ("texture {d}/img.png --out {d}/photos", "photos"),
    ("texture {d}/img.png --out {d}/nofolder/o.png", "nofolder"),
    ("texture {d}/missing.png --out {d}/o.png", "missing.png"),
    ("texture {d}/img.png --optimizer sgd --out {d}/o.png", "--optimizer"),
    ("style --content {d}/img.png --style {d}/style.png --out {d}/img.png", "img.png"),
    ("style --content {d}/img.png --style {d}/style.png --out {d}/style.png", "style.png"),
    ("style --content {d}/img.png --style {d}/missing.png --out {d}/o.png", "missing.png"),
    ("style --content {d}/missing.png --style {d}/style.png --out {d}/o.png", "missing.png"),
    ("style --content {d}/img.png --style {d}/style.png --style-weight nan --out {d}/o.png", "--style-weight"),
    ("style --content {d}/img.png --style {d}/style.png --content-weight -1 --out {d}/o.png", "--content-weight"),
    ("style --content {d}/img.png --style {d}/style.png --tv-weight inf --out {d}/o.png", "--tv-weight"),
    ("style --content {d}/img.png --style {d}/style.png --ratio 0 --out {d}/o.png", "--ratio"),
    ("style --content {d}/img.png --style {d}/style.png --ratio nan --out {d}/o.png", "--ratio"),
    ("style --content {d}/img.png --style {d}/style.png --size 0 --out {d}/o.png", "--size"),
    ("style --content {d}/img.png --style {d}/style.png --scales 0 --out {d}/o.png", "--scales"),
    ("style --content {d}/img.png --style {d}/style.png --scales 20 --out {d}/o.png", "--scales"),
    ("style --content {d}/img.png --style {d}/style.png --style-scale 0 --out {d}/o.png", "--style-scale"),
    ("style --content {d}/img.png --style {d}/style.png --style-blend 0.5,x --out {d}/o.png", "--style-blend"),
    ("style --content {d}/img.png --style {d}/style.png --style-blend 0.5,0.5 --out {d}/o.png", "--style-blend"),
    ("style --content {d}/img.png --style {d}/style.png --init {d}/missing.png --out {d}/o.png", "missing.png"),
    ("style --content {d}/img.png --style {d}/style.png --content-layers relu9_1 --out {d}/o.png", "relu9_1"),
    ("style --content {d}/img.png --style {d}/style.png --iters 0 --out {d}/o.png", "--iters"),
    ("style --content {d}/img.png --style {d}/style.png --lr -1 --out {d}/o.png", "--lr"),
    ("style --content {d}/img.png --style {d}/style.png --out {d}/o.jpg.txt", "o.jpg.txt"),
    ("style --content {d}/img.png --style {d}/style.png --out {d}/empty", "empty"),
    # ---- train-style, stylize, sample-texture, sample --------------------------------------------
    ("train-style --method johnson --style {d}/style.png --out {d}/model.png", "model.png"),
    ("train-style --method johnson --style {d}/style.png --out {d}/photos", "photos"),
    ("train-style --method johnson --style {d}/style.png --out {d}/nofolder/m.npz", "nofolder"),
    ("train-style --method johnson --style {d}/style.png --out {d}/" + LONG + ".npz", "--out"),
    ("train-style --method johnson --style procedural:stripes --out {d}/johnson.npz", "--resume"),
    ("train-style --method johnson --style {d}/style.png --out {d}/style.png", "style.png"),
    ("train-style --method johnson --style {d}/style.png --content {d}/missing --out {d}/m.npz", "missing"),
    ("train-style --method johnson --style {d}/style.png --content {d}/empty --out {d}/m.npz", "empty"),
    ("train-style --method johnson --style {d}/missing.png --out {d}/m.npz", "missing.png"),
    ("train-style --method johnson --style procedural:nope --out {d}/m.npz", "procedural:nope"),
    ("train-style --method johnson --style procedural:dots:x --out {d}/m.npz", "procedural:dots:x"),
    ("train-style --method picasso --style {d}/style.png --out {d}/m.npz", "--method"),
    ("train-style --method johnson --style {d}/style.png {d}/img.png --out {d}/m.npz", "multistyle"),
    ("train-style --method johnson --style {d}/style.png --steps 0 --out {d}/m.npz", "--steps"),
    ("train-style --method johnson --style {d}/style.png --batch 0 --out {d}/m.npz", "--batch"),
    ("train-style --method johnson --style {d}/style.png --crop 0 --out {d}/m.npz", "--crop"),
    ("train-style --method johnson --style {d}/style.png --crop 30 --out {d}/m.npz", "--crop"),
    ("train-style --method johnson --style {d}/style.png --crop 16 --out {d}/m.npz", "--crop"),
    ("train-style --method johnson --style {d}/style.png --style-size 0 --out {d}/m.npz", "--style-size"),
    ("train-style --method johnson --style {d}/style.png --lr inf --out {d}/m.npz", "--lr"),
    ("train-style --method johnson --style {d}/style.png --lr nan --out {d}/m.npz", "--lr"),
    ("train-style --method johnson --style {d}/style.png --save-every -1 --out {d}/m.npz", "--save-every"),
    ("train-style --method johnson --style {d}/style.png --log-every 0 --out {d}/m.npz", "--log-every"),
    ("train-style --method johnson --style {d}/style.png --channels 0 0 0 --out {d}/m.npz", "--channels"),
    ("train-style --method johnson --style {d}/style.png --channels 8 --out {d}/m.npz", "--channels"),
    ("train-style --method johnson --style {d}/style.png --residual -1 --out {d}/m.npz", "--residual"),
    ("train-style --method texture-net --style {d}/style.png --scales 0 --out {d}/m.npz", "--scales"),
    ("train-style --method johnson --style {d}/style.png --style-weight nan --out {d}/m.npz", "--style-weight"),
    ("train-style --method johnson --style {d}/style.png --content-weight -2 --out {d}/m.npz", "--content-weight"),
    ("train-style --method johnson --style {d}/style.png --tv-weight nan --out {d}/m.npz", "--tv-weight"),
    ("train-style --method johnson --style {d}/style.png --content-layer relu9_9 --out {d}/m.npz", "relu9_9"),
    ("train-style --method johnson --style {d}/style.png --style-layers relu1_1 nope --out {d}/m.npz", "nope"),
    ("train-style --method johnson --style {d}/style.png --max-memory nan --out {d}/m.npz", "--max-memory"),
    ("train-style --method johnson --style {d}/style.png --max-memory 1e-9 --out {d}/m.npz", "memory"),
    ("train-style --method johnson --style {d}/style.png --vgg {d}/notes.txt --out {d}/m.npz", "notes.txt"),
    ("train-style --resume --out {d}/missing.npz", "missing.npz"),
    ("train-style --resume --force --out {d}/johnson.npz", "--resume"),
    ("train-style --resume --out {d}/sr.npz --steps 5", "sr.npz"),
    ("train-style --resume --out {d}/johnson.npz --steps 5 --crop 32", "--crop"),
    ("train-style --resume --out {d}/johnson.npz --steps 5 --method adain", "--method"),
    ("train-style --resume --out {d}/johnson.npz --steps 1", "step 1"),
    ("train-style --resume --out {d}/notes.txt --steps 5", "notes.txt"),
    ("stylize {d}/photos --model {d}/johnson.npz --out {d}/photos", "photos"),
    ("stylize {d}/img.png --model {d}/johnson.npz --out {d}/img.png", "img.png"),
    ("stylize {d}/img.png --model {d}/johnson.npz --size 0 --out {d}/out", "--size"),
    ("stylize {d}/img.png --model {d}/johnson.npz --alpha 0.5 --out {d}/out", "--alpha"),
    ("stylize {d}/img.png --model {d}/johnson.npz --styles 0:1 --out {d}/out", "--styles"),
    ("stylize {d}/img.png --model {d}/missing.npz --out {d}/out", "missing.npz"),
    ("stylize {d}/img.png --model {d}/notes.txt --out {d}/out", "notes.txt"),
    ("stylize {d}/img.png --model {d}/sr.npz --out {d}/out", "sr.npz"),
    ("stylize {d}/img.png --model {d}/tex.npz --out {d}/out", "tex.npz"),
    ("stylize {d}/missing.png --model {d}/johnson.npz --out {d}/out", "missing.png"),
    ("stylize {d}/empty --model {d}/johnson.npz --out {d}/out", "empty"),
    ("stylize {d}/truncated.png --model {d}/johnson.npz --out {d}/out", "truncated.png"),
    ("stylize {d}/img.png --model {d}/johnson.npz --out {d}/img.png/sub", "img.png"),
    ("stylize {d}/img.png --model {d}/johnson.npz --max-memory nan --out {d}/out", "--max-memory"),
    ("sample-texture --model {d}/tex.npz --size 0 --out {d}/t.png", "--size"),
    ("sample-texture --model {d}/tex.npz --count 0 --out {d}/t.png", "--count"),
    ("sample-texture --model {d}/johnson.npz --out {d}/t.png", "johnson.npz"),
    ("sample-texture --model {d}/missing.npz --out {d}/t.png", "missing.npz"),
    ("sample-texture --model {d}/tex.npz --out {d}/tex.npz", "tex.npz"),
    ("sample-texture --model {d}/tex.npz --out {d}/nofolder/t.png", "nofolder"),
    ("sample-texture --model {d}/tex.npz --size 100000 --out {d}/t.png", "memory"),
    ("sample {d}/tex.npz --size 0 --out {d}/t.png", "--size"),
    ("sample {d}/tex.npz --count 0 --out {d}/t.png", "--count"),
    ("sample {d}/tex.npz --count -2 --out {d}/t.png", "--count"),
    ("sample {d}/johnson.npz --out {d}/t.png", "johnson.npz"),
    ("sample {d}/sr.npz --out {d}/t.png", "sr.npz"),
    ("sample {d}/missing.npz --out {d}/t.png", "missing.npz"),
    ("sample {d}/notes.txt --out {d}/t.png", "notes.txt"),
    ("sample {d}/truncated.png --out {d}/t.png", "truncated.png"),
    ("sample {d}/tex.npz --out {d}/tex.npz", "tex.npz"),
    ("sample {d}/tex.npz --out {d}/t.npz", "t.npz"),
    ("sample {d}/tex.npz --out {d}/photos", "photos"),
    ("sample {d}/tex.npz --size 100000 --out {d}/t.png", "memory"),
    # ---- train-sr, sr ---------------------------------------------------------------------------
    ("train-sr --out {d}/model.png", "model.png"),
    ("train-sr --out {d}/photos", "photos"),
    ("train-sr --out {d}/sr.npz", "--resume"),
    ("train-sr --out {d}/nofolder/m.npz", "nofolder"),
    ("train-sr --model vdsr --width 0 --out {d}/m.npz", "--width"),
    ("train-sr --stride 0 --out {d}/m.npz", "--stride"),
    ("train-sr --clip -1 --out {d}/m.npz", "--clip"),
    ("train-sr --patch 5 --out {d}/m.npz", "--patch"),
    ("train-sr --model vdsr --depth 0 --out {d}/m.npz", "--depth"),
    ("train-sr --lr-step -1 --out {d}/m.npz", "--lr-step"),
    ("train-sr --save-every -1 --out {d}/m.npz", "--save-every"),
    ("train-sr --lr inf --out {d}/m.npz", "--lr"),
    ("train-sr --lr nan --out {d}/m.npz", "--lr"),
    ("train-sr --scales 20 --out {d}/m.npz", "--scales"),
    ("train-sr --scales 2,x --out {d}/m.npz", "--scales"),
    ("train-sr --scale 1 --out {d}/m.npz", "--scale"),
    ("train-sr --steps 0 --out {d}/m.npz", "--steps"),
    ("train-sr --batch 0 --out {d}/m.npz", "--batch"),
    ("train-sr --model perceptual --tv-weight nan --out {d}/m.npz", "--tv-weight"),
    ("train-sr --tv-weight 1e-4 --out {d}/m.npz", "--tv-weight"),
    ("train-sr --model perceptual --scale 3 --out {d}/m.npz", "--scale"),
    ("train-sr --data {d}/missing --out {d}/m.npz", "missing"),
    ("train-sr --data {d}/empty --out {d}/m.npz", "empty"),
    ("train-sr --data {d}/img.png --out {d}/m.npz", "img.png"),
    ("train-sr --resume --out {d}/missing.npz", "missing.npz"),
    ("train-sr --resume --out {d}/sr.npz --steps 1", "step 1"),
    ("train-sr --resume --out {d}/sr.npz --steps 5 --model vdsr", "--model"),
    ("train-sr --resume --out {d}/sr.npz --steps 5 --scale 2", "--scale"),
    ("train-sr --resume --out {d}/tex.npz --steps 5", "tex.npz"),
    ("sr {d}/img.png --model {d}/sr.npz --out {d}/img.png", "img.png"),
    ("sr {d}/img.png --model {d}/sr.npz --out {d}/sr.npz", "sr.npz"),
    ("sr {d}/img.png --model {d}/sr.npz --scale 4 --out {d}/o.png", "scale"),
    ("sr {d}/img.png --model {d}/sr.npz --scale 0 --out {d}/o.png", "--scale"),
    ("sr {d}/img.png --model {d}/sr.npz --max-memory nan --out {d}/o.png", "--max-memory"),
    ("sr {d}/big.png --model {d}/sr.npz --max-memory 1e-9 --out {d}/o.png", "memory"),
    ("sr {d}/img.png --model {d}/missing.npz --out {d}/o.png", "missing.npz"),
    ("sr {d}/img.png --model {d}/notes.txt --out {d}/o.png", "notes.txt"),
    ("sr {d}/img.png --model {d}/tex.npz --out {d}/o.png", "tex.npz"),
    ("sr {d}/tiny.png --model {d}/sr.npz --out {d}/o.png", "small"),
    ("sr {d}/missing.png --model {d}/sr.npz --out {d}/o.png", "missing.png"),
    ("sr {d}/truncated.png --model {d}/sr.npz --out {d}/o.png", "truncated.png"),
    ("sr {d}/img.png --model {d}/sr.npz --out {d}/photos", "photos"),
    ("sr {d}/img.png --model {d}/sr.npz --out {d}/o.npz", "o.npz"),
    ("sr {d}/img.png --model {d}/sr.npz --out {d}/nofolder/o.png", "nofolder"),
    # ---- dip ------------------------------------------------------------------------------------
    ("dip denoise {d}/img.png --out {d}/img.png", "img.png"),
    ("dip inpaint {d}/img.png --mask {d}/mask.png --out {d}/mask.png", "mask.png"),
    ("dip denoise {d}/img.png --ground-truth {d}/style.png --out {d}/style.png", "style.png"),
    ("dip denoise {d}/img.png --out {d}/o.txt", "o.txt"),
    ("dip denoise {d}/img.png --out {d}/photos", "photos"),
    ("dip denoise {d}/img.png --out {d}/nofolder/o.png", "nofolder"),
    ("dip denoise {d}/img.png --checkpoint {d}/img.png --out {d}/o.png", "img.png"),
    ("dip denoise {d}/img.png --checkpoint {d}/c.png --out {d}/o.png", "c.png"),
    ("dip denoise {d}/img.png --checkpoint {d}/sr.npz --out {d}/o.png", "--resume"),
    ("dip denoise {d}/img.png --checkpoint {d}/missing.npz --resume --out {d}/o.png", "missing.npz"),
    ("dip denoise {d}/img.png --resume --out {d}/o.png", "--checkpoint"),
    ("dip sr {d}/img.png --factor 2048 --out {d}/o.png", "--factor"),
    ("dip sr {d}/img.png --factor 0 --out {d}/o.png", "--factor"),
    ("dip denoise {d}/img.png --iters 0 --out {d}/o.png", "--iters"),
    ("dip denoise {d}/img.png --lr inf --out {d}/o.png", "--lr"),
    ("dip denoise {d}/img.png --lr nan --out {d}/o.png", "--lr"),
    ("dip denoise {d}/img.png --lr 0 --out {d}/o.png", "--lr"),
    ("dip denoise {d}/img.png --ema 1 --out {d}/o.png", "--ema"),
    ("dip denoise {d}/img.png --ema nan --out {d}/o.png", "--ema"),
    ("dip denoise {d}/img.png --reg-noise-std nan --out {d}/o.png", "--reg-noise-std"),
    ("dip denoise {d}/img.png --reg-noise-std -1 --out {d}/o.png", "--reg-noise-std"),
    ("dip denoise {d}/img.png --channels 0 --out {d}/o.png", "--channels"),
    ("dip denoise {d}/img.png --scales 0 --out {d}/o.png", "--scales"),
    ("dip denoise {d}/img.png --scales 20 --out {d}/o.png", "--scales"),
    ("dip denoise {d}/img.png --stop-below nan --out {d}/o.png", "--stop-below"),
    ("dip denoise {d}/img.png --time-limit -1 --out {d}/o.png", "--time-limit"),
    ("dip denoise {d}/img.png --time-limit nan --out {d}/o.png", "--time-limit"),
    ("dip denoise {d}/img.png --max-memory nan --out {d}/o.png", "--max-memory"),
    ("dip denoise {d}/img.png --max-memory 1e-9 --out {d}/o.png", "memory"),
    ("dip denoise {d}/img.png --snapshot-every -1 --out {d}/o.png", "--snapshot-every"),
    ("dip denoise {d}/img.png --save-every 10 --out {d}/o.png", "--snapshot-every"),
    ("dip inpaint {d}/img.png --mask {d}/mask_small.png --out {d}/o.png", "mask_small.png"),
    ("dip inpaint {d}/img.png --mask {d}/style.png --out {d}/o.png", "style.png"),
    ("dip inpaint {d}/img.png --out {d}/o.png", "--mask"),
    ("dip denoise {d}/img.png --mask {d}/mask.png --out {d}/o.png", "--mask"),
    ("dip denoise {d}/missing.png --out {d}/o.png", "missing.png"),
    ("dip denoise {d}/truncated.png --out {d}/o.png", "truncated.png"),
    ("dip denoise {d}/tiny.png --out {d}/o.png", "tiny.png"),
    ("dip denoise {d}/img.png --ground-truth {d}/big.png --out {d}/o.png", "big.png"),
    ("dip denoise {d}/img.png --input meshgrid --input-channels 5 --out {d}/o.png", "--input-channels"),
    ("dip denoise {d}/img.png --skip-channels -1 --out {d}/o.png", "--skip-channels"),
    ("dip blur {d}/img.png --out {d}/o.png", "blur"),
]


@pytest.mark.parametrize("argv, needle", CASES, ids=[c[0].replace("{d}/", "")[:80] for c in CASES])
def test_bad_input_is_refused_in_one_line_and_touches_no_file(world, argv, needle, capsys):
    before = _snapshot(world)
    args = [a.replace("{d}", str(world)) for a in argv.split()]
    try:
        status = main(args)
    except SystemExit as e:  # argparse's own ending
        status = e.code
    err = capsys.readouterr().err
    assert status in (1, 2), (status, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert not CLASS_NAMES.search(err), err
    assert needle in err, err
    assert _snapshot(world) == before
