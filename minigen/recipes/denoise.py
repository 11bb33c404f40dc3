"""A small convolutional denoiser trained on procedural shapes: the engine's
end-to-end example (conv, ReLU, MSE, Adam, backward) used by the demo.
"""
import numpy as np

from .. import backend, losses, nn, optim
from ..data.procedural import shapes
from ..tensor import Tensor, no_grad
from ..training.progress import Progress


def make_net(channels=16):
    """x -> x + f(x), f three 3x3 convolutions: a residual denoiser."""
    return nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, 3, 3, padding=1))


def train_denoiser(steps=150, batch=16, size=32, sigma=0.15, lr=2e-3, seed=0, device="cpu", log_every=25):
    """Train on fresh noisy/clean pairs each step; returns (net, loss history)."""
    backend.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = make_net().to(device)
    opt = optim.Adam(net.parameters(), lr=lr)
    progress = Progress(steps, every=log_every, label="denoise: ")
    history = []
    for step in range(1, steps + 1):
        clean = shapes(batch, size, seed=int(rng.integers(1 << 31)))
        noisy = clean + sigma * rng.standard_normal(clean.shape).astype(np.float32)
        x = Tensor(backend.to_device(noisy, device))
        loss = losses.mse_loss(x + net(x), Tensor(backend.to_device(clean, device)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
        progress.update(step, loss=history[-1])
    return net, history


def denoise(net, noisy, device="cpu"):
    with no_grad():
        x = Tensor(backend.to_device(np.asarray(noisy, np.float32), device))
        return (x + net(x)).numpy()
