"""Which VGG layers a run reads, and what they ask of it: the names the weights provide, the smallest
image they take, and the memory an image costs through them.

Layer names are those of ``models.vgg.LAYERS`` (conv1_1, relu1_1, ..., pool5); VGG-19's include
VGG-16's. A layer after k pooling layers needs at least 2^k pixels per side.
"""
from ..errors import MinigenError
from ..models.vgg import LAYERS

VGG_CHANNELS = (64, 128, 256, 512, 512)  # filters of blocks 1..5
MEMORY_FACTOR = 3  # activations kept for backward, their gradients, and the conv workspace


def check_layers(info, layers, flag):
    """Refuse unknown names and names deeper than the weights reach, before any work is done.

    info: the VGG's facts (``load_vgg``'s info: "depth", and "last" and "weights" for truncated weights).
    """
    names = LAYERS[info["depth"]]
    for layer in layers:
        if layer not in names:
            raise MinigenError(f"{flag}: unknown VGG-{info['depth']} layer {layer!r}; valid: {', '.join(names)}")
        if info.get("last") and names.index(layer) > names.index(info["last"]):
            raise MinigenError(f"{flag}: layer {layer} is deeper than {info['last']}, the last layer the weights "
                               f"{info['weights']} provide")


def reach(info):
    """The deepest layer the weights described by ``info`` compute: their "last", else the network's last."""
    return info.get("last") or LAYERS[info["depth"]][-1]


def reachable(info, layers):
    """The names of ``layers`` the weights reach, in the given order."""
    names = LAYERS[info["depth"]]
    return [layer for layer in layers if layer in names and names.index(layer) <= names.index(reach(info))]


def fit_defaults(info, layers):
    """(layers, changed): default ``layers`` cut to those the weights reach, with the deepest ReLU they have
    added when it is not among them (weights that stop at relu3_1 turn content relu4_2 into relu3_1, style
    relu1_1..relu5_1 into relu1_1, relu2_1, relu3_1, and the texture set up to pool4 into relu1_1, pool1,
    pool2, relu3_1); changed tells whether anything was cut."""
    kept = reachable(info, layers)
    if len(kept) == len(layers):
        return list(layers), False
    names = LAYERS[info["depth"]]
    last_relu = [n for n in names[:names.index(reach(info)) + 1] if n.startswith("relu")][-1]
    return kept + ([last_relu] if last_relu not in kept else []), True


def deepest(layers):
    """The deepest of ``layers`` (names unknown to VGG-19 are left out; None when none is known)."""
    known = [layer for layer in layers if layer in LAYERS[19]]
    return max(known, key=LAYERS[19].index) if known else None


def min_side(layers):
    """The smallest side an image needs to reach every one of ``layers``: 2^(pooling layers on the way)."""
    last = deepest(layers)
    if last is None:
        return 1
    return 2 ** sum(name.startswith("pool") for name in LAYERS[19][:LAYERS[19].index(last) + 1])


def vgg_memory(depth, layers, height, width, itemsize=4):
    """Estimated bytes to optimise an H x W image through VGG up to the deepest of ``layers``:
    every conv / ReLU / pool output down to it, times MEMORY_FACTOR (the activation kept for
    backward, its gradient, and the convolution's workspace)."""
    names = LAYERS[depth]
    last = max(names.index(layer) for layer in layers)
    h, w, total = height, width, 0
    for name in names[:last + 1]:
        c = VGG_CHANNELS[int(name.split("_")[0][-1]) - 1]  # conv3_1, relu3_1, pool3 -> block 3
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        total += c * h * w
    return MEMORY_FACTOR * total * itemsize
