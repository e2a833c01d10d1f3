"""The README's data set table: ``deltaprop train NAME`` with no other flag, next to
scikit-learn's MLP with its defaults on the same split (and a linear regression for
regression sets).

Run from a checkout with the extras installed (``make datasets-table``)::

    python benchmarks/datasets_table.py            # every data set `deltaprop datasets` lists
    python benchmarks/datasets_table.py iris moons # some of them

For each data set: ``deltaprop train NAME --out DIR`` (the command line's defaults, seed 0)
and the test figure it records in DIR/model.safetensors; then the same rows split the same
way (:func:`deltaprop.datasets.train_test_split`, test part 0.2, seed 0, stratified for
classification) and standardised with the training part's statistics, for
``MLPClassifier(random_state=0)`` / ``MLPRegressor(random_state=0)`` (scikit-learn's
defaults: 100 ReLU units, Adam, 200 epochs; the regression target unscaled, as
scikit-learn leaves it) and ``LinearRegression()``.  Figures: test accuracy, or test R².
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import warnings
from pathlib import Path

from deltaprop import datasets
from deltaprop import io as dio
from deltaprop.cli import main
from deltaprop.datasets import Standardizer, train_test_split

SEED, TEST_SPLIT = 0, 0.2


def ours(name: str) -> float:
    """The test figure of ``deltaprop train NAME`` (every other flag at its default)."""
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", name, "--quiet", "--out", out])
        if code != 0:
            raise RuntimeError(f"deltaprop train {name} failed with exit code {code}")
        test = dio.load_bundle(Path(out) / "model.safetensors").metadata["test"]
    return test.get("accuracy", test.get("r2"))


def theirs(name: str) -> tuple[float, float | None]:
    """scikit-learn's MLP (defaults) and, for regression, LinearRegression, same split."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    data = datasets.load(name, seed=SEED) if "seed" in _options(name) else datasets.load(name)
    classification = data.task == "classification"
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=TEST_SPLIT, seed=SEED, stratify=classification)
    scaler = Standardizer().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    mlp = (MLPClassifier if classification else MLPRegressor)(random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)      # 200 epochs, as it comes
        mlp_score = mlp.fit(X_train, y_train).score(X_test, y_test)
    linear = None if classification else \
        LinearRegression().fit(X_train, y_train).score(X_test, y_test)
    return mlp_score, linear


def _options(name: str) -> set[str]:
    import inspect

    return set(inspect.signature(datasets.REGISTRY[name]).parameters)


def table(names: list[str]) -> str:
    rows = ["| data set | task | `deltaprop train NAME` | scikit-learn MLP | linear "
            "regression |", "|---|---|---|---|---|"]
    for name in names:
        task = datasets.load(name).task if name != "mnist1d" else "classification"
        figure = "accuracy" if task == "classification" else "R²"
        mlp, linear = theirs(name)
        rows.append(f"| `{name}` | {task} ({figure}) | {ours(name):.3f} | {mlp:.3f} | "
                    + ("–" if linear is None else f"{linear:.3f}") + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(sys.argv[1:] or [name for name, _ in datasets.available()]))
