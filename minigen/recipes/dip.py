"""Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018): restore one image by
fitting a randomly initialised encoder-decoder x = f_theta(z) to it, with no
training data. The structure of the network is the prior: it fits natural
image content long before it fits noise, so the fit is stopped early (a fixed
iteration budget, or when the data term reaches the noise level).

Energies (the paper's data terms, here as means over the pixels):

    denoise:  E = || x - x0 ||^2
    inpaint:  E = || (x - x0) * m ||^2          m = 1 on known pixels, 0 on missing ones
    sr:       E = || d(x) - x0 ||^2             x at factor times the size of x0, d a fixed
                                               Lanczos-3 downsampler (models.dip.Downsampler)

minimised over theta by Adam. Each iteration may feed z + sigma_p n with a
fresh n ~ N(0, 1) (the paper's input-noise regularisation, sigma_p =
reg_noise_std), and the result may be the exponential average of the
outputs over the iterations (ema = b), which smooths the last iterations' noise.
The average is bias-corrected as Adam's moments are, a_t = (1 - b) sum_k b^(t-k) x_k / (1 - b^t),
so the first outputs do not linger in it as they would starting from a_1 = x_1.

The fit runs on training.fit; the command `minigen dip` is minigen.cli.dip.
"""
import math
import zlib

import numpy as np

from .. import backend, losses, optim
from ..data.images import load_image
from ..errors import MinigenError
from ..metrics import psnr
from ..models.dip import Downsampler, dip_net, input_noise
from ..tensor import Tensor, no_grad
from ..training import loop, memory

KIND = "dip"  # the kind of a fit's checkpoint
TASKS = ("denoise", "inpaint", "sr")
DEFAULT_ITERS = {"denoise": 3000, "inpaint": 5000, "sr": 2000}


def build_net(arch="skip", scales=5, channels=128, skip_channels=4, input_channels=32, out_channels=3,
              upsample="bilinear"):
    """The DIP network with ``channels`` down and up and ``skip_channels`` skip channels at every scale."""
    return dip_net(arch, input_channels, out_channels, down=(channels,) * scales, up=(channels,) * scales,
                   skip=(skip_channels,) * scales, upsample=upsample)


def check_fit(net, h, w, what, device="cpu", max_memory=None):
    """Refuse an output size the network cannot take or whose activations cannot fit in memory
    (``max_memory`` GiB; by default the memory available, checked on the CPU only)."""
    if device == "cpu" or max_memory is not None:
        # The activations leave out conv workspaces, Adam's moments and NumPy's temporaries: the measured peak
        # at 512x512 (4.6 GiB resident) is about 1.4 times them.
        memory.check(f"{what} is {w}x{h}: fitting it", int(1.5 * net.activation_bytes(h, w)), max_memory,
                     hint="the estimate counts the network's activations; crop the image or use fewer "
                          "--channels / --scales")
    need = net.size_rule().minimum
    if min(h, w) < need:
        raise MinigenError(f"{what} is {w}x{h}, too small for the {net.scales}-scale network: it needs at least "
                           f"{need}x{need} pixels (2^{net.scales} + 1 per side)")


def checksum(image, mask=None):
    """CRC-32 of the observation (and mask): a resumed fit must see the same data."""
    crc = zlib.crc32(np.ascontiguousarray(image, np.float32).tobytes())
    if mask is not None:
        crc = zlib.crc32(np.ascontiguousarray(mask, np.float32).tobytes(), crc)
    return crc


def fit(task, image, mask=None, factor=4, iters=None, lr=0.01, reg_noise_std=1 / 30, ema=0.99, ground_truth=None,
        net_options=None, code="uniform", stop_below=None, time_limit=None, snapshot_every=0, on_snapshot=None,
        seed=0, device="cpu", log_every=100, label=None, checkpoint=None, save_every=0, resume=False,
        max_memory=None, name=None):
    """Fit the DIP network to one image (on ``training.fit``); returns a dict (see below).

    image: (H, W, C) float array in [0, 1], the observation x0. mask: (H, W) of 0/1 (inpaint).
    factor: the SR scale (sr). ground_truth: the clean image, (H, W, C) at the output's size, for PSNR.
    net_options: build_net's options (arch, scales, channels, skip_channels, input_channels, upsample); the
    default is the paper's 5 x 128 skip network. code: the input code z, 'uniform' noise or 'meshgrid'
    (pixel coordinates; the network then takes 2 input channels), see models.dip.input_noise.
    The network is built after seeding, so ``seed`` fixes the whole run.
    stop_below: stop once the data term falls to this value (e.g. sigma^2 for denoising: the
    discrepancy principle). time_limit: stop after the iteration that passes this many seconds.
    on_snapshot(iteration, output) is called every ``snapshot_every`` iterations.
    checkpoint: a file (.npz or .safetensors) that receives the whole state of the fit every
    ``save_every`` iterations (0: only at the end) and when the run ends; ``resume`` continues from it,
    with the same image, mask and settings, to ``iters`` in all. A resumed run repeats an uninterrupted
    one exactly (on the CPU), so a long fit can run in pieces, each ended by ``time_limit``.
    max_memory: GiB the fit may take (default: the memory available), see ``check_fit``; name: the image's
    name in the messages that refuse it.

    Returns {"output": (H', W', C) array, "loss": [...], "psnr": [...] (of each iteration's output, with a
    ground truth), "psnr_avg": [...] (of the running average, with ema and a ground truth), "net", "iterations",
    "stopped" (None, or why the run ended before ``iters``: "stop_below" or "time_limit"), "seconds"}.
    """
    if task not in TASKS:
        raise ValueError(f"fit: task must be one of {TASKS}, not {task!r}")
    iters = DEFAULT_ITERS[task] if iters is None else int(iters)
    if iters < 1:
        raise ValueError(f"fit: iters must be at least 1, not {iters}")
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    h, w, c = image.shape
    out_h, out_w = (h * factor, w * factor) if task == "sr" else (h, w)
    rng = np.random.default_rng(seed)
    backend.manual_seed(seed)
    net_options = dict(net_options or {}, out_channels=c)
    if code == "meshgrid":
        net_options["input_channels"] = 2
    net = build_net(**net_options).to(device)
    what = f"the output ({factor} x the input)" if task == "sr" else "the image"
    check_fit(net, out_h, out_w, f"{name}: {what}" if name else what, device, max_memory)
    if ground_truth is not None and np.shape(ground_truth)[:2] != (out_h, out_w):
        raise ValueError(f"fit: ground truth {np.shape(ground_truth)[:2]} differs from the output size "
                         f"{(out_h, out_w)}")

    def tensor(a):
        return Tensor(backend.to_device(np.ascontiguousarray(a, np.float32), device))

    x0 = tensor(image.transpose(2, 0, 1)[None])
    m = tensor(np.asarray(mask, np.float32)[None, None]) if task == "inpaint" else None
    down = Downsampler((out_h, out_w), factor).to(device) if task == "sr" else None
    z = input_noise(net.in_channels, out_h, out_w, kind=code, rng=rng)
    opt = optim.Adam(net.parameters(), lr=lr)
    gt = None if ground_truth is None else np.asarray(ground_truth, np.float64).reshape(out_h, out_w, c)
    settings = {"task": task, "shape": [h, w, c], "factor": factor if task == "sr" else 1, "lr": lr,
                "reg_noise_std": reg_noise_std, "ema": ema, "code": code, "net": net.config(), "seed": seed,
                "data": checksum(image, mask), "ground_truth": ground_truth is not None, "iters": iters}
    # The fit's own generator draws the code and each iteration's input noise; with averaging, the running
    # sum of the outputs is part of the state (without it the next output replaces it).
    state = loop.RunState(modules={"net": net}, optimizers={"opt": opt}, rngs={"noise": rng})
    last = {}  # the latest iteration's output after averaging

    def step(state, it):
        z_it = z + reg_noise_std * rng.standard_normal(z.shape).astype(np.float32) if reg_noise_std else z
        x = net(tensor(z_it))
        if task == "denoise":
            loss = losses.mse_loss(x, x0)
        elif task == "inpaint":
            loss = losses.mse_loss(x * m, x0 * m)
        else:
            loss = losses.mse_loss(down(x), x0)
        value = loss.item()
        if not math.isfinite(value):  # training.fit stops the run; the state stays the last good one
            return {"loss": value}
        opt.zero_grad()
        loss.backward()
        opt.step()
        out = backend.to_host(x.data[0]).transpose(1, 2, 0)
        if ema:
            running = state.extra.get("running")
            state.extra["running"] = (1 - ema) * out if running is None else ema * running + (1 - ema) * out
            last["average"] = state.extra["running"] / (1 - ema ** it)
        else:
            last["average"] = out
        shown = {"loss": value}
        if gt is not None:
            shown["psnr"] = psnr(out, gt)
            if ema:
                shown["psnr_avg"] = psnr(last["average"], gt)
        if it < iters and stop_below is not None and value <= stop_below:
            state.stop = "stop_below"
        return shown

    def snapshot(state, it):
        on_snapshot(it, last["average"])

    loop.fit(step, state, iters, KIND, settings, checkpoint=checkpoint, save_every=save_every, resume=resume,
             may_change=("iters",), log_every=log_every, label=label or f"dip {task}: ", time_limit=time_limit,
             snapshot_every=snapshot_every, on_snapshot=snapshot if on_snapshot else None,
             hint="try a smaller --lr")
    if ema:
        output = last["average"]
    else:  # the network's own output at the unperturbed code
        with no_grad():
            output = backend.to_host(net(tensor(z)).data[0]).transpose(1, 2, 0)
    result = {k: list(state.history.get(k, [])) for k in ("loss", "psnr", "psnr_avg")}
    result.update(output=np.clip(output, 0, 1), net=net, iterations=state.step, stopped=state.stop,
                  seconds=state.seconds)
    return result


def load_mask(path, shape):
    """A binary (H, W) mask from a grey or black-and-white image (1 = known pixel, threshold 0.5)."""
    a = load_image(path, mode=None)
    if a.ndim == 3 and a.shape[-1] == 2:  # grey + alpha: the alpha is not part of the mask
        a = a[..., 0]
    elif a.ndim == 3:
        if not np.array_equal(a[..., 0], a[..., 1]) or not np.array_equal(a[..., 0], a[..., 2]):
            raise MinigenError(f"{path}: a mask must be a grey (L) or black-and-white image, not a colour image "
                               f"(1 = known pixel, 0 = missing)")
        a = a[..., 0]
    if a.shape != tuple(shape):
        raise MinigenError(f"{path}: the mask is {a.shape[1]}x{a.shape[0]} but the image is {shape[1]}x{shape[0]}; "
                           "they must be the same size")
    mask = (a > 0.5).astype(np.float32)
    if not mask.any():
        raise MinigenError(f"{path}: the mask marks no pixel as known (white = known, black = missing)")
    return mask
