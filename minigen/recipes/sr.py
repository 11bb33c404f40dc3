"""Single-image super-resolution: train SRCNN, VDSR or the perceptual-loss x4
network, and upscale images with a trained checkpoint.

Luma networks (SRCNN, VDSR) work as in their papers: the image is enlarged
by bicubic interpolation (MATLAB-compatible ``imresize``), the network
restores its Y channel, and the chroma stays bicubic. The perceptual network
(Johnson et al. 2016) takes the RGB low-resolution image and outputs RGB at
4x. Training draws patches from an image folder (``data/datasets.py``) with
a generator seeded by (seed, step), so a resumed run continues exactly.

    settings = train_settings(model="vdsr", scales=[2, 3, 4], ...)
    model, history = run_training(settings, steps, out="vdsr.npz")
    model, settings = load_sr_model("vdsr.npz")
    out = upscale(model, settings, image, 3)
"""
import math
import os

import numpy as np

from .. import backend, losses, models, nn, optim
from ..data.datasets import SRPatches, load_folder, quantize
from ..data.images import rgb_to_ycbcr, ycbcr_to_rgb
from ..data.imresize import imresize
from ..data.procedural import shapes
from ..errors import MinigenError
from ..io import checkpoint as ckpt_io
from ..models.sr_resnet import PerceptualSRNet
from ..models.srcnn import VARIANTS as SRCNN_VARIANTS, SRCNN
from ..models.vdsr import VDSR
from ..tensor import Tensor, no_grad
from ..training.loop import RunState, fit, step_rng
from .optimize import inverse_mean_square

KIND = "train-sr"
SCALES = range(2, 9)
MAY_CHANGE = ("lr", "lr_step", "clip")  # the schedule: a resumed run may change it

# Per model: patch size (HR pixels), stride, optimiser, lr and VDSR's clipping theta. Patches as in the
# papers (SRCNN 33 with stride 14, VDSR 41; Johnson et al. 288, 96 here); Adam for all of them.
# VDSR's own recipe (SGD lr 0.1, momentum 0.9, weight decay 1e-4, gradients clipped to
# [-theta/lr, theta/lr] with theta 0.01) is `--optim sgd --lr 0.1 --clip 0.01`; from He initialisation it
# diverged within two steps here (loss 1e12), so short CPU runs default to Adam 1e-4 without clipping.
DEFAULTS = {
    "srcnn": dict(patch=33, stride=14, optim="adam", lr=1e-3, clip=0.0),
    "srcnn-955": dict(patch=33, stride=14, optim="adam", lr=1e-3, clip=0.0),
    "vdsr": dict(patch=41, stride=41, optim="adam", lr=1e-4, clip=0.0),
    "perceptual": dict(patch=96, stride=48, optim="adam", lr=1e-3, clip=0.0),
}


def train_settings(model="srcnn", scales=(3,), width=None, depth=None, patch=None, stride=None, batch=64,
                   optim=None, lr=None, lr_step=0, clip=None, loss="feature", tv_weight=0.0, augment=False,
                   data=None, seed=0, normalize="target"):
    """The settings of a training run (what its checkpoint records), from plain arguments.

    width: SRCNN n1 (n2 = n1 / 2), VDSR's or the perceptual network's channels; depth: VDSR's layers
    (default 20) or the perceptual network's residual blocks (default 4); None: the model's default.
    patch, stride, optim, lr, clip: None takes the model's entry of DEFAULTS. data: an image folder, or
    None for procedural shapes. normalize: the perceptual feature term as a relative error ('target') or
    Johnson et al.'s sum ('none'; see ``make_step``). A MinigenError for a combination that cannot be trained.
    """
    if model not in DEFAULTS:
        raise MinigenError(f"unknown SR model {model!r}; known: {', '.join(DEFAULTS)}")
    scales = sorted({int(s) for s in scales})
    if not scales or scales[0] not in SCALES or scales[-1] not in SCALES:
        raise MinigenError(f"scales must lie in 2..8, not {','.join(map(str, scales))}")
    if model == "perceptual" and (len(scales) != 1 or scales[0] not in (2, 4, 8)):
        raise MinigenError("--model perceptual upsamples by one power of two: give --scale 4 (or 2 or 8)")
    if tv_weight and model != "perceptual":
        raise MinigenError("--tv-weight regularises the perceptual network only (--model perceptual)")
    if tv_weight is not None and tv_weight < 0:
        raise MinigenError(f"--tv-weight must be >= 0, not {tv_weight}")
    if model == "vdsr" and depth is not None and depth < 2:
        raise MinigenError(f"--depth: a VDSR network has at least 2 layers, not {depth}")
    d = DEFAULTS[model]
    kwargs = {}
    if model == "vdsr":
        kwargs = {"depth": depth or 20, "width": width or 64}
    elif model == "perceptual":
        kwargs = {"width": width or 64, "blocks": depth or 4,
                  "upsamplings": int(math.log2(scales[0]))}
    elif width:
        kwargs = {"n1": width, "n2": max(1, width // 2)}
    return {"model": model, "scales": scales, "kwargs": kwargs,
            "patch": patch or d["patch"], "stride": stride or d["stride"], "batch": batch,
            "optim": optim or d["optim"], "lr": lr or d["lr"], "lr_step": lr_step,
            "clip": d["clip"] if clip is None else clip,
            "loss": loss if model == "perceptual" else "pixel", "tv": tv_weight or 0.0,
            "augment": augment, "data": os.path.abspath(data) if data else "procedural", "seed": seed,
            **({"normalize": normalize} if model == "perceptual" and loss == "feature" else {})}


def settings_arguments(settings):
    """The arguments of ``train_settings`` that give back ``settings`` (a checkpoint's), so a resumed
    run starts from them and overrides only what it is given."""
    kw = settings.get("kwargs", {})
    return {"model": settings["model"], "scales": settings["scales"], "width": kw.get("n1", kw.get("width")),
            "depth": kw.get("depth", kw.get("blocks")), "patch": settings["patch"], "stride": settings["stride"],
            "batch": settings["batch"], "optim": settings["optim"], "lr": settings["lr"],
            "lr_step": settings["lr_step"], "clip": settings["clip"], "loss": settings["loss"],
            "tv_weight": settings.get("tv", 0.0), "augment": settings.get("augment", False),
            "data": None if settings["data"] == "procedural" else settings["data"], "seed": settings["seed"],
            "normalize": settings.get("normalize", "none")}  # a feature-loss run of an earlier minigen: sums


def build_model(settings):
    """The network the settings describe (a MinigenError for an unknown one)."""
    name, kw = settings.get("model"), dict(settings.get("kwargs", {}))
    try:
        if name in SRCNN_VARIANTS:
            return SRCNN(kernels=SRCNN_VARIANTS[name], **kw)
        if name == "vdsr":
            return VDSR(**kw)
        if name == "perceptual":
            return PerceptualSRNet(**kw)
    except (TypeError, ValueError) as e:
        raise MinigenError(f"cannot build {name} from the settings {kw}: {e}") from None
    raise MinigenError(f"unknown SR model {name!r} in the settings; known: {', '.join(DEFAULTS)}")


def is_luma(settings):
    return settings["model"] != "perceptual"


def check_patch(settings):
    """A MinigenError unless the patch is at least the network's size rule's minimum (its receptive field)."""
    try:
        models.check_size(build_model(settings), settings["patch"], settings["patch"], what="patch")
    except ValueError as e:
        raise MinigenError(f"--patch: {e}") from None


# ---- training -------------------------------------------------------------------------

def _clip_elementwise(params, bound):
    """VDSR's adjustable gradient clipping: every gradient entry into [-bound, bound], bound = theta / lr."""
    for p in params:
        if p.grad is not None:
            np.clip(p.grad, -bound, bound, out=p.grad)


def make_step(model, optimizer, data, settings, device="cpu", vgg=None):
    """The step function of ``training.fit``: a batch from ``data`` by (seed, step), the loss, backward,
    the update.

    Luma models: MSE. VDSR's gradient is that of the paper's loss
    1/2 sum (y - f(x))^2 per patch averaged over the batch (the scale its
    lr 0.1 assumes), then clipped to theta / lr. Perceptual: 1/(CHW)
    ||phi(f(x)) - phi(y)||^2 at VGG-16 relu2_2 ('feature') or MSE ('pixel'),
    plus w_tv TV(f(x)) (Johnson et al.'s total variation regulariser, squared
    neighbour differences, per patch) when ``tv`` > 0. With ``normalize``
    'target' the feature term is divided by the batch's mean phi(y)^2 (a
    relative error, as train-style's terms), so that w_tv means the same with
    any VGG weights (the ImageNet features are ~100x the normalised ones).
    The lr drops tenfold every ``lr_step`` steps (VDSR: every 20 epochs).
    """
    batch, lr0, lr_step, clip = settings["batch"], settings["lr"], settings["lr_step"], settings["clip"]
    tv, seed = settings.get("tv", 0.0), settings["seed"]
    feature = settings["model"] == "perceptual" and settings["loss"] == "feature"
    relative = settings.get("normalize", "none") == "target"

    def step(state, i):
        optimizer.zero_grad()
        optimizer.lr = lr0 * 0.1 ** ((i - 1) // lr_step) if lr_step else lr0
        x, y = data.batch(step_rng(seed, i), batch)
        x, y = Tensor(backend.to_device(x, device)), Tensor(backend.to_device(y, device))
        out = model(x)
        mse = losses.mse_loss(out, y)
        if feature:
            with no_grad():
                target = vgg(y, ["relu2_2"])["relu2_2"]
            scale = inverse_mean_square(target.data) if relative else 1.0
            terms = {"feature": scale * losses.feature_loss(vgg(out, ["relu2_2"])["relu2_2"], target), "mse": mse}
            loss = terms["feature"]
        else:
            terms = {"mse": mse}
            loss = mse * (0.5 * float(np.prod(y.shape[1:]))) if settings["optim"] == "sgd" else mse
        if tv:
            terms["tv"] = tv * losses.total_variation(out, reduction="mean")
            loss = loss + terms["tv"]
        loss.backward()
        if clip:
            _clip_elementwise(model.parameters(), clip / optimizer.lr)
        optimizer.step()
        return terms
    return step


def _procedural_images(n=24, size=96, seed=0):
    return list(shapes(n, size, seed=seed).transpose(0, 2, 3, 1))


def training_data(settings, images=None):
    """SRPatches for the settings: from ``images`` (HWC RGB arrays), its data folder, or procedural shapes."""
    luma = is_luma(settings)
    if images is None:
        if settings["data"] == "procedural":
            images = _procedural_images(seed=settings["seed"])
        else:
            images = load_folder(settings["data"], mode="y" if luma else "rgb")
    if luma:
        images = [quantize(rgb_to_ycbcr(im)[..., 0]) if im.ndim == 3 else im for im in images]
    return SRPatches(images, settings["scales"], settings["patch"], settings["stride"],
                     mode="y" if luma else "rgb", augment=settings.get("augment", False))


def make_optimizer(model, settings):
    if settings["optim"] == "sgd":
        return optim.SGD(model.parameters(), lr=settings["lr"], momentum=0.9, weight_decay=1e-4)
    return optim.Adam(model.parameters(), lr=settings["lr"])


def load_feature_net(path, device):
    """The frozen VGG of the feature loss: what ``path`` holds (None: $MINIGEN_VGG, else the bundled ImageNet
    VGG-19; relu2_2 has the same architecture in VGG-16 and VGG-19), or with 'random' a seeded random VGG-16."""
    from ..models.vgg import load_vgg  # only the perceptual network needs it
    return load_vgg(path=path, depth=16, device=device)


def run_training(settings, steps, out=None, resume=False, save_every=0, device="cpu", images=None, vgg=None,
                 log_every=50, zero_last=False, time_limit=None):
    """Build, train and checkpoint (``training.fit``, module "net", optimiser "opt"); returns (model,
    history). ``resume`` continues the run saved at ``out`` (same settings but for MAY_CHANGE). The
    checkpoint also records the planned total of ``steps``. ``zero_last`` starts a residual network's
    last layer at zero, so that it begins as the bicubic baseline (for very short runs)."""
    backend.manual_seed(settings["seed"])
    model = build_model(settings).to(device)
    if zero_last:
        last = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
        last.weight.data[...] = 0
        last.bias.data[...] = 0
    model.train()
    data = training_data(settings, images)
    opt = make_optimizer(model, settings)
    update = make_step(model, opt, data, settings, device, vgg)

    def step(state, i):
        state.extra["steps"] = steps  # the total this run aims at (a resume without --steps goes on to it)
        return update(state, i)

    state = RunState(modules={"net": model}, optimizers={"opt": opt})
    history = fit(step, state, steps, KIND, settings=settings, checkpoint=out, save_every=save_every,
                  resume=resume, may_change=MAY_CHANGE, log_every=log_every,
                  label=f"train-sr {settings['model']}: ", time_limit=time_limit)
    return model, history


# ---- inference ---------------------------------------------------------------------------

BUNDLED = ("vdsr", "srcnn", "perceptual")  # minigen/zoo's SR networks: x2/x3/x4, x3, x4


def load_sr_model(path, device="cpu"):
    """(model in eval mode, settings) from a train-sr checkpoint (also one of an earlier minigen), or a
    bundled network by name (BUNDLED; a file of that name in the working folder comes first)."""
    from .. import zoo
    ckpt = ckpt_io.load(zoo.resolve(path, BUNDLED), kind=KIND)
    settings, spec = ckpt.settings, ckpt.specs.get("net")
    if "model" not in settings or "scales" not in settings or not isinstance(spec, dict):
        raise MinigenError(f"{path}: not a train-sr checkpoint (its settings name no SR model)")
    model = models.build(spec.get("kind"), spec.get("config"))
    try:
        model.load_state_dict(ckpt.modules.get("net", {}))
    except MinigenError as e:
        raise MinigenError(f"{path}: {e}") from None
    model.eval()
    return model.to(device), settings


# Tiles of the network's input (interior side, in input pixels) and the margin each reads around it: the
# receptive radius, so that a tiled result equals the whole image's. Tiles bound the memory of a large image
# (the x4 network's last 9x9 convolution at the output size takes 81 x 64 floats per output pixel).
TILE = {"luma": 192, "perceptual": 32}


def receptive_radius(settings):
    """Input pixels on each side that one output pixel depends on (luma models: of the enlarged image)."""
    kw = settings["kwargs"]
    if settings["model"] == "vdsr":
        return kw.get("depth", 20)
    if settings["model"] == "perceptual":  # 9x9, two 3x3 per block, the transposed convs, 9x9 at the output
        return 4 + 2 * kw.get("blocks", 4) + kw.get("upsamplings", 2) + 1
    return sum((k - 1) // 2 for k in SRCNN_VARIANTS[settings["model"]])


def _run(model, x, device):
    with no_grad():
        return model(Tensor(backend.to_device(np.ascontiguousarray(x, np.float32), device))).numpy()


def _tiled(model, x, settings, scale, device):
    """The network's output for x (1, C, H, W), computed tile by tile (each with its receptive margin)."""
    tile = TILE["luma" if is_luma(settings) else "perceptual"]
    m, h, w = receptive_radius(settings), x.shape[2], x.shape[3]
    if h <= tile + 2 * m and w <= tile + 2 * m:
        return _run(model, x, device)
    s = 1 if is_luma(settings) else scale
    out = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa = max(y0 - m, 0), max(x0 - m, 0)
            part = _run(model, x[:, :, ya:min(y1 + m, h), xa:min(x1 + m, w)], device)
            if out is None:
                out = np.empty(x.shape[:1] + part.shape[1:2] + (h * s, w * s), part.dtype)
            out[:, :, y0 * s:y1 * s, x0 * s:x1 * s] = part[:, :, (y0 - ya) * s:(y1 - ya) * s,
                                                           (x0 - xa) * s:(x1 - xa) * s]
    return out


def restore_luma(model, y, device="cpu", settings=None):
    """A luma network's output for an already enlarged Y image (HW, [0, 1]); with its ``settings``, tile by
    tile (see TILE)."""
    x = y[None, None]
    return (_run(model, x, device) if settings is None else _tiled(model, x, settings, 1, device))[0, 0]


def check_input(model, settings, h, w, scale):
    """A MinigenError unless an h x w image can be enlarged ``scale`` times by this model: a scale it was
    trained for, and (luma models: once enlarged) at least its receptive field."""
    if scale not in settings["scales"]:
        raise MinigenError(f"this {settings['model']} model was trained for scale(s) "
                           f"{', '.join(map(str, settings['scales']))}, not {scale}")
    least = model.size_rule().minimum
    if is_luma(settings) and min(h, w) * scale < least:
        raise MinigenError(f"image of {w}x{h} is too small: enlarged it is {w * scale}x{h * scale}, "
                           f"smaller than the network's receptive field of {least} pixels")
    if not is_luma(settings) and min(h, w) < least:
        raise MinigenError(f"image of {w}x{h} is too small for the network (at least {least} pixels per side)")


def upscale(model, settings, img, scale, device="cpu"):
    """Enlarge an HW (grey) or HWC (RGB) image in [0, 1] ``scale`` times; returns the same layout, clipped.

    Luma models: bicubic to the target size, the network on Y, bicubic Cb/Cr.
    The perceptual network: RGB in, RGB out (a grey image is run as RGB and
    turned back to grey).
    """
    check_input(model, settings, img.shape[0], img.shape[1], scale)
    if is_luma(settings):
        up = imresize(img, scale)
        if up.ndim == 2:
            return np.clip(restore_luma(model, up, device, settings), 0, 1)
        ycc = rgb_to_ycbcr(up)
        ycc[..., 0] = restore_luma(model, ycc[..., 0], device, settings)
        out = ycbcr_to_rgb(ycc)
    else:
        rgb = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=-1)
        out = _tiled(model, rgb.transpose(2, 0, 1)[None], settings, scale, device)[0].transpose(1, 2, 0)
        out = out if img.ndim == 3 else out.mean(axis=-1)
    return np.clip(out, 0, 1)


def memory_needed(settings, h, w, scale):
    """Bytes of an upscale: the output image and its bicubic start (RGB, float64), and for one tile (TILE, its
    margins included) the widest layer twice (input and output) and the column buffer of the widest
    convolution at the output size (9x9 over the width for the x4 network, 3x3 for VDSR, 5x5 for SRCNN)."""
    width = max(settings["kwargs"].get("n1", 64), settings["kwargs"].get("width", 64))
    luma = is_luma(settings)
    side = TILE["luma" if luma else "perceptual"] + 2 * receptive_radius(settings)
    tile = min(h * scale, side * (1 if luma else scale)) * min(w * scale, side * (1 if luma else scale))
    kernel = {"vdsr": 9, "perceptual": 81}.get(settings["model"], 25 * 32 / 64)
    return h * w * scale * scale * 3 * 8 * 2 + tile * width * 4 * (2 + kernel)
