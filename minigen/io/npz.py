"""The ``.npz`` checkpoint: ``np.savez``'s archive of the arrays, with the metadata as UTF-8
JSON bytes (a uint8 array) under the reserved name ``__metadata__``. Read with
``allow_pickle=False``: object arrays are refused.
"""
import zipfile
import zlib

import numpy as np

from ..errors import MinigenError
from .metadata import METADATA_KEY, from_json


def write(f, arrays, meta_json):
    """Write {name: array} and the metadata's JSON text to the binary file ``f``."""
    # The archive np.savez writes, built here so that no state name can clash
    # with np.savez's own keyword arguments ("file", "allow_pickle").
    meta = np.frombuffer(meta_json.encode("utf-8"), dtype=np.uint8)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, a in [*arrays.items(), (METADATA_KEY, meta)]:
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def read(path):
    """(state, metadata) of the .npz file ``path``; MinigenError if it is not a readable one."""
    bad = f"{path}: not a readable .npz checkpoint"
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise MinigenError(f"{bad} (a single .npy array, not an archive)")
        with archive:
            state = {name: archive[name] for name in archive.files}
    except (ValueError, EOFError, OSError, NotImplementedError, zipfile.BadZipFile, zlib.error) as e:
        raise MinigenError(f"{bad} (truncated, corrupt or a foreign file: {e})") from e
    for name, value in state.items():
        if not isinstance(value, np.ndarray):  # np.load returns non-.npy members as raw bytes
            raise MinigenError(f"{bad} (member {name!r} is not a .npy array)")
    meta = state.pop(METADATA_KEY, None)
    if meta is None:
        return state, {}
    if meta.dtype != np.uint8 or meta.ndim != 1:
        raise MinigenError(f"{path}: corrupt checkpoint metadata: {METADATA_KEY} is not a byte array")
    try:
        text = meta.tobytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise MinigenError(f"{path}: corrupt checkpoint metadata: {e}") from e
    return state, from_json(path, text)
