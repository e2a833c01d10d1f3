"""The engine on ``array_api_strict`` arrays: end-to-end training gives NumPy's numbers.

``array_api_strict`` implements the array API standard and nothing more (no implicit NumPy
conversions, no flat indexing, no mixing with NumPy arrays), so training on it proves the
layer, loss and optimiser math only uses standard operations.
"""

from __future__ import annotations

import numpy as np
import pytest

from deltaprop import (
    SGD,
    Adam,
    AdamW,
    EarlyStopping,
    evaluate,
    fit,
    mlp,
    predict,
    predict_classes,
    predict_proba,
)
from deltaprop.nn._backend import to_numpy

xps = pytest.importorskip("array_api_strict")
STRICT_ARRAY = type(xps.asarray(0.0))

EPOCHS = 4


def _classification(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(48, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    return X, y


def _regression(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(48, 3))
    return X, np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]])


def _train(X, y, *, sizes, loss, make_optimizer, strict: bool, **fit_kwargs):
    model = mlp(sizes, activation="tanh", seed=1, dtype=np.float64)
    if strict:
        X, y = xps.asarray(X), xps.asarray(y)
        model.to(X)
    history = fit(model, X, y, loss=loss, optimizer=make_optimizer(model), epochs=EPOCHS,
                  batch_size=16, seed=3, **fit_kwargs)
    return model, history, X, y


CASES = {
    "cross_entropy_sgd_momentum": (_classification, [4, 6, 3], "cross_entropy",
                                   lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True,
                                                 weight_decay=1e-3)),
    "mse_adam": (_regression, [3, 6, 2], "mse", lambda m: Adam(m, lr=0.05, weight_decay=0.01)),
    "bce_logits_adamw": (lambda: (_classification()[0], (_classification()[1] > 0)
                                  .astype(np.float64)),
                         [4, 5, 1], "bce_with_logits", lambda m: AdamW(m, lr=0.05)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_training_on_strict_arrays_matches_numpy(case):
    make_data, sizes, loss, make_optimizer = CASES[case]
    X, y = make_data()
    reference, ref_history, _, _ = _train(X, y, sizes=sizes, loss=loss,
                                          make_optimizer=make_optimizer, strict=False,
                                          validation_split=0.25)
    model, history, _, _ = _train(X, y, sizes=sizes, loss=loss,
                                  make_optimizer=make_optimizer, strict=True,
                                  validation_split=0.25)
    # the parameters stayed strict arrays all along
    for name, value in model.named_parameters():
        assert isinstance(value, STRICT_ARRAY), name
    assert history.history.keys() == ref_history.history.keys()
    for key in ref_history.history:
        np.testing.assert_allclose(history[key], ref_history[key], rtol=1e-6, atol=1e-12,
                                   err_msg=key)
    for key, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[key], value, rtol=1e-6, atol=1e-12,
                                   err_msg=key)
    assert ref_history["loss"][-1] < ref_history["loss"][0]          # it did train


def test_predict_and_evaluate_on_strict_arrays():
    X, y = _classification()
    reference, _, _, _ = _train(X, y, sizes=[4, 6, 3], loss="cross_entropy",
                                make_optimizer=lambda m: SGD(m, lr=0.1), strict=False)
    model, _, X_strict, y_strict = _train(X, y, sizes=[4, 6, 3], loss="cross_entropy",
                                          make_optimizer=lambda m: SGD(m, lr=0.1), strict=True)
    output = predict(model, X_strict, batch_size=10)            # several chunks, a short last one
    assert isinstance(output, STRICT_ARRAY) and output.shape == (48, 3)
    np.testing.assert_allclose(to_numpy(output), predict(reference, X), rtol=1e-6)
    proba = predict_proba(model, X_strict, loss="cross_entropy")
    assert isinstance(proba, STRICT_ARRAY)
    np.testing.assert_allclose(to_numpy(proba), predict_proba(reference, X, loss="cross_entropy"),
                               rtol=1e-6)
    np.testing.assert_array_equal(predict_classes(model, X_strict, loss="cross_entropy"),
                                  predict_classes(reference, X, loss="cross_entropy"))
    scores = evaluate(model, X_strict, y_strict, loss="cross_entropy")
    expected = evaluate(reference, X, y, loss="cross_entropy")
    assert scores.keys() == expected.keys()
    for key in expected:
        assert scores[key] == pytest.approx(expected[key], rel=1e-6)


def test_strict_training_with_sample_weight_and_early_stopping():
    X, y = _regression()
    weights = np.linspace(0.5, 2.0, X.shape[0])
    runs = []
    for strict in (False, True):
        runs.append(_train(X, y, sizes=[3, 6, 2], loss="mse", strict=strict,
                           make_optimizer=lambda m: SGD(m, lr=0.05, momentum=0.5),
                           sample_weight=weights,
                           validation_data=((xps.asarray(X[:12]), xps.asarray(y[:12]))
                                            if strict else (X[:12], y[:12])),
                           early_stopping=EarlyStopping(patience=2)))
    (reference, ref_history, _, _), (model, history, _, _) = runs
    np.testing.assert_allclose(history["loss"], ref_history["loss"], rtol=1e-6)
    np.testing.assert_allclose(history["val_r2"], ref_history["val_r2"], rtol=1e-6)
    for key, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[key], value, rtol=1e-6, err_msg=key)


def test_strict_input_to_a_numpy_model_is_rejected_not_mixed():
    """A model left on NumPy cannot silently mix namespaces with strict input."""
    X, y = _classification()
    model = mlp([4, 6, 3], seed=1, dtype=np.float64)
    with pytest.raises(TypeError, match=r"model\.to\(x\)"):
        fit(model, xps.asarray(X), xps.asarray(y), loss="cross_entropy",
            optimizer=SGD(model, lr=0.1), epochs=1)
