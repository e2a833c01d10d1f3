"""The step guard of ``fit``: an optimiser step that leaves a non-finite parameter (or is
interrupted half-way) is undone bit for bit, parameters and optimiser state alike."""

from __future__ import annotations

import copy

import numpy as np

from ..nn._backend import Array, namespace


class StepGuard:
    """``optimizer.step()``, undone bit for bit when it leaves a non-finite parameter (or is
    interrupted half-way): the model and optimiser state are then those from before it.

    SGD, Adam and AdamW step out of place (``Optimizer.updated_and_finite``): the new arrays
    are checked before they replace the old ones, so the guard costs one finiteness pass over
    the new parameters (none with the fused kernels, which check in their own pass).  An
    optimiser that may update in place (a subclass overriding ``update``, ``step``, or
    ``_change`` without declaring ``pure_change = True``), and a model whose
    parameters share memory (tied weights: each step writes into the one array, as the
    README's loop does), are guarded by copies of the parameters and state taken before the
    step, into buffers reused from step to step (``benchmarks/RESULTS.md``).
    """

    def __init__(self, model, optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.buffers: dict[tuple[str, ...], Array] = {}

    def step(self) -> str | None:
        """Take the step; return the name of a non-finite parameter (step undone) or None."""
        state = {name: dict(slot) for name, slot in self.optimizer.state.items()}
        if self.optimizer.steps_out_of_place and not shared_memory(self.model):
            return self._step_out_of_place(state)
        params = {name: self._copy(("param", name), layer.params[key])
                  for name, layer, key in self.model.parameter_refs()}
        state = {name: {key: self._copy((name, key), value) if hasattr(value, "shape")
                        else copy.deepcopy(value) for key, value in slot.items()}
                 for name, slot in state.items()}
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # reported by the caller
                self.optimizer.step()
            bad = first_non_finite(self.model.named_parameters())
        except BaseException:            # e.g. Ctrl-C between two parameters: no half step
            self._restore(params, state)
            raise
        if bad is not None:
            self._restore(params, state)
        return bad

    def _step_out_of_place(self, state: dict) -> str | None:
        """New parameter arrays first, checked, and only then put in the layers.  The fused
        kernels report finiteness from their own pass; the NumPy path's arrays are checked
        here."""
        new, unchecked = [], []
        try:
            with np.errstate(over="ignore", invalid="ignore"):   # reported by the caller
                for name, layer, key in self.model.parameter_refs():
                    slot = self.optimizer.state.setdefault(name, {})
                    value, finite = self.optimizer.updated_and_finite(
                        slot, layer.params[key], layer.grads[key])
                    new.append((layer, key, value))
                    if not finite:                       # False: broken; None: not known
                        unchecked.append((name, value))
        except BaseException:            # e.g. Ctrl-C between two parameters
            self.optimizer.state = state
            raise
        bad = first_non_finite(unchecked)
        if bad is not None:
            self.optimizer.state = state                 # the old arrays, never written
            return bad
        for layer, key, value in new:
            layer.params[key] = value
        return None

    def _copy(self, key: tuple[str, ...], array):
        self.buffers[key] = copy_into(self.buffers.get(key), array)
        return self.buffers[key]

    def _restore(self, params: dict, state: dict) -> None:
        """Put back copied parameters (in place) and optimiser state."""
        for name, layer, key in self.model.parameter_refs():
            layer.params[key][...] = params[name]
        self.optimizer.state = {name: {key: copy_into(None, value) if hasattr(value, "shape")
                                       else value for key, value in slot.items()}
                                for name, slot in state.items()}


def shared_memory(model) -> bool:
    """True when two parameters share memory (tied weights, a layer used twice): each step
    must then write into the one array, in place, as the README's loop does."""
    bases = [memory_owner(value) for _, value in model.named_parameters()]
    return len({id(base) for base in bases}) < len(bases)


def memory_owner(array):
    """The array owning ``array``'s memory (NumPy views), else ``array`` itself."""
    while isinstance(array, np.ndarray) and array.base is not None:
        array = array.base
    return array


def first_non_finite(named_arrays) -> str | None:
    """The name of the first array holding NaN or Inf, or None."""
    for name, value in named_arrays:
        if isinstance(value, np.ndarray):                # NumPy itself: 2x faster than a wrapper
            finite = np.isfinite(value).all()
        else:
            xp = namespace(value)
            finite = xp.all(xp.isfinite(value))
        if not bool(finite):
            return name
    return None


def copy_into(buffer, array):
    """A copy of ``array``: into ``buffer`` when it is a NumPy array of the same shape."""
    if isinstance(array, np.ndarray):
        if isinstance(buffer, np.ndarray) and buffer.shape == array.shape \
                and buffer.dtype == array.dtype:
            np.copyto(buffer, array)
            return buffer
        return array.copy()
    return namespace(array).asarray(array, copy=True)
