"""Gradcheck cases: conv."""
