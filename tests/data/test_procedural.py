import numpy as np

from minigen.data.procedural import shapes


def test_shapes_are_seeded_in_range_and_varied():
    a, b = shapes(4, 16, seed=3), shapes(4, 16, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 3, 16, 16) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    assert not np.allclose(a[0], a[1]) and not np.allclose(a, shapes(4, 16, seed=4))
