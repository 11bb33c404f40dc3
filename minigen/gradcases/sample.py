"""Gradcheck cases: sample."""
