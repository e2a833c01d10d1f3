r"""scikit-learn estimators on the deltaprop engine: ``MLPClassifier`` and ``MLPRegressor``.

The parameters carry scikit-learn's ``MLPClassifier`` names where they mean the same thing,
and every optimiser step is the engine's four lines (forward, loss, backward, step) on one
mini-batch.  Differences from scikit-learn, stated:

- the loss is the *weighted mean* :math:`\sum_n w_n \ell_n / \sum_n w_n` (``sample_weight``
  times the ``class_weight`` of the row's class), and the L2 term
  :math:`\frac{\alpha}{2 \sum_n w_n} \sum_l \lVert W^{(l)} \rVert^2` (weights, not biases) is
  added per batch, so a weight of 2 is the same as a duplicated row (full batches);
- binary classification uses ONE logit with ``BCEWithLogitsLoss``; several classes use
  softmax + cross-entropy; a 2-D 0/1 ``y`` is multi-label (one logit per label);
- with ``early_stopping=True`` the stopping rule watches the validation LOSS and keeps it in
  ``validation_loss_curve_`` (scikit-learn keeps an accuracy / R² in ``validation_scores_``);
- ``solver="adamw"`` is Adam with decoupled weight decay ``alpha`` (no L2 term in the loss);
- there is no ``lbfgs`` solver and no learning-rate schedule option;
- the network computes in ``dtype="float64"`` by default (scikit-learn's checks compare
  predictions to 1e-7); ``dtype="float32"`` halves memory and time.

This package imports scikit-learn at the top: it is only imported on demand
(``from deltaprop.sklearn import MLPClassifier``), never by ``import deltaprop``.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

try:
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
except ImportError as error:                                  # pragma: no cover
    raise ImportError("deltaprop.sklearn needs scikit-learn >= 1.6: "
                      "pip install 'deltaprop[sklearn]'") from error

from ..nn.functional import sigmoid, softmax
from ..nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from ._base import _BaseMLP

__all__ = ["MLPClassifier", "MLPRegressor"]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier trained by deltaprop's backpropagation.

    Parameters are scikit-learn's ``MLPClassifier``'s (see the module docstring for the
    differences), plus ``class_weight``: ``None``, ``"balanced"`` (weights
    ``n_samples / (n_classes · count)``) or ``{label: weight}``, multiplied into
    ``sample_weight``.

    Attributes
    ----------
    classes_, n_features_in_, loss_, loss_curve_, best_loss_, n_iter_, t_ :
        As in scikit-learn.
    validation_loss_curve_ : list of float
        The validation loss per epoch (``early_stopping=True`` only).
    model_ : Sequential
        The trained deltaprop network (logits out).
    coefs_, intercepts_ : list of arrays
        The weights in scikit-learn's ``(in, out)`` layout.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, momentum=0.9,
                 nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 dtype="float64", class_weight=None):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate_init=learning_rate_init,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state,
                         tol=tol, early_stopping=early_stopping,
                         validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, dtype=dtype)
        self.class_weight = class_weight

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> MLPClassifier:
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call."""
        return self._partial_fit(X, y, sample_weight, classes)

    def _check_params(self) -> None:
        super()._check_params()
        weights = self.class_weight
        if weights is None or (isinstance(weights, str) and weights == "balanced"):
            return
        if not isinstance(weights, dict) or not all(
                not isinstance(w, bool) and isinstance(w, Real) and math.isfinite(w) and w >= 0
                for w in weights.values()):
            self._refuse("class_weight", "None, 'balanced' or a dict {label: finite weight "
                         ">= 0}", weights)

    def _row_weights(self, y, sample_weight, *, incremental):
        check_classification_targets(y)
        if self.class_weight is None:
            return sample_weight
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(f"class_weight={self.class_weight!r} needs the whole data set; "
                             "use fit, or pass a dict of weights for partial_fit")
        per_row = compute_sample_weight(self.class_weight, y)
        return per_row if sample_weight is None else per_row * sample_weight

    def _targets(self, y, *, reset, classes=None):
        if reset:
            self._multilabel = type_of_target(y) == "multilabel-indicator"
            if classes is None and self._multilabel:
                classes = np.arange(y.shape[1])
            if classes is None and getattr(self, "_in_partial", False):
                raise ValueError("classes must be passed on the first call to partial_fit")
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if not self._multilabel and labels.size < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 classes in y, "
                                 f"got 1 class: {labels!r}")
            self.classes_ = labels
        if self._multilabel:
            if y.ndim != 2 or y.shape[1] != self.classes_.size:
                raise ValueError(f"multi-label y must have shape (N, {self.classes_.size}), "
                                 f"got {y.shape}")
            return np.asarray(y, dtype=self.dtype), self.classes_.size
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels {unknown!r} not in classes_ {self.classes_!r}")
        codes = np.searchsorted(self.classes_, y)
        if self.classes_.size == 2:
            return codes.astype(self.dtype).reshape(-1, 1), 1    # one logit
        return codes.astype(np.int64), self.classes_.size

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        self._in_partial = not hasattr(self, "model_")
        try:
            return super()._partial_fit(X, y, sample_weight, classes)
        finally:
            self._in_partial = False

    def _loss(self):
        if self._multilabel or self.classes_.size == 2:
            return BCEWithLogitsLoss()
        return CrossEntropyLoss()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(N, n_classes)`` (per label for multi-label)."""
        logits = self._output(X)
        if self._multilabel:
            return np.asarray(sigmoid(np, logits))
        if self.classes_.size == 2:
            p = np.asarray(sigmoid(np, logits))[:, 0]
            return np.column_stack([1 - p, p])
        return np.asarray(softmax(np, logits))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (``(N, n_labels)`` 0/1 for multi-label)."""
        logits = self._output(X)
        if self._multilabel:
            return (logits > 0).astype(int)
        if self.classes_.size == 2:
            return self.classes_[(logits[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor (mean squared error) trained by deltaprop.

    ``y`` of shape ``(N,)`` or ``(N, k)``; ``predict`` returns the same layout.  Attributes as
    :class:`MLPClassifier` (no ``classes_``).
    """

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights."""
        return self._partial_fit(X, y, sample_weight)

    def _targets(self, y, *, reset, classes=None):
        with np.errstate(over="ignore"):                  # reported just below
            targets = np.asarray(y, dtype=self.dtype)
        if not np.all(np.isfinite(targets)):
            index = int(np.argmax(~np.isfinite(targets).reshape(-1)))
            raise ValueError(f"{type(self).__name__}: y holds {float(np.ravel(y)[index])!r} (flat "
                             f"index {index}), beyond the range of the network's {self.dtype}: "
                             "scale the targets (e.g. StandardScaler) or use dtype='float64'")
        targets = targets.reshape(-1, 1) if targets.ndim == 1 else targets
        if reset:
            self._n_outputs = targets.shape[1]
        elif targets.shape[1] != self._n_outputs:
            raise ValueError(f"y must have {self._n_outputs} output column(s) as in the first "
                             f"call, got {targets.shape[1]}")
        return targets, targets.shape[1]

    def _loss(self):
        return MSELoss()

    def predict(self, X: Any) -> np.ndarray:
        output = self._output(X)
        return output[:, 0] if self._n_outputs == 1 else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
