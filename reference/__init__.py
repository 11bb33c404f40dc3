"""Slow, obviously-correct NumPy versions of the ops (installed as minigen.reference).

Each function loops over output positions and follows the formula in its
docstring. They are the ground truth of the tests, never used for speed.
"""
