import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from minigen import Tensor, backend
from minigen.data.images import (DEFAULT_MAX_PIXELS, from_tensor, load_image, load_tensor, rgb_to_ycbcr,
                                 save_image, to_tensor, ycbcr_to_rgb)
from minigen.errors import MinigenError

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
LOSSLESS = [".png", ".bmp", ".tif"]


def levels(shape, seed=0, top=255, dtype=np.float32):
    """Random values on the k/top grid, so a lossless round trip is exact."""
    return (np.random.default_rng(seed).integers(0, top + 1, shape) / top).astype(dtype)


def one_line_error(err, path):
    msg = str(err.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    return msg


# ---- round trips ---------------------------------------------------------------

@pytest.mark.parametrize("ext", LOSSLESS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape, layout", [((5, 7, 3), "HWC"), ((1, 1, 3), "HWC"), ((6, 4), "HW"),
                                           ((3, 9, 5), "CHW"), ((6, 5, 1), "HWC")])
def test_save_load_exact(tmp_path, ext, dtype, device, shape, layout):
    a = levels(shape, dtype=dtype)
    path = tmp_path / ("img" + ext)
    save_image(path, backend.to_device(a, device))
    hwc = a.transpose(1, 2, 0) if layout == "CHW" else a
    hwc = hwc[..., 0] if hwc.shape[-1] == 1 else hwc
    got = load_image(path, mode=None)
    assert got.dtype == np.float32 and got.shape == hwc.shape
    np.testing.assert_array_equal(got, hwc.astype(np.float32))
    assert os.listdir(tmp_path) == [path.name]


def test_save_non_contiguous_and_tensor(tmp_path):
    base = levels((3, 8, 6))
    save_image(tmp_path / "a.png", base.transpose(1, 2, 0)[::2, ::-1])  # strided, reversed HWC view
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), base.transpose(1, 2, 0)[::2, ::-1])
    save_image(tmp_path / "b.png", Tensor(base))  # CHW tensor
    np.testing.assert_array_equal(load_image(tmp_path / "b.png"), base.transpose(1, 2, 0))


def test_save_clips_and_rounds(tmp_path):
    a = np.array([[-0.5, 0.0, 0.499 / 255, 0.501 / 255, 127.6 / 255, 1.0, 1.7, np.inf]], np.float32)
    save_image(tmp_path / "c.png", a)
    assert np.asarray(Image.open(tmp_path / "c.png")).tolist() == [[0, 0, 0, 1, 128, 255, 255, 255]]


def test_jpeg_quality(tmp_path):
    yy, xx = np.mgrid[0:32, 0:40] / 40.0
    smooth = np.stack([xx, yy, 0.5 * (xx + yy)], axis=-1).astype(np.float32)
    save_image(tmp_path / "s.jpg", smooth)
    assert np.abs(load_image(tmp_path / "s.jpg") - smooth).mean() < 2 / 255


def test_sixteen_bit_grey(tmp_path):
    a = levels((5, 6), top=65535, dtype=np.float64)
    save_image(tmp_path / "g.png", a, bits=16)
    assert Image.open(tmp_path / "g.png").mode == "I;16"
    grey = load_image(tmp_path / "g.png", mode="L")
    assert grey.dtype == np.float32
    np.testing.assert_allclose(grey, a, rtol=0, atol=1e-7)  # float32 of k/65535
    rgb = load_image(tmp_path / "g.png")
    assert rgb.shape == (5, 6, 3)
    np.testing.assert_array_equal(rgb, np.repeat(grey[..., None], 3, axis=-1))


def test_32bit_int_and_float_grey(tmp_path):
    Image.fromarray(np.array([[0, 1000, 65535]], np.int32)).save(tmp_path / "i.tif")
    np.testing.assert_allclose(load_image(tmp_path / "i.tif", mode="L"), [[0, 1000 / 65535, 1]], rtol=1e-6)
    Image.fromarray(np.array([[0.25, 0.75]], np.float32)).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(load_image(tmp_path / "f.tif", mode=None), [[0.25, 0.75]])


# ---- modes ---------------------------------------------------------------------------

def test_rgba_alpha_dropped(tmp_path):
    rgba = np.array([[[255, 0, 0, 0], [10, 20, 30, 128]]], np.uint8)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    np.testing.assert_array_equal(load_image(tmp_path / "a.png") * 255, rgba[..., :3])  # not composited
    np.testing.assert_array_equal(load_image(tmp_path / "a.png", mode=None) * 255, rgba)


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (3, 1))
    p.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    p.putdata([0, 1, 2])
    p.info["transparency"] = 1
    p.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    np.testing.assert_array_equal(load_image(tmp_path / "p.png"), [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]])
    rgba = load_image(tmp_path / "p.png", mode=None)
    assert rgba.shape == (1, 3, 4)
    np.testing.assert_array_equal(rgba[..., 3], [[1, 0, 1]])


def test_grey_alpha_and_luma(tmp_path):
    Image.fromarray(np.array([[[10, 20], [30, 40]]], np.uint8)).save(tmp_path / "la.png")
    np.testing.assert_array_equal(load_image(tmp_path / "la.png", mode=None) * 255, [[[10, 20], [30, 40]]])
    np.testing.assert_array_equal(load_image(tmp_path / "la.png", mode="L") * 255, [[10, 30]])
    np.testing.assert_array_equal(load_image(tmp_path / "la.png") * 255, [[[10] * 3, [30] * 3]])

    rgb = levels((4, 5, 3), seed=3)
    save_image(tmp_path / "c.png", rgb)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(load_image(tmp_path / "c.png", mode="L"), luma, atol=1 / 255 + 1e-6)


def test_cmyk(tmp_path):
    im = Image.new("CMYK", (2, 1), (255, 0, 0, 0))  # cyan
    im.putpixel((1, 0), (0, 0, 0, 255))  # black
    im.save(tmp_path / "c.tif")
    np.testing.assert_array_equal(load_image(tmp_path / "c.tif"), [[[0, 1, 1], [0, 0, 0]]])


# ---- tensors ------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(5, 7, 3), (4, 6), (1, 1, 3)])
def test_tensor_round_trip(tmp_path, device, shape):
    img = levels(shape, dtype=np.float64)
    t = to_tensor(img, device=device)
    c = shape[2] if len(shape) == 3 else 1
    assert isinstance(t, Tensor) and t.shape == (1, c) + shape[:2] and t.dtype == np.float32 and t.device == device
    np.testing.assert_array_equal(from_tensor(t), img.astype(np.float32))

    save_image(tmp_path / "x.png", img)
    loaded = load_tensor(tmp_path / "x.png", mode="RGB" if c == 3 else "L", device=device)
    np.testing.assert_array_equal(loaded.numpy(), t.numpy())


def test_to_tensor_non_contiguous_and_batch_index():
    base = levels((3, 6, 8))
    t = to_tensor(base.transpose(1, 2, 0)[:, ::2])  # a strided HWC view
    np.testing.assert_array_equal(t.numpy()[0], base[:, :, ::2])
    batch = np.stack([base, 1 - base])
    np.testing.assert_array_equal(from_tensor(batch, index=1), (1 - base).transpose(1, 2, 0))
    np.testing.assert_array_equal(from_tensor(Tensor(base)), base.transpose(1, 2, 0))


# ---- YCbCr ----------------------------------------------------------------------------

def test_ycbcr_known_values():
    rgb = np.array([[1, 1, 1], [0, 0, 0], [0.5, 0.5, 0.5], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64)
    y = rgb_to_ycbcr(rgb) * 255
    np.testing.assert_allclose(y[0], [235, 128, 128], atol=1e-12)
    np.testing.assert_allclose(y[1], [16, 128, 128], atol=1e-12)
    np.testing.assert_allclose(y[2], [125.5, 128, 128], atol=1e-12)
    np.testing.assert_allclose(y[3], [16 + 65.481, 128 - 37.797, 128 + 112.0], atol=1e-12)
    np.testing.assert_allclose(y[4], [16 + 128.553, 128 - 74.203, 128 - 93.786], atol=1e-12)
    np.testing.assert_allclose(y[5], [16 + 24.966, 128 + 112.0, 128 - 18.214], atol=1e-12)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-14)])
@pytest.mark.parametrize("device", DEVICES)
def test_ycbcr_round_trip_and_layouts(dtype, tol, device):
    nchw = np.random.default_rng(5).random((2, 3, 5, 7)).astype(dtype)
    x = backend.to_device(nchw, device)
    ycc = rgb_to_ycbcr(x, axis=1)
    assert ycc.dtype == dtype and ycc.shape == x.shape and backend.device_of(ycc) == device
    back = backend.to_device(ycbcr_to_rgb(ycc, axis=1), "cpu")
    assert back.dtype == dtype
    np.testing.assert_allclose(back, nchw, rtol=0, atol=tol)
    # channels last (a non-contiguous view) gives the same numbers
    nhwc = backend.to_device(rgb_to_ycbcr(x.transpose(0, 2, 3, 1)), "cpu")
    np.testing.assert_allclose(nhwc.transpose(0, 3, 1, 2), backend.to_device(ycc, "cpu"), rtol=0, atol=tol)
    np.testing.assert_allclose(backend.to_device(rgb_to_ycbcr(x, axis=-3), "cpu"),
                               backend.to_device(ycc, "cpu"), rtol=0, atol=0)


def test_ycbcr_bad_arguments():
    with pytest.raises(ValueError, match="rgb_to_ycbcr: expected 3 channels on axis -1"):
        rgb_to_ycbcr(np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="ycbcr_to_rgb: expected 3 channels on axis 3"):
        ycbcr_to_rgb(np.zeros((1, 3, 4)), axis=3)
    with pytest.raises(TypeError, match="rgb_to_ycbcr: expected a float array"):
        rgb_to_ycbcr(np.zeros((2, 2, 3), np.uint8))


# ---- errors ----------------------------------------------------------------------------

def png_header_only(width, height):
    """A PNG whose header claims ``width`` x ``height`` (RGB, 8 bits), with one tiny IDAT."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def test_large_image_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(9000, 9000))  # 81 megapixels; decoding it would fail (no data)
    with pytest.raises(MinigenError) as err:
        load_image(path)
    msg = one_line_error(err, path)
    assert "9000x9000 (81.0 megapixels), which needs 927.0 MiB as float32 with 3 channel(s)" in msg
    assert f"max_pixels={DEFAULT_MAX_PIXELS}" in msg

    save_image(tmp_path / "small.png", levels((20, 30)))
    with pytest.raises(MinigenError, match=r"30x20 \(0.0 megapixels\), which needs 2.3 KiB .* max_pixels=599"):
        load_image(tmp_path / "small.png", mode="L", max_pixels=599)
    assert load_image(tmp_path / "small.png", mode="L", max_pixels=600).shape == (20, 30)


def test_decompression_bomb_refused(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))  # over twice Pillow's own limit
    with pytest.raises(MinigenError, match=r"900.0 megapixels\), which needs 10.1 GiB .* limit is max_pixels") as err:
        load_image(path)
    one_line_error(err, path)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_truncated_images(tmp_path, ext):
    path = tmp_path / ("full" + ext)
    save_image(path, levels((24, 32, 3)))
    raw = path.read_bytes()
    cut = tmp_path / ("cut" + ext)
    # Up to the PNG's last 20 bytes (zlib Adler-32, IDAT CRC, IEND) every pixel is
    # there and Pillow, which checks none of them, decodes the image in full.
    for n in np.linspace(0, len(raw) - 21, 25).astype(int):
        cut.write_bytes(raw[:n])
        with pytest.raises(MinigenError) as err:
            load_image(cut)
        one_line_error(err, cut)


def test_read_errors(tmp_path):
    with pytest.raises(MinigenError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(MinigenError, match="is a directory"):
        load_image(tmp_path)
    (tmp_path / "notes.png").write_text("not an image\n")
    with pytest.raises(MinigenError, match="not an image file") as err:
        load_image(tmp_path / "notes.png")
    one_line_error(err, tmp_path / "notes.png")
    with pytest.raises(ValueError, match="mode must be"):
        load_image(tmp_path / "notes.png", mode="RGBA")


@pytest.mark.parametrize("array, kwargs, error, match", [
    (np.zeros((2, 2, 3), np.uint8), {}, TypeError, "expected a float array"),
    (np.zeros((2, 2, 2)), {}, ValueError, r"got shape \(2, 2, 2\)"),
    (np.zeros((1, 2, 2, 3)), {}, ValueError, "HW, HWC or CHW"),
    (np.full((2, 2), np.nan), {}, ValueError, "contains NaN"),
    (np.zeros((2, 2, 3)), {"bits": 16}, ValueError, "grey images only"),
    (np.zeros((2, 2)), {"bits": 12}, ValueError, "bits must be 8 or 16"),
])
def test_save_bad_arguments(tmp_path, array, kwargs, error, match):
    with pytest.raises(error, match=match):
        save_image(tmp_path / "x.png", array, **kwargs)
    assert os.listdir(tmp_path) == []


def test_save_errors_keep_old_file(tmp_path):
    with pytest.raises(MinigenError, match="unknown image format '.xyz'"):
        save_image(tmp_path / "x.xyz", np.zeros((2, 2)))
    with pytest.raises(MinigenError, match="cannot write"):
        save_image(tmp_path / "missing" / "x.png", np.zeros((2, 2)))
    path = tmp_path / "x.jpg"
    save_image(path, np.zeros((2, 2, 3)))
    before = path.read_bytes()
    with pytest.raises(MinigenError, match="cannot write a RGBA image as JPEG") as err:
        save_image(path, np.ones((2, 2, 4)))
    one_line_error(err, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["x.jpg"]
