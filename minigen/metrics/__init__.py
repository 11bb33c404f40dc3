"""Yardsticks: image quality (PSNR and SSIM on Y, as SR papers report them; ``image``), the
generative ones read through a classifier (Fréchet distance on LeNet features, class statistics,
nearest neighbours; ``generative``), mode counting on toy distributions (``modes``) and likelihoods
(bits per dimension, the importance-weighted estimate of log p(x); ``likelihood``)."""
from .generative import (class_histogram, class_kl, conditional_accuracy, confidence, frechet_distance,
                         frechet_distance_of, inception_score, nearest_neighbours)
from .image import mod_crop, psnr, psnr_y, shave, ssim, ssim_y, to_y
from .likelihood import bits_per_dim, importance_weighted_log_likelihood, iwae_log_likelihood, log_mean_exp
from .modes import mode_metrics, nearest_modes, reverse_kl

__all__ = ["psnr", "psnr_y", "ssim", "ssim_y", "mod_crop", "to_y", "shave", "frechet_distance",
           "frechet_distance_of", "class_histogram", "class_kl", "confidence", "inception_score",
           "conditional_accuracy", "nearest_neighbours", "bits_per_dim", "log_mean_exp",
           "importance_weighted_log_likelihood", "iwae_log_likelihood", "mode_metrics", "nearest_modes",
           "reverse_kl"]
