"""``minigen demo``: run every method briefly on embedded data and write a gallery.

Each method family adds one section function to SECTIONS; a section gets the
Gallery, the device and the seed, trains or optimises briefly, and adds its
images and loss curves.
"""
import numpy as np

from ..data.procedural import shapes
from ..metrics import psnr
from .denoise import denoise, train_denoiser
from ..report import Gallery, image_grid
from . import dip, feedforward, sr, style


def engine_section(gallery, device, seed, quick):
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


SECTIONS = {"engine": engine_section, "style": style.demo_section,
            "feedforward": feedforward.demo_section, "sr": sr.demo_section,
            "dip": dip.demo_section}


def run_demo(out_dir, device="cpu", seed=0, sections=None, quick=False):
    """Run the named sections (all by default) and write out_dir/index.html; returns its path."""
    gallery = Gallery(out_dir)
    for name in sections or SECTIONS:
        SECTIONS[name](gallery, device, seed, quick)
    return gallery.write()
