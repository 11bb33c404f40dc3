"""The one training loop behind every ``minigen train-*`` command: progress
line, checkpoints every N steps (atomic), ``--resume``, and a guard that
stops on a non-finite loss and keeps the last good checkpoint.

A checkpoint holds the model's state dict under ``model/<name>``, the
optimiser's arrays under ``optim/<i>/<name>``, and in its JSON metadata the
step, the caller's config (enough to rebuild the model), the loss history,
the optimiser's scalars and the state of minigen's shared random generator.
A caller with more state (the Deep Image Prior fit: its own generator, the
output average) passes it as ``extra``: arrays under ``extra/<name>``, any
other JSON value in the metadata. For a resumed run to repeat an
uninterrupted one exactly, ``step_fn`` must draw its data from a generator
seeded by (seed, step), not from one that carries state across steps.

A resumed run continues the same experiment: a checkpoint made with other
settings is refused, except the schedule settings the caller names in
``may_change`` (train-sr: the learning rate, its decay, the clipping), which
``step_fn`` applies afresh every step; those changes are printed.
"""
import json
import math
import os

import numpy as np

from .. import backend, io
from ..errors import MinigenError
from .progress import Progress


def save_checkpoint(path, model, optimizer, step, config, history, extra=None):
    opt = optimizer.state_dict()
    extra = extra or {}
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    scalars = []
    for i, s in enumerate(opt["state"]):
        scalars.append({k: v for k, v in s.items() if isinstance(v, int)})
        arrays.update({f"optim/{i}/{k}": v for k, v in s.items() if not isinstance(v, int)})
    arrays.update({f"extra/{k}": v for k, v in extra.items() if isinstance(v, np.ndarray)})
    meta = {"step": step, "config": config, "history": history, "optim_hyper": opt["hyper"],
            "optim_scalars": scalars, "rng": backend.rng().bit_generator.state,
            "extra": {k: v for k, v in extra.items() if not isinstance(v, np.ndarray)}}
    io.save(path, arrays, metadata=meta)


def load_checkpoint(path):
    """(arrays, metadata) of a checkpoint, with a clear error if it is not a training checkpoint."""
    arrays, meta = io.load(path)
    if not isinstance(meta, dict) or "step" not in meta or "config" not in meta:
        raise MinigenError(f"{path}: not a minigen training checkpoint (no step/config metadata)")
    return arrays, meta


def model_state(arrays):
    """The model's state dict inside a checkpoint's arrays."""
    return {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}


def restore(path, model, optimizer, arrays=None, meta=None):
    """Load a checkpoint (or its already loaded ``arrays, meta``) into model and optimiser, and minigen's
    generator; returns the metadata, with the caller's ``extra`` state (arrays included) in meta["extra"]."""
    if arrays is None:
        arrays, meta = load_checkpoint(path)
    model.load_state_dict(model_state(arrays))
    state = [dict(s) for s in meta["optim_scalars"]]
    for k, v in arrays.items():
        if k.startswith("optim/"):
            _, i, name = k.split("/", 2)
            state[int(i)][name] = v
    try:
        optimizer.load_state_dict({"hyper": meta["optim_hyper"], "state": state})
    except ValueError as e:
        raise MinigenError(f"{path}: optimiser state does not fit this run: {e}") from None
    backend.rng().bit_generator.state = meta["rng"]
    meta["extra"] = dict(meta.get("extra", {}), **{k[len("extra/"):]: v for k, v in arrays.items()
                                                     if k.startswith("extra/")})
    return meta


def check_resume_config(path, saved, config, may_change=()):
    """Refuse to resume ``path`` (made with config ``saved``) under another ``config``, but for the keys in
    ``may_change``, whose changes are printed. Keys the checkpoint does not record (older files) are not
    checked."""
    now = json.loads(json.dumps(config))  # as the checkpoint stores it: tuples become lists
    saved = saved if isinstance(saved, dict) else {}
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


def train(step_fn, model, optimizer, steps, checkpoint=None, save_every=0, resume=False,
          config=None, log_every=10, label="", may_change=()):
    """Run ``step_fn(step) -> {name: loss Tensor}`` for steps 1..steps; returns the history.

    This loop zeroes the gradients, runs step_fn (which computes the losses and
    calls backward on their total), checks the losses and steps the optimiser.
    With ``checkpoint`` a file is written every ``save_every`` steps and at the
    end; ``resume`` continues from it (same ``config``, but for the keys in
    ``may_change``). A NaN or Inf loss stops the run with a MinigenError before
    the optimiser applies it, so the last checkpoint on disk is the last good state.
    """
    history, start = {}, 0
    if resume:
        if not checkpoint or not os.path.exists(checkpoint):
            raise MinigenError(f"--resume: no checkpoint at {checkpoint}")
        arrays, meta = load_checkpoint(checkpoint)
        if config is not None:
            check_resume_config(checkpoint, meta["config"], config, may_change)
        meta = restore(checkpoint, model, optimizer, arrays, meta)
        start, history = meta["step"], meta["history"]
        if start >= steps:
            raise MinigenError(f"{checkpoint}: already at step {start} of {steps}; ask for more steps")
    progress = Progress(steps, every=log_every, label=label, start=start)
    for step in range(start + 1, steps + 1):
        optimizer.zero_grad()
        values = {k: float(v.item()) for k, v in step_fn(step).items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise MinigenError(f"loss {bad[0]} became {values[bad[0]]} at step {step}; stopped{last_good(checkpoint)}")
        optimizer.step()
        for k, v in values.items():
            history.setdefault(k, []).append(v)
        progress.update(step, **values)
        if checkpoint and ((save_every and step % save_every == 0) or step == steps):
            save_checkpoint(checkpoint, model, optimizer, step, config, history)
    return history


def last_good(checkpoint):
    """The end of a divergence message: where the last good state is, if one was saved."""
    return f"; the last good checkpoint is {checkpoint}" if checkpoint and os.path.exists(checkpoint) else ""


def step_rng(seed, step):
    """The data generator of one step: the same for a resumed and an uninterrupted run."""
    return np.random.default_rng((seed, step))
