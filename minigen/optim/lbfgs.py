"""L-BFGS through scipy's L-BFGS-B, over the flattened parameters."""
import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizers import _param_list


class LBFGS:
    """Minimise a scalar closure over the parameters with scipy's L-BFGS-B.

    The parameters are flattened into one float64 vector x. Each evaluation
    writes x back into the parameters (in their dtype and device), clears
    their gradients, calls ``closure()`` -- which computes and returns the
    loss Tensor without calling backward -- runs backward, and hands scipy
    (loss, gradient). Memory: ``history_size`` pairs of vectors of the
    parameters' total size.

    max_iter: iterations;
    max_eval: loss evaluations (default 2 * max_iter: a line search sometimes needs a few;
        scipy checks it between iterations, so a run may overshoot it by one line search);
    tolerance: stop when the relative loss decrease falls below it (scipy's ftol);
    grad_tolerance: stop when max |gradient| falls below it (scipy's gtol);
    bounds: optional (low, high) applied to every value (e.g. pixels in [0, 1]).
    """

    def __init__(self, params, max_iter=100, max_eval=None, tolerance=1e-9, grad_tolerance=1e-7,
                 history_size=10, bounds=None):
        self.params = _param_list(params, "LBFGS")
        if max_iter < 1:
            raise ValueError(f"LBFGS: max_iter must be positive, not {max_iter}")
        self.max_iter = int(max_iter)
        self.max_eval = int(max_eval) if max_eval is not None else 2 * self.max_iter
        self.tolerance, self.grad_tolerance = float(tolerance), float(grad_tolerance)
        self.history_size, self.bounds = int(history_size), bounds

    def _get(self):
        return np.concatenate([np.asarray(backend.to_host(p.data), np.float64).ravel() for p in self.params])

    def _set(self, x):
        i = 0
        for p in self.params:
            n = p.size
            p.data[...] = backend.to_device(x[i:i + n].reshape(p.shape).astype(p.dtype), p.device)
            i += n

    def minimize(self, closure, callback=None):
        """Run the optimisation; ``callback(iteration, loss)`` after each iteration. Returns scipy's result.

        The parameters end at the result's x. ``loss`` in the callback is the
        latest evaluation, which is the accepted iterate in L-BFGS-B.
        """
        from scipy.optimize import Bounds, minimize  # imported here: slow to import, only L-BFGS needs it

        last = {"loss": None, "iteration": 0}

        def fun(x):
            self._set(x)
            for p in self.params:
                p.grad = None
            loss = closure()
            if not isinstance(loss, Tensor) or loss.size != 1:
                raise TypeError("LBFGS: the closure must return the scalar loss as a Tensor")
            loss.backward()
            grad = np.concatenate([np.zeros(p.size) if p.grad is None else
                                   np.asarray(backend.to_host(p.grad), np.float64).ravel()
                                   for p in self.params])
            last["loss"] = float(loss.item())
            return last["loss"], grad

        def step(_xk):
            last["iteration"] += 1
            callback(last["iteration"], last["loss"])

        bounds = None
        if self.bounds is not None:
            lo, hi = self.bounds
            n = sum(p.size for p in self.params)
            bounds = Bounds(np.full(n, -np.inf if lo is None else lo), np.full(n, np.inf if hi is None else hi))
        result = minimize(fun, self._get(), jac=True, method="L-BFGS-B", bounds=bounds,
                          callback=step if callback is not None else None,
                          options={"maxiter": self.max_iter, "maxfun": self.max_eval, "ftol": self.tolerance,
                                   "gtol": self.grad_tolerance, "maxcor": self.history_size})
        self._set(result.x)
        return result
