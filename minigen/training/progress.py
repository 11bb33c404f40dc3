"""The progress line of long runs: step/total, losses, it/s and ETA on stderr."""
import sys
import time


class Progress:
    """Call ``update(step, **losses)`` every step; a line is printed every ``every`` steps.

    ``start`` is the step a resumed run begins after (for the rate and ETA).
    """

    def __init__(self, total, every=10, stream=None, label="", start=0):
        self.total, self.every, self.label, self.first = total, max(1, every), label, start
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()

    def update(self, step, **losses):
        if step % self.every and step != self.total:
            return
        elapsed = time.perf_counter() - self.start
        rate = (step - self.first) / elapsed if elapsed > 0 else float("inf")
        eta = (self.total - step) / rate if rate > 0 else 0.0
        parts = " ".join(f"{k} {v:.4g}" for k, v in losses.items())
        self.stream.write(f"{self.label}step {step}/{self.total} {parts} | {rate:.1f} it/s, ETA {eta:.0f}s\n")
        self.stream.flush()
