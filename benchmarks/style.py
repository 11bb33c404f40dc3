"""Speed and memory of the feature-network work behind feature inversion, textures and style transfer.

    python benchmarks/style.py [--sections vgg,gatys,quality] [--sizes 256,512] [--repeat N] [--threads T]
                               [--no-torch] [--iters N] [--quality texture,style] [--quality-size N]
                               [--quality-iters N] [--ratio R]

Sections (each prints one table):

- vgg: VGG-19 forward to relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 and
  backward to the input image (the weights frozen, as in every
  image-optimisation method), batch 1, float32, seeded random weights
  (``VGG.randomize``; the speed does not depend on the values), on a
  uniform-noise image. The loss is
  the sum of the five activations' means. Beside it, when ``import torch``
  works, the identical network in torch with the same weights copied over
  (the same 1x1 input map, 3x3 zero-padded convs, ReLU, 2x2 max pooling),
  with the same number of BLAS threads; the runs alternate. Before timing,
  the two libraries' features and input gradients are compared: the largest
  relative L2 difference ||a - b|| / ||b|| over the five features and the
  gradient is printed. (In float64 they agree to 1e-15; in float32 rounding
  flips a few near-ties of ReLU and max pooling, which moves the gradient by
  about 1e-4.)
- gatys: seconds per L-BFGS iteration and peak memory of style transfer
  (Gatys et al. 2016 layers) at each size (see ``gatys_section``).
- quality: texture synthesis and style transfer with the shared relu3_1
  weights; loss reduction factors, images in benchmarks/results/
  (see ``quality_section``).

"minigen s" and "torch s" are median wall times over --repeat runs, each run
directly after an untimed run of the same library (``ops.median_times``); "peak MiB" is the tracemalloc peak of NumPy's
allocations during one minigen run (``ops.peak_mib``): minigen's activations,
saved tensors and temporaries, not torch's. Add a section by writing a
function ``section(args, np, torch) -> None`` that prints its table and
listing it in SECTIONS.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, numpy_and_torch  # noqa: E402
from ops import median_times, peak_mib  # noqa: E402  (the shared timing helpers)

FEATURES = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def print_table(title, columns, rows):
    """columns: (header, width, format) triples; rows: tuples of values (None prints '-')."""
    print(title)
    header = " ".join(f"{h:>{w}}" for h, w, _ in columns)
    print(header)
    print("-" * len(header))
    for row in rows:
        print(" ".join(f"{'-':>{w}}" if v is None else f"{v:>{w}{fmt}}" for v, (_, w, fmt) in zip(row, columns)),
              flush=True)
    print()


# ---- vgg: forward + backward to the input -------------------------------------------

def minigen_vgg_step(vgg, image):
    """A function running the VGG features forward and backward to a fresh input; returns (features, grad)."""
    from minigen import Tensor

    def run():
        x = Tensor(image, requires_grad=True)
        feats = vgg(x, FEATURES)
        loss = None
        for f in feats.values():
            loss = f.mean() if loss is None else loss + f.mean()
        loss.backward()
        return [f.data for f in feats.values()], x.grad
    return run


def torch_vgg_step(vgg, image, torch):
    """The same network in torch, built from the minigen VGG's weights."""
    import torch.nn.functional as TF
    from minigen.models.vgg import input_transform

    w0, b0 = (torch.from_numpy(a.astype(image.dtype)) for a in input_transform(vgg.convention))
    convs = {name: (torch.from_numpy(c.weight.data.copy()), torch.from_numpy(c.bias.data.copy()))
             for name, c in vgg.convs()}
    names = vgg.names[:vgg.names.index(FEATURES[-1]) + 1]

    def run():
        x = torch.from_numpy(image).requires_grad_()
        h, feats = TF.conv2d(x, w0, b0), []
        for name in names:
            if name.startswith("conv"):
                h = TF.conv2d(h, *convs[name], padding=1)
            elif name.startswith("relu"):
                h = TF.relu(h)
            else:
                h = TF.max_pool2d(h, 2, 2)
            if name in FEATURES:
                feats.append(h)
        sum(f.mean() for f in feats).backward()
        return [f.detach().numpy() for f in feats], x.grad.numpy()
    return run


def _rel_l2(a, b, np):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def vgg_section(args, np, torch):
    from minigen.models.vgg import VGG

    vgg = VGG(19, pooling="max").requires_grad_(False)
    rows = []
    for size in args.sizes:
        # Uniform noise: no ties inside a pooling window, where the two libraries may route
        # the max-pool gradient to different (equally valid) elements.
        image = np.random.default_rng(size).random((1, 3, size, size), dtype=np.float32)
        run = minigen_vgg_step(vgg, image)
        runs = [run]
        diff = None
        if torch:
            trun = torch_vgg_step(vgg, image, torch)
            (mf, mg), (tf, tg) = run(), trun()
            diff = max([_rel_l2(a, b, np) for a, b in zip(mf, tf)] + [_rel_l2(mg, tg, np)])
            runs.append(trun)
        times = median_times(runs, args.repeat)
        peak = peak_mib(run)
        row = (f"{size}x{size}", times[0], peak)
        rows.append(row + (times[1], times[0] / times[1], diff) if torch else row)
    columns = [("size", 9, ""), ("minigen s", 10, ".2f"), ("peak MiB", 9, ".0f")]
    if torch:
        columns += [("torch s", 8, ".2f"), ("ratio", 6, ".2f"), ("rel L2 diff", 12, ".1e")]
    print_table(f"VGG-19 to relu5_1, forward + backward to the input, batch 1, float32, median of {args.repeat}",
                columns, rows)


# ---- gatys: style transfer per iteration; quality: real weights, images saved --------------

GATYS_CONTENT, GATYS_STYLE = ("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def gatys_section(args, np, torch):
    """Style transfer as Gatys et al. (2016) set it up: VGG-19 (seeded random weights; the speed does not
    depend on them), average pooling, content relu4_2, style relu1_1..relu5_1, L-BFGS on a size x size
    image. s/iter: wall time of --iters L-BFGS iterations divided by the iterations done (scipy included;
    an iteration may evaluate the loss more than once, evals/iter, mostly in its first line search);
    s/eval: median of one loss evaluation + backward; peak MiB: tracemalloc peak of one evaluation;
    estimate: what the commands' --max-memory check assumes (recipes.vgg_layers.vgg_memory)."""
    import time
    from minigen.data.procedural import shapes, texture
    from minigen.models.vgg import VGG
    from minigen.recipes.optimize import features, gram_targets, optimize_image, perceptual_objective
    from minigen.recipes.vgg_layers import vgg_memory
    from minigen.tensor import Tensor

    vgg = VGG(19, pooling="avg").requires_grad_(False)
    rows = []
    for size in args.sizes:
        content = shapes(1, size, seed=0)[0].transpose(1, 2, 0)
        style = texture("waves", size, seed=1).transpose(1, 2, 0)
        objective = perceptual_objective(vgg, content=features(vgg, content, GATYS_CONTENT),
                                         style=gram_targets(vgg, [style], GATYS_STYLE), style_weight=1e3)
        x0 = np.ascontiguousarray(content.transpose(2, 0, 1)[None])

        def evaluate():
            x = Tensor(x0.copy(), requires_grad=True)
            objective(x)[0].backward()
        eval_s = median_times([evaluate], args.repeat)[0]
        peak = peak_mib(evaluate)
        evals = []

        def counted(x):
            evals.append(1)
            return objective(x)
        start = time.perf_counter()
        _, history = optimize_image(x0, counted, args.iters, log_every=0)
        done = len(history["total"]) - 1
        estimate = vgg_memory(19, GATYS_CONTENT + GATYS_STYLE, size, size) / 2 ** 20
        rows.append((f"{size}x{size}", (time.perf_counter() - start) / done, len(evals) / done, eval_s, peak,
                     estimate))
    print_table(f"Style transfer (Gatys 2016 layers), VGG-19 avg pool, float32, L-BFGS, {args.iters} iterations; "
                f"s/eval median of {args.repeat}",
                [("size", 9, ""), ("s/iter", 7, ".2f"), ("evals/iter", 11, ".2f"), ("s/eval", 7, ".2f"),
                 ("peak MiB", 9, ".0f"), ("estimate MiB", 13, ".0f")], rows)


def _save_small(name, image):
    from minigen.data.images import save_image
    os.makedirs(RESULTS, exist_ok=True)
    save_image(os.path.join(RESULTS, name), image)


def quality_section(args, np, torch):
    """Texture synthesis of textures/pebbles.jpg (--up-to pool2: relu1_1, pool1, pool2) and style transfer of
    content/tubingen.jpg with style/starry_night.jpg (style relu1_1, relu2_1, relu3_1, content relu3_1) with the
    shared VGG-19 weights that end at relu3_1 (vgg_normalised, caffe input convention), average pooling, L-BFGS
    from noise / from the content at --quality-size. Prints the loss reduction factors and writes the images
    to benchmarks/results/."""
    import time
    from minigen.data.images import load_image
    from minigen.models.vgg import load_vgg
    from minigen.recipes.optimize import fit_size, resize
    from minigen.recipes.style import style_transfer
    from minigen.recipes.texture import UP_TO, synthesize_texture

    weights = os.path.join(DATA, "weights", "vgg_normalised_conv3_1.pth")
    if not os.path.exists(weights):
        print(f"quality: skipped, {weights} is absent\n")
        return
    vgg, info = load_vgg(weights, pooling="avg")
    n, iters = args.quality_size, args.quality_iters
    columns = [("run", 16, ""), ("size", 8, ""), ("iters", 6, ""), ("seconds", 8, ".0f"), ("style start", 12, ".3g"),
               ("style end", 10, ".3g"), ("reduction", 10, ".0f"), ("content end", 12, ".3g")]
    title = f"Quality: {info['weights']} ({info['convention']}, up to {info['last']}), avg pool, L-BFGS"
    if "texture" in args.quality:
        src = load_image(os.path.join(DATA, "textures", "pebbles.jpg"))
        src = resize(src, fit_size(src.shape, n))
        start = time.perf_counter()
        image, h = synthesize_texture(vgg, src, (n, n), UP_TO["pool2"], iters, log_every=25)
        _save_small("texture_pebbles.png", image)
        print_table(f"{title}; texture from noise, relu1_1, pool1, pool2", columns, [
            ("texture pebbles", f"{n}x{n}", len(h["style"]) - 1, time.perf_counter() - start, h["style"][0],
             h["style"][-1], h["style"][0] / h["style"][-1], None)])
    if "style" in args.quality:
        content = load_image(os.path.join(DATA, "content", "tubingen.jpg"))
        content = resize(content, fit_size(content.shape, n))
        style = load_image(os.path.join(DATA, "style", "starry_night.jpg"))
        start = time.perf_counter()
        image, h = style_transfer(vgg, content, [style], content_layers=("relu3_1",),
                                  style_layers=("relu1_1", "relu2_1", "relu3_1"), style_weight=1 / args.ratio,
                                  iters=iters, log_every=25)
        _save_small("style_tubingen_starry_night.png", image)
        print_table(f"{title}; style transfer alpha/beta = {args.ratio:g}, style relu1_1..relu3_1, content relu3_1, "
                    "from the content", columns, [
                        ("style tubingen", "x".join(map(str, content.shape[1::-1])), len(h["style"]) - 1,
                         time.perf_counter() - start, h["style"][0], h["style"][-1], h["style"][0] / h["style"][-1],
                         h["content"][-1])])


SECTIONS = {"vgg": vgg_section, "gatys": gatys_section, "quality": quality_section}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    p.add_argument("--sizes", default="256,512", help="image sides, comma-separated (default 256,512)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per row; the median is shown (default 3)")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="BLAS threads for NumPy and torch (default: this machine's cores)")
    p.add_argument("--no-torch", action="store_true", help="skip the torch comparison")
    p.add_argument("--iters", type=int, default=10, help="gatys: L-BFGS iterations timed per size (default 10)")
    p.add_argument("--quality", default="texture,style", help="quality: which runs (default texture,style)")
    p.add_argument("--quality-size", type=int, default=256, help="quality: longer side (default 256)")
    p.add_argument("--quality-iters", type=int, default=200, help="quality: L-BFGS iterations (default 200)")
    p.add_argument("--ratio", type=float, default=1e-6, help="quality: alpha/beta of style transfer (default 1e-6)")
    args = p.parse_args()
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {list(SECTIONS)}")
    try:
        args.sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        p.error(f"--sizes must be comma-separated integers, not {args.sizes!r}")
    if args.repeat < 1 or args.threads < 1 or min(args.sizes) < 16:
        p.error("--repeat and --threads must be >= 1 and every size >= 16")
    return args


def main():
    args = parse_args()
    np, torch = numpy_and_torch(args.threads, args.no_torch)
    print(f"minigen style benchmark: {args.threads} thread(s), NumPy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else ", no torch comparison") + "\n")
    for name in args.sections.split(","):
        SECTIONS[name](args, np, torch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
