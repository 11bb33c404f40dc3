"""Image files <-> float32 arrays in [0, 1], and BT.601 YCbCr.

Arrays are channels-last as files store them: (H, W, C), or (H, W) for one
channel. ``to_tensor`` / ``from_tensor`` convert to and from the (1, C, H, W)
layout the networks use. Files are read and written with Pillow; every
failure to read or write one is a ``MinigenError`` naming the file.
"""
import contextlib
import os
import re
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from .. import backend
from ..errors import MinigenError
from ..io import atomic_write
from ..tensor import Tensor

DEFAULT_MAX_PIXELS = 8192 * 8192  # 67.1 megapixels (64 Mi): 768 MiB as float32 RGB

_HIGH_DEPTH_GREY = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1}
_SAVE_OPTIONS = {"JPEG": {"quality": 95}}  # Pillow's default (75) visibly blurs results


# ---- reading ------------------------------------------------------------------

def _memory(nbytes):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if nbytes < 1024:
            break
        nbytes /= 1024
    return f"{nbytes:,.0f} bytes" if unit == "bytes" else f"{nbytes:,.1f} {unit}"


def _too_large(path, size, pixels, channels, max_pixels):
    return (f"{path}: image is {size} ({pixels / 1e6:.1f} megapixels), which needs {_memory(pixels * channels * 4)} "
            f"as float32 with {channels} channel(s); the limit is max_pixels={max_pixels} "
            f"({max_pixels / 1e6:.1f} megapixels)")


@contextlib.contextmanager
def _decoded(path, max_pixels, channels):
    """The fully decoded Pillow image, its size checked from the header before decoding."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MinigenError(f"{path}: no such file")
    if os.path.isdir(path):
        raise MinigenError(f"{path}: is a directory, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels decides
            im = Image.open(path)
    except Image.DecompressionBombError as e:
        # Pillow refuses more than twice its MAX_IMAGE_PIXELS from the header alone.
        found = re.search(r"(\d+) pixels", str(e))
        pixels = int(found.group(1)) if found else 2 * Image.MAX_IMAGE_PIXELS + 1
        raise MinigenError(_too_large(path, "over Pillow's safety limit", pixels, channels or 3, max_pixels)) from e
    except UnidentifiedImageError as e:
        raise MinigenError(f"{path}: not an image file (or a format Pillow cannot read)") from e
    except OSError as e:  # unreadable, or a header cut short
        raise MinigenError(f"{path}: cannot read as an image ({e.strerror or e})") from e
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise MinigenError(_too_large(path, f"{w}x{h}", w * h, channels or len(im.getbands()), max_pixels))
        try:
            im.load()  # decode everything now: Pillow otherwise decodes lazily and may hit the cut later
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise MinigenError(f"{path}: truncated or corrupt image ({e})") from e
        yield im


def _own_mode(im):
    """The 8-bit mode that keeps the image's channels: L or RGB, with A if it has alpha."""
    bands = im.getbands()
    alpha = bands[-1] in ("A", "a")  # not LAB's ("L", "A", "B")
    grey = bands[0] in ("L", "1") and len(bands) == 1 + alpha
    return ("L" if grey else "RGB") + ("A" if alpha else "")


def load_image(path, mode="RGB", max_pixels=DEFAULT_MAX_PIXELS):
    """Read an image file as a float32 array in [0, 1].

    mode='RGB': (H, W, 3); 'L': (H, W); None: the file's own channels,
    (H, W) grey, (H, W, 2) grey + alpha, (H, W, 3) colour, (H, W, 4) colour +
    alpha. For 'RGB' and 'L' an alpha channel is dropped, not composited.
    Palette images are expanded, CMYK converted by Pillow, colour turned to
    grey by Pillow's ITU-R 601 luma L = 0.299 R + 0.587 G + 0.114 B.

    8-bit values are divided by 255; 16-bit grey (Pillow modes I;16 and I) by
    65535, keeping the 16-bit precision (also when expanded to RGB); float
    grey (F) is taken as is; then clipped to [0, 1]. Pillow reads 16-bit
    colour PNGs at 8 bits. Images over ``max_pixels`` are refused
    from the header, before anything is decoded.
    """
    if mode not in ("RGB", "L", None):
        raise ValueError(f"load_image: mode must be 'RGB', 'L' or None, not {mode!r}")
    with _decoded(path, max_pixels, {"RGB": 3, "L": 1}.get(mode)) as im:
        if im.mode in _HIGH_DEPTH_GREY:
            a = np.asarray(im).astype(np.float32) / np.float32(_HIGH_DEPTH_GREY[im.mode])
            a = np.clip(a, 0, 1, out=a)  # 32-bit 'I' and 'F' data may leave the range
            return np.repeat(a[..., None], 3, axis=-1) if mode == "RGB" else a
        if im.mode in ("P", "PA"):
            im = im.convert("RGBA")  # palette transparency becomes alpha (dropped below if asked)
        target = mode or _own_mode(im)
        if im.mode != target:
            try:
                im = im.convert(target)
            except ValueError as e:
                raise MinigenError(f"{path}: cannot convert image mode {im.mode} to {target} ({e})") from e
        return np.asarray(im).astype(np.float32) / np.float32(255)


def load_tensor(path, mode="RGB", max_pixels=DEFAULT_MAX_PIXELS, device="cpu"):
    """``to_tensor(load_image(path, mode, max_pixels), device)``: a (1, C, H, W) float32 Tensor."""
    return to_tensor(load_image(path, mode, max_pixels), device)


# ---- writing -------------------------------------------------------------------

def _channels_last(a, name):
    """HW, HWC or CHW -> HW or HWC. A 3-D array whose last axis has 1, 3 or 4
    entries is taken as HWC; otherwise one whose first axis does, as CHW."""
    if a.ndim == 3:
        if a.shape[-1] in (1, 3, 4):
            return a[..., 0] if a.shape[-1] == 1 else a
        if a.shape[0] in (1, 3, 4):
            return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    elif a.ndim == 2:
        return a
    raise ValueError(f"{name}: expected an HW, HWC or CHW image with 1, 3 or 4 channels, got shape {a.shape}")


def save_image(path, array, bits=8):
    """Write a float image in [0, 1] (HW, HWC or CHW; NumPy, CuPy or Tensor) to
    ``path``, the format chosen by the extension (.png, .jpg, .bmp, .tif, ...).

    Values are clipped to [0, 1] and rounded to 8 bits, or with ``bits=16`` to
    16 bits (grey only: Pillow writes no 16-bit colour; PNG or TIFF). The write
    is atomic: a temporary file beside ``path``, then a rename.
    """
    a = _channels_last(backend.to_host(array), "save_image")
    if a.dtype.kind != "f":
        raise TypeError(f"save_image: expected a float array in [0, 1], not {a.dtype}")
    if np.isnan(a).any():
        raise ValueError(f"save_image: the image for {path} contains NaN")
    if bits not in (8, 16):
        raise ValueError(f"save_image: bits must be 8 or 16, not {bits!r}")
    if bits == 16 and a.ndim == 3:
        raise ValueError(f"save_image: 16-bit output is for grey images only, got {a.shape[-1]} channels")
    ext = os.path.splitext(os.fspath(path))[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise MinigenError(f"{path}: unknown image format {ext or '(no extension)'!r}; use .png, .jpg, .bmp, .tif, ...")
    top = 255 if bits == 8 else 65535
    im = Image.fromarray(np.rint(np.clip(a, 0, 1) * top).astype(np.uint8 if bits == 8 else np.uint16))
    with atomic_write(path) as f:
        try:
            im.save(f, format=fmt, **_SAVE_OPTIONS.get(fmt, {}))
        except (OSError, ValueError, KeyError) as e:  # e.g. RGBA as JPEG, 16-bit as BMP, a read-only format
            raise MinigenError(f"{path}: cannot write a {im.mode} image as {fmt} ({e})") from e


# ---- tensors ----------------------------------------------------------------------

def to_tensor(img, device="cpu"):
    """HWC (or HW) image -> (1, C, H, W) float32 Tensor on ``device``."""
    xp = backend.array_module(img)
    a = xp.asarray(img, dtype=xp.float32)
    if a.ndim not in (2, 3):
        raise ValueError(f"to_tensor: expected an HW or HWC image, got shape {a.shape}")
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return Tensor(backend.to_device(xp.ascontiguousarray(a[None]), device))


def from_tensor(t, index=0):
    """(N, C, H, W) or (C, H, W) Tensor/array -> NumPy HWC image (HW for one
    channel) of image ``index`` of the batch, in the tensor's dtype."""
    a = backend.to_host(t)
    if a.ndim == 4:
        a = a[index]
    if a.ndim != 3:
        raise ValueError(f"from_tensor: expected (N, C, H, W) or (C, H, W), got shape {a.shape}")
    a = a.transpose(1, 2, 0)
    return np.ascontiguousarray(a[..., 0] if a.shape[-1] == 1 else a)


# ---- colour -------------------------------------------------------------------------

# BT.601 "studio swing" YCbCr as MATLAB's rgb2ycbcr and the SR papers use it:
# rows give Y, Cb, Cr on the 0-255 scale from R, G, B in [0, 1], plus the offset.
_YCBCR = np.array([[65.481, 128.553, 24.966],
                   [-37.797, -74.203, 112.0],
                   [112.0, -93.786, -18.214]])
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0])
_YCBCR_INV = np.linalg.inv(_YCBCR)


def _affine_colour(name, x, axis, matrix, offset):
    """out = matrix @ x + offset along ``axis``, in x's dtype and array module."""
    xp = backend.array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float array in [0, 1], not {x.dtype}")
    if not -x.ndim <= axis < x.ndim or x.shape[axis] != 3:
        raise ValueError(f"{name}: expected 3 channels on axis {axis}, got shape {x.shape}")
    m, b = xp.asarray(matrix, dtype=x.dtype), xp.asarray(offset, dtype=x.dtype)
    return xp.moveaxis(xp.moveaxis(x, axis, -1) @ m.T + b, -1, axis)


def rgb_to_ycbcr(x, axis=-1):
    """RGB in [0, 1] -> BT.601 YCbCr (MATLAB rgb2ycbcr), on the same [0, 1] scale.

        Y  = (16  + 65.481 R + 128.553 G +  24.966 B) / 255
        Cb = (128 - 37.797 R -  74.203 G + 112.0   B) / 255
        Cr = (128 + 112.0  R -  93.786 G -  18.214 B) / 255

    That is MATLAB's result for floating-point images: the 0-255 values divided
    by 255 (Y in [16/255, 235/255]; white -> 235/255, black -> 16/255). SR
    papers compute PSNR on Y in 0-255: use ``255 * rgb_to_ycbcr(x)[..., 0]``.
    ``axis`` is the channel axis: -1 for HWC / NHWC, 1 (or -3) for NCHW / CHW.
    NumPy or CuPy arrays; the dtype is kept.
    """
    return _affine_colour("rgb_to_ycbcr", x, axis, _YCBCR / 255, _YCBCR_OFFSET / 255)


def ycbcr_to_rgb(x, axis=-1):
    """The exact inverse of ``rgb_to_ycbcr`` (YCbCr on the [0, 1] scale -> RGB):
    RGB = 255 M^-1 YCbCr - M^-1 offset, with M and offset the 0-255 coefficients.
    Values are not clipped."""
    return _affine_colour("ycbcr_to_rgb", x, axis, _YCBCR_INV * 255, -_YCBCR_INV @ _YCBCR_OFFSET)


def mod_crop(img, scale):
    """Crop the bottom and right edges so that height and width are multiples of ``scale``."""
    img = np.asarray(img)
    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    return img[:h, :w]


def to_y(img):
    """Y of BT.601 YCbCr on the 0-255 scale (float64): from an HWC RGB image in [0, 1], or an HW image
    taken as Y already in [0, 1] (grey images such as Set14's bridge are their own luma)."""
    img = np.asarray(img, np.float64)
    if img.ndim == 2:
        return img * 255
    if img.ndim == 3 and img.shape[-1] == 3:
        return rgb_to_ycbcr(img)[..., 0] * 255
    raise ValueError(f"to_y: expected an HW (Y) or HWC RGB image, got shape {img.shape}")


def load_square_images(folder, size, grey):
    """(N, C, size, size) float32 in [0, 1]: every image of ``folder`` centre-cropped square and resized
    to ``size`` (Lanczos), grey or RGB (a training set of any folder, whatever its images' sizes)."""
    from .files import list_images
    out = []
    for path in list_images(folder):
        im = load_image(path, mode="L" if grey else "RGB")
        h, w = im.shape[:2]
        s = min(h, w)
        im = im[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        pil = Image.fromarray(np.round(np.clip(im, 0, 1) * 255).astype(np.uint8))
        small = np.asarray(pil.resize((size, size), Image.LANCZOS), np.float32) / 255.0
        out.append(small[None] if grey else small.transpose(2, 0, 1))
    return np.stack(out)
