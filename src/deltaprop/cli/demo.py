"""``deltaprop demo``: the main job of ``make demo``.

1. Train an MLP on scikit-learn's bundled handwritten digits, one line per epoch, and report
   the test accuracy.
2. Print one forward and backward pass of a tiny 2-2-1 network (examples/two_two_one.py)
   step by step, with the shapes and numbers the engine recorded.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from .. import SGD, Adam, Callback, evaluate, fit, mlp
from ..nn.losses import BCELoss
from ..training.preprocessing import Standardizer
from ._common import positive_int, random_seed

# the settings `make demo` trains with; tests/test_training.py asserts they reach 0.97
# (over seeds 0-5 they reached 0.978-0.987 on the 450 test images)
DIGITS_SETTINGS = {"sizes": [64, 256, 10], "activation": "relu", "lr": 0.001, "epochs": 30,
                   "batch_size": 32, "seed": 0}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="train on the bundled digits, then show one backward pass step by step",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  deltaprop demo\n  deltaprop demo --epochs 5 --seed 1\n")
    parser.add_argument("--epochs", type=positive_int, default=DIGITS_SETTINGS["epochs"],
                        help="training epochs (default: %(default)s)")
    parser.add_argument("--seed", type=random_seed, default=DIGITS_SETTINGS["seed"],
                        help="seed of the weights, shuffling and split (default: %(default)s)")
    parser.set_defaults(run=run)


class EpochPrinter(Callback):
    """One line per epoch: loss, accuracy, validation loss and accuracy, time."""

    def on_train_begin(self, logs):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        fields = "  ".join(f"{key} {value:.4f}" for key, value in logs.items() if key != "lr")
        print(f"epoch {epoch:3d}  {fields}  ({time.perf_counter() - self.start:.1f} s)",
              flush=True)


def load_digits_split(seed: int):
    """Digits split 75/25 with stratification, standardised with the training part's
    statistics only (needs scikit-learn)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        from . import CLIError

        raise CLIError("the demo needs scikit-learn for its bundled digits: "
                       "pip install 'deltaprop[datasets]'") from error
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                        random_state=seed, stratify=y)
    scaler = Standardizer().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def train_digits(epochs: int, seed: int, callbacks=()):
    """Train the demo network; returns (model, history, test scores)."""
    s = DIGITS_SETTINGS
    X_train, X_test, y_train, y_test = load_digits_split(seed)
    model = mlp(s["sizes"], activation=s["activation"], seed=seed)
    optimizer = Adam(model, lr=s["lr"])
    history = fit(model, X_train, y_train, loss="cross_entropy", optimizer=optimizer,
                  epochs=epochs, batch_size=s["batch_size"], seed=seed, validation_split=0.1,
                  callbacks=callbacks)
    return model, history, evaluate(model, X_test, y_test, loss="cross_entropy")


def _fmt(array) -> str:
    return np.array2string(np.asarray(array), precision=4, suppress_small=True,
                           separator=", ").replace("\n", "\n" + " " * 8)


def tiny_backward_walkthrough() -> str:
    """One step of the 2-2-1 tanh/sigmoid network on two samples, as plain text."""
    model = mlp([2, 2, 1], activation="tanh", output="sigmoid", dtype=np.float64)
    model[0].params["weight"][...] = [[0.5, -0.3], [0.2, 0.4]]
    model[0].params["bias"][...] = [0.1, -0.1]
    model[2].params["weight"][...] = [[0.7, -0.6]]
    model[2].params["bias"][...] = [0.05]
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    y = np.array([[1.0], [0.0]])
    loss = BCELoss()
    output = model.forward(X)
    value, grad = loss(output, y)
    model.backward(grad)
    lines = ["One training step of a 2-2-1 network (tanh hidden, sigmoid output, binary "
             "cross-entropy), N = 2 samples, batch rows, W of shape (out, in):", "",
             "Forward (record Z and A):", f"  A0 = X {X.shape}", f"        {_fmt(X)}"]
    for r in model.records():
        w = r.dense.params["weight"]
        lines += [f"  Z{r.index} = A{r.index - 1} W{r.index}ᵀ + b{r.index}   "
                  f"{r.a_prev.shape} @ {w.T.shape} -> {r.z.shape}", f"        {_fmt(r.z)}",
                  f"  A{r.index} = {type(r.activation).__name__.lower()}(Z{r.index})",
                  f"        {_fmt(r.a)}"]
    last = len(model.records())
    lines += ["", f"Loss: L = mean BCE(A{last}, Y) = {float(value):.6f}", "", "Backward:"]
    for r in reversed(model.records()):
        l = r.index  # noqa: E741 - the layer index of the equations
        if l == last:
            lines += [f"  Δ{l} = ∂L/∂A{l} ⊙ σ′(Z{l}) = (A{l} − Y)/N   {r.delta.shape}",
                      f"        {_fmt(r.delta)}"]
        lines += [f"  ∂L/∂W{l} = Δ{l}ᵀ A{l - 1}   {r.delta.T.shape} @ {r.a_prev.shape} -> "
                  f"{r.grad_weight.shape}", f"        {_fmt(r.grad_weight)}",
                  f"  ∂L/∂b{l} = Σₙ Δ{l}   -> {r.grad_bias.shape}", f"        {_fmt(r.grad_bias)}"]
        if l > 1:
            below = model.records()[l - 2]
            lines += [f"  ∂L/∂A{l - 1} = Δ{l} W{l}   {r.delta.shape} @ "
                      f"{r.dense.params['weight'].shape} -> {r.grad_a_prev.shape}",
                      f"        {_fmt(r.grad_a_prev)}",
                      f"  Δ{l - 1} = ∂L/∂A{l - 1} ⊙ (1 − A{l - 1}²)   (tanh′ from the output)",
                      f"        {_fmt(below.delta)}"]
    lines += ["", "Update (SGD, η = 0.5): W ← W − η ∂L/∂W, b ← b − η ∂L/∂b"]
    SGD(model, lr=0.5).step()
    for r in model.records():
        lines += [f"  W{r.index} = {_fmt(r.dense.params['weight'])}"]
    return "\n".join(lines)


def run(args) -> int:
    print("Training a 64-256-10 ReLU MLP on scikit-learn's handwritten digits "
          f"(1797 images of 8x8 pixels), Adam, {args.epochs} epochs.")
    _, _, scores = train_digits(args.epochs, args.seed, callbacks=[EpochPrinter()])
    print(f"test accuracy {scores['accuracy']:.4f}  (test loss {scores['loss']:.4f})\n")
    print(tiny_backward_walkthrough())
    return 0
