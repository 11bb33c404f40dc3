"""``minigen train-gan`` and ``minigen gan-arithmetic``: GANs (``recipes.gan``, ``recipes.arithmetic``).

    minigen train-gan --model gan|dcgan|cgan|wgan|lsgan [--data DIR|ring8|grid25 | --images DIR] --out CKPT
    minigen train-gan --out CKPT --resume [--steps N]
    minigen gan-arithmetic CKPT [--attribute mass|slant] --out arithmetic.png

Samples and interpolation strips come from ``minigen sample CKPT``; the
yardsticks (and the mode table of a toy) from ``minigen evaluate CKPT``.
"""
import os

import numpy as np

from ..data.files import IMAGE_EXTENSIONS
from ..errors import MinigenError
from .evaluate import announce
from .files import check_output, clean_stale_temporaries
from .options import (add_checkpointing, add_device, add_logging, add_out, add_seed, check_device, float_range,
                      int_range, positive_float, positive_int)

DEMO_SECTION = "gans"
MODELS = ("gan", "dcgan", "cgan", "wgan", "lsgan")
TOYS = ("ring8", "grid25")
# The reference recipes: DCGAN's Adam 2e-4, betas (0.5, 0.999), batch 64 for gan/dcgan/cgan/lsgan; WGAN's
# RMSprop 5e-5, clip 0.01, 5 critic steps (Arjovsky et al.); on the toys, PacGAN's networks (G 4 x 400 ReLU
# from a 2-D code, D 3 x 200) and batch 100, with Adam 1e-3: PacGAN's 1e-4 needs far more than our 5,000
# steps (at 1e-4 or 5e-4 no mode is reached in 5,000 steps; at 1e-3 all 8 are).
BASE = {"arch": None, "nz": 100, "width": 64, "g_hidden": [256, 512, 1024], "d_hidden": [512, 256],
        "optimizer": "adam", "lr": 2e-4, "betas": [0.5, 0.999], "batch": 64, "d_steps": 1, "clip": None,
        "critic_boost": False, "coding": "eq9", "g_loss": "nonsaturating", "classes": 0, "size": 28, "grey": True,
        "seed": 0}
PER_MODEL = {"gan": {"arch": "mlp"}, "dcgan": {"arch": "dcgan"}, "cgan": {"arch": "dcgan", "classes": 10},
             "wgan": {"arch": "dcgan", "optimizer": "rmsprop", "lr": 5e-5, "d_steps": 5, "clip": 0.01,
                      "critic_boost": True},
             "lsgan": {"arch": "dcgan"}}
TOY = {"arch": "mlp", "nz": 2, "g_hidden": [400] * 4, "d_hidden": [200] * 3, "lr": 1e-3, "batch": 100}
STEPS = {"gan": 5000, "dcgan": 2000, "cgan": 2000, "wgan": 1000, "lsgan": 2000}
TOY_STEPS = {"gan": 5000, "lsgan": 5000, "wgan": 2000}  # WGAN: each step is 5 critic steps (100 early on)
SETTING_FLAGS = ("model", "arch", "nz", "width", "g_hidden", "d_hidden", "optimizer", "lr", "batch", "d_steps",
                 "clip", "coding", "g_loss", "size", "seed")


def register(subparsers):
    p = subparsers.add_parser(
        "train-gan", help="train a GAN, DCGAN, conditional GAN, WGAN or LSGAN",
        description="Train a generator against a discriminator on MNIST (--data DIR, $MINIGEN_MNIST, else "
                    "procedural digits), on a toy mixture (--data ring8|grid25) or on any image folder "
                    "(--images). gan: perceptrons (Goodfellow et al. 2014); dcgan: Radford et al.'s "
                    "convolutional pair; cgan: the label joined to G's code and D's input (Mirza & Osindero); "
                    "wgan: a critic with clipped weights and the Earth-Mover loss (Arjovsky et al.); lsgan: least "
                    "squares (Mao et al.). The defaults are the papers' recipes. Writes the checkpoint, "
                    "OUT_samples.png (a fixed-code grid, also every --snapshot-every steps as OUT_stepN.png) "
                    "and OUT_loss.png.")
    g = p.add_argument_group("game and networks")
    g.add_argument("--model", choices=MODELS, help="what to train (default: dcgan)")
    g.add_argument("--arch", choices=["mlp", "dcgan"],
                   help="perceptrons or the DCGAN convolutions (default: mlp for gan and the toys, else dcgan)")
    g.add_argument("--nz", type=int_range(1, 1024), metavar="N", help="code size (default: 100; toys 2)")
    g.add_argument("--width", type=int_range(1, 1024), metavar="N",
                   help="dcgan: channels of G's last and D's first layer, ngf = ndf (default: 64)")
    g.add_argument("--g-hidden", type=positive_int, nargs="+", metavar="N",
                   help="mlp: G's hidden widths (default: 256 512 1024; toys 400 x 4)")
    g.add_argument("--d-hidden", type=positive_int, nargs="+", metavar="N",
                   help="mlp: D's hidden widths (default: 512 256; toys 200 x 3)")
    g.add_argument("--d-steps", type=int_range(1, 1000), metavar="K",
                   help="discriminator (critic) steps per generator step (default: 1; wgan 5)")
    g.add_argument("--clip", type=float_range(0, lo_open=True), metavar="C",
                   help="wgan: clip the critic's weights to [-C, C] after every step, C > 0 (default: 0.01)")
    g.add_argument("--coding", choices=["eq8", "eq9"],
                   help="lsgan: the a-b-c coding, eq8 = (-1, 1, 0) or eq9 = (0, 1, 1) (default: eq9)")
    g.add_argument("--g-loss", choices=["nonsaturating", "minimax"],
                   help="gan/dcgan/cgan: G minimises -log D(G(z)) or log(1 - D(G(z))) (default: nonsaturating)")
    g = p.add_argument_group("data")
    g.add_argument("--data", metavar="DIR|TOY",
                   help="MNIST folder (the four IDX files, gz or not), or a toy mixture: ring8 or grid25 "
                        "(default: $MINIGEN_MNIST, else the embedded procedural digits)")
    g.add_argument("--images", metavar="DIR", help="train on this image folder (cropped square, resized to --size)")
    g.add_argument("--size", type=int_range(4, 256), metavar="S",
                   help="--images: the side (dcgan: 28 or 64; default: 64 for dcgan, 28 for mlp)")
    g.add_argument("--rgb", action="store_true", help="--images: keep colour (default: grey)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=positive_int, metavar="N",
                   help=f"generator steps (default: gan {STEPS['gan']}, wgan {STEPS['wgan']}, others "
                        f"{STEPS['dcgan']}; toys 5000, wgan 2000; with --resume, the run's own)")
    g.add_argument("--batch", type=positive_int, metavar="N", help="samples per batch (default: 64; toys 100)")
    g.add_argument("--optimizer", choices=["adam", "rmsprop"], help="(default: adam; wgan rmsprop)")
    g.add_argument("--lr", type=positive_float, help="learning rate of both nets (default: 2e-4; wgan 5e-5; "
                                                     "toys 1e-3)")
    add_out(p, "gan.npz", help="the checkpoint (.npz or .safetensors)", metavar="CKPT")
    add_checkpointing(p, 500)
    p.add_argument_group("output and progress").add_argument(
        "--snapshot-every", type=int_range(0), default=200, metavar="N",
        help="write the fixed-code sample grid every N steps as OUT_stepN.png; 0: only at the end (default: 200)")
    add_logging(p, 50)
    add_device(p)
    add_seed(p)
    p.set_defaults(seed=None, run=cmd_train)

    p = subparsers.add_parser(
        "gan-arithmetic", help="vector arithmetic on a digit generator's codes (A - B + C)",
        description="The lecture's vector arithmetic, checked: draw samples, read each one's class (the bundled "
                    "LeNet) and --attribute (stroke mass or slant, from image moments); average the codes of "
                    "three samples per group: A = class a with a high attribute, B = class a with a low one, "
                    "C = class c with a low one; decode A - B + C (and variants with a little noise) and print "
                    "the class and attribute of every result: the class should be c, the attribute high.")
    p.add_argument("checkpoint", metavar="CKPT", help="a train-gan checkpoint of an unconditional digit generator")
    p.add_argument("--attribute", choices=["mass", "slant"], default="mass",
                   help="the measured attribute (default: mass, the mean ink)")
    p.add_argument("--classes", type=int_range(0, 9), nargs=2, metavar=("A", "C"), default=None,
                   help="the class of groups A and B, and of group C (default: the pair with the most samples)")
    p.add_argument("--pool", type=int_range(100, 100000), default=2000, metavar="N",
                   help="samples drawn to pick the groups from (default: 2000)")
    p.add_argument("--variants", type=int_range(1, 32), default=8, metavar="N",
                   help="results decoded: A - B + C, then with uniform noise of +-0.25 added (default: 8)")
    add_out(p, "arithmetic.png", help="the picture: a row per group (three samples and their mean code's "
                                      "image), then the results")
    add_device(p)
    add_seed(p, help="seed of the drawn samples and the noise")
    p.set_defaults(run=cmd_arithmetic)


# ---- train-gan -------------------------------------------------------------------------------------

def _new_settings(args):
    from ..data.mnist import mnist_folder
    model = args.model or "dcgan"
    toy = args.data if args.data in TOYS else None
    s = {**BASE, **PER_MODEL[model], **(TOY if toy else {}), "model": model}
    given = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k, None) is not None}
    s.update(given)
    if toy:
        if s["arch"] != "mlp":
            raise MinigenError(f"--data {toy}: 2-D points take --arch mlp")
        if model == "cgan":
            raise MinigenError(f"--model cgan needs class labels; the toy {toy} has none (use --data DIR)")
        s["data"], s["shape"] = toy, [2]
    elif args.images:
        if args.data:
            raise MinigenError("--images and --data: give one source of training samples")
        if model == "cgan":
            raise MinigenError("--model cgan needs class labels; train it on digits (--data), not --images")
        s["size"] = args.size or (64 if s["arch"] == "dcgan" else 28)
        s["data"], s["grey"] = "images:" + args.images, not args.rgb
        s["shape"] = [1 if s["grey"] else 3, s["size"], s["size"]]
    else:
        if args.size not in (None, 28):
            raise MinigenError(f"--size {args.size}: the digits are 28x28; --size is for --images")
        s["data"], s["shape"] = mnist_folder(args.data) or "procedural", [1, 28, 28]
    if s["arch"] == "dcgan" and s["shape"][-1] not in (28, 64):
        raise MinigenError(f"--size {s['shape'][-1]}: the DCGAN networks are 28x28 or 64x64")
    for flag, key, models in (("--clip", "clip", ("wgan",)), ("--coding", "coding", ("lsgan",)),
                              ("--g-loss", "g_loss", ("gan", "dcgan", "cgan"))):
        if key in given and model not in models:
            raise MinigenError(f"{flag}: only for --model {' or '.join(models)}")
    return s


def training_data(settings):
    """The recipe's data ({"toy"} or {"x", "y"}) and the source's name."""
    from ..data.images import load_square_images
    from ..data.mnist import load_mnist, to_float
    data = settings["data"]
    if data in TOYS:
        return {"toy": data}, data
    if data.startswith("images:"):
        return {"x": load_square_images(data[7:], settings["size"], settings["grey"]), "y": None}, data[7:]
    digits = load_mnist("train", None if data == "procedural" else data)
    return {"x": to_float(digits.images), "y": digits.labels}, digits.source


def cmd_train(args):
    from ..io import checkpoint as ckpt_io
    device = check_device(args.device)
    data_path = None if args.data in TOYS else args.data
    out = check_output(args.out, inputs=[data_path, args.images], kind="checkpoint", resume=args.resume,
                       force=args.force)
    stem = os.path.splitext(out)[0]
    for suffix in ("_samples.png", "_loss.png"):
        check_output(stem + suffix, inputs=[data_path, args.images, out], flag=f"--out {out} writes")
    if args.resume:
        settings = dict(ckpt_io.load(out, kind="gan").settings)
        given = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k, None) is not None}
        settings.update(given)  # fit refuses any that disagree
        settings["steps"] = args.steps or settings["steps"]
    else:
        settings = _new_settings(args)
        settings["steps"] = args.steps or (TOY_STEPS.get(settings["model"], 5000) if settings["data"] in TOYS
                                           else STEPS[settings["model"]])
    data, source = training_data(settings)
    announce(source, "training on")
    if "x" in data and settings["batch"] > len(data["x"]):
        raise MinigenError(f"--batch {settings['batch']}: larger than the {len(data['x'])} training images")
    clean_stale_temporaries(out)
    g, _, history = _train(settings, data, out, stem, args, device)
    _finish(settings, g, history, out, stem, device)
    return 0


def _picture(g, z, labels, device, toy=None, title=""):
    """An (H, W, C) picture of the generator at codes z: an image grid, or a scatter plot over a toy's modes."""
    from ..report import draw_scatter, image_grid
    out = g.decode_images(z, labels, device)
    if toy:
        from ..data.toys import TOYS as MIXTURES
        return np.asarray(draw_scatter(out, modes=MIXTURES[toy].modes, std=MIXTURES[toy].std, title=title),
                          np.float32) / 255
    return image_grid(out, ncol=10 if g.classes else 8)


def _train(settings, data, out, stem, args, device):
    from ..data.images import save_image
    from ..recipes import gan
    toy = data.get("toy")
    fixed = None

    def snapshot(g, i):
        nonlocal fixed
        fixed = fixed or gan.fixed_codes(g, 2500 if toy else 64, settings["seed"])
        save_image(f"{stem}_step{i:06d}.png", _picture(g, *fixed, device, toy, f"step {i}"))

    return gan.train(settings, data, settings["steps"], out=out, resume=args.resume, save_every=args.save_every,
                     device=device, log_every=args.log_every, snapshot_every=args.snapshot_every,
                     on_snapshot=snapshot, may_change=("steps",))


def _finish(settings, g, history, out, stem, device):
    """The final grid, the loss curves and one line of yardsticks."""
    from ..data.images import save_image
    from ..recipes import gan
    from ..report import save_curves
    toy = settings["data"] if settings["data"] in TOYS else None
    z, labels = gan.fixed_codes(g, 2500 if toy else 64, settings["seed"])
    save_image(f"{stem}_samples.png", _picture(g, z, labels, device, toy, f"{settings['model']}, {toy}"))
    save_curves(f"{stem}_loss.png", {k: v for k, v in history.items() if k in ("d_loss", "g_loss", "em")},
                title=f"train-gan {settings['model']}")
    line = f"wrote {out}, {stem}_samples.png, {stem}_loss.png"
    if toy:
        from ..data.toys import TOYS as MIXTURES
        from ..recipes.evaluate import score_toy
        s = score_toy(g.sample(2500, rng=np.random.default_rng(1)), toy)
        line += (f": {s['modes']} of {len(MIXTURES[toy].modes)} modes, {s['high_quality']:.1f} % high quality, "
                 f"reverse KL {s['reverse_kl']:.3f} (2,500 samples)")
    elif not settings["data"].startswith("images:"):
        from ..data.mnist import load_mnist
        from ..recipes.evaluate import reference_features, score_digits
        from ..zoo import load_network
        lenet, _ = load_network("lenet5", device)
        test = load_mnist("test", None if settings["data"] == "procedural" else settings["data"])
        labels = g.sample_labels(2000)
        s = score_digits(g.sample(2000, rng=np.random.default_rng(1), device=device, labels=labels), lenet,
                         reference_features(lenet, test.images, device), labels, device)
        line += (f": FLD {s['fld']:.1f}, class KL {s['class_kl']:.3f}, confidence {s['confidence']:.3f}"
                 + (f", conditional accuracy {100 * s['accuracy']:.1f} %" if "accuracy" in s else "")
                 + f" (2,000 samples against the {test.source} test digits)")
    print(line)


# ---- gan-arithmetic --------------------------------------------------------------------------------

def cmd_arithmetic(args):
    from ..data.images import save_image
    from ..recipes import arithmetic as ar
    from ..recipes.sample import load_generator
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.checkpoint], extensions=IMAGE_EXTENSIONS)
    _, g = load_generator(args.checkpoint, device)
    if not getattr(g, "images", False) or tuple(g.shape) != (1, 28, 28):
        raise MinigenError(f"{args.checkpoint}: gan-arithmetic reads 28x28 digits; this {g.kind} makes "
                           f"{'points' if not getattr(g, 'images', True) else 'x'.join(map(str, g.shape))}")
    if g.classes:
        raise MinigenError(f"{args.checkpoint}: a conditional generator (its class comes from the label); "
                           "gan-arithmetic is for unconditional ones")
    result = ar.arithmetic(g, args.attribute, args.classes, args.pool, args.variants, args.seed, device)
    clean_stale_temporaries(out)
    save_image(out, ar.picture(result))
    for line in ar.table(result):
        print(line)
    print(f"wrote {out}")
    return 0


# ---- demo ------------------------------------------------------------------------------------------

def demo_section(gallery, device, seed, quick):
    """A GAN on the ring of 8 Gaussians (its scatter plot and mode table) and a DCGAN on procedural digits."""
    from ..data.digits import digits
    from ..data.mnist import to_float
    from ..recipes import gan
    from ..recipes import sample as rs
    from ..recipes.evaluate import score_toy
    from ..report import image_grid
    toy_steps, steps, n, width = (200, 15, 2000, 8) if quick else (3000, 600, 10000, 32)
    toy_settings = {**BASE, **TOY, "model": "gan", "data": "ring8", "shape": [2], "seed": seed}
    tg, _, _ = gan.train(toy_settings, {"toy": "ring8"}, toy_steps, device=device, log_every=toy_steps)
    s = score_toy(tg.sample(2500, rng=np.random.default_rng(1)), "ring8")
    images, labels = digits(n, seed=seed)
    settings = {**BASE, **PER_MODEL["dcgan"], "model": "dcgan", "width": width, "data": "procedural",
                "shape": [1, 28, 28], "seed": seed}
    g, _, history = gan.train(settings, {"x": to_float(images), "y": labels}, steps, device=device, log_every=steps)
    gallery.section("GANs: the minimax game on a toy mixture and on digits",
                    f"A GAN (G: 4 x 400 ReLU from a 2-D code; D: 3 x 200 LeakyReLU; BCE and the non-saturating "
                    f"G loss; Adam 1e-3) after {toy_steps} steps on the ring of 8 Gaussians (std 0.01): "
                    f"{s['modes']} of 8 modes captured, {s['high_quality']:.0f} % of 2,500 samples within "
                    f"3 std of a mode: the samples trace the ring and gather at the modes, with the stragglers "
                    f"between them that GANs are known for (5,000 steps capture all 8; benchmarks/gan.py). A DCGAN "
                    f"(width {width}) after {steps} steps of batch 64 on {n} procedural digits (Adam 2e-4, betas "
                    f"0.5, 0.999): a short run, so the strokes are still ragged; the interpolation shows the code "
                    f"space is smooth.")
    z, lab = gan.fixed_codes(tg, 2500, seed)
    gallery.image("gan_ring8.png", _picture(tg, z, lab, device, "ring8", f"GAN, {toy_steps} steps"),
                  "2,500 samples (black) and the 8 modes with their 3-std circles (red)")
    gallery.image("gan_digits.png", image_grid(g.sample(32, rng=np.random.default_rng(seed), device=device), ncol=8),
                  "DCGAN samples from fresh codes", zoom=3)
    strips, ncol = rs.interpolation(g, 3, 10, seed, device, spherical=True)
    gallery.image("gan_interpolation.png", image_grid(strips, ncol=ncol), "decoded codes on the great circle "
                  "between two random codes, one per row", zoom=3)
    gallery.curves("gan_loss.png", {"D loss": history["d_loss"], "G loss": history["g_loss"]},
                   "the two losses: no stopping signal, they oscillate as the game goes on", title="DCGAN losses")
