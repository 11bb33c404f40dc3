"""``minigen sample CKPT``: images from any checkpoint whose network generates from noise
(``recipes.sample``): a texture network trained without content, or a generator from a latent
code (a VAE or conditional VAE), with interpolation strips and the 2-D manifold for the latter."""
from ..data.files import IMAGE_EXTENSIONS
from ..errors import MinigenError
from .files import check_output, clean_stale_temporaries
from .options import add_device, add_memory, add_out, add_seed, check_device, int_range, nonneg_int, positive_int


def register(subparsers):
    p = subparsers.add_parser(
        "sample", help="draw samples from a generator checkpoint",
        description="Rebuild the generator of a checkpoint from the file alone (its recorded model kind and "
                    "config) and draw samples from fresh noise. Writes one image for --count 1, else one grid "
                    "of all samples (in rows of up to 8; a conditional model: one row per class). A generator "
                    "from a latent code (VAE) also draws interpolation strips (--interpolate, --between) and, "
                    "for a 2-D code, the manifold (--manifold). Networks that transform an input (a transform "
                    "net, an AdaIN decoder, an SR network, a texture network with a content input) are refused, "
                    "naming the command that uses them.")
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint written by minigen (.npz or .safetensors)")
    add_sampling(p, "samples.png", "the image (one sample) or grid (several)",
                 "how many samples (default: 1 texture, 64 from a code, 2500 points; with --interpolate, the "
                 "rows: 8)",
                 size=None, count=None)
    g = p.add_argument_group("generators from a latent code")
    g.add_argument("--class", dest="label", type=nonneg_int, metavar="C", help="a conditional model: class C only")
    g.add_argument("--interpolate", action="store_true",
                   help="strips decoding the codes on the way between two random codes, one per row")
    g.add_argument("--between", nargs=2, metavar="IMAGE",
                   help="one strip between the codes of two images (a VAE encodes them)")
    g.add_argument("--steps", type=int_range(2, 64), default=10, metavar="N",
                   help="images per strip, 2 to 64 (default: 10)")
    g.add_argument("--spherical", action="store_true",
                   help="interpolate on the great circle through the two codes (slerp) instead of the line")
    g.add_argument("--manifold", type=int_range(2, 40), metavar="N",
                   help="a 2-D code: the N x N grid of decoded prior quantiles (Kingma & Welling's figure)")
    p.set_defaults(run=cmd_sample)


    p = subparsers.add_parser(
        "export", help="keep only the networks of a checkpoint (optionally in float16)",
        description="Write the networks of a checkpoint alone, with their kind, config and the run's settings, "
                    "but no optimiser state, EMA copies or history: a file every command that reads the "
                    "checkpoint still accepts (sample, evaluate, stylize, sr, ...), a fraction of its size. "
                    "How minigen's bundled models were made.")
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint written by minigen (.npz or .safetensors)")
    p.add_argument("--float16", action="store_true", help="store float weights as float16 (half the size)")
    add_out(p, "model.safetensors", help="the file to write (.npz or .safetensors)", metavar="FILE")
    p.set_defaults(run=cmd_export)


def cmd_export(args):
    from ..io import checkpoint
    import os

    from .files import CHECKPOINT_EXTENSIONS
    out = check_output(args.out, inputs=[args.checkpoint], extensions=CHECKPOINT_EXTENSIONS)
    if os.path.exists(out):
        raise MinigenError(f"--out {out} exists; choose another name (export never replaces a file)")
    ckpt = checkpoint.load(args.checkpoint)
    if not ckpt.modules:
        raise MinigenError(f"{args.checkpoint}: holds no network to export")
    clean_stale_temporaries(out)
    nbytes = checkpoint.export(ckpt, out, half=args.float16)
    print(f"wrote {out} ({', '.join(ckpt.modules)}; {nbytes / 1e6:.2f} MB of weights"
          f"{' in float16' if args.float16 else ''})")
    return 0


def add_sampling(p, out, out_help, count_help, size=256, count=1):
    """The options of a command that draws images from noise: --size, --count, --out, memory, device, seed."""
    shown = f"default: {size}" if size else "default: 256 for textures; a generator's own size"
    p.add_argument("--size", type=positive_int, default=size, metavar="S",
                   help=f"side of each image in pixels ({shown})")
    p.add_argument("--count", type=positive_int, default=count, metavar="N",
                   help=count_help + (f" (default: {count})" if count else ""))
    add_out(p, out, help=out_help)
    add_memory(p)
    add_device(p)
    add_seed(p, help="seed of the noise")


def cmd_sample(args):
    from ..data.images import save_image
    from ..recipes import sample as rs
    from ..report import image_grid
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.checkpoint] + list(args.between or []), extensions=IMAGE_EXTENSIONS)
    _, net = rs.load_generator(args.checkpoint, device)
    code_flags = [f for f, v in (("--class", args.label is not None), ("--interpolate", args.interpolate),
                                 ("--between", args.between), ("--manifold", args.manifold)) if v]
    if not rs.is_code_generator(net):
        if code_flags:
            raise MinigenError(f"{code_flags[0]}: for generators from a latent code; this is a {net.kind}")
        size, count = args.size or 256, args.count or 1
        clean_stale_temporaries(out)
        images = rs.draw(net, count, size, size, args.seed, device, args.max_memory)
        save_image(out, images[0] if count == 1 else image_grid(images))
        what = f"{count} samples of {size}x{size}" if count > 1 else f"{size}x{size}"
        print(f"wrote {out} ({what})")
        return 0
    if not getattr(net, "images", True):
        return _points(args, net, out, device)
    images, ncol, what = _from_codes(args, net, rs, device)
    clean_stale_temporaries(out)
    save_image(out, images[0] if len(images) == 1 else image_grid(images, ncol=ncol))
    print(f"wrote {out} ({what})")
    return 0


def _points(args, net, out, device):
    """A generator of 2-D points: a scatter plot of --count samples (default 2,500), over the modes of the toy
    it was trained on."""
    import numpy as np
    from ..data.toys import TOYS
    from ..io import checkpoint
    from ..report.scatter import save_scatter
    flags = [f for f, v in (("--class", args.label is not None), ("--interpolate", args.interpolate),
                            ("--between", args.between), ("--manifold", args.manifold), ("--size", args.size)) if v]
    if flags:
        raise MinigenError(f"{flags[0]}: this {net.kind} generates points, not images")
    if net.shape != (2,):
        raise MinigenError(f"{args.checkpoint}: draws {net.shape[0]}-D points; sample plots 2-D ones")
    toy = TOYS.get(checkpoint.load(args.checkpoint).settings.get("data"))
    count = args.count or 2500
    points = net.sample(count, rng=np.random.default_rng(args.seed), device=device)
    clean_stale_temporaries(out)
    save_scatter(out, points, modes=None if toy is None else toy.modes, std=None if toy is None else toy.std,
                 title=f"{count} samples")
    print(f"wrote {out} ({count} points)")
    return 0


def _from_codes(args, net, rs, device):
    """(images, columns, description) of the picture asked of a generator from a latent code."""
    c, h, w = net.shape
    if args.size is not None and args.size != h:
        raise MinigenError(f"--size {args.size}: this {net.kind} generates {w}x{h} images only")
    modes = [f for f, v in (("--interpolate", args.interpolate), ("--between", args.between),
                            ("--manifold", args.manifold)) if v]
    if len(modes) > 1:
        raise MinigenError(f"{modes[0]} and {modes[1]}: choose one picture")
    rs.check_label(net, args.label)
    if args.manifold:
        images, ncol = rs.manifold(net, args.manifold, device, args.label)
        return images, ncol, f"the {args.manifold}x{args.manifold} manifold of the 2-D code"
    if args.between:
        ends = _codes_of(net, args.between, args.label, device)
        images, ncol = rs.interpolation(net, 1, args.steps, args.seed, device, args.spherical, args.label, ends)
        return images, ncol, f"{args.steps} steps from {args.between[0]} to {args.between[1]}"
    if args.interpolate:
        rows = args.count or 8
        images, ncol = rs.interpolation(net, rows, args.steps, args.seed, device, args.spherical, args.label)
        return images, ncol, f"{rows} strips of {args.steps} steps"
    images, ncol = rs.from_codes(net, args.count or 64, args.seed, device, args.label)
    return images, ncol, f"{len(images)} sample{'s' * (len(images) > 1)} of {w}x{h}" + (", one row per class" if net.classes and
                                                                 args.label is None else "")


def _codes_of(net, paths, label, device):
    """The codes (means of q(z|x)) of two image files, for a generator that can encode."""
    import numpy as np
    from ..data.images import load_image
    from ..recipes.autoencoder import codes
    if not callable(getattr(net, "encode", None)):
        raise MinigenError(f"--between: this {net.kind} has no encoder to find the codes of images")
    c, h, w = net.shape
    images = []
    for path in paths:
        im = load_image(path, mode="L" if c == 1 else "RGB")
        if im.shape[:2] != (h, w):
            raise MinigenError(f"{path}: {im.shape[1]}x{im.shape[0]}, this {net.kind} takes {w}x{h} images")
        images.append(im[None] if c == 1 else im.transpose(2, 0, 1))
    labels = None if not net.classes else np.full(2, label if label is not None else 0)
    return codes(net, np.stack(images).astype(np.float32), labels, device)
