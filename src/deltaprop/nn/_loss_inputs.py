"""What a loss checks of its inputs when called directly, as methods its classes inherit:
:class:`LossInputs` (every loss: arrays of one library, an output of shape ``(N, k)``,
matching shapes, finite targets), :class:`BinaryTargetInputs` (targets in [0, 1]) and
:class:`CrossEntropyInputs` (integer labels in ``[0, C)`` or probability rows summing to 1).

``deltaprop.nn.losses`` holds each loss's value and gradient; ``Loss.check_inputs`` and
``Loss.validate_target`` call the hooks below, which the check functions of
``_loss_checks`` carry out.  Each error names the loss, the argument, the rule and the first
offending value.
"""

from __future__ import annotations

import numpy as np

from ._backend import Array, namespace, to_numpy
from ._loss_checks import (
    check_numeric,
    check_range,
    check_row_sums,
    check_weight_shape,
    is_array,
    library,
    row_sum_tolerance,
    same_library,
)


class LossInputs:
    """The input checks every loss shares (``Loss`` derives from this class)."""

    def _as_arrays(self, output, target, sample_weight):
        """``output`` must be an array; ``target`` and ``sample_weight`` may be lists or
        scalars when ``output`` is a NumPy array (they become NumPy arrays), and must
        otherwise be arrays of ``output``'s library."""
        name = type(self).__name__
        if not is_array(output):
            raise TypeError(f"{name} output must be an array (the model's output), got "
                            f"{type(output).__name__}")
        if target is None:
            raise TypeError(f"{name} target must be an array, got None")
        named = {"target": target, "sample_weight": sample_weight}
        for key, value in named.items():
            if value is None:
                continue
            if not is_array(value):
                if not isinstance(output, np.ndarray):
                    raise TypeError(f"{name} {key} must be an array like output "
                                    f"({type(output).__name__}), got {type(value).__name__}")
                try:
                    value = named[key] = np.asarray(value)
                except (TypeError, ValueError) as error:
                    raise TypeError(f"{name} {key} must be array-like, got "
                                    f"{type(value).__name__}: {error}") from None
            if not same_library(value, output):
                raise TypeError(f"{name} {key} is a {library(value)} array but output is a "
                                f"{library(output)} one: put both in the same library")
        return output, named["target"], named["sample_weight"]

    def _check_output(self, output) -> None:
        """Real floating numbers of shape (N, k), N and k >= 1 (a mean over no element has
        no value; integer or complex outputs are refused, as in PyTorch)."""
        name = type(self).__name__
        if output.ndim != 2:
            raise ValueError(f"{name} expected output of shape (N, k), got {tuple(output.shape)}")
        if output.shape[0] == 0 or output.shape[1] == 0:
            raise ValueError(f"{name} expected output of shape (N, k) with N >= 1 and k >= 1 "
                             f"(the mean over no element is undefined), got {tuple(output.shape)}")
        if isinstance(output, np.ndarray):
            floating = output.dtype.kind == "f"
        else:
            floating = namespace(output).isdtype(output.dtype, "real floating")
        if not floating:
            raise TypeError(f"{name} output must hold real floating-point numbers (the model's "
                            f"output), got dtype {output.dtype}")

    def _check_shapes(self, output, target, sample_weight) -> None:
        if tuple(target.shape) != tuple(output.shape):
            raise ValueError(f"{type(self).__name__} expected target of shape "
                             f"{tuple(output.shape)} (same as output), got {tuple(target.shape)}")
        check_weight_shape(sample_weight, output.shape[0])

    def _check_target_values(self, target: Array, output: Array) -> None:
        """Every loss: finite numeric targets (subclasses narrow the range)."""
        check_numeric(type(self).__name__, "target", target)
        check_range(type(self).__name__, "target", target)


class BinaryTargetInputs:
    """Targets in [0, 1] (each label's probability): the checks of both binary
    cross-entropies, placed before ``Loss`` in their bases."""

    def _check_target_values(self, target, output):
        check_numeric(type(self).__name__, "target", target)
        check_range(type(self).__name__, "target", target, 0.0, 1.0)

    def validate_target(self, y: np.ndarray, n_outputs: int) -> None:
        super().validate_target(y, n_outputs)
        if np.any((y < 0) | (y > 1)):
            raise ValueError(f"{type(self).__name__} expects targets in [0, 1], got values "
                             f"from {y.min()} to {y.max()}")


class CrossEntropyInputs:
    """Integer class labels of shape ``(N,)`` in ``[0, C)``, or probability rows of shape
    ``(N, C)`` that are >= 0 and sum to 1: ``CrossEntropyLoss``'s checks, placed before
    ``Loss`` in its bases."""

    def _check_shapes(self, output, target, sample_weight):
        if target.ndim != 1:
            return super()._check_shapes(output, target, sample_weight)
        if not namespace(target).isdtype(target.dtype, "integral"):
            raise TypeError("CrossEntropyLoss expects integer class labels of shape (N,) "
                            f"or probabilities of shape (N, C), got dtype {target.dtype}")
        if target.shape[0] != output.shape[0]:
            raise ValueError(f"CrossEntropyLoss expected {output.shape[0]} labels (one per "
                             f"row of output), got {target.shape[0]}")
        check_weight_shape(sample_weight, output.shape[0])

    def _check_target_values(self, target, output):
        n_classes = output.shape[1]
        if target.ndim == 1:                             # labels: integers in [0, C)
            check_range("CrossEntropyLoss", f"target labels (output has {n_classes} columns)",
                         target, 0, n_classes - 1)
            return
        check_numeric("CrossEntropyLoss", "target", target)
        check_range("CrossEntropyLoss", "target probabilities", target, low=0.0)
        tolerance = row_sum_tolerance(target, output)
        if isinstance(target, np.ndarray):
            deviation = float(np.abs(target.sum(axis=1) - 1).max())
        else:
            xp = namespace(target)
            deviation = float(xp.max(xp.abs(xp.sum(xp.astype(target, output.dtype), axis=1) - 1)))
        if not deviation <= tolerance:                   # only then look for the row
            check_row_sums(to_numpy(target).sum(axis=1, dtype=np.float64), tolerance)

    def validate_target(self, y: np.ndarray, n_outputs: int) -> None:
        if y.ndim == 1:
            if y.dtype.kind not in "iu":
                raise TypeError("CrossEntropyLoss expects integer class labels of shape (N,) "
                                f"or probabilities of shape (N, C), got dtype {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= n_outputs):
                raise ValueError(f"CrossEntropyLoss labels must lie in [0, {n_outputs}) for a "
                                 f"model with {n_outputs} outputs, got values from {y.min()} "
                                 f"to {y.max()}")
            return
        if y.ndim == 2 and y.shape[1] == 1 and n_outputs > 1:
            raise ValueError(f"CrossEntropyLoss expected integer labels of shape (N,) or "
                             f"probabilities of shape (N, {n_outputs}), got a column of shape "
                             f"{y.shape}: pass y.ravel() if it holds labels")
        super().validate_target(y, n_outputs)
        if np.any(y < 0):
            raise ValueError("CrossEntropyLoss probability targets must be >= 0")
        check_row_sums(y.sum(axis=1, dtype=np.float64), row_sum_tolerance(y))
