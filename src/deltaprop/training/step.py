r"""``train_step``: one optimiser step, the four lines of the README and nothing else.

.. code-block:: python

    output = model.forward(X_batch)                 # Z⁽ˡ⁾, A⁽ˡ⁾ recorded per layer
    value, grad = loss(output, y_batch)             # mean loss and ∂L/∂output (carries 1/N)
    model.backward(grad)                            # Δ⁽ˡ⁾, ∂L/∂W⁽ˡ⁾, ∂L/∂b⁽ˡ⁾ per layer
    optimizer.step()                                # W ← W − η ∂L/∂W

``fit`` (:mod:`.loop`), the scikit-learn estimators, the explainer and the benchmark's profile
all take their steps here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..nn.losses import get_loss

if TYPE_CHECKING:
    from ..nn.model import Sequential


def train_step(model: Sequential, X: Any, y: Any, *, loss: Any, optimizer: Any,
               sample_weight: Any = None) -> float:
    r"""One optimiser step on the batch ``(X, y)``: the README's four lines; returns the loss.

    .. code-block:: python

        output = model.forward(X)                   # Z⁽ˡ⁾, A⁽ˡ⁾ recorded per layer
        value, grad = loss(output, y)               # mean loss, ∂L/∂output (carries 1/N)
        model.backward(grad)                        # Δ⁽ˡ⁾, ∂L/∂W⁽ˡ⁾, ∂L/∂b⁽ˡ⁾ per layer
        optimizer.step()                            # W ← W − η ∂L/∂W (SGD's rule)

    With ``sample_weight`` the loss is the weighted mean
    :math:`L = \sum_n w_n \ell_n / \sum_n w_n` (``loss(output, y, sample_weight)``).

    Parameters
    ----------
    model : Sequential
    X : array of shape (N, in_features)
    y : array
        The targets ``loss`` takes (integer labels, one-hot rows, numbers).
    loss : Loss or str
        A loss instance or its name (``"cross_entropy"``, ``"mse"``, ...).
    optimizer : Optimizer
        Built on ``model`` (``SGD(model, lr=0.1)``): anything with a ``step()`` method.
    sample_weight : array of shape (N,), optional

    Returns
    -------
    float
        The batch's mean loss, before the step.

    ``fit``, the scikit-learn estimators, the explainer and the benchmark's profile all take
    their steps here; ``fit`` adds its checks (divergence, the step guard) by passing
    stand-ins for ``model``, ``loss`` and ``optimizer`` (:mod:`deltaprop._step_hooks`), never
    a second copy of these lines.

    Examples
    --------
    >>> import numpy as np, deltaprop as dp
    >>> model = dp.mlp([2, 3, 2], seed=0)
    >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1, 0])
    >>> first = dp.train_step(model, X, y, loss="cross_entropy",
    ...                       optimizer=dp.SGD(model, lr=0.5))
    >>> isinstance(first, float)
    True
    """
    loss = get_loss(loss) if isinstance(loss, str) else loss
    output = model.forward(X)
    value, grad = loss(output, y) if sample_weight is None else loss(output, y, sample_weight)
    model.backward(grad)
    optimizer.step()
    return float(value)
