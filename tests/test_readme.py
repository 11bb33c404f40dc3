"""The README's "Read this first" engine example runs as printed and does what it says."""
import os
import subprocess
import sys

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def _example():
    text = open(README, encoding="utf-8").read()
    start = text.index("```python", text.index("### Read this first")) + len("```python")
    return text[start:text.index("```", start)]


def test_the_engine_example_checks_its_gradient_and_trains():
    code = _example()
    assert 25 <= len(code.strip().splitlines()) <= 45
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "True"
    losses = [float(line.split()[1]) for line in lines[1:] if line]
    assert [int(line.split()[0]) for line in lines[1:] if line] == [0, 100, 200, 300]
    assert losses[0] > 1 and losses[-1] < 0.01
