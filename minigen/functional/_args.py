"""Checks of the integer arguments of ops and layers (stride, padding, kernel size, ...).

Each error names the op or layer and the argument, so a bad call reads as one line.
"""
import operator


def int_arg(op, name, value, minimum=None, kind="an int", shown=None):
    """``value`` as an int (NumPy integers too; bools and floats refused), >= ``minimum`` if given."""
    shown = value if shown is None else shown
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be {kind}, not {shown!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {shown!r}")
    return value


def int_pair(op, name, value, minimum=None):
    """An int or a pair of ints (a tuple or list) as a pair (rows, columns), each >= ``minimum`` if given."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, not {value!r}")
    return tuple(int_arg(op, name, v, minimum, "an int or a pair of ints", value) for v in pair)
