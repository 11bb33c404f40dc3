"""Gradcheck cases: shape."""
