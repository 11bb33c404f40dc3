"""Gradcheck cases: pixel_shuffle."""
