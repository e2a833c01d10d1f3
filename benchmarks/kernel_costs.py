"""What the fused kernels save, piece by piece (numbers in RESULTS.md, round two, second pass).

    PYTHONPATH=src python benchmarks/kernel_costs.py          # needs numba; about 30 s

On the 784-256-128-10 MLP's shapes (float32), each figure the best of 5 timed loops:

- the SGD-with-momentum update of W⁽¹⁾ (200,704 elements): the in-place kernel of
  ``optimizer.step()``, the out-of-place kernel of ``fit`` (which also reports finiteness),
  NumPy's in-place lines, and NumPy's ``isfinite(...).all()`` pass that the kernel replaced;
  each with the arrays in cache and after streaming 64 MiB through the caches;
- the gather of a batch's rows from 60,000 × 784: ``np.take`` against a compiled row loop;
- the bias add and ReLU of a (batch, 256) product: NumPy's ``+=`` then the ReLU kernel,
  against one fused pass (written here; deltaprop does not ship it: see RESULTS.md);
- the Python around one optimiser update, kernel against NumPy, on a 4 × 4 parameter.
"""

from __future__ import annotations

import functools
import timeit

import numpy as np
from numba import njit

import deltaprop as dp
from deltaprop.nn import fused

F32 = np.float32


def best_us(call, number: int) -> float:
    """Microseconds per call: the best of 5 loops of ``number`` calls."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def cold_us(call, flush) -> float:
    """Microseconds of one call after ``flush()`` emptied the caches (median of 30)."""
    times = []
    for _ in range(30):
        flush()
        times.append(timeit.timeit(call, number=1))
    return float(np.median(times)) * 1e6


def optimiser_rows(kernels) -> list[tuple[str, float, float]]:
    rng = np.random.default_rng(0)
    param, grad, velocity = (rng.standard_normal(200_704).astype(F32) for _ in range(3))
    new_param, new_velocity = np.empty_like(param), np.empty_like(param)
    rule = (F32(0.01), F32(0.9), F32(1), F32(0), False, False)
    big = np.ones(64 << 18, F32)                                  # 64 MiB

    def numpy_step():
        velocity.__imul__(F32(0.9))
        velocity.__iadd__(grad)
        param.__isub__(F32(0.01) * velocity)

    calls = [
        ("SGD update of W1, in-place kernel (step())",
         lambda: kernels.sgd_in_place(param, grad, velocity, *rule)),
        ("SGD update of W1, out-of-place kernel with finiteness (fit)",
         lambda: kernels.sgd(param, grad, velocity, new_param, new_velocity, *rule)),
        ("SGD update of W1, NumPy in place", numpy_step),
        ("isfinite(W1).all() (the pass the kernel replaced)",
         lambda: np.isfinite(new_param).all()),
    ]
    return [(name, best_us(call, 200), cold_us(call, big.sum)) for name, call in calls]


@njit(cache=False, nogil=True, error_model="numpy")
def _row_loop(source, rows, out):
    for k in range(rows.shape[0]):
        out[k, :] = source[rows[k], :]


def gather_rows() -> list[tuple[str, float]]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60_000, 784)).astype(F32)
    out = np.empty((512, 784), F32)
    found = []
    for batch in (128, 512):
        order = [np.sort(rows) for rows in rng.permutation(60_000)[:100 * batch]
                 .reshape(100, batch)]                            # 100 batches of `batch` rows
        _row_loop(X, order[0], out)                               # compiled before timing
        take, loop = (best_us(functools.partial(gather, X, order, out), 3) / len(order)
                      for gather in (_gather_take, _gather_loop))
        found += [(f"gather {batch} rows: np.take", take),
                  (f"gather {batch} rows: compiled row loop", loop)]
    return found


def _gather_take(X, order, out) -> None:
    for rows in order:
        np.take(X, rows, axis=0, out=out[:len(rows)], mode="clip")


def _gather_loop(X, order, out) -> None:
    for rows in order:
        _row_loop(X, rows, out)


@njit(cache=False, nogil=True, error_model="numpy")
def _bias_relu(z, bias, a):
    for n in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[n, j] + bias[j]
            z[n, j] = value
            a[n, j] = value if value > 0 else 0


def bias_and_relu(kernels) -> list[tuple[str, float]]:
    rng = np.random.default_rng(2)
    found = []
    for batch in (128, 512):
        product = rng.standard_normal((batch, 256)).astype(F32)
        bias = rng.standard_normal(256).astype(F32)
        _bias_relu(product.copy(), bias, np.empty_like(product))  # compiled before timing
        copy = best_us(product.copy, 1000)                        # in both: subtracted
        separate, together = (best_us(functools.partial(run, kernels, product, bias), 1000)
                              - copy for run in (_separate, _together))
        found += [(f"bias + ReLU of ({batch}, 256): += then the ReLU kernel", separate),
                  (f"bias + ReLU of ({batch}, 256): one fused pass", together)]
    return found


def _separate(kernels, product, bias) -> None:
    z = product.copy()
    z += bias
    a = np.empty_like(z)
    kernels.relu_forward(z.reshape(-1), a.reshape(-1))


def _together(kernels, product, bias) -> None:
    z = product.copy()
    _bias_relu(z, bias, np.empty_like(z))


def python_per_parameter() -> list[tuple[str, float]]:
    found = []
    for mode in (True, False):
        optimizer = dp.SGD(dp.mlp([4, 4], seed=0), lr=0.01, momentum=0.9, fused=mode)
        param, grad, state = np.ones((4, 4), F32), np.ones((4, 4), F32), {}
        update = functools.partial(optimizer.updated_and_finite, state, param, grad)
        update()
        found.append((f"one tiny update, Python included ({'kernel' if mode else 'NumPy'})",
                      best_us(update, 20_000)))
    return found


def main() -> None:
    kernels = fused.load_kernels(required=True)
    fused.compile_kernels()
    print("| work | µs, arrays in cache | µs, caches flushed |\n|---|---:|---:|")
    for name, hot, cold in optimiser_rows(kernels):
        print(f"| {name} | {hot:.1f} | {cold:.1f} |")
    print("\n| work | µs |\n|---|---:|")
    for name, value in gather_rows() + bias_and_relu(kernels) + python_per_parameter():
        print(f"| {name} | {value:.1f} |")


if __name__ == "__main__":
    main()
