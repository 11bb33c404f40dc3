"""The ``.safetensors`` checkpoint, written and read here.

Layout: an 8-byte little-endian header length N, N bytes of JSON header
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
"__metadata__": {str: str}}``, then the raw little-endian tensor bytes, the
offsets counted from the end of the header. The metadata, which the format
limits to strings, is stored JSON-encoded as the single entry ``"minigen"``.
"""
import json
import os

import numpy as np

from ..errors import MinigenError
from .metadata import METADATA_KEY, from_json

# safetensors dtype codes <-> NumPy (little-endian) dtypes.
DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
    "BOOL": "?",
}
CODES = {np.dtype(v).newbyteorder("="): k for k, v in DTYPES.items()}  # native-order dtype -> code
_MAX_HEADER = 100 * 2**20  # header bytes; larger means a foreign or corrupt file


def write(f, arrays, meta_json):
    """Write {name: native-order array} and the metadata's JSON text to the binary file ``f``."""
    header, offset = {}, 0
    for name, a in arrays.items():
        size = a.size * a.itemsize
        code = CODES[a.dtype.newbyteorder("=")]
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + size]}
        offset += size
    header[METADATA_KEY] = {"minigen": meta_json}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad with spaces (allowed) so the data starts 8-byte aligned
    f.write(len(text).to_bytes(8, "little"))
    f.write(text)
    for name, a in arrays.items():
        f.write(np.ascontiguousarray(a, dtype=DTYPES[header[name]["dtype"]]).reshape(-1).view(np.uint8))


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate names in the header")
    return dict(pairs)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _header(path, f, file_size):
    """Read and check the header: {name: (dtype, shape, begin, end)}, metadata, data start."""
    def bad(reason):
        return MinigenError(f"{path}: not a valid safetensors file: {reason}")

    if file_size < 8:
        raise bad(f"{file_size} bytes, shorter than the 8-byte header length")
    n = int.from_bytes(f.read(8), "little")
    if n > min(file_size - 8, _MAX_HEADER):
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
        if dtype not in DTYPES:
            raise bad(f"entry {name!r} has unsupported dtype {dtype!r}")
        if not (isinstance(shape, list) and all(_is_int(s) for s in shape)):
            raise bad(f"entry {name!r} has a bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and offsets[0] <= offsets[1]):
            raise bad(f"entry {name!r} has bad data_offsets {offsets!r}")
        nbytes = int(np.prod(shape, dtype=object)) * np.dtype(DTYPES[dtype]).itemsize
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
        metadata.update(from_json(path, raw_meta["minigen"]))
    return entries, metadata, 8 + n


def read(path):
    """(state, metadata) of the safetensors file ``path``; a foreign file's own str -> str
    metadata is returned as is. MinigenError if the file breaks the layout in any way."""
    with open(path, "rb") as f:
        entries, metadata, data_start = _header(path, f, os.fstat(f.fileno()).st_size)
        state = {}
        for name, (code, shape, begin, end) in entries.items():
            dtype = np.dtype(DTYPES[code])
            a = np.empty(shape, dtype)  # read straight into an aligned array: one copy of the data
            f.seek(data_start + begin)
            if f.readinto(a.reshape(-1).view(np.uint8)) != end - begin:
                raise MinigenError(f"{path}: not a valid safetensors file: data of {name!r} is cut short")
            if dtype == np.bool_ and a.view(np.uint8).max(initial=0) > 1:
                raise MinigenError(f"{path}: not a valid safetensors file: BOOL entry {name!r} holds bytes other than 0/1")
            state[name] = a if dtype.isnative else a.astype(dtype.newbyteorder("="))
    return state, metadata
