"""Gradcheck cases: activation."""
