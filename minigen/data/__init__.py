"""Data: image files and colour (images), embedded procedural data.

Import the submodule you need, e.g. ``from minigen.data.images import load_image``.
"""
