"""``fit``: the one loop behind every long run, knowing nothing of the method.

A run is a ``RunState`` (its named modules, optimisers, EMA copies and random
generators) and a *step function* ``step(state, i) -> {name: loss}`` that owns
the maths: its forward, backward and optimiser updates (so two networks with
two optimisers, k critic steps per generator step, or an L-BFGS closure all
fit). ``fit`` owns the rest:

- the progress line (step/total, losses, it/s, ETA; ``progress.Progress``);
- the NaN/Inf guard: a non-finite loss stops the run before anything is saved,
  naming the last good checkpoint *of this run* (one it wrote or resumed from);
- a checkpoint (``io.checkpoint``) every ``save_every`` steps and at the end;
- SIGINT/SIGTERM: the step in flight ends, the state is saved, and the run
  stops with one line (``Interrupted``); ``time_limit`` ends it likewise,
  without an error, after the step that passes the limit;
- ``resume``: the state is restored from the checkpoint (same kind and
  settings, but for the keys in ``may_change``), and the run continues to
  ``steps`` in all. A step that draws its data from a generator seeded by
  (seed, step) (``step_rng``), or from generators held in ``state.rngs``,
  makes a resumed run end bit-for-bit as an uninterrupted one.

A step may end the run early by setting ``state.stop`` to a reason.
"""
import json
import math
import os
import signal
import threading
import time

import numpy as np

from .. import backend
from ..errors import MinigenError
from ..io import checkpoint as ckpt_io
from .progress import Progress


class Interrupted(MinigenError):
    """A run stopped by SIGINT or SIGTERM after saving its state (exit status 130)."""
    exit_code = 130


class RunState:
    """What a run is made of, by name: ``modules``, ``optimizers``, ``ema`` copies and random generators
    (``rngs``, NumPy Generators; minigen's shared generator is always saved as "minigen"), plus ``step``
    (steps done), ``history`` ({loss: [values]}), ``seconds`` spent over all pieces and ``extra`` (other
    arrays or JSON values the step keeps, e.g. a running average)."""

    def __init__(self, modules=None, optimizers=None, ema=None, rngs=None, extra=None):
        self.modules, self.optimizers = dict(modules or {}), dict(optimizers or {})
        self.ema, self.rngs, self.extra = dict(ema or {}), dict(rngs or {}), dict(extra or {})
        self.step, self.history, self.seconds, self.stop = 0, {}, 0.0, None

    def to_checkpoint(self, kind, settings):
        from ..models import spec
        return ckpt_io.Checkpoint(
            kind, self.step, settings, self.history,
            modules={k: m.state_dict() for k, m in self.modules.items()},
            specs={k: spec(m) for k, m in self.modules.items()},
            optimizers={k: o.state_dict() for k, o in self.optimizers.items()},
            ema={k: e.state_dict() for k, e in self.ema.items()},
            rngs={"minigen": backend.rng().bit_generator.state,
                  **{k: g.bit_generator.state for k, g in self.rngs.items()}},
            seconds=self.seconds, extra=self.extra)

    def restore(self, ckpt):
        """Load a Checkpoint into this state (its names must match), with one-line errors."""
        for what, mine, saved in (("module", self.modules, ckpt.modules), ("optimiser", self.optimizers,
                                  ckpt.optimizers), ("EMA copy", self.ema, ckpt.ema)):
            if set(mine) != set(saved):
                raise MinigenError(f"{ckpt.path}: holds {what}s {sorted(saved)}, this run has {sorted(mine)}")
        for k, m in self.modules.items():
            m.load_state_dict(ckpt.modules[k])
        for k, o in self.optimizers.items():
            try:
                o.load_state_dict(ckpt.optimizers[k])
            except ValueError as e:
                raise MinigenError(f"{ckpt.path}: optimiser {k} does not fit this run: {e}") from None
        for k, e in self.ema.items():
            e.load_state_dict(ckpt.ema[k])
        backend.rng().bit_generator.state = ckpt.rngs["minigen"]
        for k, g in self.rngs.items():
            g.bit_generator.state = ckpt.rngs[k]
        self.step, self.history, self.seconds = ckpt.step, ckpt.history, ckpt.seconds
        self.extra.update(ckpt.extra)


def check_finite(values, step, label="", good=None, hint=""):
    """The NaN/Inf guard: a one-line MinigenError when a value of ``values`` ({name: float}) is not finite,
    naming the loss, the step, what to try (``hint``) and the last good checkpoint ``good`` (if any)."""
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        where = (f" ({hint})" if hint else "") + (f"; the last good checkpoint is {good}" if good else "")
        raise MinigenError(f"{label}loss {bad[0]} became {values[bad[0]]} at step {step}; stopped{where}")


def step_rng(seed, step):
    """The data generator of one step: the same for a resumed and an uninterrupted run."""
    return np.random.default_rng((seed, step))


def check_settings(path, saved, settings, may_change=()):
    """Refuse to resume ``path`` (made with ``saved``) under other ``settings``, but for the keys in
    ``may_change``, whose changes are printed. Keys the checkpoint does not record (older files) are not
    checked."""
    now = json.loads(json.dumps(settings))  # as the checkpoint stores it: tuples become lists
    changed = [k for k in now if k in saved and saved[k] != now[k]]
    fixed = [k for k in changed if k not in may_change]
    if fixed:
        raise MinigenError(f"{path}: made with " + ", ".join(f"{k} {_brief(saved[k])} (not {_brief(now[k])})"
                                                             for k in fixed) + "; resume with the same settings")
    for k in changed:
        print(f"{path}: resuming with {k} {_brief(now[k])} (the checkpoint was made with {_brief(saved[k])})")


def _brief(value, width=40):
    text = json.dumps(value)
    return text if len(text) <= width else text[:width - 3] + "..."


class _Signals:
    """Within the block, SIGINT and SIGTERM set ``received`` instead of killing the run (main thread only)."""

    def __init__(self):
        self.received, self._old = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, _frame):
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def fit(step, state, steps, kind, settings=None, checkpoint=None, save_every=0, resume=False, may_change=(),
        log_every=10, label="", time_limit=None, snapshot_every=0, on_snapshot=None, stream=None, hint=""):
    """Run ``step(state, i)`` for i = state.step + 1 .. ``steps``; returns ``state.history``.

    kind, settings: what the checkpoint records (the run's kind and the settings that rebuild it).
    checkpoint: a path written every ``save_every`` steps (0: only at the end) and when the run ends.
    resume: restore ``state`` from ``checkpoint`` first. on_snapshot(state, i) runs every
    ``snapshot_every`` steps (intermediate images). time_limit: seconds for this piece of the run.
    hint: what the divergence message suggests trying (e.g. "try a smaller --lr").
    """
    settings = dict(settings or {})
    good = None  # the last checkpoint this run wrote or resumed from
    if resume:
        if not checkpoint or not os.path.exists(checkpoint):
            raise MinigenError(f"--resume: no checkpoint at {checkpoint}")
        saved = ckpt_io.load(checkpoint, kind=kind)
        check_settings(checkpoint, saved.settings, settings, may_change)
        if saved.step >= steps:
            raise MinigenError(f"{checkpoint}: already at step {saved.step} of {steps}; ask for more steps")
        state.restore(saved)
        good = checkpoint
        print(f"resuming from step {saved.step} of {steps}", file=stream)

    def save():
        nonlocal good
        if checkpoint:
            ckpt_io.save(checkpoint, state.to_checkpoint(kind, settings))
            good = checkpoint

    progress = Progress(steps, every=log_every, label=label, start=state.step, stream=stream)
    start, before = time.perf_counter(), state.seconds
    with _Signals() as signals:
        while state.step < steps:
            i = state.step + 1
            values = {k: float(v.item()) if hasattr(v, "item") else float(v) for k, v in step(state, i).items()}
            check_finite(values, i, label, good, hint)
            state.step, state.seconds = i, before + time.perf_counter() - start
            for k, v in values.items():
                state.history.setdefault(k, []).append(v)
            progress.update(i, **values)
            if on_snapshot is not None and snapshot_every and i % snapshot_every == 0:
                on_snapshot(state, i)
            if time_limit is not None and i < steps and time.perf_counter() - start > time_limit:
                state.stop = state.stop or "time_limit"
            if signals.received or state.stop or i == steps or (save_every and i % save_every == 0):
                save()
            if signals.received:
                saved = f"; saved {checkpoint} (continue with --resume)" if checkpoint else ""
                raise Interrupted(f"{label}stopped by {signals.received} at step {i} of {steps}{saved}")
            if state.stop:
                break
    return state.history
