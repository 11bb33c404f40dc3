"""The shared training loop: resume equals an uninterrupted run, the NaN guard keeps the last checkpoint."""
import numpy as np
import pytest

from minigen import losses, nn, optim
from minigen.errors import MinigenError
from minigen.training._old import check_resume_config, load_checkpoint, model_state, step_rng, train
from minigen.tensor import Tensor


def _setup(seed=0):
    import minigen
    minigen.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 1))
    opt = optim.Adam(net.parameters(), lr=1e-2)

    def step_fn(step):
        rng = step_rng(seed, step)
        x = rng.standard_normal((16, 3)).astype(np.float32)
        y = np.sin(x.sum(1, keepdims=True))
        loss = losses.mse_loss(net(Tensor(x)), Tensor(y))
        loss.backward()
        return {"mse": loss}
    return net, opt, step_fn


def test_loss_falls_and_checkpoint_has_config(tmp_path):
    net, opt, step_fn = _setup()
    ckpt = str(tmp_path / "run.npz")
    history = train(step_fn, net, opt, steps=100, checkpoint=ckpt, save_every=20, config={"width": 8}, log_every=1000)
    assert np.mean(history["mse"][-20:]) < 0.6 * np.mean(history["mse"][:10])
    arrays, meta = load_checkpoint(ckpt)
    assert meta["step"] == 100 and meta["config"] == {"width": 8} and len(meta["history"]["mse"]) == 100
    assert set(model_state(arrays)) == set(net.state_dict())


def test_resume_gives_the_same_next_steps_as_an_uninterrupted_run(tmp_path):
    net, opt, step_fn = _setup()
    full = train(step_fn, net, opt, steps=12, log_every=100)
    ckpt = str(tmp_path / "run.safetensors")
    net2, opt2, step_fn2 = _setup()
    train(step_fn2, net2, opt2, steps=7, checkpoint=ckpt, config={}, log_every=100)
    net3, opt3, step_fn3 = _setup(seed=0)
    net3.load_state_dict({k: v * 0 for k, v in net3.state_dict().items()})  # resume must overwrite this
    resumed = train(step_fn3, net3, opt3, steps=12, checkpoint=ckpt, resume=True, config={}, log_every=100)
    np.testing.assert_allclose(resumed["mse"], full["mse"], rtol=1e-6)
    for k, v in net.state_dict().items():
        np.testing.assert_allclose(net3.state_dict()[k], v, rtol=1e-6)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    net, opt, step_fn = _setup()
    ckpt = str(tmp_path / "run.npz")

    def poisoned(step):
        out = step_fn(step)
        return {"mse": out["mse"] * float("nan")} if step == 9 else out
    with pytest.raises(MinigenError, match=r"became nan at step 9.*last good checkpoint"):
        train(poisoned, net, opt, steps=20, checkpoint=ckpt, save_every=4, config={}, log_every=100)
    _, meta = load_checkpoint(ckpt)
    assert meta["step"] == 8


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    net, opt, step_fn = _setup()
    with pytest.raises(MinigenError, match="no checkpoint"):
        train(step_fn, net, opt, steps=5, checkpoint=str(tmp_path / "missing.npz"), resume=True)


def test_resume_under_other_settings_is_refused_before_anything_changes(tmp_path):
    net, opt, step_fn = _setup()
    ckpt = str(tmp_path / "run.npz")
    train(step_fn, net, opt, steps=3, checkpoint=ckpt, config={"width": 8, "lr": 0.01}, log_every=100)
    weights = {k: v.copy() for k, v in net.state_dict().items()}
    with pytest.raises(MinigenError, match=r"run.npz: made with width 8 \(not 16\); resume with the same settings"):
        train(step_fn, net, opt, steps=6, checkpoint=ckpt, resume=True, config={"width": 16, "lr": 0.01})
    with pytest.raises(MinigenError, match=r"made with lr 0.01 \(not 0.1\)"):  # lr is fixed unless allowed
        train(step_fn, net, opt, steps=6, checkpoint=ckpt, resume=True, config={"width": 8, "lr": 0.1})
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, weights[k])
    assert load_checkpoint(ckpt)[1]["step"] == 3


def test_check_resume_config_compares_as_stored_and_skips_keys_older_files_lack(capsys):
    check_resume_config("c.npz", {"scales": [2, 3], "lr": 0.1}, {"scales": (2, 3), "lr": 0.1, "augment": False})
    check_resume_config("c.npz", {"lr": 0.1}, {"lr": 0.01}, may_change=("lr",))
    assert capsys.readouterr().out == "c.npz: resuming with lr 0.01 (the checkpoint was made with 0.1)\n"
    with pytest.raises(MinigenError, match=r'made with model "' + "x" * 36 + r'\.\.\. \(not "y"\)'):
        check_resume_config("c.npz", {"model": "x" * 50}, {"model": "y"})
