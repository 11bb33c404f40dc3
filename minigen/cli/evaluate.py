"""``minigen train-lenet`` and ``minigen evaluate``: the yardsticks of generative models.

    minigen train-lenet --data DIR --out RUN.npz [--export LENET.safetensors]
    minigen evaluate SAMPLES [--labels L.npy | --toy ring8|grid25] [--nn-out NN.png] [--json FILE]

train-lenet trains the LeNet-5 classifier (``recipes.classifier``) on MNIST
(or the procedural digits) and reports its test accuracy; ``--export`` writes
the slim file bundled as ``minigen/zoo/lenet5.safetensors``. evaluate scores
samples of digits with the bundled LeNet (or ``--classifier``), or 2-D samples
against a toy distribution (``recipes.evaluate``).
"""
import math
import sys

from ..errors import MinigenError
from .files import check_output, clean_stale_temporaries
from .options import (add_checkpointing, add_device, add_logging, add_out, add_seed, nonneg_int, positive_float,
                      positive_int)

DEMO_SECTION = "yardsticks"
EPOCHS = 20
DEFAULTS = {"batch": 128, "lr": 2e-3, "shift": 2, "seed": 0}


def add_data(p):
    p.add_argument("--data", metavar="DIR",
                   help="MNIST folder (the four IDX files, gz or not); default: $MINIGEN_MNIST, else the embedded "
                        "procedural digits")


def register(subparsers):
    p = subparsers.add_parser(
        "train-lenet", help="train the LeNet-5 digit classifier of the yardsticks",
        description="Train LeNet-5 (ReLU, max pooling) on the MNIST training set with Adam, a cosine learning "
                    "rate and random shifts of up to --shift pixels; prints the test accuracy. The bundled "
                    "minigen/zoo/lenet5.safetensors was made with the defaults: "
                    "minigen train-lenet --data DIR --out lenet_run.npz --export lenet5.safetensors")
    add_data(p)
    p.add_argument("--epochs", type=positive_int, metavar="N",
                   help=f"passes over the training set (default: {EPOCHS}; with --resume, the run's own)")
    p.add_argument("--batch", type=positive_int, metavar="N", help=f"images per step (default: {DEFAULTS['batch']})")
    p.add_argument("--lr", type=positive_float, help=f"peak learning rate, > 0 (default: {DEFAULTS['lr']:g})")
    p.add_argument("--shift", type=nonneg_int, metavar="PX",
                   help=f"random translation of each image, in pixels (default: {DEFAULTS['shift']})")
    p.add_argument("--export", metavar="FILE",
                   help="also write the trained network alone (.safetensors or .npz), as bundled in minigen/zoo")
    add_out(p, "lenet_run.npz", help="the training checkpoint (.npz or .safetensors)", metavar="CKPT")
    add_checkpointing(p, 500)
    add_logging(p, 100)
    add_device(p)
    add_seed(p)
    p.set_defaults(seed=None, run=cmd_train)
    register_evaluate(subparsers)


def announce(source, what):
    if source == "procedural":
        print(f"minigen: no MNIST given (--data or $MINIGEN_MNIST): {what} the embedded procedural digits",
              file=sys.stderr)


def cmd_train(args):
    from ..data.mnist import load_mnist, mnist_folder
    from ..io import checkpoint as ckpt_io
    from ..recipes import classifier
    from .options import check_device
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.data], kind="checkpoint", resume=args.resume, force=args.force)
    export = args.export and check_output(args.export, inputs=[args.data, out], kind="checkpoint", force=True)
    given = {k: getattr(args, k) for k in ("batch", "lr", "shift", "seed", "epochs") if getattr(args, k) is not None}
    if args.resume:
        saved = ckpt_io.load(out, kind=classifier.KIND).settings
        settings = {k: saved.get(k) for k in ("batch", "lr", "shift", "seed", "epochs", "data")}
        settings.update(given)
        if args.data is not None and args.data != saved.get("data"):
            raise MinigenError(f"--data {args.data}: the run at {out} was trained on {saved.get('data')}")
        folder = None if saved.get("data") == "procedural" else saved.get("data")
    else:
        folder = mnist_folder(args.data)
        settings = {**DEFAULTS, "epochs": EPOCHS, **given, "data": folder or "procedural"}
    train = load_mnist("train", folder, seed=settings["seed"])
    announce(train.source, "training on")
    if settings["batch"] > len(train.images):
        raise MinigenError(f"--batch {settings['batch']}: larger than the {len(train.images)} training images")
    steps = settings["epochs"] * (len(train.images) // settings["batch"])
    clean_stale_temporaries(out)
    model, history = classifier.train_lenet(train.images, train.labels, steps, settings, out=out,
                                            resume=args.resume, save_every=args.save_every, device=device,
                                            log_every=args.log_every)
    test = load_mnist("test", folder, seed=settings["seed"])
    acc = classifier.accuracy(model, test.images, test.labels, device)
    print(f"wrote {out}: test accuracy {100 * acc:.2f}% on {len(test.images)} {test.source} test digits")
    if export:
        classifier.export(model, export, dict(settings, steps=steps), acc)
        print(f"wrote {export} (the network alone)")
    return 0


def register_evaluate(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="score generated digits (FLD, class statistics) or 2-D toy samples (modes)",
        description="Score samples of digits with the bundled LeNet-5: the Fréchet distance of its features "
                    "to those of the MNIST test set (FLD), the KL of the class histogram to uniform, the mean "
                    "confidence and the Inception-score analogue; with --labels the accuracy of the asked "
                    "class. With --toy, score 2-D samples by the modes they capture.")
    p.add_argument("samples", metavar="SAMPLES",
                   help="a .npy array (N, 28, 28) or (N, 1, 28, 28) in [0, 1] (with --toy: (N, 2)), a folder of "
                        "28x28 images, or a generator checkpoint")
    p.add_argument("--n", type=positive_int, default=2000, metavar="N",
                   help="samples to draw from a checkpoint (default: 2000)")
    add_data(p)
    p.add_argument("--classifier", metavar="CKPT", help="a train-lenet checkpoint (default: the bundled LeNet-5)")
    p.add_argument("--labels", metavar="NPY", help="the class of each sample, (N,) integers 0-9 (conditional models)")
    p.add_argument("--toy", choices=["ring8", "grid25"], help="score (N, 2) samples against this toy distribution (default: the one a "
                   "generator checkpoint was trained on)")
    p.add_argument("--nn-out", metavar="PNG", help="write each of 32 samples beside its nearest training digit")
    p.add_argument("--scatter", metavar="PNG", help="with --toy: write the samples as a scatter plot over the modes")
    p.add_argument("--json", metavar="FILE",
                   help="also write the scores as JSON (keys fld, class_kl, confidence, inception_score, accuracy, "
                        "modes, high_quality, reverse_kl, those that apply; an infinite value is written as null)")
    add_device(p)
    add_seed(p, help="seed of the samples drawn from a checkpoint")
    p.set_defaults(run=cmd_evaluate)


LINES = {"fld": ("FLD (Fréchet distance, LeNet features)", "{:.3f}"),
         "class_kl": ("class KL to uniform", "{:.4f} nats"), "confidence": ("mean confidence", "{:.4f}"),
         "inception_score": ("Inception-score analogue", "{:.3f}"), "accuracy": ("accuracy of the asked class",
                                                                                 "{:.2%}"),
         "modes": ("modes captured", "{}"), "high_quality": ("high-quality samples", "{:.2f}%"),
         "reverse_kl": ("reverse KL of the mode histogram", "{:.4f} nats")}


def _labels(path, n):
    import numpy as np
    from ..recipes.evaluate import _read_npy
    labels = _read_npy(path)
    if labels.ndim != 1 or len(labels) != n or not np.issubdtype(labels.dtype, np.integer):
        raise MinigenError(f"--labels {path}: expected {n} integer labels (one per sample), found "
                           f"{labels.dtype} of shape {tuple(labels.shape)}")
    if labels.min() < 0 or labels.max() > 9:
        raise MinigenError(f"--labels {path}: labels must be 0 to 9")
    return labels


def cmd_evaluate(args):
    from ..io import write_json
    from ..recipes import evaluate as ev
    from .options import check_device
    device = check_device(args.device)
    inputs = [args.samples, args.labels, args.classifier, args.data]
    outs = {}
    for flag in ("nn_out", "scatter", "json"):
        path = getattr(args, flag)
        if path:
            exts = (".json",) if flag == "json" else (".png",)
            outs[flag] = check_output(path, inputs=inputs + list(outs.values()), extensions=exts,
                                      flag="--" + flag.replace("_", "-"))
    if not args.toy:
        args.toy = ev.toy_of(args.samples)  # a generator trained on a toy mixture is scored against it
    if args.scatter and not args.toy:
        raise MinigenError("--scatter: draws toy samples; give --toy ring8|grid25")
    if args.toy and (args.nn_out or args.labels):
        raise MinigenError(f"--toy: 2-D samples have no {'--nn-out' if args.nn_out else '--labels'}")
    raw, drawn_labels = ev.read_samples(args.samples, args.n, args.seed, device)
    if args.toy:
        points = ev.as_points(raw, args.samples)
        scores, what = ev.score_toy(points, args.toy), f"{len(points)} points against {args.toy}"
    else:
        scores, what = _score_digits(args, ev.as_digits(raw, args.samples), device, outs.get("nn_out"),
                                     drawn_labels)
    print(f"evaluate: {what}")
    for k in ev.KEYS:
        if k in scores:
            label, fmt = LINES[k]
            print(f"  {label:<40} {fmt.format(scores[k])}")
    if args.scatter:
        from ..data.toys import TOYS
        from ..report.scatter import save_scatter
        clean_stale_temporaries(outs["scatter"])
        save_scatter(outs["scatter"], points, modes=TOYS[args.toy].modes, std=TOYS[args.toy].std,
                     title=f"{len(points)} samples, {args.toy}")
        print(f"wrote {outs['scatter']}")
    if args.json:
        finite = {k: (v if math.isfinite(v) else None) for k, v in scores.items()}  # JSON has no infinity
        write_json(outs["json"], {k: finite[k] for k in ev.KEYS if k in finite})
        print(f"wrote {outs['json']}")
    return 0


def _score_digits(args, samples, device, nn_out, drawn_labels=None):
    from ..data.images import save_image
    from ..data.mnist import load_mnist, mnist_folder
    from ..recipes import evaluate as ev
    from ..report import image_grid
    from ..zoo import load_network
    if args.labels and drawn_labels is not None:
        raise MinigenError(f"--labels: {args.samples} is a conditional generator; it knows the labels it drew")
    labels = _labels(args.labels, len(samples)) if args.labels else drawn_labels
    classifier, _ = load_network(args.classifier or "lenet5", device)
    if getattr(classifier, "kind", None) != "lenet":
        raise MinigenError(f"--classifier {args.classifier}: holds a {classifier.kind} network, not a LeNet")
    folder = mnist_folder(args.data)
    test = load_mnist("test", folder)
    announce(test.source, "comparing with")
    reference = ev.reference_features(classifier, test.images, device)
    scores = ev.score_digits(samples, classifier, reference, labels, device)
    if nn_out:
        train = load_mnist("train", folder)
        clean_stale_temporaries(nn_out)
        grid = image_grid(ev.neighbour_pairs(samples, train.images), ncol=4, pad=4)
        save_image(nn_out, grid.repeat(3, axis=0).repeat(3, axis=1))  # 3x, to see the pixels
        print(f"wrote {nn_out} (sample | nearest of {len(train.images)} training digits)")
    return scores, f"{len(samples)} samples against {len(test.images)} {test.source} test digits"


# ---- demo ------------------------------------------------------------------------------------------

def demo_section(gallery, device, seed, quick):
    """The yardsticks at work: the bundled LeNet reads procedural digits; toy mixtures and their modes."""
    import numpy as np
    from ..data.digits import digits
    from ..data.toys import TOYS, sample_toy
    from ..metrics.generative import softmax
    from ..metrics.modes import mode_metrics
    from ..recipes.classifier import predict
    from ..report import draw_scatter, image_grid
    from ..zoo import load_network
    net, ckpt = load_network("lenet5", device)
    images, labels = digits(32, seed=seed)
    probs = softmax(predict(net, images[:, None] / 255.0, device=device)[0])
    said = probs.argmax(1)
    gallery.section("yardsticks: the bundled LeNet-5 and the toy mixtures",
                    f"The bundled LeNet-5 ({100 * ckpt.extra['test_accuracy']:.2f}% on the MNIST test set) reads "
                    f"32 procedural digits: {int((said == labels).sum())} right, mean confidence "
                    f"{probs.max(1).mean():.3f}. Its 84 penultimate features give the Fréchet distance of "
                    f"`minigen evaluate`. Below, 2,500 samples of each toy mixture with its modes "
                    f"(cross, 3-std circle): the target a GAN must cover.")
    gallery.image("yardsticks_digits.png", image_grid(images[:, None] / 255.0, ncol=8), "procedural digits; "
                  "LeNet reads them as " + " ".join(map(str, said)), zoom=3)
    rng = np.random.default_rng(seed)
    for name in TOYS:
        points = sample_toy(name, 2500, rng)
        m = mode_metrics(points, name)
        picture = np.asarray(draw_scatter(points, modes=TOYS[name].modes, std=TOYS[name].std,
                                          title=f"{name}: 2,500 samples"), np.float32) / 255.0
        gallery.image(f"yardsticks_{name}.png", picture, f"{name}: {m['modes']} modes captured, "
                      f"{m['high_quality']:.1f}% high quality, reverse KL {m['reverse_kl']:.4f}")
