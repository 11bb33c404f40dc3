"""``minigen demo``: run every method briefly on embedded data and write a gallery.

Its sections come from the command table (``minigen.cli.COMMAND_MODULES``):
every module there with a ``demo_section(gallery, device, seed, quick)``
adds one, named by the module's ``DEMO_SECTION`` (default: the last part of
its name), in the table's order. This module adds the first: the engine.
"""
from .files import check_output, output_folder
from .options import add_device, add_out, add_seed, check_device

DEMO_SECTION = "engine"


def demo_section(gallery, device, seed, quick):
    """A small conv denoiser trained with the bare engine."""
    import numpy as np

    from ..data.procedural import shapes
    from ..metrics import psnr
    from ..recipes.denoise import denoise, train_denoiser
    from ..report import image_grid

    steps = 40 if quick else 150
    net, history = train_denoiser(steps=steps, seed=seed, device=device)
    clean = shapes(8, 32, seed=seed + 10_000)  # images the net never saw
    noisy = clean + 0.15 * np.random.default_rng(seed).standard_normal(clean.shape).astype(np.float32)
    out = denoise(net, noisy, device)
    gallery.section("engine: a small conv denoiser",
                    f"Three 3x3 convolutions with ReLU, trained for {steps} Adam steps to remove Gaussian "
                    f"noise (sigma 0.15) from procedural shapes. PSNR on 8 unseen images: noisy "
                    f"{psnr(noisy, clean):.2f} dB, denoised {psnr(out, clean):.2f} dB.")
    gallery.image("engine_clean.png", image_grid(clean), "clean", zoom=2)
    gallery.image("engine_noisy.png", image_grid(noisy), "noisy input", zoom=2)
    gallery.image("engine_denoised.png", image_grid(out), "network output", zoom=2)
    gallery.curves("engine_loss.png", {"mse": history}, "training loss (MSE, log scale)", title="denoiser loss")


def register(subparsers):
    from . import demo_sections
    names = list(demo_sections())
    p = subparsers.add_parser("demo", help="run every method briefly and write a gallery",
                              description="Run every method briefly on embedded data; write OUT/index.html. "
                                          f"Sections: {', '.join(names)}.")
    p.add_argument("--only", nargs="+", metavar="SECTION", choices=names,
                   help=f"run only these sections, of: {', '.join(names)}")
    p.add_argument("--quick", action="store_true", help="fewer steps (a smoke test)")
    add_out(p, "demo-out", help="output folder")
    add_device(p)
    add_seed(p)
    p.set_defaults(run=cmd_demo)


def cmd_demo(args):
    import time

    from ..report.gallery import Gallery
    from . import demo_sections
    check_device(args.device)
    sections = demo_sections()
    out = check_output(args.out, kind="folder")
    names = args.only or list(sections)
    with output_folder(out):
        gallery = Gallery(out)
        for k, name in enumerate(names, 1):
            print(f"demo: section {k}/{len(names)}, {name} ...", flush=True)
            start = time.perf_counter()
            sections[name](gallery, args.device, args.seed, args.quick)
            print(f"demo: section {k}/{len(names)}, {name}: done in {time.perf_counter() - start:.0f} s", flush=True)
        path = gallery.write()
    print(f"wrote {path}")
    return 0
