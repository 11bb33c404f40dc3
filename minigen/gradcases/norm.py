"""Gradcheck cases: norm."""
