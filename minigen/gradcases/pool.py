"""Gradcheck cases: pool."""
