"""``minigen train-ae`` and ``minigen reconstruct``: autoencoders (``recipes.autoencoder``).

    minigen train-ae --model ae|vae|cvae|iwae|paired --arch mlp|conv [--data DIR | --images DIR] --out CKPT
    minigen train-ae --out CKPT --resume [--epochs N]
    minigen reconstruct CKPT [--data DIR | --images DIR] --out recon.png

Samples, interpolations and the 2-D manifold come from ``minigen sample CKPT``;
the yardsticks from ``minigen evaluate CKPT``.
"""
import numpy as np

from ..data.files import IMAGE_EXTENSIONS
from ..errors import MinigenError
from .evaluate import add_data, announce
from .files import check_output, clean_stale_temporaries
from .options import (add_checkpointing, add_device, add_logging, add_out, add_seed, check_device, int_range,
                      positive_float, positive_int)

DEMO_SECTION = "autoencoders"
MODELS = ("ae", "vae", "cvae", "iwae", "paired")
HIDDEN = {"mlp": [400], "conv": [32, 64]}
DEFAULTS = {"model": "vae", "arch": "mlp", "hidden": None, "latent": 20, "activation": "relu",
            "likelihood": "bernoulli", "k": 5, "batch": 128, "lr": 1e-3, "epochs": 10, "binarize": False,
            "size": 28, "grey": True, "transform": "thick", "distort": None, "seed": 0}
SETTING_FLAGS = ("model", "arch", "hidden", "latent", "activation", "likelihood", "k", "batch", "lr", "binarize",
                 "size", "transform", "distort", "seed")
DISTORT = {"thick": "morph", "slant": "shear"}  # paired on digits: the distortion that hides the domain


def register(subparsers):
    p = subparsers.add_parser(
        "train-ae", help="train an autoencoder, VAE, conditional VAE, IWAE or paired autoencoder",
        description="Train an autoencoder on MNIST (--data, $MINIGEN_MNIST, else procedural digits) or on any "
                    "image folder (--images, resized to --size). vae: the ELBO with the reparameterised code "
                    "and the analytic KL; cvae: the label joined to encoder and decoder; iwae: the "
                    "importance-weighted bound with --k samples; paired: one encoder, a decoder per domain "
                    "(domain b is the digits under --transform, or --images-b). The defaults are the "
                    "784-400-20 VAE of the usual MNIST example (Adam 1e-3, batch 128, 10 epochs).")
    g = p.add_argument_group("network")
    g.add_argument("--model", choices=MODELS, help=f"what to train (default: {DEFAULTS['model']})")
    g.add_argument("--arch", choices=["mlp", "conv"], help="fully connected or convolutional (default: mlp)")
    g.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                   help="hidden widths of the encoder, mirrored in the decoder (default: mlp 400; conv 32 64)")
    g.add_argument("--latent", type=positive_int, metavar="N", help="code size (default: 20; cvae 8: the label "
                   "then carries the class, and samples keep it: 95.7 %% conditional accuracy at 8, 88.7 %% at 20)")
    g.add_argument("--activation", choices=["relu", "tanh", "leaky_relu"], help="hidden activation (default: relu)")
    g.add_argument("--likelihood", choices=["bernoulli", "gaussian"],
                   help="decoder: Bernoulli on logits (BCE) or unit Gaussian (squared error) (default: bernoulli)")
    g.add_argument("--k", type=int_range(1, 5000), metavar="K",
                   help="iwae: importance samples per image, 1 to 5000 (default: 5)")
    g = p.add_argument_group("data")
    add_data(g)
    g.add_argument("--images", metavar="DIR", help="train on this image folder instead of digits")
    g.add_argument("--images-b", metavar="DIR", help="paired with --images: the second domain's folder")
    g.add_argument("--size", type=int_range(4, 256), metavar="S",
                   help="--images: side the images are cropped square and resized to (default: 28)")
    g.add_argument("--rgb", action="store_true", help="--images: keep colour (default: grey)")
    g.add_argument("--transform", choices=["thick", "slant"],
                   help="paired on digits: domain b is the digits thickened or slanted (default: thick)")
    g.add_argument("--distort", choices=["none", "morph", "shear"],
                   help="paired: what the shared encoder sees is randomly distorted (morph: strokes eroded, "
                        "kept or dilated; shear: slanted) and each decoder restores its own domain's image "
                        "(default: morph for --transform thick, shear for slant, none for --images)")
    g.add_argument("--binarize", action="store_true", default=None,
                   help="dynamic binarisation: each batch's pixels drawn afresh as Bernoulli(intensity)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=positive_int, metavar="N",
                   help="passes over the training set (default: 10; with --resume, the run's own)")
    g.add_argument("--batch", type=positive_int, metavar="N", help="images per step (default: 128)")
    g.add_argument("--lr", type=positive_float, help="Adam learning rate, > 0 (default: 1e-3)")
    add_out(p, "ae.npz", help="the checkpoint (.npz or .safetensors)", metavar="CKPT")
    add_checkpointing(p, 1000)
    add_logging(p, 100)
    add_device(p)
    add_seed(p)
    p.set_defaults(seed=None, run=cmd_train)

    p = subparsers.add_parser("reconstruct", help="inputs beside an autoencoder's reconstructions",
                              description="Encode and decode images with a train-ae checkpoint: a picture of "
                                          "rows of inputs above their reconstructions (for the paired model: "
                                          "inputs, their own decoder, and the other domain's: the swap).")
    p.add_argument("checkpoint", metavar="CKPT", help="a train-ae checkpoint")
    add_data(p)
    p.add_argument("--images", metavar="DIR", help="reconstruct the images of this folder instead of test digits")
    p.add_argument("--count", type=int_range(1, 256), default=16, metavar="N",
                   help="how many images, 1 to 256, in rows of 8 (default: 16)")
    add_out(p, "reconstructions.png", help="the picture")
    add_device(p)
    add_seed(p, help="seed of the pick of test images")
    p.set_defaults(run=cmd_reconstruct)


# ---- data ------------------------------------------------------------------------------------------

def training_data(settings, split="train"):
    """{"x", "y", ["x_b"]} of the settings' data, and the source's name."""
    from ..data.digits import slant, thicken
    from ..data.images import load_square_images
    from ..data.mnist import load_mnist, to_float
    if settings["data"].startswith("images:"):
        x = load_square_images(settings["data"][7:], settings["size"], settings["grey"])
        data = {"x": x, "y": None}
        if settings["model"] == "paired":
            data["x_b"] = load_square_images(settings["images_b"], settings["size"], settings["grey"])
        return data, settings["data"][7:]
    digits = load_mnist(split, None if settings["data"] == "procedural" else settings["data"], seed=settings["seed"])
    data = {"x": to_float(digits.images), "y": digits.labels}
    if settings["model"] == "paired":
        transform = thicken if settings["transform"] == "thick" else slant
        half = len(data["x"]) // 2  # the two domains from disjoint halves: no image is seen in both
        data = {"x": data["x"][:half], "y": data["y"][:half], "x_b": transform(data["x"][half:])}
    return data, digits.source


# ---- train-ae --------------------------------------------------------------------------------------

def _new_settings(args):
    from ..data.mnist import mnist_folder
    given = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k) is not None}
    s = {**DEFAULTS, **given}
    s["hidden"] = list(s["hidden"] or HIDDEN[s["arch"]])
    if s["model"] == "cvae" and args.latent is None:
        s["latent"] = 8
    if args.images:
        if args.data:
            raise MinigenError("--images and --data: give one source of training images")
        if s["model"] == "cvae":
            raise MinigenError("--model cvae needs class labels; train it on digits (--data), not --images")
        if s["model"] == "paired" and not args.images_b:
            raise MinigenError("--model paired with --images needs the second domain's folder, --images-b")
        s["data"], s["grey"], s["images_b"] = "images:" + args.images, not args.rgb, args.images_b
    else:
        if args.images_b:
            raise MinigenError("--images-b: the second domain of --images; give --images too")
        s["data"] = mnist_folder(args.data) or "procedural"
        s["size"], s["grey"] = 28, True
    if s["arch"] == "conv" and (len(s["hidden"]) != 2 or s["size"] % 4):
        raise MinigenError(f"--arch conv: needs two --hidden widths and a --size divisible by 4 (not "
                           f"{' '.join(map(str, s['hidden']))} and {s['size']})")
    if s["model"] == "cvae":
        s["classes"] = 10
    if s["model"] != "paired" and s["distort"] not in (None, "none"):
        raise MinigenError(f"--distort {s['distort']}: only for --model paired")
    if s["model"] == "paired" and s["distort"] is None:
        s["distort"] = "none" if args.images else DISTORT[s["transform"]]
    if s["model"] != "iwae":
        s["k"] = 1
    return s


def cmd_train(args):
    from ..io import checkpoint as ckpt_io
    from ..recipes import autoencoder as ae
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.data, args.images, args.images_b], kind="checkpoint",
                       resume=args.resume, force=args.force)
    if args.resume:
        settings = dict(ckpt_io.load(out, kind=ae.KIND).settings)
        given = {k: getattr(args, k) for k in SETTING_FLAGS if getattr(args, k) is not None}
        settings.update({k: v for k, v in given.items()})  # fit refuses any that disagree
        if args.epochs:
            settings["epochs"] = args.epochs
    else:
        settings = _new_settings(args)
        settings["epochs"] = args.epochs or DEFAULTS["epochs"]
    data, source = training_data(settings)
    announce(source, "training on")
    if not args.resume:
        settings["shape"] = list(data["x"].shape[1:])
    n = min(len(data["x"]), len(data.get("x_b", data["x"])))
    if settings["batch"] > n:
        raise MinigenError(f"--batch {settings['batch']}: larger than the {n} training images")
    steps = settings["epochs"] * (n // settings["batch"])
    clean_stale_temporaries(out)
    model, history = ae.train(settings, data, steps, out=out, resume=args.resume, save_every=args.save_every,
                              device=device, log_every=args.log_every, may_change=("epochs",))
    line = f"wrote {out}"
    if settings["model"] != "paired" and not settings["data"].startswith("images:"):
        test, _ = training_data(settings, "test")
        x = test["x"]
        if settings["binarize"]:
            from ..data.mnist import binarize_fixed
            x = binarize_fixed(x, seed=0)
        loss = ae.test_loss(model, settings, x, test["y"], device=device)
        line += f": test loss {loss:.2f} nats per image ({len(x)} test digits)"
    print(line)
    return 0


# ---- reconstruct -----------------------------------------------------------------------------------

def cmd_reconstruct(args):
    from ..data.images import load_square_images, save_image
    from ..recipes import autoencoder as ae
    from ..report import image_grid
    from ..zoo import load_network
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.checkpoint, args.data, args.images], extensions=IMAGE_EXTENSIONS)
    model, ckpt = load_network(args.checkpoint, device)
    if ckpt.kind != ae.KIND:
        raise MinigenError(f"{args.checkpoint}: a {ckpt.kind} checkpoint, not a train-ae one")
    settings = ckpt.settings
    if args.images:
        x = load_square_images(args.images, model.shape[1], model.shape[0] == 1)
        y = None
    elif settings["data"].startswith("images:"):
        raise MinigenError(f"{args.checkpoint}: trained on an image folder; give the images with --images")
    else:
        test, source = training_data(dict(settings, data=args.data or settings["data"], model="ae"), "test")
        announce(source, "reconstructing")
        x, y = test["x"], test["y"]
    if x.shape[1:] != tuple(model.shape):
        raise MinigenError(f"the images are {x.shape[3]}x{x.shape[2]}x{x.shape[1]}, the model takes "
                           f"{model.shape[2]}x{model.shape[1]}x{model.shape[0]}")
    pick = np.random.default_rng(args.seed).choice(len(x), min(args.count, len(x)), replace=False)
    x, y = x[pick], (None if y is None else y[pick])
    if settings["model"] == "paired":
        rows = [x, ae.reconstruct(model, x, domain="a", device=device), ae.reconstruct(model, x, domain="b",
                                                                                       device=device)]
    else:
        rows = [x, ae.reconstruct(model, x, y, device=device)]
    ncol = min(len(x), 8)
    blank = np.ones((-len(x) % ncol, *x.shape[1:]), np.float32)  # white slots that fill the last row
    rows = [np.concatenate([r, blank]) for r in rows]
    blocks = [np.concatenate([r[s:s + ncol] for r in rows]) for s in range(0, len(rows[0]), ncol)]
    grid = image_grid(np.concatenate(blocks), ncol=ncol)
    clean_stale_temporaries(out)
    save_image(out, grid)
    what = "inputs, decoder a, decoder b (the swap)" if settings["model"] == "paired" else "inputs above outputs"
    print(f"wrote {out} ({len(x)} images: {what})")
    return 0


# ---- demo ------------------------------------------------------------------------------------------

def demo_section(gallery, device, seed, quick):
    """A VAE (20-D code) and one with a 2-D code on procedural digits, and a paired AE's swap."""
    from ..data.digits import digits, thicken
    from ..data.mnist import to_float
    from ..recipes import autoencoder as ae
    from ..recipes import sample as rs
    from ..report import image_grid
    n, epochs = (2000, 3) if quick else (10000, 15)
    images, labels = digits(n, seed=seed)
    x, test = to_float(images), to_float(digits(16, seed=seed + 1)[0])
    base = {**DEFAULTS, "hidden": [400], "latent": 8, "shape": [1, 28, 28], "k": 1, "seed": seed,
            "data": "procedural", "epochs": epochs}
    steps = epochs * (n // base["batch"])
    vae, hist = ae.train(base, {"x": x, "y": labels}, steps, device=device, log_every=steps)
    flat, _ = ae.train({**base, "latent": 2}, {"x": x, "y": labels}, steps, device=device, log_every=steps)
    paired, _ = ae.train({**base, "model": "paired", "likelihood": "bernoulli", "distort": "morph"},
                         {"x": x[: n // 2], "x_b": thicken(x[n // 2:])}, steps // 2, device=device, log_every=steps)
    loss = ae.test_loss(vae, base, to_float(digits(500, seed=seed + 2)[0]), seed=seed)
    gallery.section("autoencoders: VAE, its 2-D manifold, a paired autoencoder's swap",
                    f"A 784-400-8 VAE (Bernoulli decoder, the ELBO with the reparameterised code) trained for "
                    f"{steps} Adam steps on {n} procedural digits: negative ELBO {loss:.1f} nats per image on "
                    f"unseen digits. A second VAE with a 2-D code gives Kingma & Welling's manifold: decoded prior "
                    f"quantiles on a grid. The paired autoencoder shares one encoder between thin digits (a) "
                    f"and thickened ones (b); decoding a's code with b's decoder thickens it.")
    row = lambda *rows: image_grid(np.concatenate(rows), ncol=len(rows[0]))  # noqa: E731
    gallery.image("ae_reconstructions.png", row(test[:8], ae.reconstruct(vae, test[:8], device=device)),
                  "unseen digits (top) and the VAE's reconstructions", zoom=3)
    samples, ncol = rs.from_codes(vae, 32, seed, device)
    gallery.image("ae_samples.png", image_grid(samples, ncol=8), "samples: z ~ N(0, I), decoded", zoom=3)
    strips, ncol = rs.interpolation(vae, 3, 10, seed, device)
    gallery.image("ae_interpolation.png", image_grid(strips, ncol=ncol), "decoded codes on the line between two "
                  "random codes, one per row", zoom=3)
    grid, ncol = rs.manifold(flat, 12, device)
    gallery.image("ae_manifold.png", image_grid(grid, ncol=ncol, pad=0), "the 2-D code's manifold", zoom=2)
    swap = [test[8:16], ae.reconstruct(paired, test[8:16], domain="a", device=device),
            ae.reconstruct(paired, test[8:16], domain="b", device=device)]
    gallery.image("ae_swap.png", row(*swap), "inputs; decoder a (own domain); decoder b (the swap: thick)", zoom=3)
    gallery.curves("ae_loss.png", {"-ELBO": hist["loss"]}, "VAE training loss (negative ELBO, nats per image)",
                   title="VAE loss")
