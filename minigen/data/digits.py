"""Procedural handwritten-like digits, 28 x 28, generated from a seed: the stand-in
for MNIST when no MNIST files are given.

Each digit is a few pen strokes (polylines and elliptic arcs) in a unit box.
A sample draws a random affine map (rotation up to 15 degrees, shear up to
0.3, a width/height scale between 0.75 and 1.05), jitters every stroke point
by about 2 % of the box, and draws the strokes with a pen width of 8-15 % of
the box, four times supersampled with Pillow and reduced with a box filter
(antialiasing). As in MNIST, the digit is fitted into a 20 x 20 box keeping its
aspect ratio and then moved so that its centre of mass is the centre of the
28 x 28 image. Labels are drawn uniformly from 0-9.
"""
import numpy as np
from PIL import Image, ImageDraw

SIZE, BOX, SUPER = 28, 20, 4


def _arc(cx, cy, rx, ry, a0, a1, n=18):
    """Points of an elliptic arc from angle a0 to a1 in degrees (y points down: 90 is the bottom)."""
    a = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def _line(*points):
    return np.array(points, float)


STROKES = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, 0, 360, 28)],
    1: [_line((0.35, 0.2), (0.55, 0.05), (0.55, 0.95))],
    2: [np.concatenate([_arc(0.5, 0.3, 0.3, 0.25, 180, 400), _line((0.15, 0.95), (0.85, 0.95))])],
    3: [_arc(0.5, 0.27, 0.28, 0.22, 200, 450), _arc(0.5, 0.71, 0.31, 0.24, 270, 520)],
    4: [_line((0.65, 0.95), (0.65, 0.05), (0.12, 0.68), (0.88, 0.68))],
    5: [np.concatenate([_line((0.8, 0.05), (0.28, 0.05), (0.26, 0.46)), _arc(0.48, 0.68, 0.3, 0.26, 235, 510)])],
    6: [np.concatenate([_arc(0.64, 0.62, 0.4, 0.56, 250, 180), _arc(0.5, 0.7, 0.27, 0.25, 180, 540)])],
    7: [_line((0.12, 0.05), (0.88, 0.05), (0.42, 0.95))],
    8: [_arc(0.5, 0.27, 0.24, 0.22, 90, 450, 24), _arc(0.5, 0.72, 0.29, 0.24, 270, 630, 24)],
    9: [_arc(0.46, 0.3, 0.27, 0.25, 0, 360, 24), _line((0.73, 0.3), (0.7, 0.6), (0.6, 0.95))],
}


def _affine(rng):
    t = np.radians(rng.uniform(-15, 15))
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    shear = np.array([[1, rng.uniform(-0.3, 0.3)], [0, 1]])
    scale = np.diag(rng.uniform(0.75, 1.05, 2))
    return rot @ shear @ scale


def _draw(label, rng):
    """One digit as a float array in [0, 1], fitted into the BOX x BOX square (before centring)."""
    a = _affine(rng)
    strokes = [(s - 0.5) @ a.T + rng.normal(0, 0.02, s.shape) for s in STROKES[label]]
    points = np.concatenate(strokes)
    lo, hi = points.min(0), points.max(0)
    pen = rng.uniform(0.08, 0.15)
    span = float((hi - lo).max()) + pen
    side = BOX * SUPER
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, int(round(pen / span * side)))
    for s in strokes:
        xy = (s - (lo + hi) / 2) / span * side + side / 2
        draw.line([tuple(p) for p in xy], fill=255, width=width, joint="curve")
        for p in xy[[0, -1]]:  # round pen ends
            draw.ellipse([p[0] - width / 2, p[1] - width / 2, p[0] + width / 2, p[1] + width / 2], fill=255)
    small = canvas.resize((BOX, BOX), Image.BOX)
    return np.asarray(small, np.float32) / 255.0


def _centre(box):
    """Place a BOX x BOX digit in a SIZE x SIZE image with its centre of mass at the centre."""
    out = np.zeros((SIZE, SIZE), np.float32)
    total = box.sum()
    ys, xs = np.mgrid[:BOX, :BOX]
    cy, cx = ((ys * box).sum() / total, (xs * box).sum() / total) if total > 0 else ((BOX - 1) / 2,) * 2
    top = int(np.clip(round((SIZE - 1) / 2 - cy), 0, SIZE - BOX))
    left = int(np.clip(round((SIZE - 1) / 2 - cx), 0, SIZE - BOX))
    out[top:top + BOX, left:left + BOX] = box
    return out


def digits(n, seed=0):
    """(images (n, 28, 28) uint8, labels (n,) int64): ``n`` procedural digits from ``seed``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.empty((n, SIZE, SIZE), np.uint8)
    for i, label in enumerate(labels):
        images[i] = np.round(_centre(_draw(int(label), rng)) * 255)
    return images, labels.astype(np.int64)


# ---- transforms and measurable attributes of digit images (float (N, 28, 28) or (N, 1, 28, 28) in [0, 1]) ----

def thicken(images, size=2):
    """Strokes made thicker: a grey dilation with a ``size`` x ``size`` square (the maximum over it)."""
    from scipy.ndimage import grey_dilation
    x = np.asarray(images)
    return grey_dilation(x, size=(1,) * (x.ndim - 2) + (size, size))


def slant(images, shear=0.4):
    """Each image sheared: the row at height y moves right by shear * (centre - y) pixels (bilinear)."""
    from scipy.ndimage import affine_transform
    x = np.asarray(images, np.float32)
    flat = x.reshape(-1, *x.shape[-2:])
    h = flat.shape[-2]
    c = (h - 1) / 2
    # output (r, q) reads input (r, q - shear * (c - r)) = matrix @ (r, q) + offset
    matrix, offset = np.array([[1, 0], [shear, 1]]), np.array([0, -shear * c])
    out = np.stack([affine_transform(im, matrix, offset, order=1, mode="constant") for im in flat])
    return np.clip(out, 0, 1).reshape(x.shape)


def stroke_mass(images):
    """The ink of each image: the mean pixel value (N,)."""
    x = np.asarray(images, np.float64)
    return x.reshape(len(x), -1).mean(axis=1)


def slant_of(images):
    """The slant of each image from its second moments: cov(x, y) / var(y), with y pointing up, so a
    digit leaning right has a positive slant (N,)."""
    x = np.asarray(images, np.float64).reshape(len(images), *np.shape(images)[-2:])
    h, w = x.shape[1:]
    rows, cols = np.mgrid[:h, :w]
    up = (h - 1) - rows
    mass = x.sum(axis=(1, 2)) + 1e-12
    my, mx = (x * up).sum(axis=(1, 2)) / mass, (x * cols).sum(axis=(1, 2)) / mass
    cov = (x * (up - my[:, None, None]) * (cols - mx[:, None, None])).sum(axis=(1, 2)) / mass
    var = (x * (up - my[:, None, None]) ** 2).sum(axis=(1, 2)) / mass
    return cov / (var + 1e-12)
