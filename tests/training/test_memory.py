import pytest

from minigen.errors import MinigenError
from minigen.training import memory


def test_describe_words_sizes():
    assert memory.describe(512) == "512 bytes"
    assert memory.describe(3 * 2 ** 20 + 2 ** 19) == "3.5 MiB"
    assert memory.describe(1.5 * 2 ** 30) == "1.5 GiB"


def test_check_refuses_over_the_given_limit_naming_both_sizes_and_the_hint():
    assert memory.check("a job", 2 ** 30, max_memory=1.0) == 2 ** 30
    with pytest.raises(MinigenError, match=r"a job needs about 2\.0 GiB of memory; the --max-memory limit is "
                                           r"1\.5 GiB; use a smaller --size"):
        memory.check("a job", 2 * 2 ** 30, max_memory=1.5, hint="use a smaller --size")


def test_without_a_limit_the_available_memory_decides(monkeypatch):
    monkeypatch.setattr(memory, "available", lambda: 2 ** 20)
    memory.check("small", 2 ** 19)
    with pytest.raises(MinigenError, match=r"only 1\.0 MiB is available \(--max-memory GIB sets the limit\)"):
        memory.check("big", 2 ** 21)
    monkeypatch.setattr(memory, "available", lambda: None)
    memory.check("unknown", 2 ** 60)  # nothing to compare with: allowed


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_limit_that_is_not_a_positive_number_is_refused(bad):
    with pytest.raises(MinigenError, match="--max-memory: expected a positive number"):
        memory.check("x", 1, max_memory=bad)


def test_available_reads_the_system():
    free = memory.available()
    assert free is None or free > 0
