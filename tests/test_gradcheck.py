"""The finite-difference checker itself, every registered case, and coverage of every Function."""
import importlib
import pkgutil

import numpy as np
import pytest

import minigen
from minigen import gradcases
from minigen.gradcheck import gradcheck
from minigen.tensor import Function, Tensor


class WrongSquare(Function):
    """y = x^2 with a backward that forgets the factor 2."""
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * self.x


class RightSquare(WrongSquare):
    def backward(self, g):
        return 2 * g * self.x


@pytest.mark.parametrize("size", [5, 500])  # element-wise and directional modes
def test_gradcheck_passes_a_correct_backward_and_catches_a_wrong_one(size):
    x = Tensor(np.random.default_rng(0).standard_normal(size), requires_grad=True)
    good = gradcheck(RightSquare.apply, [x])
    bad = gradcheck(WrongSquare.apply, [x])
    assert good.passed and good.inputs[0].mode == ("element" if size <= 64 else "direction")
    assert not bad.passed and bad.inputs[0].max_rel > 0.1


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(RightSquare.apply, [Tensor(np.ones(3, np.float32), requires_grad=True)])


def test_gradcheck_restores_the_inputs():
    data = np.random.default_rng(1).standard_normal(7)
    x = Tensor(data.copy(), requires_grad=True)
    gradcheck(RightSquare.apply, [x])
    np.testing.assert_array_equal(x.data, data)


def test_gradcheck_records_the_functions_it_ran():
    x = Tensor(np.ones(3), requires_grad=True)
    report = gradcheck(RightSquare.apply, [x])
    assert RightSquare in report.functions


CASES = gradcases.select()
_reports = {}


def _report(case):
    if case.name not in _reports:
        _reports[case.name] = gradcases.run(case)
    return _reports[case.name]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_passes(case):
    report = _report(case)
    assert report.passed, report.summary()


def _all_function_classes():
    """Every Function subclass defined in the minigen package (tests' own classes excluded)."""
    for mod in pkgutil.walk_packages(minigen.__path__, "minigen."):
        if not mod.name.startswith(("minigen.cli", "minigen.__main__")):
            importlib.import_module(mod.name)
    seen, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return {c for c in seen if c.__module__.startswith("minigen.")}


def test_every_function_has_a_finite_difference_case():
    covered = set()
    for case in CASES:
        covered |= _report(case).functions
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in _all_function_classes() - covered)
    assert not missing, f"Function classes with no gradcheck case: {missing}"


def _module_classes(package):
    from minigen.nn import Module
    found = set()
    for mod in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        module = importlib.import_module(mod.name)
        found |= {v for v in vars(module).values()
                  if isinstance(v, type) and issubclass(v, Module) and v.__module__ == module.__name__}
    return found


def test_every_layer_and_model_runs_in_a_finite_difference_case(monkeypatch):
    import minigen.models
    import minigen.nn
    from minigen.nn import Module
    called, call = set(), Module.__call__

    def recording_call(self, *args, **kwargs):
        called.add(type(self))
        return call(self, *args, **kwargs)
    monkeypatch.setattr(Module, "__call__", recording_call)
    for case in gradcases.select("nn") + gradcases.select("models"):
        gradcases.run(case)
    # Private base classes and containers without a forward of their own (ModuleList) are not run themselves.
    classes = {c for c in _module_classes(minigen.nn) | _module_classes(minigen.models)
               if not c.__name__.startswith("_") and c.forward is not Module.forward}
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in classes - called)
    assert not missing, f"layers/models that no gradcheck case runs: {missing}"
