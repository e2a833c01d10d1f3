"""Learning-rate schedules: the same rates as ``torch.optim.lr_scheduler``, bad arguments, fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltaprop import (
    SGD,
    CosineAnnealingLR,
    ExponentialLR,
    ReduceLROnPlateau,
    StepLR,
    fit,
    mlp,
)

EPOCHS = 30
BASE_LR = 0.5


def _optimizer(lr: float = BASE_LR):
    return SGD(mlp([2, 3, 1], seed=0), lr=lr)


def _rates(schedule, metrics=None) -> list[float]:
    """The optimiser's ``lr`` after each of ``EPOCHS`` calls to ``step``."""
    rates = []
    for epoch in range(EPOCHS):
        if metrics is None:
            schedule.step()
        else:
            schedule.step(metrics[epoch])
        rates.append(schedule.optimizer.lr)
    return rates


def _torch_rates(torch, make, metrics=None) -> list[float]:
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=BASE_LR)
    scheduler = make(optimizer)
    rates = []
    for epoch in range(EPOCHS):
        optimizer.step()           # (no gradient: nothing moves) keeps torch's order check quiet
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


CASES = {
    "step": (lambda o: StepLR(o, step_size=4, gamma=0.5),
             lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    "step_default_gamma": (lambda o: StepLR(o, step_size=7),
                           lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=7)),
    "exponential": (lambda o: ExponentialLR(o, gamma=0.9),
                    lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    # 30 epochs run past T_max = 12: the cosine comes back up, as PyTorch's does
    "cosine": (lambda o: CosineAnnealingLR(o, T_max=12, eta_min=0.01),
               lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.01)),
    "cosine_to_zero": (lambda o: CosineAnnealingLR(o, T_max=30),
                       lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_schedule_matches_torch(case):
    torch = pytest.importorskip("torch")
    ours, theirs = CASES[case]
    expected = _torch_rates(torch, lambda o: theirs(torch, o))
    got = _rates(ours(_optimizer()))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    assert len(set(np.round(got, 12))) > 2            # the rate really changes


# a noisy, mostly falling metric with plateaus (both modes see improvements and stalls)
PLATEAU_METRIC = [1.0, 0.9, 0.85, 0.86, 0.86, 0.85, 0.84, 0.84, 0.84, 0.84,
                  0.70, 0.70, 0.71, 0.72, 0.69, 0.69, 0.69, 0.69, 0.69, 0.69,
                  0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.5]

PLATEAU_CASES = {
    "defaults_patience2": {"patience": 2},
    "factor_min_lr": {"patience": 1, "factor": 0.5, "min_lr": 0.1},
    "cooldown": {"patience": 1, "factor": 0.5, "cooldown": 2},
    "threshold": {"patience": 0, "factor": 0.7, "threshold": 0.05},
    "max_mode": {"mode": "max", "patience": 1, "factor": 0.5},
}


@pytest.mark.parametrize("case", list(PLATEAU_CASES))
def test_reduce_on_plateau_matches_torch(case):
    torch = pytest.importorskip("torch")
    settings = PLATEAU_CASES[case]
    expected = _torch_rates(torch, lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
        o, **settings), metrics=PLATEAU_METRIC)
    got = _rates(ReduceLROnPlateau(_optimizer(), **settings), metrics=PLATEAU_METRIC)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[-1] < BASE_LR or settings.get("mode") == "max"


def test_closed_forms_without_torch():
    got = _rates(StepLR(_optimizer(), step_size=3, gamma=0.1))
    assert got[:7] == pytest.approx([0.5, 0.5, 0.05, 0.05, 0.05, 0.005, 0.005])
    got = _rates(ExponentialLR(_optimizer(), gamma=0.5))
    assert got[:3] == pytest.approx([0.25, 0.125, 0.0625])
    got = _rates(CosineAnnealingLR(_optimizer(), T_max=10, eta_min=0.1))
    assert got[4] == pytest.approx(0.1 + 0.4 * (1 + math.cos(math.pi / 2)) / 2)  # epoch 5
    assert got[9] == pytest.approx(0.1)                                          # epoch T_max


def test_plateau_reduces_after_patience_plus_one_bad_epochs():
    optimizer = _optimizer(1.0)
    schedule = ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    rates = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        schedule.step(metric)
        rates.append(optimizer.lr)
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_state_dict_round_trip():
    schedule = StepLR(_optimizer(), step_size=2, gamma=0.5)
    for _ in range(3):
        schedule.step()
    state = schedule.state_dict()
    assert "optimizer" not in state
    resumed = StepLR(_optimizer(), step_size=9, gamma=0.9)
    resumed.load_state_dict(state)
    for _ in range(4):
        schedule.step()
        resumed.step()
        assert resumed.optimizer.lr == schedule.optimizer.lr


BAD = [
    (StepLR, {"step_size": 0}, "step_size", "0"),
    (StepLR, {"step_size": 2.5}, "step_size", "2.5"),
    (StepLR, {"step_size": True}, "step_size", "True"),
    (StepLR, {"step_size": 2, "gamma": 0.0}, "gamma", "0.0"),
    (StepLR, {"step_size": 2, "gamma": -0.5}, "gamma", "-0.5"),
    (StepLR, {"step_size": 2, "gamma": math.nan}, "gamma", "nan"),
    (ExponentialLR, {"gamma": 0}, "gamma", "0"),
    (ExponentialLR, {"gamma": math.inf}, "gamma", "inf"),
    (CosineAnnealingLR, {"T_max": 0}, "T_max", "0"),
    (CosineAnnealingLR, {"T_max": 10.0}, "T_max", "10.0"),
    (CosineAnnealingLR, {"T_max": 10, "eta_min": -0.1}, "eta_min", "-0.1"),
    (ReduceLROnPlateau, {"mode": "avg"}, "mode", "'avg'"),
    (ReduceLROnPlateau, {"factor": 1.0}, "factor", "1.0"),
    (ReduceLROnPlateau, {"factor": 0.0}, "factor", "0.0"),
    (ReduceLROnPlateau, {"patience": -1}, "patience", "-1"),
    (ReduceLROnPlateau, {"cooldown": 1.5}, "cooldown", "1.5"),
    (ReduceLROnPlateau, {"threshold": -1e-4}, "threshold", "-0.0001"),
    (ReduceLROnPlateau, {"min_lr": -1.0}, "min_lr", "-1.0"),
]


@pytest.mark.parametrize(("cls", "kwargs", "name", "shown"), BAD,
                         ids=[f"{c.__name__}-{n}-{s}" for c, _, n, s in BAD])
def test_bad_arguments_raise_naming_argument_and_value(cls, kwargs, name, shown):
    with pytest.raises(ValueError) as info:
        cls(_optimizer(), **kwargs)
    message = str(info.value)
    assert cls.__name__ in message and name in message and shown in message


def test_schedule_needs_a_deltaprop_optimizer():
    with pytest.raises(TypeError, match="StepLR expects a deltaprop optimizer, got dict"):
        StepLR({"lr": 0.1}, step_size=2)


def test_plateau_step_needs_the_metric():
    with pytest.raises(ValueError, match="needs the monitored metric"):
        ReduceLROnPlateau(_optimizer()).step()


def _regression(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 2))
    return X, X @ np.array([1.0, -2.0]) + 0.5


def test_fit_applies_step_schedule_history_lr():
    X, y = _regression()
    model = mlp([2, 4, 1], seed=0)
    optimizer = SGD(model, lr=0.1)
    history = fit(model, X, y, loss="mse", optimizer=optimizer, epochs=6, seed=0,
                  schedule=StepLR(optimizer, step_size=2, gamma=0.5))
    # history["lr"][e-1] is the rate used during epoch e; the schedule steps after each epoch
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert optimizer.lr == pytest.approx(0.0125)


def test_fit_applies_cosine_schedule():
    X, y = _regression()
    model = mlp([2, 4, 1], seed=0)
    optimizer = SGD(model, lr=0.2)
    history = fit(model, X, y, loss="mse", optimizer=optimizer, epochs=5, seed=0,
                  schedule=CosineAnnealingLR(optimizer, T_max=4))
    expected = [0.2 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(history["lr"], expected, atol=1e-15)


def test_fit_feeds_plateau_the_validation_loss():
    """Replaying the logged ``val_loss`` into a fresh schedule gives the rates fit used."""
    X, y = _regression()
    model = mlp([2, 4, 1], seed=0)
    optimizer = SGD(model, lr=0.05)
    history = fit(model, X, y, loss="mse", optimizer=optimizer, epochs=25, batch_size=16,
                  seed=0, validation_split=0.25,
                  schedule=ReduceLROnPlateau(optimizer, factor=0.5, patience=1,
                                             threshold=0.3))
    replay = SGD(mlp([2, 4, 1], seed=0), lr=0.05)
    schedule = ReduceLROnPlateau(replay, factor=0.5, patience=1, threshold=0.3)
    expected = []
    for val_loss in history["val_loss"]:
        expected.append(replay.lr)
        schedule.step(val_loss)
    assert history["lr"] == expected
    assert min(history["lr"]) < 0.05                  # it did reduce at least once
