"""Optimisers, learning-rate schedules, gradient clipping and weight averaging:
``optimizers`` (SGD, Adam, RMSprop), ``lbfgs`` (L-BFGS through scipy), ``schedules``
(learning-rate schedules, clip_grad_norm_, EMA)."""
from .lbfgs import LBFGS  # noqa: F401
from .optimizers import SGD, Adam, Optimizer, RMSprop  # noqa: F401
from .schedules import EMA, CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, StepLR, clip_grad_norm_  # noqa: F401
