"""Bit-identical results: feature inversion, texture synthesis and style transfer (procedures with L-BFGS and
Adam, and each command) give exactly what the code before the house redesign gave
(tests/fixtures/golden/make_optimize.py made the goldens and runs the same calls here)."""
import os
import runpy

import numpy as np
import pytest

import minigen.cli as cli

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "golden")


@pytest.mark.usefixtures("gemm_convolutions")
@pytest.mark.parametrize("method", ["invert", "texture", "style"])
def test_results_equal_the_golden_bit_for_bit(monkeypatch, tmp_path, method):
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("minigen.cli.style",))
    monkeypatch.setenv("MINIGEN_VGG", "random")
    got = runpy.run_path(os.path.join(GOLDEN, "make_optimize.py"))["runs"](method, str(tmp_path))
    with np.load(os.path.join(GOLDEN, f"{method}.npz")) as golden:
        assert sorted(got) == sorted(golden.files)
        for name in golden.files:
            np.testing.assert_array_equal(got[name], golden[name], err_msg=f"{method}: {name}")
