"""Gradcheck cases: losses."""
