"""VGG weight files: what ``load_vgg`` reads, and where the default weights come from.

Sources (``resolve``): a path, or the words ``random`` (the seeded random network) and ``bundled``
(the ImageNet VGG-19 inside the package, ``minigen/zoo/vgg19_uint8.safetensors``). With none
given, $MINIGEN_VGG decides, else the bundled network.

Files (``read_weights``): torchvision vgg16/vgg19 checkpoints (``features.<i>.weight``), the
AdaIN/WCT ``vgg_normalised*.pth`` files (Sequential indices after a 1x1 caffe input conv), Keras
VGG16/VGG19 TF.js layers models (a folder or its model.json; ``io.tfjs``), and minigen's own
.npz/.safetensors with "vgg" metadata, whose tensors may be stored quantised: metadata
"quantization" {name: {"dtype": "uint8"|"uint16", "scale": s, "min": m}} gives value = q s + m
(float64, then float32), as TF.js does.

``align_filters`` compares two files of one network that differ by a positive scale per filter
(the "normalised" VGG of Gatys et al. divides each filter, and multiplies the next layer's inputs,
by the filter's mean activation): with per-filter scales a^l_k fitted by least squares,

    W^l_ref[k, j] ~= a^l_k W^l[k, j] / a^(l-1)_j,   b^l_ref[k] ~= a^l_k b^l[k]   (a^0 = 1),

and the features of the rescaled file equal the reference's up to the weights' own differences.
"""
import os

import numpy as np

from .. import io, zoo
from ..errors import MinigenError
from ..io import tfjs
from .vgg import CAFFE_MEAN_BGR, CONVENTIONS, LAYERS, _width, input_transform

RANDOM, BUNDLED = "random", "bundled"
_bundled = None  # the bundled network's (depth, convention, last, params), read once per process


def resolve(path):
    """The weights a run asks for: 'random', 'bundled' or a path (``path``, else $MINIGEN_VGG, else 'bundled')."""
    return os.fspath(path) if path not in (None, "") else (os.environ.get("MINIGEN_VGG") or BUNDLED)


def read_source(source, depth=19):
    """(depth, convention, last, params) of a resolved source other than 'random' (the bundled one is
    read once per process; its arrays are shared, so callers copy before changing them)."""
    global _bundled
    if source != BUNDLED:
        return read_weights(source, depth)
    if _bundled is None:
        _bundled = read_weights(zoo.vgg_path())
    return _bundled


def _dequantized(path, state, quantization):
    """``state`` with its quantised tensors replaced by their float32 values (see the module docstring)."""
    if not quantization:
        return state
    if not isinstance(quantization, dict):
        raise MinigenError(f"{path}: bad 'quantization' metadata: not an object")
    out = dict(state)
    for name, q in quantization.items():
        a = state.get(name)
        if a is None:
            raise MinigenError(f"{path}: 'quantization' names {name!r}, which the file does not hold")
        if not (isinstance(q, dict) and q.get("dtype") in ("uint8", "uint16") and a.dtype == np.dtype(q["dtype"])
                and all(isinstance(q.get(k), (int, float)) and np.isfinite(q[k]) for k in ("scale", "min"))):
            raise MinigenError(f"{path}: bad quantization of {name!r}: {str(q):.80} for a {a.dtype} tensor")
        out[name] = tfjs.dequantize(a, q)
    return out


def _read_tfjs(path, depth):
    state = tfjs.vgg_state(path)
    errors = []
    for d in (depth, 35 - depth):  # the other of 16 and 19
        try:
            params, last = _fit(state, {n: n for n in LAYERS[d]}, d)
            return d, "caffe", last, params
        except _Mismatch as e:
            errors.append(f"as VGG-{d}: {e}")
    raise MinigenError(f"{tfjs.model_json(path)}: Keras VGG weights that fit neither VGG-16 nor VGG-19 "
                       f"({'; '.join(errors)})")


def align_filters(params, reference):
    """``params`` (conv name.weight/.bias -> array) rescaled filter by filter onto ``reference`` (the same
    convolutions of the same network; see the module docstring): (rescaled float64 params,
    {conv: scales a_k}, {conv: cosine similarity of each rescaled filter (weights and bias) with the reference's})."""
    out, scales, cosines, previous = {}, {}, {}, None
    convs = [k[:-len(".weight")] for k in params if k.endswith(".weight") and k in reference]
    for conv in sorted(convs, key=LAYERS[19].index):
        w = np.asarray(params[conv + ".weight"], np.float64)
        b = np.asarray(params[conv + ".bias"], np.float64)
        if previous is not None and len(previous) == w.shape[1]:
            w = w / previous[None, :, None, None]
        mine = np.concatenate([w.reshape(len(w), -1), b[:, None]], axis=1)
        ref = np.concatenate([np.asarray(reference[conv + ".weight"], np.float64).reshape(len(w), -1),
                              np.asarray(reference[conv + ".bias"], np.float64)[:, None]], axis=1)
        a = (mine * ref).sum(1) / np.maximum((mine * mine).sum(1), 1e-300)
        out[conv + ".weight"], out[conv + ".bias"] = w * a[:, None, None, None], b * a
        fitted = mine * a[:, None]
        cosines[conv] = (fitted * ref).sum(1) / np.maximum(np.linalg.norm(fitted, axis=1) * np.linalg.norm(ref, axis=1),
                                                           1e-300)
        scales[conv], previous = a, a
    return out, scales, cosines


class _Mismatch(Exception):
    """A weight file does not fit one VGG layout; the message names the first mismatch."""


def _torchvision_keys(depth):
    """torchvision's ``features`` Sequential: one module per layer, in LAYERS order."""
    return {name: f"features.{i}" for i, name in enumerate(LAYERS[depth]) if name.startswith("conv")}


def _normalised_keys():
    """The vgg_normalised Sequential (VGG-19): 0 the 1x1 input conv, then a reflection pad
    before every 3x3 conv, and one module per ReLU and pooling: conv1_1 = 2, conv1_2 = 5,
    conv2_1 = 9, conv2_2 = 12, conv3_1 = 16, ..."""
    keys, i = {}, 1
    for name in LAYERS[19]:
        if name.startswith("conv"):
            keys[name] = str(i + 1)
            i += 1
        i += 1
    return keys


def _fit(state, keys, depth, ignored=()):
    """Map a state dict onto VGG-``depth`` parameter names: (params, last), or _Mismatch.

    ``keys``: conv name -> the file's prefix. The file may stop early (a truncated
    network); ``last`` is then the deepest computable layer."""
    params, used, channels, last_conv = {}, set(ignored), 3, None
    convs = [n for n in LAYERS[depth] if n.startswith("conv")]
    for conv in convs:
        prefix = keys[conv]
        if prefix + ".weight" not in state and prefix + ".bias" not in state:
            break
        for suffix, shape in ((".weight", (_width(conv), channels, 3, 3)), (".bias", (_width(conv),))):
            key = prefix + suffix
            if key not in state:
                raise _Mismatch(f"key {key!r} ({conv}) is missing")
            if state[key].shape != shape:
                raise _Mismatch(f"{key!r} has shape {state[key].shape}, VGG-{depth} {conv} needs {shape}")
            params[conv + suffix] = state[key]
            used.add(key)
        channels, last_conv = _width(conv), conv
    if last_conv is None:
        raise _Mismatch(f"no {keys[convs[0]]}.weight ({convs[0]})")
    extra = [k for k in state if k not in used]
    if extra:
        raise _Mismatch(f"unexpected key {extra[0]!r} after {last_conv} ({keys[last_conv]})")
    if last_conv == convs[-1]:
        return params, None
    names = LAYERS[depth]
    last = names.index(last_conv) + 1  # its ReLU, and the pooling after it when the block ends there
    if names[last + 1].startswith("pool"):
        last += 1
    return params, names[last]


def read_weights(path, depth=19):
    """(depth, convention, last, params) from a weight file or TF.js model, or a MinigenError naming the mismatch."""
    if tfjs.is_tfjs(path):
        return _read_tfjs(path, depth)
    state, meta = io.load(path)
    if "vgg" in meta:
        state = _dequantized(path, state, meta.get("quantization"))
        config = meta["vgg"]
        if not (isinstance(config, dict) and config.get("depth") in LAYERS
                and config.get("convention") in CONVENTIONS):
            raise MinigenError(f"{path}: bad 'vgg' metadata {config!r:.120}; needs depth 16|19 and a convention")
        try:
            params, last = _fit(state, {n: n for n in LAYERS[config["depth"]]}, config["depth"])
        except _Mismatch as e:
            raise MinigenError(f"{path}: does not fit VGG-{config['depth']}: {e}") from None
        return config["depth"], config["convention"], last, params
    if any(k.startswith("features.") for k in state):
        ignored = [k for k in state if k.startswith("classifier.")]
        errors = []
        for d in (depth, 35 - depth):  # the other of 16 and 19
            try:
                params, last = _fit(state, _torchvision_keys(d), d, ignored)
                return d, "torchvision", last, params
            except _Mismatch as e:
                errors.append(f"as VGG-{d}: {e}")
        raise MinigenError(f"{path}: torchvision-style weights that fit neither VGG-16 nor VGG-19 "
                           f"({'; '.join(errors)})")
    if "0.weight" in state:
        weight, bias = input_transform("caffe")
        for key, want in (("0.weight", weight), ("0.bias", bias)):
            got = state.get(key)
            if got is None or got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-3):
                raise MinigenError(f"{path}: {key!r} is not the caffe input map of a vgg_normalised file "
                                   f"(255 * RGB->BGR, minus the mean {CAFFE_MEAN_BGR})")
        try:
            params, last = _fit(state, _normalised_keys(), 19, ignored=("0.weight", "0.bias"))
        except _Mismatch as e:
            raise MinigenError(f"{path}: vgg_normalised-style weights that do not fit VGG-19: {e}") from None
        return 19, "caffe", last, params
    raise MinigenError(f"{path}: not VGG weights: expected torchvision keys 'features.<i>.weight', "
                       f"vgg_normalised keys '0.weight', '2.weight', ... a minigen file with 'vgg' metadata or a "
                       f"TF.js model folder; "
                       f"found {', '.join(list(state)[:4])}{', ...' if len(state) > 4 else ''}")

