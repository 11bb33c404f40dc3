"""A small convolutional denoiser trained on procedural shapes: the engine's
end-to-end example (conv, ReLU, MSE, Adam, backward) used by the demo.
"""
import numpy as np

from .. import backend, losses, nn, optim
from ..data.procedural import shapes
from ..tensor import Tensor, no_grad
from ..training import loop


def make_net(channels=16):
    """x -> x + f(x), f three 3x3 convolutions: a residual denoiser."""
    return nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, 3, 3, padding=1))


def train_denoiser(steps=150, batch=16, size=32, sigma=0.15, lr=2e-3, seed=0, device="cpu", log_every=25):
    """Train on fresh noisy/clean pairs each step (on ``training.fit``); returns (net, loss history).

    The loss is the mean of (x + f(x) - clean)^2 over a batch of noisy images x = clean + sigma n."""
    backend.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = make_net().to(device)
    opt = optim.Adam(net.parameters(), lr=lr)

    def step(state, i):
        clean = shapes(batch, size, seed=int(rng.integers(1 << 31)))
        noisy = clean + sigma * rng.standard_normal(clean.shape).astype(np.float32)
        x = Tensor(backend.to_device(noisy, device))
        loss = losses.mse_loss(x + net(x), Tensor(backend.to_device(clean, device)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss}

    state = loop.RunState(modules={"net": net}, optimizers={"opt": opt}, rngs={"data": rng})
    history = loop.fit(step, state, steps, "denoise", {"batch": batch, "size": size, "sigma": sigma, "lr": lr,
                                                      "seed": seed}, log_every=log_every, label="denoise: ")
    return net, history["loss"]


def denoise(net, noisy, device="cpu"):
    with no_grad():
        x = Tensor(backend.to_device(np.asarray(noisy, np.float32), device))
        return (x + net(x)).numpy()
