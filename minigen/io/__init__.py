"""Checkpoints: a flat state dict (name -> array) plus JSON metadata, on disk.

    save(path, state, metadata=None)
    load(path) -> (state, metadata)

The format follows the file's extension, one module each:

- ``.npz`` (npz): ``np.savez``'s archive, the metadata under ``__metadata__``;
- ``.safetensors`` (safetensors): the safetensors layout, written and read here;
- ``.pth`` / ``.pt`` (torch_pth, read only): PyTorch's ``torch.save`` files, read
  without torch by ``load_torch``, a restricted unpickler that accepts only
  tensors, storages and OrderedDict.

Nothing here calls ``pickle.load`` on file data. Writes are atomic
(``atomic_write``): a crash or an error leaves the previous file as it was.
Unreadable files raise ``MinigenError`` with a one-line message that names the file.
"""
import json
import os

import numpy as np

from .. import backend
from ..errors import MinigenError
from ..tensor import Tensor
from . import npz, safetensors, torch_pth
from .atomic import atomic_write
from .metadata import METADATA_KEY, to_json
from .torch_pth import load_torch

_FORMATS = {
    ".npz": npz,
    ".safetensors": safetensors,
    ".pth": torch_pth,  # torch files are read, never written
    ".pt": torch_pth,
}


def _format(path):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in _FORMATS:
        raise MinigenError(f"{path}: unknown checkpoint format {ext or '(no extension)'!r}; "
                           f"use {' or '.join(_FORMATS)}")
    return _FORMATS[ext]


def _host_arrays(state):
    """A Module (anything with ``state_dict()``) or a flat dict -> {name: native-order NumPy array}."""
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"save: state must be a dict of arrays or have state_dict(), not {type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str) or not name or name == METADATA_KEY:
            raise ValueError(f"save: bad state name {name!r} (non-empty str, not {METADATA_KEY!r})")
        if isinstance(value, Tensor) or backend.is_cupy(value):
            value = backend.to_host(value)
        try:
            a = np.asarray(value)
        except Exception as e:  # anything the object's own conversion raises
            raise TypeError(f"save: {name!r} cannot be converted to an array: {e}") from e
        if a.dtype.newbyteorder("=") not in safetensors.CODES:  # what both writers hold
            raise TypeError(f"save: {name!r} has dtype {a.dtype}; checkpoints hold bool, int, uint and float arrays only")
        arrays[name] = a.astype(a.dtype.newbyteorder("="), copy=False)  # native order in memory
    return arrays


def save(path, state, metadata=None):
    """Write ``state`` (a flat dict name -> array, or a Module with ``state_dict()``)
    and a JSON-serialisable ``metadata`` dict to ``path`` (.npz or .safetensors),
    atomically. Arrays on the GPU are copied to the host first."""
    fmt = _format(path)
    if fmt is torch_pth:
        raise MinigenError(f"{path}: minigen reads torch files but does not write them; use .npz or .safetensors")
    arrays, meta_json = _host_arrays(state), to_json(metadata)
    with atomic_write(path) as f:
        fmt.write(f, arrays, meta_json)


def load(path):
    """Read a checkpoint: ``(state, metadata)``, the arrays as NumPy arrays in the
    order they were saved, the metadata as the dict given to ``save`` ({} if none;
    a foreign safetensors file's own str -> str metadata is returned as is; a torch
    .pth/.pt file gives ``load_torch``'s arrays and {})."""
    fmt = _format(path)
    if not os.path.exists(path):
        raise MinigenError(f"{path}: no such file")
    if os.path.isdir(path):
        raise MinigenError(f"{path}: is a directory, not a checkpoint")
    try:
        return fmt.read(path)
    except OSError as e:
        raise MinigenError(f"{path}: cannot read: {e.strerror or e}") from e


def write_json(path, obj):
    """Write ``obj`` as indented, key-sorted JSON, atomically (a run's sidecar of settings and results)."""
    with atomic_write(path) as f:
        f.write((json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


__all__ = ["save", "load", "load_torch", "atomic_write", "write_json", "METADATA_KEY"]
