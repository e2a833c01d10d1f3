"""What :func:`~deltaprop.io.load_bundle` returns: :class:`ModelBundle`, a loaded model with
its preprocessing, loss and metadata, and its ``predict`` in the target's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..nn.model import Sequential
from ._untrusted import finite_number


@dataclass
class ModelBundle:
    """What :func:`load_bundle` returns: the model and everything saved with it."""

    model: Sequential
    preprocessing: Any = None                 # a Standardizer, a plain dict, or None
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = ""                         # the deltaprop version that wrote the file
    architecture: list[dict[str, Any]] = field(default_factory=list)
    loss: str | None = None                   # the recorded loss name (``save(loss=...)``)
    target_preprocessing: Any = None          # the target's Standardizer (regression), or None

    @property
    def classes(self) -> list[str] | None:
        """``metadata["classes"]`` as strings (what ``deltaprop train`` records), or None
        when absent or not a list of strings and numbers (the caller's own use of the key)."""
        return _names(self.metadata.get("classes"))

    @property
    def target_names(self) -> list[str] | None:
        """``metadata["target_names"]`` as strings, or None (as :attr:`classes`)."""
        return _names(self.metadata.get("target_names"))

    def predict(self, X: Any) -> np.ndarray:
        r"""The model's output for raw rows ``X`` (N, features), in the target's units.

        The stored feature scaling is applied first, :math:`(x - \mu)/\sigma`, and the
        target's undone after, :math:`\hat y = \hat y_s \sigma_y + \mu_y` (a model saved
        without them computes on ``X`` as it is).  Returns float64 (N, outputs).
        """
        from ..training.evaluation import predict

        if self.preprocessing is not None and not hasattr(self.preprocessing, "transform"):
            raise ValueError("the model file's preprocessing is not a Standardizer (a plain "
                             "dict), so it cannot be applied; scale X yourself and call "
                             "deltaprop.predict")
        X = np.asarray(X, dtype=np.float64)
        if self.preprocessing is not None:
            X = self.preprocessing.transform(X)
        _check_in_range(X, self.model.dtype, self.preprocessing is not None)
        output = np.asarray(predict(self.model, X.astype(self.model.dtype, copy=False)))
        return self.unscale_output(output)

    def unscale_output(self, output: Any) -> np.ndarray:
        r"""``output`` (N, outputs) in the target's units: :math:`y_s \sigma_y + \mu_y` with
        the stored target scaling, or ``output`` as float64 when there is none."""
        output = np.asarray(output, dtype=np.float64)
        if self.target_preprocessing is None:
            return output
        return self.target_preprocessing.inverse_transform(output)


def _check_in_range(X: np.ndarray, dtype: np.dtype, scaled: bool) -> None:
    """Every value of ``X`` fits the model's ``dtype`` (float32 ends near 3.4e38): a larger
    one would become inf in the cast, and the output NaN."""
    limit = float(np.finfo(dtype).max)
    with np.errstate(invalid="ignore"):
        beyond = np.argwhere(np.abs(X) > limit)           # NaN compares False: checked later
    if beyond.size:
        cell = tuple(int(i) for i in beyond[0])
        where = ", ".join(map(str, cell))
        raise ValueError(f"ModelBundle.predict: X[{where}] = {X[cell]:.6g}"
                         f"{' after the stored scaling' if scaled else ''} is beyond the range "
                         f"of the model's {np.dtype(dtype).name} (±{limit:.2g}); rescale the "
                         "data, or use a float64 model")


def _names(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(
            isinstance(v, str) or finite_number(v) for v in value):
        return None
    return [v if isinstance(v, str) else str(v) for v in value]
