"""Checkpoints: a flat state dict (name -> array) plus JSON metadata, on disk.

    save(path, state, metadata=None)
    load(path) -> (state, metadata)

The format follows the file's extension:

- ``.npz``: ``np.savez`` of the arrays, with the metadata as UTF-8 JSON bytes
  (a uint8 array) under the reserved name ``__metadata__``. Read with
  ``allow_pickle=False``: object arrays are refused.
- ``.safetensors``: written and read here. Layout: an 8-byte little-endian
  header length N, N bytes of JSON header
  ``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
  "__metadata__": {str: str}}``, then the raw little-endian tensor bytes, the
  offsets counted from the end of the header. The metadata, which the format
  limits to strings, is stored JSON-encoded as the single entry ``"minigen"``.

Nothing here ever unpickles. A reader for torch ``.pth`` files (a restricted,
allow-list unpickler) is planned as one more entry of ``_FORMATS``.

Writes are atomic (``atomic_write``): a temporary file in the same folder,
flushed and fsynced, then renamed over the target, so a crash or an error
leaves the previous file as it was. Unreadable files raise ``MinigenError``
with a one-line message that names the file.
"""
import contextlib
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from . import backend
from .errors import MinigenError
from .tensor import Tensor

METADATA_KEY = "__metadata__"

# safetensors dtype codes <-> NumPy (little-endian) dtypes.
_ST_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
    "BOOL": "?",
}
_ST_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _ST_DTYPES.items()}
_ST_MAX_HEADER = 100 * 2**20  # header bytes; larger means a foreign or corrupt file


# ---- atomic writes ------------------------------------------------------------

def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file object; on success it replaces ``path`` in one rename.

    The temporary file sits beside the target (a rename across file systems is
    not atomic). On any error it is removed and ``path`` is left untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    except OSError as e:
        raise MinigenError(f"{path}: cannot write: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise MinigenError(f"{path}: cannot write: {e.strerror or e}") from e
        raise


# ---- state dicts ----------------------------------------------------------------

def _host_arrays(state):
    """A Module (anything with ``state_dict()``) or a flat dict -> {name: NumPy array}."""
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"save: state must be a dict of arrays or have state_dict(), not {type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str) or not name or name == METADATA_KEY:
            raise ValueError(f"save: bad state name {name!r} (non-empty str, not {METADATA_KEY!r})")
        if isinstance(value, Tensor):
            value = value.data
        if backend.is_cupy(value):
            value = backend.to_device(value, "cpu")
        try:
            a = np.asarray(value)
        except Exception as e:  # anything the object's own conversion raises
            raise TypeError(f"save: {name!r} cannot be converted to an array: {e}") from e
        if a.dtype.newbyteorder("=") not in _ST_CODES:
            raise TypeError(f"save: {name!r} has dtype {a.dtype}; checkpoints hold bool, int, uint and float arrays only")
        arrays[name] = a.astype(a.dtype.newbyteorder("="), copy=False)  # native order in memory
    return arrays


def _metadata_json(metadata):
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"save: metadata must be a dict, not {type(metadata).__name__}")
    try:
        return json.dumps(metadata)
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata is not JSON-serialisable: {e}") from e


def _parse_metadata(path, text):
    try:
        metadata = json.loads(text)
    except ValueError as e:
        raise MinigenError(f"{path}: corrupt checkpoint metadata: {e}") from e
    if not isinstance(metadata, dict):
        raise MinigenError(f"{path}: corrupt checkpoint metadata: not a JSON object")
    return metadata


# ---- .npz ------------------------------------------------------------------------

def _save_npz(f, arrays, meta_json):
    # The archive np.savez writes, built here so that no state name can clash
    # with np.savez's own keyword arguments ("file", "allow_pickle").
    meta = np.frombuffer(meta_json.encode("utf-8"), dtype=np.uint8)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, a in [*arrays.items(), (METADATA_KEY, meta)]:
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def _load_npz(path):
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
    return state, _parse_metadata(path, text)


# ---- .safetensors -----------------------------------------------------------------

def _save_safetensors(f, arrays, meta_json):
    header, offset = {}, 0
    for name, a in arrays.items():
        size = a.size * a.itemsize
        code = _ST_CODES[a.dtype.newbyteorder("=")]
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + size]}
        offset += size
    header[METADATA_KEY] = {"minigen": meta_json}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad with spaces (allowed) so the data starts 8-byte aligned
    f.write(len(text).to_bytes(8, "little"))
    f.write(text)
    for name, a in arrays.items():
        f.write(np.ascontiguousarray(a, dtype=_ST_DTYPES[header[name]["dtype"]]).reshape(-1).view(np.uint8))


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate names in the header")
    return dict(pairs)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _safetensors_header(path, f, file_size):
    """Read and check the header: {name: (dtype, shape, begin, end)}, metadata, data start."""
    def bad(reason):
        return MinigenError(f"{path}: not a valid safetensors file: {reason}")

    if file_size < 8:
        raise bad(f"{file_size} bytes, shorter than the 8-byte header length")
    n = int.from_bytes(f.read(8), "little")
    if n > min(file_size - 8, _ST_MAX_HEADER):
        raise bad(f"header length {n} exceeds the file size {file_size}")
    try:
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as e:  # ValueError covers bad UTF-8 and bad JSON
        raise bad(f"header is not valid JSON ({e})") from e
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    raw_meta = header.pop(METADATA_KEY, {})
    if not (isinstance(raw_meta, dict) and all(isinstance(v, str) for v in raw_meta.values())):
        raise bad(f"{METADATA_KEY} is not a str -> str object")

    entries = {}
    for name, info in header.items():
        if not (isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}):
            raise bad(f"entry {name!r} must have exactly dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _ST_DTYPES:
            raise bad(f"entry {name!r} has unsupported dtype {dtype!r}")
        if not (isinstance(shape, list) and all(_is_int(s) for s in shape)):
            raise bad(f"entry {name!r} has a bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and offsets[0] <= offsets[1]):
            raise bad(f"entry {name!r} has bad data_offsets {offsets!r}")
        nbytes = int(np.prod(shape, dtype=object)) * np.dtype(_ST_DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise bad(f"entry {name!r} spans {offsets[1] - offsets[0]} bytes, but {dtype} {shape} needs {nbytes}")
        entries[name] = (dtype, tuple(shape), offsets[0], offsets[1])

    # The tensors must tile the data section exactly: no gaps, overlaps or bytes past the end.
    data_size, end = file_size - 8 - n, 0
    for name, (_, _, begin, stop) in sorted(entries.items(), key=lambda e: e[1][2:]):
        if begin != end:
            raise bad(f"entry {name!r} starts at byte {begin}, expected {end} (gap or overlap)")
        end = stop
    if end != data_size:
        raise bad(f"tensors cover {end} data bytes, but the file holds {data_size} (truncated or padded)")

    metadata = {k: v for k, v in raw_meta.items() if k != "minigen"}
    if "minigen" in raw_meta:
        metadata.update(_parse_metadata(path, raw_meta["minigen"]))
    return entries, metadata, 8 + n


def _load_safetensors(path):
    with open(path, "rb") as f:
        entries, metadata, data_start = _safetensors_header(path, f, os.fstat(f.fileno()).st_size)
        state = {}
        for name, (code, shape, begin, end) in entries.items():
            dtype = np.dtype(_ST_DTYPES[code])
            a = np.empty(shape, dtype)  # read straight into an aligned array: one copy of the data
            f.seek(data_start + begin)
            if f.readinto(a.reshape(-1).view(np.uint8)) != end - begin:
                raise MinigenError(f"{path}: not a valid safetensors file: data of {name!r} is cut short")
            if dtype == np.bool_ and a.view(np.uint8).max(initial=0) > 1:
                raise MinigenError(f"{path}: not a valid safetensors file: BOOL entry {name!r} holds bytes other than 0/1")
            state[name] = a if dtype.isnative else a.astype(dtype.newbyteorder("="))
    return state, metadata


# ---- public API -------------------------------------------------------------------

_FORMATS = {
    ".npz": (_save_npz, _load_npz),
    ".safetensors": (_save_safetensors, _load_safetensors),
}


def _format(path):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in _FORMATS:
        raise MinigenError(f"{path}: unknown checkpoint format {ext or '(no extension)'!r}; "
                           f"use {' or '.join(_FORMATS)}")
    return _FORMATS[ext]


def save(path, state, metadata=None):
    """Write ``state`` (a flat dict name -> array, or a Module with ``state_dict()``)
    and a JSON-serialisable ``metadata`` dict to ``path`` (.npz or .safetensors),
    atomically. Arrays on the GPU are copied to the host first."""
    writer, _ = _format(path)
    arrays, meta_json = _host_arrays(state), _metadata_json(metadata)
    with atomic_write(path) as f:
        writer(f, arrays, meta_json)


def load(path):
    """Read a checkpoint: ``(state, metadata)``, the arrays as NumPy arrays in the
    order they were saved, the metadata as the dict given to ``save`` ({} if none;
    a foreign safetensors file's own str -> str metadata is returned as is)."""
    _, reader = _format(path)
    if not os.path.exists(path):
        raise MinigenError(f"{path}: no such file")
    if os.path.isdir(path):
        raise MinigenError(f"{path}: is a directory, not a checkpoint")
    try:
        return reader(path)
    except OSError as e:
        raise MinigenError(f"{path}: cannot read: {e.strerror or e}") from e
