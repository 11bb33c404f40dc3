"""Losses, grouped by kind: pixel and classification (pixel), perceptual, style and smoothness
(perceptual).

``reduction`` is 'mean' (average over all elements), 'sum' or 'none' (the
elementwise or per-sample values) wherever a loss is a sum of terms.
``target`` may be a Tensor or a raw array; it gets a gradient only if it is a
Tensor that requires one.
"""
from .perceptual import content_loss, feature_loss, gram_matrix, moment_loss, style_loss, total_variation
from .pixel import bce_loss, bce_with_logits, cross_entropy, l1_loss, mse_loss

__all__ = ["mse_loss", "l1_loss", "bce_loss", "bce_with_logits", "cross_entropy", "gram_matrix",
           "total_variation", "content_loss", "feature_loss", "style_loss", "moment_loss"]
