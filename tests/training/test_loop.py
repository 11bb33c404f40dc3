"""training.fit: a step that owns its updates, resume equals an uninterrupted run, the NaN guard, signals,
the time limit, snapshots, and two networks with two optimisers and an EMA copy."""
import os
import signal

import numpy as np
import pytest

import minigen
from minigen import losses, nn, optim
from minigen.errors import MinigenError
from minigen.io import checkpoint as ck
from minigen.tensor import Tensor
from minigen.training.loop import Interrupted, RunState, check_settings, fit, step_rng


def _regression(seed=0):
    """A small net on a seeded regression task, with dropout (so the shared generator matters)."""
    minigen.manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 1))
    state = RunState(modules={"net": net}, optimizers={"opt": optim.Adam(net.parameters(), lr=1e-2)})

    def step(state, i):
        rng = step_rng(seed, i)
        x = rng.standard_normal((16, 3)).astype(np.float32)
        y = np.sin(x.sum(1, keepdims=True))
        opt = state.optimizers["opt"]
        opt.zero_grad()
        loss = losses.mse_loss(state.modules["net"](Tensor(x)), Tensor(y))
        loss.backward()
        opt.step()
        return {"mse": loss}
    return state, step


def test_loss_falls_and_the_checkpoint_holds_kind_settings_and_history(tmp_path):
    state, step = _regression()
    path = str(tmp_path / "run.npz")
    history = fit(step, state, 100, kind="toy", settings={"width": 8}, checkpoint=path, save_every=20,
                  log_every=1000)
    assert np.mean(history["mse"][-20:]) < 0.6 * np.mean(history["mse"][:10])
    c = ck.load(path, kind="toy")
    assert c.step == 100 and c.settings == {"width": 8} and len(c.history["mse"]) == 100
    assert c.specs == {"net": None}  # a Sequential is not a registered model
    assert set(c.modules["net"]) == set(state.modules["net"].state_dict())


def test_resume_ends_bit_for_bit_as_an_uninterrupted_run(tmp_path, capsys):
    state, step = _regression()
    full = fit(step, state, 12, kind="toy", log_every=100)
    path = str(tmp_path / "run.safetensors")
    first, step2 = _regression()
    fit(step2, first, 7, kind="toy", checkpoint=path, log_every=100)
    again, step3 = _regression(seed=0)
    again.modules["net"].load_state_dict({k: v * 0 for k, v in again.modules["net"].state_dict().items()})
    minigen.manual_seed(123)  # the resumed run must restore the shared generator too
    resumed = fit(step3, again, 12, kind="toy", checkpoint=path, resume=True, log_every=100)
    assert "resuming from step 7 of 12" in capsys.readouterr().out
    assert resumed["mse"] == full["mse"]
    for k, v in state.modules["net"].state_dict().items():
        np.testing.assert_array_equal(again.modules["net"].state_dict()[k], v)


def test_resume_refuses_another_kind_other_settings_and_a_finished_run(tmp_path):
    state, step = _regression()
    path = str(tmp_path / "run.npz")
    fit(step, state, 3, kind="toy", settings={"lr": 0.01, "width": 8}, checkpoint=path, log_every=100)
    with pytest.raises(MinigenError, match="a toy checkpoint, not a gan one"):
        fit(step, _regression()[0], 5, kind="gan", checkpoint=path, resume=True)
    with pytest.raises(MinigenError, match=r"made with width 8 \(not 9\)"):
        fit(step, _regression()[0], 5, kind="toy", settings={"lr": 0.01, "width": 9}, checkpoint=path, resume=True)
    with pytest.raises(MinigenError, match="already at step 3 of 3"):
        fit(step, _regression()[0], 3, kind="toy", settings={"lr": 0.01, "width": 8}, checkpoint=path, resume=True)
    with pytest.raises(MinigenError, match="--resume: no checkpoint at"):
        fit(step, _regression()[0], 3, kind="toy", checkpoint=str(tmp_path / "none.npz"), resume=True)


def test_a_nan_loss_stops_and_names_the_last_good_checkpoint_of_this_run(tmp_path):
    path = str(tmp_path / "run.npz")
    state, step = _regression()

    def poisoned(state, i):
        out = step(state, i)
        return {"mse": out["mse"] * float("nan")} if i == 9 else out
    with pytest.raises(MinigenError, match=r"loss mse became nan at step 9; stopped; the last good checkpoint is"):
        fit(poisoned, state, 20, kind="toy", checkpoint=path, save_every=4, log_every=100)
    assert ck.load(path).step == 8
    # A file left by an earlier run is not this run's good state: it is not named.
    state, step = _regression()
    with pytest.raises(MinigenError, match=r"became nan at step 9; stopped$"):
        fit(poisoned, state, 20, kind="toy", checkpoint=path, save_every=0, log_every=100)
    assert ck.load(path).step == 8  # and it is left as it was


def test_sigterm_saves_the_state_and_stops_with_one_line(tmp_path):
    path = str(tmp_path / "run.npz")
    state, step = _regression()

    def signalled(state, i):
        if i == 5:
            os.kill(os.getpid(), signal.SIGTERM)
        return step(state, i)
    with pytest.raises(Interrupted, match=r"stopped by SIGTERM at step 5 of 50; saved .*run.npz \(continue with "
                                          r"--resume\)") as e:
        fit(signalled, state, 50, kind="toy", checkpoint=path, log_every=100)
    assert e.value.exit_code == 130 and ck.load(path).step == 5
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_time_limit_and_an_early_stop_end_the_run_with_a_checkpoint(tmp_path):
    path = str(tmp_path / "run.npz")
    state, step = _regression()
    fit(step, state, 1000, kind="toy", checkpoint=path, time_limit=0.0, log_every=100)
    assert state.stop == "time_limit" and state.step == 1 and ck.load(path).step == 1
    state, step = _regression()

    def stopping(state, i):
        out = step(state, i)
        if i == 4:
            state.stop = "converged"
        return out
    fit(stopping, state, 1000, kind="toy", checkpoint=path, log_every=100)
    assert state.step == 4 and ck.load(path).step == 4


def test_snapshots_run_every_n_steps():
    state, step = _regression()
    seen = []
    fit(step, state, 10, kind="toy", snapshot_every=3, on_snapshot=lambda s, i: seen.append((i, s.step)),
        log_every=100)
    assert seen == [(3, 3), (6, 6), (9, 9)]


def test_a_step_with_two_networks_two_optimisers_k_inner_steps_and_an_ema_copy_resumes_exactly(tmp_path):
    """The shape of a GAN step: k updates of D, then one of G, G averaged; every part is checkpointed."""
    def setup():
        minigen.manual_seed(1)
        g, d = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
        return RunState(modules={"g": g, "d": d},
                        optimizers={"g": optim.Adam(g.parameters(), lr=1e-2), "d": optim.RMSprop(d.parameters(), 5e-3)},
                        ema={"g": optim.EMA(g.parameters(), decay=0.9)}, rngs={"noise": np.random.default_rng(3)})

    def step(s, i):
        g, d, rng = s.modules["g"], s.modules["d"], s.rngs["noise"]
        for _ in range(2):
            s.optimizers["d"].zero_grad()
            real = Tensor(rng.standard_normal((8, 2)).astype(np.float32) + 2)
            fake = g(Tensor(rng.standard_normal((8, 2)).astype(np.float32)))
            loss_d = (d(fake.detach()) - d(real)).mean()
            loss_d.backward()
            s.optimizers["d"].step()
        s.optimizers["g"].zero_grad()
        loss_g = -d(g(Tensor(rng.standard_normal((8, 2)).astype(np.float32)))).mean()
        loss_g.backward()
        s.optimizers["g"].step()
        s.ema["g"].update()
        return {"d": loss_d, "g": loss_g}

    full = setup()
    fit(step, full, 6, kind="toy-gan", log_every=100)
    path = str(tmp_path / "gan.npz")
    part = setup()
    fit(step, part, 4, kind="toy-gan", checkpoint=path, log_every=100)
    rest = setup()
    fit(step, rest, 6, kind="toy-gan", checkpoint=path, resume=True, log_every=100)
    assert rest.history == full.history
    for a, b in zip(rest.ema["g"].shadow, full.ema["g"].shadow):
        np.testing.assert_array_equal(a, b)


def test_check_settings_compares_as_stored_and_skips_keys_older_files_lack(capsys):
    check_settings("c.npz", {"scales": [2, 3], "lr": 0.1}, {"scales": (2, 3), "lr": 0.1, "augment": False})
    check_settings("c.npz", {"lr": 0.1}, {"lr": 0.01}, may_change=("lr",))
    assert capsys.readouterr().out == "c.npz: resuming with lr 0.01 (the checkpoint was made with 0.1)\n"
    with pytest.raises(MinigenError, match=r'made with model "' + "x" * 36 + r'\.\.\. \(not "y"\)'):
        check_settings("c.npz", {"model": "x" * 50}, {"model": "y"})
