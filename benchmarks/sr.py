"""Super-resolution quality: PSNR / SSIM on Set5 and Set14 at x2, x3, x4, next to the papers.

    python benchmarks/sr.py [--data ../shared/data/sr] [--sets Set5,Set14] [--scales 2,3,4]
                            [--srcnn CKPT] [--srcnn-955 CKPT] [--vdsr CKPT] [--perceptual CKPT]
                            [--perceptual-pixel CKPT] [--json OUT]

Protocol of the SRCNN / VDSR evaluation code: the ground truth is the 8-bit
luma Y (BT.601, as MATLAB's rgb2ycbcr on uint8; grey images such as Set14's
bridge are their own luma) mod-cropped to the scale; the input is
imresize(HR, 1/s) (MATLAB bicubic, antialiased); bicubic = imresize(LR, s);
luma networks restore Y from the bicubic image; every result is rounded to
8 bits; PSNR and SSIM (Wang et al. 2004, 11x11 Gaussian, valid) on Y with a
border of s pixels removed. The x4 perceptual network gets the LR RGB image
(imresize of the 8-bit HR RGB) and is scored on the Y of its 8-bit output.

The bicubic rows check imresize and the metrics: Set5 gives 33.66 / 30.39 /
28.42 dB, as published. Checkpoints come from ``minigen train-sr``; models
not given are skipped, and a model is scored only at the scales it was
trained for.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from minigen.data.datasets import list_images, load_rgb, load_y, quantize
from minigen.data.imresize import imresize
from minigen.metrics import mod_crop, psnr_y, ssim_y, to_y
from minigen.recipes.sr import load_sr_model, restore_luma, upscale

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA  # noqa: E402

# Published mean PSNR / SSIM (Kim et al. 2016, VDSR, Table 3; bicubic and SRCNN as listed there).
PUBLISHED = {
    ("bicubic", "Set5"): {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)},
    ("bicubic", "Set14"): {2: (30.24, 0.8688), 3: (27.55, 0.7742), 4: (26.00, 0.7027)},
    ("srcnn", "Set5"): {2: (36.66, 0.9542), 3: (32.75, 0.9090), 4: (30.48, 0.8628)},
    ("srcnn", "Set14"): {2: (32.42, 0.9063), 3: (29.28, 0.8209), 4: (27.49, 0.7503)},
    ("vdsr", "Set5"): {2: (37.53, 0.9587), 3: (33.66, 0.9213), 4: (31.35, 0.8838)},
    ("vdsr", "Set14"): {2: (33.03, 0.9124), 3: (29.77, 0.8314), 4: (28.01, 0.7674)},
}
MODEL_OPTIONS = ("srcnn", "srcnn-955", "vdsr", "perceptual", "perceptual-pixel")


def evaluate(method, paths, scale, model=None, config=None):
    """Mean (PSNR, SSIM) of one method over image files at one scale."""
    ps, ss = [], []
    for path in paths:
        hr_y = mod_crop(load_y(path).astype(np.float64), scale)
        if method == "bicubic":
            sr_y = imresize(imresize(hr_y, 1 / scale), scale)
        elif config["model"] == "perceptual":
            hr = mod_crop(load_rgb(path).astype(np.float64), scale)
            out = upscale(model, config, imresize(hr, 1 / scale), scale)
            sr_y = np.rint(to_y(quantize(out))) / 255  # 8-bit RGB output, then 8-bit Y
        else:
            sr_y = restore_luma(model, imresize(imresize(hr_y, 1 / scale), scale))
        sr_y = quantize(sr_y)
        ps.append(psnr_y(sr_y, hr_y, scale))
        ss.append(ssim_y(sr_y, hr_y, scale))
    return float(np.mean(ps)), float(np.mean(ss))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(DATA, "sr"), help="folder holding Set5/ and Set14/")
    parser.add_argument("--sets", default="Set5,Set14")
    parser.add_argument("--scales", default="2,3,4")
    for name in MODEL_OPTIONS:
        parser.add_argument(f"--{name}", metavar="CKPT", help=f"{name} checkpoint from minigen train-sr")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    models = {}
    for name in MODEL_OPTIONS:
        path = getattr(args, name.replace("-", "_"))
        if path:
            models[name] = load_sr_model(path)
    rows = []
    print(f"{'set':6} {'scale':>5}  {'method':17} {'PSNR':>7} {'SSIM':>7}   {'paper PSNR':>10} {'SSIM':>7} {'time':>6}")
    for set_name in args.sets.split(","):
        folder = os.path.join(args.data, set_name)
        if not os.path.isdir(folder):
            print(f"{folder}: missing, skipped", file=sys.stderr)
            continue
        paths = list_images(folder)
        for scale in scales:
            for method in ("bicubic",) + tuple(models):
                model, config = models.get(method, (None, None))
                if config is not None and scale not in config["scales"]:
                    continue
                start = time.perf_counter()
                p, s = evaluate(method, paths, scale, model, config)
                ref = PUBLISHED.get((method.replace("-955", ""), set_name), {}).get(scale)
                ref_text = f"{ref[0]:10.2f} {ref[1]:7.4f}" if ref else f"{'-':>10} {'-':>7}"
                took = time.perf_counter() - start
                print(f"{set_name:6} {'x' + str(scale):>5}  {method:17} {p:7.2f} {s:7.4f}   {ref_text} {took:5.0f}s",
                      flush=True)
                rows.append({"set": set_name, "scale": scale, "method": method, "psnr": p, "ssim": s,
                             "paper": ref, "seconds": took})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
