"""The engine-driving core shared by deltaprop's scikit-learn estimators: parameter checks,
building the network, the epoch loop (forward, loss, backward, step per mini-batch), early
stopping on the validation loss, and scikit-learn's ``(in, out)`` weight layout."""

from __future__ import annotations

import copy
import math
import warnings
from numbers import Integral

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import (
        _check_sample_weight,
        check_is_fitted,
        column_or_1d,
        validate_data,
    )
except ImportError as error:                                  # pragma: no cover
    raise ImportError("deltaprop.sklearn needs scikit-learn >= 1.6: "
                      "pip install 'deltaprop[sklearn]'") from error

from .._checks import check_choice, check_flag, check_integer, check_number, refuse
from ..nn._backend import resolve_dtype
from ..nn.model import mlp
from ..nn.optim import SGD, Adam, AdamW
from ..training import step as training
from ..training._step_hooks import FiniteLoss, LoopModel, NonFiniteLossError
from ..training.evaluation import predict as _engine_predict
from ..training.validation import check_dtype_range, check_weights

_SOLVERS = ("adam", "adamw", "sgd")
_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
# (name, low, high, low open, high open): the interval each real parameter must lie in
_NUMBERS = (("alpha", 0.0, math.inf, False, True), ("tol", 0.0, math.inf, False, True),
            ("learning_rate_init", 0.0, math.inf, True, True),
            ("epsilon", 0.0, math.inf, True, True),
            ("validation_fraction", 0.0, 1.0, True, True),
            ("momentum", 0.0, 1.0, False, False),
            ("beta_1", 0.0, 1.0, False, True), ("beta_2", 0.0, 1.0, False, True))


class _BaseMLP(BaseEstimator):
    """The shared training loop; subclasses say how targets become model outputs."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, momentum=0.9,
                 nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 dtype="float64"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.dtype = dtype

    # -- what the subclasses define -----------------------------------------------------------
    def _targets(self, y, *, reset: bool, classes=None):
        """Encode ``y`` for the engine; returns (targets, n_outputs)."""
        raise NotImplementedError  # pragma: no cover

    def _loss(self):
        raise NotImplementedError  # pragma: no cover

    def _row_weights(self, y, sample_weight, *, incremental: bool):
        return sample_weight

    # -- public API -----------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train from scratch for up to ``max_iter`` epochs. Returns self."""
        self._check_params()
        return self._fit(X, y, sample_weight, incremental=False, classes=None)

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        self._check_params()
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes):
        """Check, encode, train.  However it fails, a ``fit`` leaves the estimator unfitted
        and a ``partial_fit`` of a fitted one leaves it as it was before the call."""
        first = not (incremental and hasattr(self, "model_"))
        saved = None if first else self._fitted_state()
        self._incremental_from = None if first else self.n_iter_
        try:
            X, targets, weights = self._prepare(X, y, sample_weight, first=first,
                                                incremental=incremental, classes=classes)
            self._run_epochs(X, targets, weights, epochs=1 if incremental else self.max_iter,
                             incremental=incremental)
        except Exception:
            if first:                                 # no half-trained estimator left behind
                self._forget_fit()
            else:                                     # partial_fit: back to before this call
                self._restore_fitted_state(saved)
            raise
        return self

    def _prepare(self, X, y, sample_weight, *, first: bool, incremental: bool, classes):
        """Validated ``X``, the encoded targets and the row weights; a new network when
        ``first``."""
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32),
                             y_numeric=isinstance(self, RegressorMixin), reset=first)
        check_dtype_range(X, self.dtype, "X")           # 1e300 would be inf in float32
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        weights = self._row_weights(y, sample_weight, incremental=incremental)
        if weights is not None:           # >= 0, not all 0, a sum the network's dtype holds
            check_weights(weights, X.shape[0], self.dtype)
        targets, n_outputs = self._targets(y, reset=first, classes=classes)
        if first:
            self._initialize(X.shape[1], n_outputs)
        return X, targets, weights

    def _fitted_state(self) -> dict:
        """Copies of everything a ``partial_fit`` epoch changes (weights, optimiser state,
        counters, curves, random generator)."""
        return copy.deepcopy({"model": self.model_.state_dict(),
                              "optimizer": self._optimizer.state_dict(),
                              "rng": self._rng.bit_generator.state,
                              "fitted": {name: value for name, value in vars(self).items()
                                         if name.endswith("_") and name != "model_"
                                         and not name.startswith("__")},
                              "no_improvement": self._no_improvement})

    def _restore_fitted_state(self, saved: dict) -> None:
        self.model_.load_state_dict(saved["model"])
        self.model_.eval()
        self._optimizer.load_state_dict(saved["optimizer"])
        self._rng.bit_generator.state = saved["rng"]
        vars(self).update(saved["fitted"])
        self._no_improvement = saved["no_improvement"]

    def _check_params(self) -> None:
        """Every constructor parameter, checked at ``fit`` (scikit-learn's convention): a
        ValueError naming the estimator, the parameter, the rule and the value received."""
        sizes = self.hidden_layer_sizes
        try:
            sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        except TypeError:
            sizes = [sizes]
        if any(isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes):
            self._refuse("hidden_layer_sizes", "integers >= 1", self.hidden_layer_sizes)
        self._hidden = [int(s) for s in sizes]
        owner = f"{type(self).__name__}:"
        for name, choices in (("activation", _ACTIVATIONS), ("solver", _SOLVERS)):
            check_choice(owner, name, getattr(self, name), choices)
        for name in ("max_iter", "n_iter_no_change"):
            check_integer(owner, name, getattr(self, name), low=1)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_integer(owner, "batch_size", self.batch_size, low=1,
                          rule="'auto' or an integer >= 1")
        for name, low, high, low_open, high_open in _NUMBERS:
            check_number(owner, name, getattr(self, name), low=low, high=high,
                         low_open=low_open, high_open=high_open)
        for name in ("shuffle", "early_stopping", "nesterovs_momentum"):
            check_flag(owner, name, getattr(self, name))
        try:
            resolve_dtype(self.dtype)
        except TypeError:
            self._refuse("dtype", "'float32' or 'float64'", self.dtype)
        seed = self.random_state
        if not (seed is None or isinstance(seed, np.random.RandomState)
                or (isinstance(seed, Integral) and not isinstance(seed, bool)
                    and 0 <= seed < 2**32)):
            self._refuse("random_state", "None, an integer in [0, 2**32) or a RandomState",
                         self.random_state)

    def _refuse(self, name: str, rule: str, value) -> None:
        raise refuse(f"{type(self).__name__}:", name, rule, value)

    def _initialize(self, n_features: int, n_outputs: int) -> None:
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._rng = np.random.default_rng(seed)
        self.model_ = mlp([n_features, *self._hidden, n_outputs], activation=self.activation,
                          seed=self._rng, dtype=self.dtype)
        if self.solver == "sgd":
            self._optimizer = SGD(self.model_, lr=self.learning_rate_init,
                                  momentum=self.momentum,
                                  nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        else:
            kind = AdamW if self.solver == "adamw" else Adam
            decay = {"weight_decay": self.alpha} if self.solver == "adamw" else {}
            self._optimizer = kind(self.model_, lr=self.learning_rate_init,
                                   betas=(self.beta_1, self.beta_2), eps=self.epsilon, **decay)
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_: list[float] = []
        self.best_loss_ = np.inf
        self._no_improvement = 0
        if self.early_stopping:
            self.validation_loss_curve_: list[float] = []
            self.best_validation_loss_ = np.inf

    def _run_epochs(self, X, targets, weights, *, epochs: int, incremental: bool) -> None:
        validation = None
        if self.early_stopping and not incremental:
            X, targets, weights, validation = self._hold_out(X, targets, weights)
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)
        w_all = np.ones(n) if weights is None else weights
        loss, best_state = self._loss(), None
        for _ in range(epochs):
            order = self._rng.permutation(n) if self.shuffle else np.arange(n)
            total = 0.0
            for start in range(0, n, batch):
                rows = order[start:start + batch]
                total += self._step(X[rows], targets[rows], w_all[rows], loss)
            self.n_iter_ += 1
            self.loss_ = total / max(w_all.sum(), np.finfo(float).tiny)
            self._check_finite(self.loss_)
            self.loss_curve_.append(self.loss_)
            if incremental:
                self.best_loss_ = min(self.best_loss_, self.loss_)
                continue
            best_state = self._score_epoch(validation, loss, best_state)
            if self._no_improvement > self.n_iter_no_change:
                break
        else:
            if not incremental:
                warnings.warn(f"{type(self).__name__}: maximum iterations ({self.max_iter}) "
                              "reached and the optimization hasn't converged yet.",
                              ConvergenceWarning, stacklevel=3)
        if best_state is not None:
            self.model_.load_state_dict(best_state)             # the best validation epoch
        self.model_.eval()

    def _hold_out(self, X, targets, weights):
        """``validation_fraction`` of the rows (stratified for classifiers) for early
        stopping: ``(X, targets, weights)`` of the rest and ``(X, targets, weights)`` held out."""
        stratify = targets if isinstance(self, ClassifierMixin) and targets.ndim == 1 else None
        parts = train_test_split(X, targets, np.arange(X.shape[0]),
                                 test_size=self.validation_fraction, stratify=stratify,
                                 random_state=int(self._rng.integers(2**31)))
        X, X_val, targets, t_val, rows, rows_val = parts
        validation = (X_val, t_val, None if weights is None else weights[rows_val])
        if validation[2] is not None and not np.sum(validation[2].astype(self.dtype)) > 0:
            raise ValueError(f"{type(self).__name__}: every validation row held out for "
                             "early_stopping has sample weight 0; change "
                             "validation_fraction or the weights")
        return X, targets, None if weights is None else weights[rows], validation

    def _score_epoch(self, validation, loss, best_state):
        """scikit-learn's stopping count, on the validation loss (``early_stopping``) or the
        training loss; returns the weights of the best validation epoch so far."""
        if validation is None:
            self._count(self.loss_, self.best_loss_)
        else:
            value = self._weighted_loss(*validation, loss)
            self._check_finite(value, "validation loss")
            self.validation_loss_curve_.append(value)
            improved = value < self.best_validation_loss_
            self._count(value, self.best_validation_loss_)
            if improved:
                self.best_validation_loss_ = value
                best_state = self.model_.state_dict()
        self.best_loss_ = min(self.best_loss_, self.loss_)
        return best_state

    def _check_finite(self, loss: float, what: str = "loss") -> None:
        """After each epoch: a non-finite loss or weight ends training with a ValueError (as
        scikit-learn's MLP), and leaves the estimator unfitted rather than half-trained."""
        if not math.isfinite(loss):
            raise self._diverged(f"the {what} became {loss}")
        for name, value in self.model_.named_parameters():
            if not np.isfinite(value).all():
                raise self._diverged(f"the weights {name!r} became NaN or infinite")

    def _diverged(self, what: str) -> ValueError:
        """The error; ``_fit`` then leaves the estimator unfitted (``fit``) or as it was
        before the call (``partial_fit`` of a fitted estimator)."""
        epoch = self.n_iter_ + (0 if what.startswith("the weights") else 1)
        left = "left unfitted" if self._incremental_from is None else \
            f"left as it was before this partial_fit call (epoch {self._incremental_from})"
        return ValueError(f"{type(self).__name__}: training diverged ({what} at epoch "
                          f"{epoch}): the solver produced non-finite values; the estimator is "
                          f"{left}. Try a smaller learning_rate_init than "
                          f"{self.learning_rate_init:g}, or scale the input features "
                          "(e.g. StandardScaler).")

    def _forget_fit(self) -> None:
        """Remove every fitted attribute: ``check_is_fitted`` then says "not fitted"."""
        for name in [name for name in vars(self) if name.endswith("_")
                     and not name.startswith("__")]:
            delattr(self, name)
        for name in ("_optimizer", "_rng", "_no_improvement", "_incremental_from"):
            self.__dict__.pop(name, None)

    def _count(self, value: float, best: float) -> None:
        """scikit-learn's rule: an epoch that does not beat ``best - tol`` counts against."""
        self._no_improvement = self._no_improvement + 1 if value > best - self.tol else 0

    def _step(self, xb, tb, wb, loss) -> float:
        """One :func:`~deltaprop.training.train_step` on a batch (its optimiser step adds the
        L2 term first); returns Σ wₙ ℓₙ (loss + L2 term) for the epoch mean."""
        w_sum = float(wb.sum())
        if not np.sum(wb.astype(self.dtype)) > 0:              # 0 in the network's dtype too
            return 0.0                                         # nothing to learn from
        self.model_.train()
        step = _L2Step(self, w_sum)
        with np.errstate(over="ignore", invalid="ignore"):    # reported as divergence instead
            try:
                value = training.train_step(LoopModel(self.model_), xb, tb,
                                            loss=FiniteLoss(loss), optimizer=step,
                                            sample_weight=wb)
            except NonFiniteLossError as error:
                raise self._diverged(f"the loss became {error.value}") from None
        self.t_ += xb.shape[0]
        return (value + step.penalty) * w_sum

    def _weighted_loss(self, X, targets, weights, loss) -> float:
        output = _engine_predict(self.model_, X)
        return float(loss(output, targets, weights)[0])

    def _output(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return np.asarray(_engine_predict(self.model_, X))

    # -- scikit-learn's (in, out) layout ------------------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weights per layer as scikit-learn lays them out: ``(in, out)`` = ``Wᵀ`` (copies)."""
        return [np.array(d.params["weight"]).T.copy() for d in self.model_.dense_layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Biases per layer, shape ``(out,)`` (copies)."""
        return [np.array(d.params["bias"]) for d in self.model_.dense_layers]


class _L2Step:
    r"""The estimator's optimiser step: first the L2 term of ``alpha`` (except for AdamW, whose
    ``weight_decay`` it is) on the weights' gradients, :math:`+\alpha W / \sum w`, then
    ``optimizer.step()``.  ``penalty`` is :math:`\tfrac12 \alpha \lVert W \rVert^2 / \sum w`."""

    def __init__(self, estimator: _BaseMLP, w_sum: float) -> None:
        self.estimator, self.w_sum, self.penalty = estimator, w_sum, 0.0

    def step(self) -> None:
        estimator = self.estimator
        if estimator.solver != "adamw" and estimator.alpha:
            for dense in estimator.model_.dense_layers:        # L2: + α W / Σw (weights only)
                weight = dense.params["weight"]
                dense.grads["weight"] = dense.grads["weight"] + estimator.alpha * weight \
                    / self.w_sum
                self.penalty += 0.5 * estimator.alpha * float(np.sum(weight * weight)) \
                    / self.w_sum
        estimator._optimizer.step()
