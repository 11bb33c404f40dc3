"""The data of feed-forward training: content batches (random crops of a folder's images, or
procedural scenes), style images (files or 'procedural[:KIND[:SEED]]' textures), AdaIN's style
batches; and of inference: the input images and the style mixes of ``--styles``."""
import os

import numpy as np

from ... import backend
from ...data.files import find_images, list_images
from ...data.images import load_image
from ...data.procedural import TEXTURES, scenes, texture
from ...errors import MinigenError
from ...tensor import Tensor
from ..optimize import fit_size, resize


def image_files(paths, what="input"):
    """Image files from files and folders (a folder's image files, sorted by name)."""
    return find_images(paths, what)


def style_files(specs):
    """The styles of a run: each spec a file, 'procedural...' or a folder (all its image files, by name)."""
    return [s for spec in specs or () for s in (list_images(spec) if os.path.isdir(spec) else [spec])]


def resize_short(img, short):
    """An HWC image resized so that its shorter side is ``short``."""
    h, w = img.shape[:2]
    return resize(img, (max(short, round(h * short / min(h, w))), max(short, round(w * short / min(h, w)))))


def load_input(path, size=None):
    """An HWC image from a file, resized so that its longer side is ``size`` when given."""
    img = load_image(path)
    return resize(img, fit_size(img.shape, size)) if size else img


def random_crop(img, crop, rng):
    """A (3, crop, crop) crop of an HWC image, enlarged first if a side is shorter than ``crop``."""
    if min(img.shape[:2]) < crop:
        img = resize_short(img, crop)
    y = int(rng.integers(img.shape[0] - crop + 1))
    x = int(rng.integers(img.shape[1] - crop + 1))
    return img[y:y + crop, x:x + crop].transpose(2, 0, 1)


class ContentSource:
    """Batches of content images: random crops of the files of a folder, or procedural scenes."""

    def __init__(self, spec, crop):
        self.crop = crop
        self.files = None if spec == "procedural" else image_files([spec], "content")

    def batch(self, n, rng):
        if self.files is None:
            return scenes(n, self.crop, seed=int(rng.integers(1 << 31)))
        picks = rng.integers(len(self.files), size=n)
        return np.stack([random_crop(load_image(self.files[i]), self.crop, rng) for i in picks])


def procedural_style(spec):
    """(KIND, SEED) of a 'procedural[:KIND[:SEED]]' style spec (KIND defaults to stripes, SEED to 0)."""
    parts = spec.split(":")
    kind = parts[1] if len(parts) > 1 else "stripes"
    if kind not in TEXTURES or len(parts) > 3:
        raise MinigenError(f"--style {spec}: use procedural:KIND[:SEED] with KIND one of {', '.join(TEXTURES)}")
    try:
        return kind, int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        raise MinigenError(f"--style {spec}: the seed must be an integer") from None


def check_styles(specs):
    """One-line errors, before anything is loaded, for a malformed procedural spec or a missing style file."""
    files = [s for s in specs if not s.startswith("procedural")]
    for spec in specs:
        if spec.startswith("procedural"):
            procedural_style(spec)
    if files:
        image_files(files, "style")


def parse_style(spec, size):
    """A style image (H, W, 3) in [0, 1] from a file or 'procedural[:KIND[:SEED]]', shorter side ``size``."""
    if spec.startswith("procedural"):
        kind, seed = procedural_style(spec)
        return texture(kind, size, seed).transpose(1, 2, 0)
    return resize_short(load_image(spec), size)


def style_batch(specs, images, n, crop, rng):
    """AdaIN's styles of one step: random crops of the style images, or fresh procedural textures."""
    out = []
    for i in rng.integers(len(specs), size=n):
        if specs[i] == "procedural":  # a new random texture every time: many styles from nothing
            kind = TEXTURES[int(rng.integers(len(TEXTURES)))]
            out.append(texture(kind, crop, seed=int(rng.integers(1 << 31))))
        else:
            out.append(random_crop(images[i], crop, rng))
    return np.stack(out)


def to_tensor(a, device):
    """A float32 Tensor of the array ``a`` on ``device``."""
    return Tensor(backend.to_device(np.ascontiguousarray(a, dtype=np.float32), device))


def _is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def parse_mix(spec, n_styles=None):
    """'0:0.5,2:0.5' (multistyle: style indices) or 'a.jpg:0.3,b.jpg' (AdaIN: style images) ->
    (keys, weights) with the weights normalised to sum 1; a missing weight is 1."""
    keys, weights = [], []
    for item in spec.split(","):
        key, sep, weight = item.rpartition(":")
        if not sep or (n_styles is None and not _is_number(weight)):
            key, weight = item, "1"
        try:
            weights.append(float(weight))
        except ValueError:
            raise MinigenError(f"--styles {spec}: {weight!r} is not a number (use KEY:WEIGHT,...)") from None
        if n_styles is not None:
            try:
                key = int(key)
            except ValueError:
                raise MinigenError(f"--styles {spec}: {key!r} is not a style index (use INDEX:WEIGHT,...)") from None
            if not 0 <= key < n_styles:
                raise MinigenError(f"--styles {spec}: style index {key} is out of range; this model has "
                                   f"{n_styles} styles (0..{n_styles - 1})")
        keys.append(key)
    weights = np.asarray(weights, np.float64)
    if (weights < 0).any() or weights.sum() <= 0 or not np.isfinite(weights).all():
        raise MinigenError(f"--styles {spec}: weights must be non-negative with a positive sum (a convex combination)")
    return keys, weights / weights.sum()


def mix_vector(keys, weights, n):
    """The multistyle weights (n,) of parsed --styles."""
    v = np.zeros(n)
    for k, w in zip(keys, weights):
        v[k] += w
    return v
