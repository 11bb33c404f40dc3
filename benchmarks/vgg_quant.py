"""What the bundled VGG-19's 8-bit weights cost, against float weights of the same network.

    python benchmarks/vgg_quant.py [--size 224] [--gatys-size 192] [--iters 100] [--threads 2]
                                   [--out benchmarks/results/vgg]

The float reference is ../shared/data/weights/vgg_normalised_conv3_1.pth (float32, conv1_1 .. conv3_1)
with its per-filter normalisation undone (``models.vgg_weights.align_filters``: each filter rescaled by the
least-squares factor onto the bundled one, a_k = <w_k, q_k> / <w_k, w_k>, carried into the next layer's
inputs), so both networks compute the same features on the layers both have, relu1_1 .. relu3_1, but for
the quantisation. Tables:

- weights: per convolution, the relative error ||W_q - W_f|| / ||W_f|| of the kernels (bias included) and
  the cosine similarity of each filter (min and median); for all 16 kernels, the uint8 step (scale) and the
  relative error rounding to it implies, (scale / sqrt 12) / RMS(W);
- features: per layer, the mean over the images of ||phi_q - phi_f|| / ||phi_f|| and of the same for the
  Gram matrices G = phi phi^T / (C H W), images at --size (longer side);
- gatys: style transfer of tubingen.jpg with starry_night.jpg at --gatys-size, --iters L-BFGS iterations,
  content relu3_1, style relu1_1, relu2_1, relu3_1, average pooling, the default normalised loss
  (alpha/beta = 1/30) with each network; the losses of both results measured by the float network, the
  seconds, and the mean absolute pixel difference between the two results. Images in --out.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, numpy_and_torch  # noqa: E402

IMAGES = ("content/tubingen.jpg", "content/golden_gate.jpg", "content/kodim23.png", "style/starry_night.jpg",
          "style/the_scream.jpg", "textures/pebbles.jpg")
LAYERS = ("relu1_1", "relu1_2", "pool1", "relu2_1", "relu2_2", "pool2", "relu3_1")
FLOAT = os.path.join(DATA, "weights", "vgg_normalised_conv3_1.pth")


def networks(np):
    """(bundled VGG-19, float reference to relu3_1, [(conv, weight error, min cosine, median cosine)])."""
    from minigen.models.vgg import VGG, load_vgg
    from minigen.models.vgg_weights import align_filters, read_weights
    bundled, _ = load_vgg("bundled", pooling="avg")
    params = {f"{n}.{k}": getattr(c, k).data for n, c in bundled.convs() for k in ("weight", "bias")}
    _, _, last, normalised = read_weights(FLOAT)
    rescaled, _, cosines = align_filters(normalised, params)
    ref = VGG(19, pooling="avg", convention="caffe", last=last, seed=None).requires_grad_(False)
    ref.load_state_dict(rescaled)
    rows = []
    for conv in cosines:
        q = np.concatenate([params[conv + ".weight"].ravel(), params[conv + ".bias"]]).astype(np.float64)
        f = np.concatenate([rescaled[conv + ".weight"].ravel(), rescaled[conv + ".bias"]])
        rows.append((conv, 100 * np.linalg.norm(q - f) / np.linalg.norm(f), cosines[conv].min(),
                     np.median(cosines[conv])))
    return bundled, ref, rows


def rounding_noise(np):
    """[(conv, scale, RMS of the kernel, (scale / sqrt 12) / RMS in %)] of every bundled kernel: the relative
    error that rounding to a uniform grid of step ``scale`` leaves, where no float file reaches."""
    from minigen import io, zoo
    state, meta = io.load(zoo.vgg_path())
    from minigen.io.tfjs import dequantize
    rows = []
    for name, q in meta["quantization"].items():
        if name.endswith(".weight"):
            rms = float(np.sqrt(np.mean(dequantize(state[name], q).astype(np.float64) ** 2)))
            rows.append((name[:-7], q["scale"], rms, 100 * q["scale"] / np.sqrt(12) / rms))
    return rows


def load(path, side):
    from minigen.data.images import load_image
    from minigen.recipes.optimize import fit_size, resize
    image = load_image(path)
    return resize(image, fit_size(image.shape, side))


def table(title, header, rows, fmt):
    print(title)
    print(header)
    print("-" * len(header))
    for row in rows:
        print(fmt.format(*row))
    print(flush=True)


def feature_errors(np, bundled, ref, side):
    from minigen import losses as L
    from minigen.recipes.optimize import features
    from minigen.tensor import Tensor
    errs = {k: ([], []) for k in LAYERS}
    for name in IMAGES:
        image = load(os.path.join(DATA, name), side)
        a, b = features(bundled, image, LAYERS), features(ref, image, LAYERS)
        for k in LAYERS:
            ga, gb = (L.gram_matrix(Tensor(f), "johnson").data.astype(np.float64) for f in (a[k], b[k]))
            errs[k][0].append(np.linalg.norm(a[k] - b[k]) / np.linalg.norm(b[k]))
            errs[k][1].append(np.linalg.norm(ga - gb) / np.linalg.norm(gb))
    return [(k, 100 * np.mean(f), 100 * np.max(f), 100 * np.mean(g), 100 * np.max(g)) for k, (f, g) in errs.items()]


def gatys(np, bundled, ref, side, iters, out):
    from minigen.data.images import save_image
    from minigen.recipes.optimize import features, gram_targets, perceptual_objective
    from minigen.recipes.style import style_transfer
    from minigen.tensor import Tensor, no_grad
    content = load(os.path.join(DATA, "content", "tubingen.jpg"), side)
    style = load(os.path.join(DATA, "style", "starry_night.jpg"), side)
    layers = dict(content_layers=("relu3_1",), style_layers=("relu1_1", "relu2_1", "relu3_1"))
    judge = perceptual_objective(ref, features(ref, content, layers["content_layers"]),
                                 gram_targets(ref, [style], layers["style_layers"]), 1.0, 30.0, normalize="target")
    os.makedirs(out, exist_ok=True)
    results, rows = {}, []
    for name, net in (("float", ref), ("uint8", bundled)):
        start = time.perf_counter()
        image, history = style_transfer(net, content, [style], iters=iters, log_every=0, **layers)
        seconds = time.perf_counter() - start
        with no_grad():
            _, parts = judge(Tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None])))
        results[name] = image
        save_image(os.path.join(out, f"gatys_{name}.png"), image)
        rows.append((name, history["style"][0], history["style"][-1], len(history["style"]) - 1, seconds,
                     parts["style"].item(), parts["content"].item()))
    diff = np.abs(results["float"] - results["uint8"])
    save_image(os.path.join(out, "gatys_difference_x4.png"), np.clip(4 * diff, 0, 1))
    return rows, diff.mean() * 255


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--gatys-size", type=int, default=192)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "vgg"))
    args = p.parse_args()
    np, _ = numpy_and_torch(args.threads, no_torch=True)
    if not os.path.isfile(FLOAT):
        sys.exit(f"{FLOAT} is missing: the float reference comes from ../shared/data (see its SOURCES.md)")
    bundled, ref, rows = networks(np)
    table("weights: bundled uint8 vs float (normalisation undone)",
          "conv      weight err %  min cosine  median cosine", rows, "{:<8} {:>13.3f} {:>11.5f} {:>14.5f}")
    table("every bundled kernel: uint8 step and the rounding error it implies",
          "conv         step      RMS  step/sqrt(12)/RMS %", rounding_noise(np), "{:<8} {:>8.5f} {:>8.5f} {:>20.2f}")
    table(f"features on {len(IMAGES)} images at {args.size} px (relative error %, mean and max over images)",
          "layer     feature mean  feature max  Gram mean  Gram max", feature_errors(np, bundled, ref, args.size),
          "{:<8} {:>13.2f} {:>12.2f} {:>10.2f} {:>9.2f}")
    rows, diff = gatys(np, bundled, ref, args.gatys_size, args.iters, args.out)
    table(f"Gatys, tubingen x starry_night at {args.gatys_size} px, {args.iters} L-BFGS iterations, content relu3_1, "
          "style relu1_1..relu3_1, alpha/beta 1/30 (normalised)",
          "weights  style start  style end  iters  seconds  float-judged style  float-judged content",
          rows, "{:<7} {:>12.4g} {:>10.4g} {:>6d} {:>8.0f} {:>19.4g} {:>21.4g}")
    print(f"mean |float result - uint8 result| = {diff:.2f} grey levels (of 255); images in {args.out}")


if __name__ == "__main__":
    main()
