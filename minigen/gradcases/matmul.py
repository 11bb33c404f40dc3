"""Gradcheck cases: matmul."""
