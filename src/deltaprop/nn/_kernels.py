r"""Fused numba kernels: the element-wise work NumPy does in separate passes, in one pass each.

Private, and imported only by :mod:`deltaprop.nn.fused` once numba is known to be
importable.  Every kernel here has a reference in readable NumPy next to the layer, loss or
optimiser that calls it (``tests/nn/test_kernels*.py`` compares the two to float rounding).

Conventions:

- arrays arrive C-contiguous (the caller makes them so); element-wise kernels take flat 1-D
  views, so one compiled version serves every shape;
- scalars arrive in the arrays' dtype (``np.float32(lr)``), so float32 math stays float32
  (as NumPy's) and LLVM can vectorise the loop;
- ``out`` may be the input itself (in place): each element is read before it is written;
- ``cache=True``: compiled code is kept on disk (``__pycache__`` next to this file, or
  ``NUMBA_CACHE_DIR``), so only the first run of a machine pays the compile time;
- one thread each, except the optimisers' ``*_parallel`` wrappers, which split a large
  parameter into one slice per thread (``prange``) and run the one-thread kernel on each:
  the callers use them from ``PARALLEL_MIN`` elements up.  Element-wise passes over a batch's
  activations (tens of thousands of numbers) gain less from threads than a thread hand-off
  costs, and on a loaded machine the hand-off can cost milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_PARALLEL = {"cache": True, "nogil": True, "parallel": True, "error_model": "numpy"}
_SERIAL = {"cache": True, "nogil": True, "error_model": "numpy"}
# Elements of a parameter from which its update runs on threads.  Measured on a 2-core AMD EPYC
# (benchmarks/RESULTS.md, round two): alone, the threaded SGD pass over 262,144 float32 beats
# the one-thread pass (39 against 59 µs), but inside a training step, between BLAS products,
# waking numba's threads cost more than it saved (the 784-256-128-10 update: 250 µs with
# threads for the 200,704-element W⁽¹⁾, 83 µs without, NumPy 113-151 µs).  So only updates of
# millions of elements take threads.
PARALLEL_MIN = 1 << 22


# -- optimisers: one pass over a parameter, its gradient and its state -----------------------
# Each rule is written once, for one element (inlined into the loops below).  A loop comes in
# two kinds: out of place (new arrays; returns whether every new parameter is finite, which
# ``fit``'s step guard would otherwise check in a second pass) and in place (``step()``).  An
# in-place loop has its own kernel: given one array as both input and output, LLVM's alias
# checks fall back to a scalar loop (measured 5x slower on a 784 x 256 weight).
@njit(inline="always", **_SERIAL)
def _sgd_rule(p, g, v, lr, momentum, keep, weight_decay, nesterov, first):
    r"""SGD: :math:`g = \partial L/\partial W + \lambda W`; with momentum
    :math:`v = \mu v + (1-\tau) g` (:math:`v = g` at ``first``), :math:`g = g + \mu v` if
    Nesterov else :math:`v`; :math:`W = W - \eta g`.  ``keep`` is :math:`1 - \tau`.
    Returns (new W, new v)."""
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        v = g if first else momentum * v + keep * g
        g = g + momentum * v if nesterov else v
    return p - lr * g, v


@njit(**_SERIAL)
def sgd(param, grad, velocity, new_param, new_velocity, lr, momentum, keep, weight_decay,
        nesterov, first):
    """SGD into new arrays (``new_velocity`` written only with momentum); True when every new
    parameter is finite."""
    finite = True
    for i in range(param.size):
        w, v = _sgd_rule(param[i], grad[i], velocity[i], lr, momentum, keep, weight_decay,
                         nesterov, first)
        if momentum != 0:
            new_velocity[i] = v
        new_param[i] = w
        finite &= (w - w) == 0                 # NaN for NaN and ±inf
    return finite


@njit(**_SERIAL)
def sgd_in_place(param, grad, velocity, lr, momentum, keep, weight_decay, nesterov, first):
    """SGD writing ``param`` and ``velocity`` themselves."""
    for i in range(param.size):
        w, v = _sgd_rule(param[i], grad[i], velocity[i], lr, momentum, keep, weight_decay,
                         nesterov, first)
        if momentum != 0:
            velocity[i] = v
        param[i] = w


@njit(inline="always", **_SERIAL)
def _adam_rule(p, g, m, v, factor, step_size, beta1, one_minus_beta1, beta2, one_minus_beta2,
               bias2_root, eps, weight_decay):
    r"""Adam / AdamW: :math:`g = \partial L/\partial W + \lambda W` (Adam's L2),
    :math:`m = \beta_1 m + (1-\beta_1) g`, :math:`v = \beta_2 v + (1-\beta_2) g^2`,
    :math:`W = \text{factor}\,W - s\, m / (\sqrt v / r + \epsilon)` with
    :math:`s = \eta/(1-\beta_1^t)`, :math:`r = \sqrt{1-\beta_2^t}` and ``factor``
    :math:`1 - \eta\lambda` (AdamW) or 1.  Returns (new W, new m, new v)."""
    if weight_decay != 0:
        g = g + weight_decay * p
    m = m * beta1 + one_minus_beta1 * g
    v = v * beta2 + one_minus_beta2 * g * g
    return p * factor - step_size * m / (np.sqrt(v) / bias2_root + eps), m, v


@njit(**_SERIAL)
def adam(param, grad, m, v, new_param, new_m, new_v, factor, step_size, beta1, one_minus_beta1,
         beta2, one_minus_beta2, bias2_root, eps, weight_decay):
    """Adam into new arrays; True when every new parameter is finite."""
    finite = True
    for i in range(param.size):
        w, new_m[i], new_v[i] = _adam_rule(param[i], grad[i], m[i], v[i], factor, step_size,
                                           beta1, one_minus_beta1, beta2, one_minus_beta2,
                                           bias2_root, eps, weight_decay)
        new_param[i] = w
        finite &= (w - w) == 0
    return finite


@njit(**_SERIAL)
def adam_in_place(param, grad, m, v, factor, step_size, beta1, one_minus_beta1, beta2,
                  one_minus_beta2, bias2_root, eps, weight_decay):
    """Adam writing ``param``, ``m`` and ``v`` themselves."""
    for i in range(param.size):
        param[i], m[i], v[i] = _adam_rule(param[i], grad[i], m[i], v[i], factor, step_size,
                                          beta1, one_minus_beta1, beta2, one_minus_beta2,
                                          bias2_root, eps, weight_decay)


@njit(**_PARALLEL)
def sgd_parallel(chunks, param, grad, velocity, new_param, new_velocity, lr, momentum, keep,
                 weight_decay, nesterov, first):
    """``sgd`` on ``chunks`` slices of the arrays, one per thread."""
    size, broken = param.size, 0
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        finite = sgd(param[lo:hi], grad[lo:hi], velocity[lo:hi], new_param[lo:hi],
                     new_velocity[lo:hi], lr, momentum, keep, weight_decay, nesterov, first)
        broken += 0 if finite else 1
    return broken == 0


@njit(**_PARALLEL)
def sgd_in_place_parallel(chunks, param, grad, velocity, lr, momentum, keep, weight_decay,
                          nesterov, first):
    """``sgd_in_place`` on ``chunks`` slices of the arrays, one per thread."""
    size = param.size
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        sgd_in_place(param[lo:hi], grad[lo:hi], velocity[lo:hi], lr, momentum, keep,
                     weight_decay, nesterov, first)


@njit(**_PARALLEL)
def adam_parallel(chunks, param, grad, m, v, new_param, new_m, new_v, factor, step_size, beta1,
                  one_minus_beta1, beta2, one_minus_beta2, bias2_root, eps, weight_decay):
    """``adam`` on ``chunks`` slices of the arrays, one per thread."""
    size, broken = param.size, 0
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        finite = adam(param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi], new_param[lo:hi],
                      new_m[lo:hi], new_v[lo:hi], factor, step_size, beta1, one_minus_beta1,
                      beta2, one_minus_beta2, bias2_root, eps, weight_decay)
        broken += 0 if finite else 1
    return broken == 0


@njit(**_PARALLEL)
def adam_in_place_parallel(chunks, param, grad, m, v, factor, step_size, beta1,
                           one_minus_beta1, beta2, one_minus_beta2, bias2_root, eps,
                           weight_decay):
    """``adam_in_place`` on ``chunks`` slices of the arrays, one per thread."""
    size = param.size
    for c in prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        adam_in_place(param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi], factor, step_size, beta1,
                      one_minus_beta1, beta2, one_minus_beta2, bias2_root, eps, weight_decay)


# -- activations: φ(Z) forward, ∂L/∂A ⊙ φ′ backward -------------------------------------------
@njit(**_SERIAL)
def relu_forward(z, out):
    """A = max(Z, 0)."""
    for i in range(z.size):
        out[i] = z[i] if z[i] > 0 else 0


@njit(**_SERIAL)
def relu_backward(grad_out, z, out):
    """Δ = ∂L/∂A ⊙ [Z > 0]."""
    for i in range(z.size):
        out[i] = grad_out[i] if z[i] > 0 else 0


@njit(**_SERIAL)
def leaky_relu_forward(z, slope, out):
    """A = Z where Z > 0, else α Z."""
    for i in range(z.size):
        out[i] = z[i] if z[i] > 0 else slope * z[i]


@njit(**_SERIAL)
def leaky_relu_backward(grad_out, z, slope, out):
    """Δ = ∂L/∂A ⊙ (1 where Z > 0, else α)."""
    for i in range(z.size):
        out[i] = grad_out[i] if z[i] > 0 else grad_out[i] * slope


@njit(**_SERIAL)
def sigmoid_forward(z, out):
    """A = σ(Z), as 1/(1 + e^{-|z|}) or e^{-|z|}/(1 + e^{-|z|}) by sign: no overflow."""
    for i in range(z.size):
        e = np.exp(-abs(z[i]))
        out[i] = 1 / (1 + e) if z[i] >= 0 else e / (1 + e)


@njit(**_SERIAL)
def sigmoid_backward(grad_out, a, out):
    """Δ = ∂L/∂A ⊙ A(1 − A)."""
    for i in range(a.size):
        out[i] = grad_out[i] * (a[i] * (1 - a[i]))


@njit(**_SERIAL)
def tanh_forward(z, out):
    """A = tanh Z."""
    for i in range(z.size):
        out[i] = np.tanh(z[i])


@njit(**_SERIAL)
def tanh_backward(grad_out, a, out):
    """Δ = ∂L/∂A ⊙ (1 − A²)."""
    for i in range(a.size):
        out[i] = grad_out[i] * (1 - a[i] * a[i])


# -- Dense: the bias gradient --------------------------------------------------------------
@njit(**_SERIAL)
def column_sums(delta, out):
    r""":math:`\partial L/\partial b = \sum_n \Delta_{n,:}`, row after row (as NumPy's
    ``sum(axis=0)`` of a C-ordered array)."""
    out[:] = 0
    for n in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            out[j] += delta[n, j]


# -- output losses: the mean and ∂L/∂output in one pass per row --------------------------------
@njit(**_SERIAL)
def cross_entropy_labels(z, labels, grad):
    r"""Softmax cross-entropy on logits with integer labels: returns
    :math:`\frac1N \sum_n (\log \sum_c e^{s_{nc}} - s_{n,y_n})`, :math:`s = Z - \max_c Z`,
    and writes ``grad`` :math:`= (\mathrm{softmax}(Z) - Y)/N`."""
    n_rows, n_classes = z.shape
    total = 0.0
    for n in range(n_rows):
        top = z[n, 0]
        for c in range(1, n_classes):
            top = max(top, z[n, c])
        sum_exp = z[n, 0] * 0
        for c in range(n_classes):
            e = np.exp(z[n, c] - top)
            grad[n, c] = e
            sum_exp += e
        label = labels[n]
        if label < 0 or label >= n_classes:
            raise IndexError("a label is outside [0, number of classes)")
        total += math.log(sum_exp) - (z[n, label] - top)
        scale = 1 / (sum_exp * n_rows)
        for c in range(n_classes):
            grad[n, c] *= scale                                   # A / N
        grad[n, label] -= 1 / n_rows                           # (A − Y) / N
    return total / n_rows


@njit(**_SERIAL)
def cross_entropy_probs(z, target, grad):
    r"""Softmax cross-entropy with probability rows ``target``: returns
    :math:`-\frac1N \sum_{n,c} Y_{nc} \log \mathrm{softmax}(Z)_{nc}` and writes ``grad``
    :math:`= (\mathrm{softmax}(Z) - Y)/N`."""
    n_rows, n_classes = z.shape
    total = 0.0
    for n in range(n_rows):
        top = z[n, 0]
        for c in range(1, n_classes):
            top = max(top, z[n, c])
        sum_exp = 0.0
        for c in range(n_classes):
            sum_exp += math.exp(z[n, c] - top)
        log_sum = math.log(sum_exp)
        for c in range(n_classes):
            log_p = (z[n, c] - top) - log_sum                      # log-softmax
            total -= target[n, c] * log_p
            grad[n, c] = (math.exp(log_p) - target[n, c]) / n_rows
    return total / n_rows


@njit(**_SERIAL)
def bce_with_logits(z, target, grad):
    r"""Binary cross-entropy on logits: returns the mean of
    :math:`\max(z,0) - zy + \log(1 + e^{-|z|})` and writes ``grad``
    :math:`= (\sigma(Z) - Y)/(Nn)`."""
    flat_z, flat_y, flat_g = z.ravel(), target.ravel(), grad.ravel()
    count = flat_z.size
    total = 0.0
    for i in range(count):
        x, y = flat_z[i], flat_y[i]
        e = np.exp(-abs(x))
        total += max(x, 0) - x * y + math.log1p(e)
        sig = 1 / (1 + e) if x >= 0 else e / (1 + e)
        flat_g[i] = (sig - y) / count
    return total / count


@njit(**_SERIAL)
def mse(z, target, grad):
    r"""Mean squared error: returns :math:`\frac{1}{Nn}\sum (z - y)^2` and writes ``grad``
    :math:`= 2(Z - Y)/(Nn)`."""
    flat_z, flat_y, flat_g = z.ravel(), target.ravel(), grad.ravel()
    count = flat_z.size
    total = 0.0
    for i in range(count):
        diff = flat_z[i] - flat_y[i]
        total += diff * diff
        flat_g[i] = 2 * diff / count
    return total / count
