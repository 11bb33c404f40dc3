"""The one checkpoint format of every run (training, a Deep Image Prior fit, ...).

A checkpoint is an .npz or .safetensors file (``minigen.io.save``) whose arrays are

    module/<name>/<key>        the state dict of the run's module <name>
    optim/<name>/<i>/<key>     the array state of optimiser <name> for its parameter i
    ema/<name>/<i>             the averages of EMA copy <name>
    extra/<key>                any other array the run keeps

and whose JSON metadata is

    {"format": "minigen-checkpoint", "version": 2, "kind": the run's kind ("train-style", ...),
     "step": steps done, "settings": the run's settings, "history": {loss name: [values]},
     "modules": {name: {"kind": model kind, "config": {...}} or null},
     "optimizers": {name: {"hyper": {...}, "scalars": [{...} per parameter]}},
     "ema": {name: {"decay": d}}, "rngs": {name: bit-generator state},
     "seconds": time spent, "extra": {other JSON values}}

``modules`` names each network's registered kind and constructor config, so
``models.build`` rebuilds every network from the file alone. Files written by
minigen before this format (a ``config`` with ``model/``, ``optim/<i>/`` arrays)
load through the same ``load``, converted (see ``_from_legacy``).
"""
from .. import io
from ..errors import MinigenError

FORMAT, VERSION = "minigen-checkpoint", 2
EXTENSIONS = (".npz", ".safetensors")


class Checkpoint:
    """The contents of a checkpoint: plain dicts of host arrays and JSON values (see the module docstring).

    modules: {name: state dict}; specs: {name: {"kind", "config"} or None}; optimizers: {name:
    ``Optimizer.state_dict()``}; ema: {name: ``EMA.state_dict()``}; rngs: {name: bit-generator state}.
    """

    def __init__(self, kind, step=0, settings=None, history=None, modules=None, specs=None, optimizers=None,
                 ema=None, rngs=None, seconds=0.0, extra=None, path=None):
        self.kind, self.step, self.path = kind, int(step), path
        self.settings, self.history = dict(settings or {}), dict(history or {})
        self.modules, self.specs = dict(modules or {}), dict(specs or {})
        self.optimizers, self.ema, self.rngs = dict(optimizers or {}), dict(ema or {}), dict(rngs or {})
        self.seconds, self.extra = float(seconds), dict(extra or {})


def _is_array(v):
    return hasattr(v, "shape") and hasattr(v, "dtype")


def save(path, ckpt):
    """Write ``ckpt`` to ``path`` atomically (.npz or .safetensors)."""
    arrays = {}
    for name, state in ckpt.modules.items():
        arrays.update({f"module/{name}/{k}": v for k, v in state.items()})
    optimizers = {}
    for name, opt in ckpt.optimizers.items():
        scalars = []
        for i, s in enumerate(opt["state"]):
            scalars.append({k: v for k, v in s.items() if not _is_array(v)})
            arrays.update({f"optim/{name}/{i}/{k}": v for k, v in s.items() if _is_array(v)})
        optimizers[name] = {"hyper": opt["hyper"], "scalars": scalars}
    for name, ema in ckpt.ema.items():
        arrays.update({f"ema/{name}/{i}": a for i, a in enumerate(ema["shadow"])})
    arrays.update({f"extra/{k}": v for k, v in ckpt.extra.items() if _is_array(v)})
    meta = {"format": FORMAT, "version": VERSION, "kind": ckpt.kind, "step": ckpt.step,
            "settings": ckpt.settings, "history": ckpt.history,
            "modules": {name: ckpt.specs.get(name) for name in ckpt.modules}, "optimizers": optimizers,
            "ema": {name: {"decay": e["decay"], "count": len(e["shadow"])} for name, e in ckpt.ema.items()},
            "rngs": ckpt.rngs, "seconds": ckpt.seconds,
            "extra": {k: v for k, v in ckpt.extra.items() if not _is_array(v)}}
    io.save(path, arrays, metadata=meta)


def export(ckpt, path, half=False):
    """Write the networks of ``ckpt`` alone (no optimiser state, EMA, RNG states or history) to ``path``:
    what a user of the trained networks needs, e.g. a model bundled with minigen. ``half``: float arrays
    as float16 (a module's load_state_dict casts them back to its float32 parameters). Returns the bytes
    of the arrays written."""
    import numpy as np

    def cast(a):
        return a.astype(np.float16) if half and np.issubdtype(a.dtype, np.floating) else a
    modules = {name: {k: cast(np.asarray(v)) for k, v in state.items()} for name, state in ckpt.modules.items()}
    out = Checkpoint(ckpt.kind, ckpt.step, ckpt.settings, modules=modules, specs=ckpt.specs,
                     seconds=ckpt.seconds, extra={"exported": {"float16": bool(half)}})
    save(path, out)
    return sum(a.nbytes for state in modules.values() for a in state.values())


def _under(arrays, prefix):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def load(path, kind=None):
    """The Checkpoint in ``path``; with ``kind``, a one-line error unless the file is of that kind."""
    arrays, meta = io.load(path)
    if not isinstance(meta, dict):
        raise MinigenError(f"{path}: not a minigen checkpoint (no metadata)")
    if meta.get("format") != FORMAT:
        ckpt = _from_legacy(path, arrays, meta)
    else:
        try:
            ckpt = _parse(arrays, meta)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise MinigenError(f"{path}: a damaged minigen checkpoint ({e})") from None
    ckpt.path = path
    if kind is not None and ckpt.kind != kind:
        raise MinigenError(f"{path}: a {ckpt.kind} checkpoint, not a {kind} one")
    return ckpt


def _parse(arrays, meta):
    optimizers = {}
    for name, o in meta["optimizers"].items():
        state = [dict(s) for s in o["scalars"]]
        for k, v in _under(arrays, f"optim/{name}/").items():
            i, key = k.split("/", 1)
            state[int(i)][key] = v
        optimizers[name] = {"hyper": o["hyper"], "state": state}
    ema = {name: {"decay": e["decay"], "shadow": [arrays[f"ema/{name}/{i}"] for i in range(e["count"])]}
           for name, e in meta["ema"].items()}
    return Checkpoint(meta["kind"], meta["step"], meta["settings"], meta["history"],
                      modules={name: _under(arrays, f"module/{name}/") for name in meta["modules"]},
                      specs=meta["modules"], optimizers=optimizers, ema=ema, rngs=meta["rngs"],
                      seconds=meta.get("seconds", 0.0), extra=dict(meta["extra"], **_under(arrays, "extra/")))


# ---- checkpoints of earlier minigen versions ---------------------------------------------------

# train-style's methods -> the registered kind of their network
_STYLE_NETS = {"johnson": "transform-net", "multistyle": "transform-net", "texture-net": "texture-net",
               "adain": "adain-decoder"}
_SRCNN_KERNELS = {"srcnn": [9, 1, 5], "srcnn-955": [9, 5, 5]}


def _legacy_spec(config):
    """(run kind, the network's spec) of a config written by the earlier train-style, train-sr or dip."""
    if config.get("kind") == "dip":
        net = dict(config["net"])
        return "dip", {"kind": "dip-net", "config": net}
    if config.get("method") in _STYLE_NETS:
        return "train-style", {"kind": _STYLE_NETS[config["method"]], "config": dict(config["model"])}
    name, kw = config.get("model"), dict(config.get("kwargs", {}))
    if name in _SRCNN_KERNELS:
        return "train-sr", {"kind": "srcnn", "config": {"kernels": _SRCNN_KERNELS[name], **kw}}
    if name == "vdsr":
        return "train-sr", {"kind": "vdsr", "config": kw}
    if name == "perceptual":
        return "train-sr", {"kind": "perceptual-sr", "config": kw}
    raise ValueError("its config names no known run")


def _from_legacy(path, arrays, meta):
    """An earlier checkpoint (metadata: step, config, history, optim_hyper, optim_scalars, rng, extra;
    arrays model/<key>, optim/<i>/<key>, extra/<key>) as a Checkpoint with module "net", optimiser
    "opt" and the shared generator "minigen" (a DIP fit's own generator becomes "noise")."""
    if "step" not in meta or not isinstance(meta.get("config"), dict):
        raise MinigenError(f"{path}: not a minigen checkpoint (no step or settings in its metadata)")
    try:
        kind, spec = _legacy_spec(meta["config"])
        state = [dict(s) for s in meta["optim_scalars"]]
        for k, v in _under(arrays, "optim/").items():
            i, key = k.split("/", 1)
            state[int(i)][key] = v
        extra = dict(meta.get("extra", {}), **_under(arrays, "extra/"))
        rngs = {"minigen": meta["rng"]}
        if "rng" in extra:
            rngs["noise"] = extra.pop("rng")
        seconds = extra.pop("seconds", 0.0)
        return Checkpoint(kind, meta["step"], meta["config"], meta.get("history", {}),
                          modules={"net": _under(arrays, "model/")}, specs={"net": spec},
                          optimizers={"opt": {"hyper": meta["optim_hyper"], "state": state}},
                          rngs=rngs, seconds=seconds, extra=extra)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise MinigenError(f"{path}: a checkpoint of an earlier minigen that cannot be read ({e})") from None
