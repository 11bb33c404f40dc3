"""TensorFlow.js layers models (``model.json`` plus binary weight shards), read without TensorFlow.

The format (tfjs-converter, "layers-model"):

    model.json = {"format": "layers-model",
                  "modelTopology": {the Keras model config},
                  "weightsManifest": [{"paths": [shard file, ...],
                                       "weights": [{"name", "shape", "dtype", "quantization"?}, ...]},
                                      ...]}

The shard files of a group, read in order, are one little-endian byte stream holding the group's
weights back to back, in manifest order. A weight of n elements takes n * itemsize bytes, the
itemsize of its quantisation dtype if it has one, else of its dtype (float32, int32: 4; bool: 1).
The converter cuts the stream into shards of one size (the last may be shorter). Quantisation is
affine and per tensor, with the manifest's ``scale`` and ``min``:

    uint8, uint16:   value = q * scale + min   (in float64, then rounded to float32, as tfjs does)
    float16:         value = float32(q)

Keras names a layer's weights "<layer>/kernel" and "<layer>/bias" (sometimes behind a model-name
prefix); a Conv2D kernel is (kH, kW, C_in, C_out), HWIO, and becomes minigen's (C_out, C_in, kH, kW),
OIHW, by the transpose (3, 2, 0, 1). Keras' VGG16/VGG19 name their convolutions block<b>_conv<i>,
VGG's conv<b>_<i>; they expect Caffe's input (BGR, 0-255, minus the mean), minigen's "caffe" convention.

Only the shards a requested tensor lies in are opened; an absent one is named when a tensor needs it.
Convert a Keras VGG to the compact file minigen bundles (uint8 kept, dequantised at load):

    python -m minigen.io.tfjs MODEL_DIR_OR_JSON OUT.safetensors
"""
import json
import math
import os
import re
import sys

import numpy as np

from ..errors import MinigenError

DTYPES = {"float32": "<f4", "int32": "<i4", "bool": "?"}
QUANTIZED = {"uint8": "u1", "uint16": "<u2", "float16": "<f2"}
_VGG_NAME = re.compile(r"(?:.*/)?block(\d)_conv(\d)/(kernel|bias)")


class Entry:
    """One manifest weight: name, shape, dtype, quantization (dict or None), group, offset, nbytes."""

    def __init__(self, name, shape, dtype, quantization, group, offset):
        self.name, self.shape, self.dtype, self.quantization = name, shape, dtype, quantization
        self.group, self.offset = group, offset
        stored = QUANTIZED[quantization["dtype"]] if quantization else DTYPES[dtype]
        self.stored = np.dtype(stored)
        self.nbytes = math.prod(shape) * self.stored.itemsize


def model_json(path):
    """The model.json of ``path`` (the file itself, or a folder holding it)."""
    path = os.fspath(path)
    return os.path.join(path, "model.json") if os.path.isdir(path) else path


def is_tfjs(path):
    """Whether ``path`` names a TF.js model: a folder (which must hold a model.json), or a .json file."""
    path = os.fspath(path)
    return os.path.isdir(path) or path.endswith(".json")


def read_manifest(path):
    """(model.json path, [Entry], [[shard path, ...] per group]) of a layers model, with one-line
    MinigenErrors for a missing file, bad JSON, a graph model or a malformed manifest."""
    path = model_json(path)
    if not os.path.isfile(path):
        raise MinigenError(f"{path}: no such file (a TF.js model is a folder with model.json and its shards)")

    def bad(reason):
        return MinigenError(f"{path}: not a TF.js layers model: {reason}")
    try:
        with open(path, "rb") as f:
            model = json.loads(f.read().decode("utf-8"))
    except (ValueError, RecursionError) as e:
        raise bad(f"not valid JSON ({e})") from None
    except OSError as e:
        raise MinigenError(f"{path}: cannot read: {e.strerror or e}") from None
    if not isinstance(model, dict):
        raise bad("the file is not a JSON object")
    if model.get("format", "layers-model") != "layers-model":
        raise bad(f"format {model.get('format')!r} (only layers models hold named Keras weights)")
    groups = model.get("weightsManifest")
    if not isinstance(groups, list) or not groups:
        raise bad("no weightsManifest list")
    entries, shards, names = [], [], set()
    folder = os.path.dirname(os.path.abspath(path))
    for g, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("paths"), list) \
                or not isinstance(group.get("weights"), list):
            raise bad(f"weightsManifest[{g}] needs 'paths' and 'weights' lists")
        if not all(isinstance(p, str) and p and os.path.basename(p) == p for p in group["paths"]):
            raise bad(f"weightsManifest[{g}].paths must be plain file names")
        shards.append([os.path.join(folder, p) for p in group["paths"]])
        offset = 0
        for w in group["weights"]:
            entry = _entry(w, g, offset, bad)
            if entry.name in names:
                raise bad(f"weight {entry.name!r} appears twice")
            names.add(entry.name)
            entries.append(entry)
            offset += entry.nbytes
    return path, entries, shards


def _entry(w, group, offset, bad):
    if not isinstance(w, dict) or not isinstance(w.get("name"), str):
        raise bad(f"a weight of group {group} has no name: {str(w):.80}")
    name, shape, dtype, q = w["name"], w.get("shape"), w.get("dtype"), w.get("quantization")
    if not (isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                            for s in shape)):
        raise bad(f"weight {name!r} has a bad shape {shape!r}")
    if dtype not in DTYPES:
        raise bad(f"weight {name!r} has dtype {dtype!r}; minigen reads {', '.join(DTYPES)}")
    if q is not None:
        if not isinstance(q, dict) or q.get("dtype") not in QUANTIZED:
            raise bad(f"weight {name!r}: quantization dtype must be one of {', '.join(QUANTIZED)}, "
                      f"not {str(q.get('dtype') if isinstance(q, dict) else q)!r}")
        if dtype != "float32":
            raise bad(f"weight {name!r}: only float32 weights can be quantised, not {dtype}")
        if q["dtype"] != "float16" and not all(isinstance(q.get(k), (int, float)) and not isinstance(q.get(k), bool)
                                               and math.isfinite(q[k]) for k in ("scale", "min")):
            raise bad(f"weight {name!r}: {q['dtype']} quantization needs finite numbers 'scale' and 'min'")
    return Entry(name, tuple(shape), dtype, q, group, offset)


def dequantize(q, quantization):
    """The float32 values of stored integers ``q``: q * scale + min (uint8/uint16), or float16 widened."""
    if quantization["dtype"] == "float16":
        return np.asarray(q, np.float16).astype(np.float32)
    return (np.asarray(q, np.float64) * float(quantization["scale"]) + float(quantization["min"])).astype(np.float32)


def _shard_starts(paths):
    """Start offsets of the shards in the group's stream, and their sizes (None: absent). An absent shard
    is taken to have the size of the others (the converter writes equal shards; the last may be shorter)."""
    sizes = [os.path.getsize(p) if os.path.isfile(p) else None for p in paths]
    known = [s for s in sizes[:-1] if s is not None]
    common = max(known) if known else None
    starts, at = [], 0
    for i, s in enumerate(sizes):
        starts.append(at)
        at += s if s is not None else (common if common is not None and i < len(sizes) - 1 else math.inf)
    return starts + [at], sizes


def _read_bytes(json_path, entry, paths, layout):
    starts, sizes = layout
    begin, end = entry.offset, entry.offset + entry.nbytes
    if end > starts[-1]:
        raise MinigenError(f"{json_path}: weight {entry.name!r} needs bytes {begin}-{end} of its group, but the "
                           f"shards hold {starts[-1]} (a shard is truncated)")
    parts = [i for i in range(len(paths)) if starts[i] < end and starts[i + 1] > begin] if end > begin else []
    missing = [os.path.basename(paths[i]) for i in parts if sizes[i] is None]
    if missing:
        span = missing[0] if len(missing) == 1 else f"{missing[0]} .. {missing[-1]}"
        raise MinigenError(f"{json_path}: weight {entry.name!r} lies in shard {span}, which is absent "
                           f"({sum(s is not None for s in sizes)} of the group's {len(paths)} shards are there)")
    out = bytearray()
    for i in parts:
        with open(paths[i], "rb") as f:
            f.seek(max(begin - starts[i], 0))
            out += f.read(min(end, starts[i + 1]) - max(begin, starts[i]))
    if len(out) != entry.nbytes:
        raise MinigenError(f"{json_path}: weight {entry.name!r} is cut short (a shard is truncated)")
    return bytes(out)


def read_tensors(path, names=None, dequantized=True):
    """{name: array} of the TF.js model at ``path`` (folder or model.json), in manifest order.

    names: the weights to read (None: all); only their shards are opened. dequantized: float32
    values (see the module docstring); False gives the stored arrays and their quantization:
    {name: (array of the stored dtype, quantization dict or None)}.
    """
    json_path, entries, shards = read_manifest(path)
    if names is not None:
        unknown = sorted(set(names) - {e.name for e in entries})
        if unknown:
            raise MinigenError(f"{json_path}: no weight named {unknown[0]!r}")
        entries = [e for e in entries if e.name in set(names)]
    layouts, out = {}, {}
    for e in entries:
        if e.group not in layouts:
            layouts[e.group] = _shard_starts(shards[e.group])
        raw = np.frombuffer(_read_bytes(json_path, e, shards[e.group], layouts[e.group]), e.stored).reshape(e.shape)
        raw = raw.astype(raw.dtype.newbyteorder("="))  # a native-order copy
        if dequantized:
            out[e.name] = dequantize(raw, e.quantization) if e.quantization else raw
        else:
            out[e.name] = (raw, e.quantization)
    return out


def vgg_names(path):
    """{manifest name: minigen name} of a Keras VGG's convolutions: block<b>_conv<i>/kernel -> conv<b>_<i>.weight."""
    json_path, entries, _ = read_manifest(path)
    found = {}
    for e in entries:
        m = _VGG_NAME.fullmatch(e.name)
        if m:
            kind = "weight" if m[3] == "kernel" else "bias"
            if kind == "weight" and len(e.shape) != 4:
                raise MinigenError(f"{json_path}: {e.name!r} has shape {list(e.shape)}, not a (kH, kW, C_in, C_out) "
                                   "convolution kernel")
            found[e.name] = f"conv{m[1]}_{m[2]}.{kind}"
    if not found:
        raise MinigenError(f"{json_path}: not a Keras VGG: no block<b>_conv<i>/kernel weights "
                           f"(found {', '.join(e.name for e in entries[:3])}{', ...' if len(entries) > 3 else ''})")
    return found


def _oihw(name, a):
    return np.ascontiguousarray(a.transpose(3, 2, 0, 1)) if name.endswith(".weight") else a


def vgg_state(path):
    """{conv<b>_<i>.weight: (C_out, C_in, 3, 3) float32, conv<b>_<i>.bias} of a Keras VGG TF.js model
    (its classifier is not read, so its shards may be absent)."""
    names = vgg_names(path)
    return {names[k]: _oihw(names[k], v) for k, v in read_tensors(path, list(names)).items()}


def vgg_quantized(path):
    """(arrays, quantization): the stored (uint8/uint16/float16) OIHW convolution tensors of a Keras VGG
    TF.js model under minigen names, and {name: quantization dict} of those quantised."""
    names = vgg_names(path)
    arrays, quant = {}, {}
    for k, (a, q) in read_tensors(path, list(names), dequantized=False).items():
        arrays[names[k]] = _oihw(names[k], a)
        if q:
            quant[names[k]] = dict(q)
    return arrays, quant


def convert_vgg(src, out, source=None):
    """Write the convolutions of the Keras VGG at ``src`` as a minigen VGG file ``out`` (.safetensors/.npz)
    that keeps the stored integers: metadata "vgg" (depth from the layer names, convention caffe) and
    "quantization" {name: {dtype, scale, min}}, which the VGG loader applies. Returns the metadata."""
    from . import save
    arrays, quant = vgg_quantized(src)
    # VGG-16's block 3 ends at conv3_3, VGG-19's at conv3_4; a network cut before block 4 reads as VGG-19.
    depth = 16 if "conv4_1.weight" in arrays and "conv3_4.weight" not in arrays else 19
    meta = {"vgg": {"depth": depth, "convention": "caffe"}, "quantization": quant,
            "source": source or os.path.basename(os.path.dirname(os.path.abspath(model_json(src))))}
    save(out, arrays, metadata=meta)
    return meta


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m minigen.io.tfjs MODEL_DIR_OR_JSON OUT.safetensors", file=sys.stderr)
        return 2
    try:
        meta = convert_vgg(*argv)
    except MinigenError as e:
        print(f"minigen: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {argv[1]} (VGG-{meta['vgg']['depth']}, {len(meta['quantization'])} quantised tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
