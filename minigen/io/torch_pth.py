"""PyTorch's ``torch.save`` files (``.pth`` / ``.pt``), read without torch and never written.

The pickle inside is read by an allow-list unpickler that accepts only tensors,
storages and OrderedDict; nothing here calls ``pickle.load`` on file data.
"""
import collections
import math
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

from ..errors import MinigenError

_STORAGES = {  # torch.<name> storage class -> element dtype (little-endian)
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_MAX_EXPANDED = 2**24  # elements; a larger tensor must be backed by as many stored elements


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
        self.name, self.dtype = name, np.dtype(_STORAGES[name])


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
    if numel > max(storage.numel, _MAX_EXPANDED):  # stride-0 (expanded) views are copied out in full
        raise ValueError(f"tensor of size {size} has more elements than its storage ({storage.numel}) "
                         f"and the {_MAX_EXPANDED} allowed for an expanded view")
    return _TensorRef(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
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
        if module == "torch" and name in _STORAGES:
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


def _load_object(unpickler):
    try:
        return unpickler.load()
    except MinigenError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError, KeyError,
            RecursionError, OverflowError, struct.error) as e:
        raise MinigenError(f"{unpickler.path}: not a readable torch file (truncated or corrupt: {e})") from e


def _load_zip(path, archive):
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
        unpickler = _Unpickler(f, path, storage_bytes)
        obj = _load_object(unpickler)
    return _flatten_tensors(path, obj)


def _load_legacy(path, f, file_size):
    """The pre-1.6 format: pickles of the magic number, the protocol, the system info and
    the object, a pickled list of storage keys, then per key an int64 element count and the
    raw elements."""
    def unpickle():
        return _load_object(_Unpickler(f, path))

    if unpickle() != _LEGACY_MAGIC:
        raise MinigenError(f"{path}: not a torch file (neither a zip archive nor the legacy magic number)")
    protocol, info = unpickle(), unpickle()
    if protocol != _LEGACY_PROTOCOL:
        raise MinigenError(f"{path}: unsupported legacy torch protocol {protocol!r}")
    little = not isinstance(info, dict) or info.get("little_endian", True)
    unpickler = _Unpickler(f, path)
    obj = _load_object(unpickler)
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
    stream (see ``_load_legacy``). The pickle is read by an allow-list
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
                        return _load_zip(path, archive)
                except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                    raise MinigenError(f"{path}: not a readable torch file (corrupt zip archive: {e})") from e
            f.seek(0)
            return _load_legacy(path, f, file_size)
    except OSError as e:
        raise MinigenError(f"{path}: cannot read: {e.strerror or e}") from e


def read(path):
    """(state, metadata) of a torch file: ``load_torch``'s arrays and {} (torch files carry none)."""
    return load_torch(path), {}
