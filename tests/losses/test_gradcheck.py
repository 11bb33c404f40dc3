"""Every loss the package exports has finite-difference gradient cases, and they pass."""
import pytest

from minigen import gradcases as G
from minigen import losses as L

LOSS_CASES = [c for name in ("mse_loss", "l1_loss", "bce_loss", "bce_with_logits", "cross_entropy",
                             "gram_matrix", "total_variation", "content_loss", "feature_loss", "style_loss",
                             "moment_loss")
              for c in G.select(name)]


def test_every_loss_has_gradcases():
    names = {c.name.split("/")[0] for c in LOSS_CASES}
    assert names == set(L.__all__)


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.name)
def test_gradcheck(case):
    report = G.run(case)
    assert report.passed, report.summary()
