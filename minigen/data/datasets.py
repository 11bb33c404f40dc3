"""Image folders and super-resolution training pairs.

SR data follows the SRCNN / VDSR preparation: the luma Y of the 8-bit image
(MATLAB's ``rgb2ycbcr`` on uint8 rounds Y to 8 bits, so ``load_y`` does too),
cropped to a multiple of the scale ("mod-crop"); the low-resolution image is
``imresize(hr, 1/scale)`` (bicubic, antialiased) and the network input is
that image brought back to the HR size by bicubic interpolation. Training
patches are taken on a regular grid (SRCNN: 33x33 with stride 14 from T91).
"""
import numpy as np

from ..errors import MinigenError
from .files import list_images
from .images import load_image, mod_crop, to_y
from .imresize import imresize


def quantize(img):
    """Round a [0, 1] image to 8 bits (as saving it as a PNG would), keeping a float array."""
    return np.rint(np.clip(img, 0, 1) * 255) / 255


def load_y(path):
    """The 8-bit luma of an image file as float32 in [0, 1]: BT.601 Y of RGB, or a grey image as it is."""
    img = load_image(path, mode=None)
    if img.ndim == 3:
        img = img[..., :3] if img.shape[-1] >= 3 else img[..., 0]  # drop alpha
    return (quantize(to_y(img) / 255) if img.ndim == 3 else img).astype(np.float32)


def load_rgb(path):
    return load_image(path, mode="RGB")


def bicubic_pair(hr, scale):
    """(lr, upsampled): ``imresize(hr, 1/scale)`` and that brought back to hr's size by bicubic
    interpolation; ``hr`` already mod-cropped (HW or HWC float)."""
    lr = imresize(hr, 1 / scale)
    return lr, imresize(lr, output_shape=hr.shape[:2])


def grid_positions(height, width, size, stride):
    """Top-left corners (y, x) of the size x size windows on a grid of ``stride`` inside height x width
    (MATLAB's ``for x = 1:stride:hei-size+1``)."""
    ys = np.arange(0, height - size + 1, stride)
    xs = np.arange(0, width - size + 1, stride)
    return [(int(y), int(x)) for y in ys for x in xs]


class SRPatches:
    """Training pairs for SR networks, drawn as patches from whole images.

    ``mode='y'``: input = bicubic-upsampled Y, target = HR Y, both
    (N, 1, size, size) (SRCNN, VDSR; several ``scales`` mix in one set, the
    VDSR multi-scale training). ``mode='rgb'``: input = the LR RGB patch
    (N, 3, size/s, size/s), target = the HR RGB patch (N, 3, size, size), for
    networks that upsample themselves (one scale; the grid's stride and size
    are rounded to multiples of it so both patches align).

    Whole images are prepared once (one LR and one input image per scale);
    ``batch(rng, n)`` copies n patches chosen by ``rng``, so memory stays
    that of the images. Images smaller than one patch are skipped.

    ``augment``: each drawn pair is also turned by one of the 8 rotations by
    multiples of 90 degrees and mirror images, chosen by ``rng`` (the
    augmentation of VDSR's training set). Bicubic degradation commutes with
    them on mod-cropped images, so a turned pair is a valid pair.
    """

    def __init__(self, images, scales=(3,), size=33, stride=14, mode="y", augment=False):
        if mode not in ("y", "rgb"):
            raise ValueError(f"SRPatches: mode must be 'y' or 'rgb', not {mode!r}")
        if mode == "rgb" and len(scales) != 1:
            raise ValueError("SRPatches: mode 'rgb' takes one scale")
        self.mode, self.size, self.scales, self.augment = mode, int(size), tuple(int(s) for s in scales), augment
        if mode == "rgb":
            self.size -= self.size % self.scales[0]
        self.inputs, self.targets, self.index = [], [], []  # index: (pair, y, x) per patch
        for img in images:
            for s in self.scales:
                hr = mod_crop(img, s)
                if min(hr.shape[:2]) < self.size:
                    continue
                lr, up = bicubic_pair(hr, s)
                if mode == "y":
                    inp, grid = up, grid_positions(*hr.shape[:2], self.size, stride)
                else:
                    inp = lr
                    step, cell = -(-stride // s), self.size // s  # in LR pixels
                    grid = [(y * s, x * s) for y, x in grid_positions(*lr.shape[:2], cell, step)]
                k = len(self.inputs)
                self.inputs.append(np.ascontiguousarray(inp, np.float32))
                self.targets.append(np.ascontiguousarray(hr, np.float32))
                self.index.extend((k, y, x) for y, x in grid)
        if not self.index:
            raise MinigenError(f"no training patches: every image is smaller than the {self.size}x{self.size} patch")

    def __len__(self):
        return len(self.index)

    def _crop(self, a, y, x, size):
        c = a[y:y + size, x:x + size]
        return c[None] if c.ndim == 2 else c.transpose(2, 0, 1)

    def batch(self, rng, n):
        """(inputs, targets) float32 NCHW arrays of ``n`` patches drawn uniformly by ``rng``."""
        picks = rng.integers(len(self.index), size=n)
        turns = rng.integers(8, size=n) if self.augment else np.zeros(n, int)
        xs, ys = [], []
        for i, t in zip(picks, turns):
            k, y, x = self.index[i]
            if self.mode == "y":
                xs.append(turn(self._crop(self.inputs[k], y, x, self.size), t))
            else:
                s = self.targets[k].shape[0] // self.inputs[k].shape[0]
                xs.append(turn(self._crop(self.inputs[k], y // s, x // s, self.size // s), t))
            ys.append(turn(self._crop(self.targets[k], y, x, self.size), t))
        return np.stack(xs), np.stack(ys)


def turn(a, t):
    """The t-th (0..7) of the 8 symmetries of the square applied to the last two axes of a:
    rotation by t * 90 degrees, then a left-right mirror for t >= 4; t = 0 is the identity."""
    a = np.rot90(a, t % 4, axes=(-2, -1))
    return a[..., ::-1] if t >= 4 else a


def load_folder(folder, mode="y", max_images=None):
    """The images of a folder as float32 arrays: Y (HW) with mode 'y', RGB (HWC) with 'rgb'."""
    paths = list_images(folder)[:max_images]
    return [load_y(p) if mode == "y" else load_rgb(p) for p in paths]
