"""``minigen sample CKPT``: images from any checkpoint whose network generates from noise
(``recipes.sample``; today a texture network trained without content)."""
from ..data.files import IMAGE_EXTENSIONS
from .files import check_output, clean_stale_temporaries
from .options import add_device, add_memory, add_out, add_seed, check_device, positive_int


def register(subparsers):
    p = subparsers.add_parser(
        "sample", help="draw samples from a generator checkpoint",
        description="Rebuild the generator of a checkpoint from the file alone (its recorded model kind and "
                    "config) and draw samples from fresh noise. Writes one image for --count 1, else one grid "
                    "of all samples (in rows of up to 8). Networks that transform an input (a transform net, "
                    "an AdaIN decoder, an SR network, a texture network with a content input) are refused, "
                    "naming the command that uses them.")
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint written by minigen (.npz or .safetensors)")
    add_sampling(p, "samples.png", "the image (one sample) or grid (several)", "how many samples")
    p.set_defaults(run=cmd_sample)


def add_sampling(p, out, out_help, count_help):
    """The options of a command that draws images from noise: --size, --count, --out, memory, device, seed."""
    p.add_argument("--size", type=positive_int, default=256, metavar="S",
                   help="side of each image in pixels (default: 256)")
    p.add_argument("--count", type=positive_int, default=1, metavar="N", help=f"{count_help} (default: 1)")
    add_out(p, out, help=out_help)
    add_memory(p)
    add_device(p)
    add_seed(p, help="seed of the noise")


def cmd_sample(args):
    from ..data.images import save_image
    from ..recipes.sample import sample
    from ..report import image_grid
    device = check_device(args.device)
    out = check_output(args.out, inputs=[args.checkpoint], extensions=IMAGE_EXTENSIONS)
    clean_stale_temporaries(out)
    images = sample(args.checkpoint, args.count, args.size, args.seed, device, args.max_memory)
    save_image(out, images[0] if args.count == 1 else image_grid(images))
    what = f"{args.count} samples of {args.size}x{args.size}" if args.count > 1 else f"{args.size}x{args.size}"
    print(f"wrote {out} ({what})")
    return 0
