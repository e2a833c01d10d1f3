r"""``fit``'s data: the checked training rows and the validation split (:func:`_training_data`),
the mini-batches of an epoch (:class:`_Batches`), the row gathers (:func:`_take`) and the
scores (:func:`_batch_score` per batch, :func:`_validation_scores` per epoch).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..nn._backend import Array, namespace, to_namespace, to_numpy
from ..nn.losses import Loss
from . import evaluation
from .validation import check_data, check_weights


def _training_data(model, X, y, loss, sample_weight, validation_split, validation_data, rng,
                   parallel=None):
    """Checked ``X``, ``y``, the training ``rows`` of ``X`` (``validation_split`` on NumPy
    data, else None), the row weights and the checked validation pair (or None).  Under MPI
    (``parallel``) ``X`` must be a NumPy array."""
    X, y = check_data(model, X, y, loss)
    weights = None if sample_weight is None else check_weights(sample_weight, X.shape[0],
                                                               model.dtype)
    rows = None
    if validation_split:
        X, y, rows, weights, validation_data = _split(X, y, weights, validation_split, rng)
    elif validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        validation_data = check_data(model, *validation_data, loss, name="validation_data")
    if parallel is not None:
        parallel.check_host(X)
    return X, y, rows, weights, validation_data


def _split(X, y, weights, fraction: float, rng: np.random.Generator):
    """Hold out ``fraction`` of the rows (at random) for validation.

    NumPy data (a memmap too) stay whole: the training rows are returned as sorted indices and
    the batches are gathered through them, and the validation rows as a :class:`_HeldOut`
    scored a chunk at a time, so neither part is copied into memory.  Other array libraries get
    both parts gathered on their device.
    """
    n = X.shape[0]
    n_val = max(1, round(n * fraction))
    if n_val >= n:
        raise ValueError(f"validation_split={fraction} leaves no training rows out of {n}")
    order = rng.permutation(n)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    if weights is not None and not np.sum(weights[train], dtype=np.float64) > 0:
        raise ValueError(f"validation_split={fraction} held out every row with a sample_weight "
                         "> 0: the training rows all have weight 0")
    if isinstance(X, np.ndarray):
        return X, y, train, weights, _HeldOut(X, y, val)
    validation = (_take(X, val), _take(y, val))
    w_train = None if weights is None else weights[train]
    return _take(X, train), _take(y, train), None, w_train, validation


class _Batches:
    """The mini-batches of one epoch: ``(size, X_batch, y_batch, w_batch)``.

    ``rows`` (a ``validation_split`` on NumPy data) are the training rows of ``X``: batches
    are gathered through them, so a memmap is never copied whole into memory.
    """

    def __init__(self, X, y, weights, rows, batch_size: int | None, parallel=None) -> None:
        self.X, self.y, self.weights, self.rows = X, y, weights, rows
        self.parallel = parallel                         # MPI: this process's rows of each batch
        self.n = X.shape[0] if rows is None else rows.shape[0]
        self.batch = self.n if batch_size is None else min(batch_size, self.n)
        self.n_batches = math.ceil(self.n / self.batch)
        self.on_host = isinstance(X, np.ndarray)
        # one batch buffer reused by every NumPy gather: no new (batch, features) array per step
        self.x_buffer = np.empty((self.batch, X.shape[1]), X.dtype) if self.on_host else None
        # device arrays: the weights move to X's device once, the row order once per epoch
        if weights is not None and not self.on_host:
            self.weights = to_namespace(weights, like=X)
        self.xp = np if self.on_host else namespace(X)

    def epoch(self, order):
        """Yield the batches in ``order`` (a permutation of range(n)) or in row order."""
        order = order if self.on_host or order is None else to_namespace(order, like=self.X)
        X, y, w = self.X, self.y, self.weights
        for begin in range(0, self.n, self.batch):
            end = min(begin + self.batch, self.n)        # the array API wants end <= n
            lo, hi = (begin, end) if self.parallel is None else self.parallel.rows(begin, end)
            if order is None and self.rows is None:      # views of X: nothing is copied
                yield (end - begin, X[lo:hi, ...], y[lo:hi, ...],
                       None if w is None else w[lo:hi, ...])
                continue
            # ascending rows: faster gathers, same batch contents
            picked = self.xp.sort(order[begin:end])[lo - begin:hi - begin] \
                if order is not None else slice(lo, hi)
            if self.rows is not None:
                picked = self.rows[picked]
            yield (end - begin, _take(X, picked, out=self.x_buffer), _take(y, picked),
                   None if w is None else _take(w, picked))

    def total_sum_of_squares(self) -> np.ndarray:
        r""":math:`\sum_n (y_n - \bar y)^2` per output over the training rows (for R²)."""
        y = to_numpy(self.y)
        host = (y if self.rows is None else y[self.rows]).astype(np.float64)
        return np.sum((host - host.mean(axis=0)) ** 2, axis=0)


def _take(array, rows: np.ndarray, *, out: np.ndarray | None = None):
    """The given rows of ``array`` (NumPy fancy indexing, or ``xp.take`` on other arrays).

    With ``out`` (NumPy only, at least ``len(rows)`` rows) the rows are gathered into its first
    ``len(rows)`` rows and that view is returned.  ``mode="clip"`` skips NumPy's bounds check,
    which would otherwise gather into a temporary and copy it (the rows are valid by
    construction).  No numba kernel here: NumPy's row copies (``memcpy``) were measured 1.6x
    faster than a compiled loop over the rows (benchmarks/RESULTS.md, round two).
    """
    if isinstance(array, np.ndarray):
        if out is not None:
            return np.take(array, rows, axis=0, out=out[:rows.shape[0]], mode="clip")
        return array[rows]
    xp = namespace(array)
    if isinstance(rows, np.ndarray):                     # host indices (e.g. the split)
        rows = to_namespace(rows, like=array)
    return xp.take(array, rows, axis=0)


class _HeldOut(NamedTuple):
    """``validation_split``'s rows of NumPy data (checked already), scored a chunk at a time."""

    X: np.ndarray
    y: np.ndarray
    rows: np.ndarray


def _validation_scores(model, validation, loss: Loss, metric: str | None,
                       parallel=None) -> dict[str, float]:
    """``evaluate`` on the validation pair, or on the held-out rows without copying them whole:
    ``PREDICT_CHUNK`` rows of ``X`` are gathered at a time (the same chunks ``predict`` would
    cut from a copy, so the numbers are the same).  Under MPI each process predicts its share
    of the rows and every process scores the gathered outputs."""
    if parallel is not None:
        X, y, rows = validation if isinstance(validation, _HeldOut) else (*validation, None)
        return evaluation.scores(parallel.predict_rows(model, X, rows), y if rows is None
                                 else _take(y, rows), loss, metric)
    if not isinstance(validation, _HeldOut):
        return evaluation.evaluate(model, *validation, loss=loss, metric=metric)
    X, y, rows = validation
    chunk = evaluation.PREDICT_CHUNK
    chunks = [evaluation.predict(model, _take(X, rows[start:start + chunk]))
              for start in range(0, rows.shape[0], chunk)]
    return evaluation.scores(np.concatenate(chunks, axis=0), _take(y, rows), loss, metric)


def _batch_score(metric: str, output: Array, target: Array, link: str | None) -> Array:
    """Per batch, on the output's device: correct predictions, or Σ (a − y)² per output."""
    xp = namespace(output)
    if metric == "r2":
        return xp.sum((output - target) ** 2, axis=0)
    if output.shape[1] > 1:
        predicted = xp.argmax(output, axis=1)
    else:
        predicted = xp.astype(output[:, 0] > (0.0 if link == "sigmoid" else 0.5), xp.int64)
    if target.ndim == 2 and target.shape[1] > 1:
        expected = xp.argmax(target, axis=1)               # one-hot / probability rows
    elif target.ndim == 2:
        expected = xp.astype(target[:, 0] > 0.5, xp.int64)  # 0/1 column
    else:
        expected = target                                  # integer labels
    return xp.sum(xp.astype(predicted == xp.astype(expected, predicted.dtype), xp.int64))
