r"""Central-difference gradient checks in float64.

For every entry :math:`\theta_i` of every parameter (and of the input ``X``):

.. math:: \frac{\partial L}{\partial \theta_i} \approx
          \frac{L(\theta + \epsilon e_i) - L(\theta - \epsilon e_i)}{2\epsilon}

and the relative error per parameter is :math:`\|g_a - g_n\| / \max(\|g_a\| + \|g_n\|,
10^{-12})`, the analytic gradient ``g_a`` coming from the engine's own ``backward``.
The error of the central difference is :math:`O(\epsilon^2)`; at :math:`\epsilon = 10^{-6}` in
float64 a correct backward pass gives relative errors around :math:`10^{-8}` or smaller.
Points where an activation has a kink (ReLU at 0) can show a larger error there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_integer, check_number, check_seed
from ..nn.losses import get_loss

if TYPE_CHECKING:
    from ..nn.model import Sequential


@dataclass
class GradcheckRow:
    name: str               # "0.weight", "0.bias", ..., or "input"
    shape: tuple[int, ...]
    checked: int            # entries compared
    max_abs_error: float
    rel_error: float
    passed: bool


class GradcheckResult:
    """Per-parameter table of relative errors; ``passed`` when every row passed."""

    def __init__(self, rows: list[GradcheckRow], tol: float) -> None:
        self.rows, self.tol = rows, tol

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def __getitem__(self, name: str) -> GradcheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no gradcheck row {name!r}; rows: {[r.name for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "tol": self.tol,
                "rows": [vars(row) | {"shape": list(row.shape)} for row in self.rows]}

    def __str__(self) -> str:
        header = f"{'parameter':<12} {'shape':<12} {'checked':>7} {'max |a-n|':>11} " \
                 f"{'rel error':>10}  ok"
        lines = [header, "-" * len(header)]
        for row in self.rows:
            lines.append(f"{row.name:<12} {row.shape!s:<12} {row.checked:>7} "
                         f"{row.max_abs_error:>11.2e} {row.rel_error:>10.2e}  "
                         f"{'yes' if row.passed else 'NO'}")
        lines.append(f"{'passed' if self.passed else 'FAILED'} (tolerance {self.tol:g})")
        return "\n".join(lines)

    __repr__ = __str__


def gradcheck(model: Sequential, X: Any, y: Any, loss: Any, *, eps: float = 1e-6, tol: float = 1e-6,
              max_entries: int | None = None, seed: Any = 0) -> GradcheckResult:
    """Compare every analytic gradient of ``model`` (and ``∂L/∂X``) with central differences.

    Parameters
    ----------
    model : Sequential
        Copied to float64 and put in evaluation mode (dropout off); the original is untouched.
    X, y : arrays
        A small batch (the check costs two forward passes per entry).
    loss : Loss or str
    eps : float
        Finite-difference step.
    tol : float
        Largest relative error that passes.
    max_entries : int, optional
        Check at most this many random entries per parameter (all by default).
    seed : int, Generator or None
        Picks the entries when ``max_entries`` is set.

    ``eps`` must be a finite number > 0, ``tol`` a finite number >= 0, ``max_entries`` None or
    an integer >= 1 and ``seed`` None, an integer >= 0 or a Generator (NumPy scalars accepted);
    anything else raises :class:`~deltaprop.InvalidParameterError`.
    """
    from .validation import check_data

    eps = check_number("gradcheck", "eps", eps, low=0.0, low_open=True)
    tol = check_number("gradcheck", "tol", tol, low=0.0)
    if max_entries is not None:
        max_entries = check_integer("gradcheck", "max_entries", max_entries, low=1,
                                    rule="None or an integer >= 1")
    rng = check_seed("gradcheck", "seed", seed)
    loss = get_loss(loss)
    probe = model.copy(dtype=np.float64).eval()
    X, y = check_data(probe, X, y, loss)
    X = np.array(X, dtype=np.float64)

    def loss_at() -> float:
        return float(loss(probe.forward(X), y)[0])

    _, grad_output = loss(probe.forward(X), y)
    grad_input = probe.backward(grad_output)
    analytic = {name: np.array(grad) for name, grad in probe.named_grads()}
    targets = [(name, value) for name, value in probe.named_parameters()] + [("input", X)]
    analytic["input"] = np.array(grad_input)

    rows = []
    for name, array in targets:
        flat = array.reshape(-1)                         # a view: perturbs the real entries
        entries = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            entries = np.sort(rng.choice(flat.size, size=max_entries, replace=False))
        numeric = np.empty(entries.size)
        for k, i in enumerate(entries):
            saved = flat[i]
            flat[i] = saved + eps
            plus = loss_at()
            flat[i] = saved - eps
            minus = loss_at()
            flat[i] = saved
            numeric[k] = (plus - minus) / (2 * eps)      # central difference
        exact = analytic[name].reshape(-1)[entries]
        diff = np.abs(exact - numeric)
        rel = float(np.linalg.norm(exact - numeric) /
                    max(np.linalg.norm(exact) + np.linalg.norm(numeric), 1e-12))
        rows.append(GradcheckRow(name, tuple(array.shape), int(entries.size),
                                 float(diff.max(initial=0.0)), rel, rel <= tol))
    return GradcheckResult(rows, tol)
