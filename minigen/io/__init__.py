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

- ``.pth`` / ``.pt`` (read only): PyTorch's ``torch.save`` files, read without
  torch by ``load_torch`` (see there): a restricted unpickler that accepts only
  tensors, storages and OrderedDict.

Nothing here calls ``pickle.load`` on file data.

Writes are atomic (``atomic_write``): a temporary file in the same folder,
flushed and fsynced, then renamed over the target, so a crash or an error
leaves the previous file as it was. Unreadable files raise ``MinigenError``
with a one-line message that names the file.
"""
import collections
import contextlib
import json
import math
import os
import pickle
import struct
import tempfile
import zipfile
import zlib

import numpy as np

from .. import backend
from ..errors import MinigenError
from ..tensor import Tensor

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


# ---- torch .pth / .pt (read only) ---------------------------------------------------

_TORCH_STORAGES = {  # torch.<name> storage class -> element dtype (little-endian)
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_LEGACY_PROTOCOL = 1001
_TORCH_MAX_EXPANDED = 2**24  # elements; a larger tensor must be backed by as many stored elements


class _Sealed:
    """Objects the unpickler hands out. The pickle BUILD opcode sets attributes of any object
    on the stack through ``__setstate__`` or its ``__dict__``; refusing it keeps a file from
    rewriting a storage's size or dtype after the checks."""

    def __setstate__(self, state):
        raise ValueError(f"the pickle tries to set attributes of a {type(self).__name__.lstrip('_')}")


class _Allowed(_Sealed):
    """One allowed callable (a tensor rebuild function, OrderedDict), sealed against BUILD."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


class _StorageType(_Sealed):
    """What the unpickler hands out for ``torch.FloatStorage`` and its kin: a dtype, nothing callable."""

    def __init__(self, name):
        self.name, self.dtype = name, np.dtype(_TORCH_STORAGES[name])


class _Storage(_Sealed):
    """One storage of the file: its dtype and element count; ``data`` (1-D) once read."""

    def __init__(self, key, dtype, numel, bfloat16=False):
        self.key, self.dtype, self.numel, self.data = key, dtype, numel, None
        self.bfloat16 = bfloat16  # BFloat16Storage: uint16 words, widened to float32 per tensor


class _TensorRef(_Sealed):
    """A tensor as the pickle describes it, made into an array once its storage is read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _ints(values, what):
    values = tuple(values)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ValueError(f"bad tensor {what} {values!r}")
    return values


def _rebuild_tensor(storage, storage_offset, size, stride, *_):
    """Stands in for torch._utils._rebuild_tensor(_v2): (storage, offset, size, stride,
    requires_grad, backward_hooks[, metadata]); the autograd arguments are irrelevant here."""
    if not isinstance(storage, _Storage):
        raise ValueError("a tensor is rebuilt from something that is not a storage")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    (offset,) = _ints([storage_offset], "offset")
    if len(size) != len(stride):
        raise ValueError(f"tensor size {size} and stride {stride} differ in length")
    if all(size) and offset + sum((n - 1) * s for n, s in zip(size, stride)) >= storage.numel:
        raise ValueError(f"tensor (offset {offset}, size {size}, stride {stride}) reaches past its "
                         f"storage of {storage.numel} elements")
    numel = math.prod(size)
    if numel > max(storage.numel, _TORCH_MAX_EXPANDED):  # stride-0 (expanded) views are copied out in full
        raise ValueError(f"tensor of size {size} has more elements than its storage ({storage.numel}) "
                         f"and the {_TORCH_MAX_EXPANDED} allowed for an expanded view")
    return _TensorRef(storage, offset, size, stride)


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles only what a state dict holds: tensors, storages, OrderedDict and plain
    Python values (dict, list, str, numbers). Any other global is refused *before* it is
    looked up, so no code of the file's choosing can run."""

    _ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _Allowed(_rebuild_tensor),
        ("torch._utils", "_rebuild_tensor"): _Allowed(_rebuild_tensor),
        ("collections", "OrderedDict"): _Allowed(collections.OrderedDict),
    }

    def __init__(self, f, path, storage_bytes=None):
        super().__init__(f)
        self.path, self.storages, self.legacy = path, {}, storage_bytes is None
        self.storage_bytes = storage_bytes  # zip: key -> bytes of the storage (read when first referenced)

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[module, name]
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(name)
        raise MinigenError(f"{self.path}: refused to load: the pickle asks for {module}.{name}; only tensors, "
                           "storages and OrderedDict are allowed (minigen reads plain state dicts only)")

    def persistent_load(self, pid):
        # zip: ('storage', type, key, location, numel); legacy adds view_metadata:
        # None, or (view key, element offset, view numel) for a view of another storage.
        if not (isinstance(pid, tuple) and len(pid) == (6 if self.legacy else 5) and pid[0] == "storage"):
            raise ValueError(f"unexpected persistent id {pid!r:.80}")
        kind, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(kind, _StorageType) or not isinstance(key, str):
            raise ValueError(f"unexpected persistent id {pid!r:.80}")
        (numel,) = _ints([numel], "storage size")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, kind.dtype, numel, kind.name == "BFloat16Storage")
            if not self.legacy:
                storage.data = self.storage_bytes(key, kind.dtype, numel)
        elif storage.dtype != kind.dtype or storage.numel != numel:
            raise ValueError(f"storage {key!r} is referenced with two different types or sizes")
        view = pid[5] if self.legacy else None
        if view is None:
            return storage
        if not (isinstance(view, tuple) and len(view) == 3):
            raise ValueError(f"bad storage view {view!r:.80}")
        _, offset, size = view
        offset, size = _ints([offset, size], "storage view")
        if offset + size > numel:
            raise ValueError(f"storage view ({offset}, {size}) reaches past storage {key!r} of {numel} elements")
        return _StorageView(storage, offset, size)


class _StorageView(_Storage):
    """A legacy view into another storage (pre-1.0 files): elements [offset, offset + numel)."""

    def __init__(self, root, offset, numel):
        super().__init__(root.key, root.dtype, numel, root.bfloat16)
        self.root, self.offset = root, offset


def _storage_array(storage):
    if isinstance(storage, _StorageView):
        return _storage_array(storage.root)[storage.offset:storage.offset + storage.numel]
    return storage.data


def _tensor_array(ref):
    data = _storage_array(ref.storage)
    if not all(ref.size):
        a = np.zeros(ref.size, data.dtype)
    else:
        if ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride)) >= len(data):
            raise ValueError("tensor reaches past its storage")  # checked before; as_strided must never overrun
        view = np.lib.stride_tricks.as_strided(data[ref.offset:], shape=ref.size,
                                               strides=[s * data.itemsize for s in ref.stride], writeable=False)
        a = np.array(view, dtype=data.dtype.newbyteorder("="), order="C")  # a contiguous, native-order copy
    if ref.storage.bfloat16:
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a


def _flatten_tensors(path, obj):
    """The tensors of a (possibly nested) dict as {dotted name: array}, in file order.
    Depth-first without recursion; a dict met twice (a pickle can build cycles) is read once."""
    if not isinstance(obj, dict):
        raise MinigenError(f"{path}: the torch file holds a {type(obj).__name__}, not a state dict")
    state, seen, stack = {}, {id(obj)}, [("", iter(obj.items()))]
    while stack:
        prefix, items = stack[-1]
        for k, v in items:
            name = f"{prefix}{k}"
            if isinstance(v, _TensorRef):
                try:
                    state[name] = _tensor_array(v)
                except ValueError as e:
                    raise MinigenError(f"{path}: not a readable torch file ({e})") from e
            elif isinstance(v, dict) and id(v) not in seen:
                seen.add(id(v))
                stack.append((name + ".", iter(v.items())))
                break
        else:
            stack.pop()
    if not state:
        raise MinigenError(f"{path}: the torch file holds no tensors")
    return state


def _torch_unpickle(unpickler):
    try:
        return unpickler.load()
    except MinigenError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError, KeyError,
            RecursionError, OverflowError, struct.error) as e:
        raise MinigenError(f"{unpickler.path}: not a readable torch file (truncated or corrupt: {e})") from e


def _load_torch_zip(path, archive):
    pickles = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise MinigenError(f"{path}: not a torch file: a zip archive without exactly one <folder>/data.pkl")
    top = pickles[0][:-len("data.pkl")]
    order = "<"
    if top + "byteorder" in archive.namelist():
        text = archive.read(top + "byteorder").decode("ascii", "replace")
        if text not in ("little", "big"):
            raise MinigenError(f"{path}: not a readable torch file (byteorder {text!r:.20})")
        order = "<" if text == "little" else ">"

    def storage_bytes(key, dtype, numel):
        name = f"{top}data/{key}"
        try:
            info = archive.getinfo(name)
        except KeyError:
            raise ValueError(f"storage {key!r} is missing from the archive") from None
        nbytes = numel * dtype.itemsize
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"storage {key!r} is compressed (torch stores storages uncompressed)")
        if info.file_size != nbytes:
            raise ValueError(f"storage {key!r} holds {info.file_size} bytes, its {numel} elements need {nbytes}")
        a = np.frombuffer(archive.read(name), dtype.newbyteorder(order) if dtype.itemsize > 1 else dtype)
        return a.astype(dtype.newbyteorder("="))

    with archive.open(pickles[0]) as f:
        unpickler = _TorchUnpickler(f, path, storage_bytes)
        obj = _torch_unpickle(unpickler)
    return _flatten_tensors(path, obj)


def _load_torch_legacy(path, f, file_size):
    """The pre-1.6 format: pickles of the magic number, the protocol, the system info and
    the object, a pickled list of storage keys, then per key an int64 element count and the
    raw elements."""
    def unpickle():
        return _torch_unpickle(_TorchUnpickler(f, path))

    if unpickle() != _TORCH_LEGACY_MAGIC:
        raise MinigenError(f"{path}: not a torch file (neither a zip archive nor the legacy magic number)")
    protocol, info = unpickle(), unpickle()
    if protocol != _TORCH_LEGACY_PROTOCOL:
        raise MinigenError(f"{path}: unsupported legacy torch protocol {protocol!r}")
    little = not isinstance(info, dict) or info.get("little_endian", True)
    unpickler = _TorchUnpickler(f, path)
    obj = _torch_unpickle(unpickler)
    keys = unpickle()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise MinigenError(f"{path}: not a readable torch file (bad storage key list)")
    order = "<" if little else ">"
    for key in keys:
        storage = unpickler.storages.get(key)
        if storage is None:
            raise MinigenError(f"{path}: not a readable torch file (storage {key!r} is listed but never used)")
        head = f.read(8)
        if len(head) != 8:
            raise MinigenError(f"{path}: not a readable torch file (truncated before storage {key!r})")
        numel = int.from_bytes(head, "little" if little else "big", signed=True)
        nbytes = numel * storage.dtype.itemsize
        if numel != storage.numel:
            raise MinigenError(f"{path}: not a readable torch file (storage {key!r} has {numel} elements, "
                               f"the pickle says {storage.numel})")
        if nbytes > file_size - f.tell():
            raise MinigenError(f"{path}: not a readable torch file (truncated inside storage {key!r})")
        a = np.empty(numel, storage.dtype.newbyteorder(order) if storage.dtype.itemsize > 1 else storage.dtype)
        f.readinto(a.view(np.uint8))
        storage.data = a.astype(storage.dtype.newbyteorder("="))
    missing = [k for k, s in unpickler.storages.items() if s.data is None]
    if missing:
        raise MinigenError(f"{path}: not a readable torch file (no data for storage {missing[0]!r})")
    return _flatten_tensors(path, obj)


def load_torch(path):
    """Read a file written by ``torch.save`` (a state dict) without torch: {name: NumPy array}.

    Both formats are read: the zip archive (``<folder>/data.pkl`` plus one raw
    little-endian file per storage in ``<folder>/data/<key>``) and the legacy
    stream (see ``_load_torch_legacy``). The pickle is read by an allow-list
    unpickler: ``torch._utils._rebuild_tensor(_v2)``, the ``torch.*Storage``
    types and ``collections.OrderedDict``; anything else (a function, a class of
    the file's choosing) is refused with a MinigenError naming it, before it is
    imported. Each tensor is cut out of its storage with its offset and strides
    and copied, so views and shared storages come out as independent arrays.
    Nested dicts are flattened with dotted names; non-tensor values are dropped.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MinigenError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            if zipfile.is_zipfile(f):
                f.seek(0)
                try:
                    with zipfile.ZipFile(f) as archive:
                        return _load_torch_zip(path, archive)
                except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                    raise MinigenError(f"{path}: not a readable torch file (corrupt zip archive: {e})") from e
            f.seek(0)
            return _load_torch_legacy(path, f, file_size)
    except OSError as e:
        raise MinigenError(f"{path}: cannot read: {e.strerror or e}") from e


def _load_pth(path):
    return load_torch(path), {}


# ---- public API -------------------------------------------------------------------

_FORMATS = {
    ".npz": (_save_npz, _load_npz),
    ".safetensors": (_save_safetensors, _load_safetensors),
    ".pth": (None, _load_pth),  # torch files are read, never written
    ".pt": (None, _load_pth),
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
    if writer is None:
        raise MinigenError(f"{path}: minigen reads torch files but does not write them; use .npz or .safetensors")
    arrays, meta_json = _host_arrays(state), _metadata_json(metadata)
    with atomic_write(path) as f:
        writer(f, arrays, meta_json)


def load(path):
    """Read a checkpoint: ``(state, metadata)``, the arrays as NumPy arrays in the
    order they were saved, the metadata as the dict given to ``save`` ({} if none;
    a foreign safetensors file's own str -> str metadata is returned as is; a torch
    .pth/.pt file gives ``load_torch``'s arrays and {})."""
    _, reader = _format(path)
    if not os.path.exists(path):
        raise MinigenError(f"{path}: no such file")
    if os.path.isdir(path):
        raise MinigenError(f"{path}: is a directory, not a checkpoint")
    try:
        return reader(path)
    except OSError as e:
        raise MinigenError(f"{path}: cannot read: {e.strerror or e}") from e
