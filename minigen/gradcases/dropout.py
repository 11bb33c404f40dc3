"""Gradcheck cases: dropout."""
