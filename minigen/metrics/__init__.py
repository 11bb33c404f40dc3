"""Yardsticks: image quality (PSNR and SSIM on Y, as SR papers report them; ``image``)."""
from .image import mod_crop, psnr, psnr_y, shave, ssim, ssim_y, to_y

__all__ = ["psnr", "psnr_y", "ssim", "ssim_y", "mod_crop", "to_y", "shave"]
