r"""The link functions, once: ``sigmoid``, ``softmax``, ``log_softmax``, stable for any input.

Each takes the array library's namespace ``xp`` first (as the activations' ``function``), so
it runs unchanged on NumPy, CuPy or PyTorch arrays.  The ``Sigmoid`` / ``Softmax`` layers,
the losses, ``predict_proba``, the scikit-learn wrapper, the plots and the explainer all
call these, so a probability is computed the same way everywhere.
"""

from __future__ import annotations

from typing import Any

from ._backend import Array

LINKS = ("softmax", "sigmoid")   # the values of ``Loss.link`` besides None


def sigmoid(xp: Any, z: Array) -> Array:
    r""":math:`\sigma(z) = 1/(1+e^{-z})`, computed as :math:`1/(1+e^{-|z|})` for
    :math:`z \ge 0` and :math:`e^{-|z|}/(1+e^{-|z|})` otherwise: no exponential overflows."""
    e = xp.exp(-xp.abs(z))                               # in (0, 1]: never overflows
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(xp: Any, z: Array) -> Array:
    r"""Row-wise softmax, :math:`a_i = e^{z_i - \max z} / \sum_j e^{z_j - \max z}` (log-sum-exp
    shift: no overflow)."""
    shifted = z - xp.max(z, axis=-1, keepdims=True)
    e = xp.exp(shifted)
    return e / xp.sum(e, axis=-1, keepdims=True)


def log_softmax(xp: Any, z: Array) -> Array:
    r"""Row-wise log-softmax, :math:`s_i - \log \sum_j e^{s_j}` with :math:`s = z - \max z`
    (finite for any finite ``z``, where ``log(softmax(z))`` would give :math:`-\infty`)."""
    shifted = z - xp.max(z, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def apply_link(xp: Any, link: str | None, z: Array) -> Array:
    """``z`` through a loss's ``link`` (``"softmax"``, ``"sigmoid"``, or None: unchanged)."""
    if link is None:
        return z
    if link == "softmax":
        return softmax(xp, z)
    if link == "sigmoid":
        return sigmoid(xp, z)
    raise ValueError(f"link must be one of {LINKS} or None, got {link!r}")
