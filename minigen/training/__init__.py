"""Run machinery that knows no method: the loop, the memory guard, the progress line."""
