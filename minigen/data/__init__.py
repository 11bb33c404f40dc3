"""Data: image files and colour (images), embedded procedural data (procedural, digits),
MNIST's IDX files (mnist) and the 2-D mixtures of PacGAN (toys).

Import the submodule you need, e.g. ``from minigen.data.images import load_image``.
"""
