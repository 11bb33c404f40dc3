"""`minigen style` with its defaults on tubingen.jpg x starry_night.jpg, with each feature network.

    python benchmarks/style_defaults.py [--size 192] [--iters 150] [--out benchmarks/results/vgg]
                                        [--runs bundled,random,relu3_1,bundled-paper,random-paper]

Each run is the command a user types, with only --size and --iters set (and --vgg, --normalize where
named): the default loss (each layer a relative error, alpha/beta = 1/30), the default layers (content
relu4_2, style relu1_1..relu5_1, cut to relu3_1 for the relu3_1 file), L-BFGS from the content image.
"-paper" runs add --normalize none (the paper's sums, alpha/beta = 1e-3). Prints one row per run from
the sidecar: style and content loss at the start and the end, iterations, seconds. Images in --out.
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA  # noqa: E402

RUNS = {"bundled": [], "random": ["--vgg", "random"],
        "relu3_1": ["--vgg", os.path.join(DATA, "weights", "vgg_normalised_conv3_1.pth")],
        "bundled-paper": ["--normalize", "none"], "random-paper": ["--vgg", "random", "--normalize", "none"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "vgg"))
    p.add_argument("--runs", default=",".join(RUNS))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MINIGEN_VGG"}
    rows = []
    for run in args.runs.split(","):
        out = os.path.join(args.out, f"style_default_{run}.png")
        cmd = [sys.executable, "-m", "minigen", "style", "--content", os.path.join(DATA, "content", "tubingen.jpg"),
               "--style", os.path.join(DATA, "style", "starry_night.jpg"), "--size", str(args.size), "--iters",
               str(args.iters), "--log-every", str(args.iters), "--out", out, *RUNS[run]]
        print("$ minigen " + " ".join(cmd[3:]), flush=True)
        subprocess.run(cmd, env=env, check=True)
        with open(os.path.splitext(out)[0] + ".json") as f:
            side = json.load(f)
        h = side["history"]
        rows.append((run, side["style_weight_used"], h["style"][0], h["style"][-1], h["content"][-1],
                     side["iterations"], side["seconds"]))
    header = "run            beta  style start  style end  content end  iters  seconds"
    print(f"\nminigen style defaults, tubingen x starry_night, --size {args.size} --iters {args.iters}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print("{:<13} {:>5g} {:>12.4g} {:>10.4g} {:>12.4g} {:>6d} {:>8.0f}".format(*row))


if __name__ == "__main__":
    main()
