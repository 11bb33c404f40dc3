"""Feed-forward stylisation as a "pseudo-optimiser": the style loss of a trained network's output next to that
of the content image itself and of Gatys et al.'s optimisation with the same loss, and the seconds each takes.

    python benchmarks/feedforward_quality.py --model johnson.npz --style starry_night.jpg \\
        --content tubingen.jpg kodim23.png --size 256 --iters 100 --out benchmarks/results/feedforward

For every content image (and, for a multistyle network, every style it learnt; for an AdaIN decoder, the
--style image): the network's output, one pass; Gatys et al.'s image optimisation from the content with
L-BFGS (``recipes.style.style_transfer``) on the network's own training loss (its content layer, style layers,
weights and normalisation); then each image scored by that objective (``recipes.optimize.
perceptual_objective``): style and content terms, weighted as in training (an AdaIN decoder, trained on
feature moments, is scored on the Gram loss with the Gram weights its settings record). The style targets are the Gram
matrices of the style image at the run's style size. A row per (content, style); the pictures (content,
feed-forward, optimisation side by side) go to --out. CPU seconds of the process (``time.process_time``).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from common import save_picture, write_json  # noqa: E402
from minigen.recipes.feedforward import Stylizer, load_input, parse_style  # noqa: E402
from minigen.recipes.feedforward.methods import feature_net  # noqa: E402
from minigen.recipes.optimize import features, gram_targets, perceptual_objective  # noqa: E402
from minigen.recipes.style import style_transfer  # noqa: E402
from minigen.tensor import Tensor, no_grad  # noqa: E402


def score(vgg, image, content, style, settings):
    """(style term, content term) of the run's training loss for an (H, W, 3) image."""
    w, normalize = settings["weights"], settings.get("normalize", "none")
    objective = perceptual_objective(vgg, features(vgg, content, [settings["content_layer"]]),
                                     gram_targets(vgg, [style], settings["style_layers"]),
                                     w["content"], w["style"], normalize=normalize)
    with no_grad():
        _, parts = objective(Tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32)))
    return parts["style"].item(), parts["content"].item()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a train-style checkpoint (johnson, multistyle or adain)")
    p.add_argument("--content", nargs="+", required=True, help="content images")
    p.add_argument("--style", nargs="*", default=[], help="the style image(s) (default: the run's own)")
    p.add_argument("--size", type=int, default=256, help="longer side of the content images")
    p.add_argument("--iters", type=int, default=100, help="L-BFGS iterations of the optimisation")
    p.add_argument("--out", default="benchmarks/results/feedforward")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    stylizer = Stylizer(a.model)
    settings = stylizer.config
    vgg, _ = feature_net(settings["vgg"])
    style_size = settings.get("style_size") or settings["crop"]
    styles = a.style or settings["styles"]
    name = os.path.splitext(os.path.basename(a.model))[0]
    rows = []
    print("| model | content | style | image | style term | content term | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for c_path in a.content:
        content = load_input(c_path, a.size)
        for k, s_path in enumerate(styles):
            style = parse_style(s_path, style_size)
            t = time.process_time()
            if settings["method"] == "multistyle":
                out = stylizer(content, mix=np.eye(len(styles))[k])
            elif settings["method"] == "adain":
                out = stylizer(content, mix=[1.0], style_images=[style])
            else:
                out = stylizer(content)
            t_net = time.process_time() - t
            t = time.process_time()
            w = settings["weights"]
            gatys, _ = style_transfer(vgg, content, [style], content_layers=(settings["content_layer"],),
                                      style_layers=tuple(settings["style_layers"]), content_weight=w["content"],
                                      style_weight=w["style"], iters=a.iters,
                                      log_every=0, normalize=settings.get("normalize", "none"))
            t_opt = time.process_time() - t
            c_name, s_name = (os.path.splitext(os.path.basename(q))[0] for q in (c_path, s_path))
            for label, image, secs in (("content", content, 0.0), ("feed-forward", out, t_net),
                                       (f"L-BFGS {a.iters}", gatys, t_opt)):
                s_term, c_term = score(vgg, image, content, style, settings)
                rows.append({"model": name, "content": c_name, "style": s_name, "image": label,
                             "style_term": s_term, "content_term": c_term, "seconds": secs})
                print(f"| {name} | {c_name} | {s_name} | {label} | {s_term:.4g} | {c_term:.4g} | {secs:.2f} |")
            save_picture(os.path.join(a.out, f"{name}_{c_name}_{s_name}.png"),
                         np.concatenate([content, out, gatys], axis=1), scale=1)
    write_json(a.out, name, rows)


if __name__ == "__main__":
    main()
