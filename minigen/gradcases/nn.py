"""Gradcheck cases: nn."""
