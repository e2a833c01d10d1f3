r"""Central differences through the learner's own forward functions, in the checker's child.

Loaded by ``_child.py`` from its own folder (by path: the child never imports deltaprop) when
the plan holds ``gradchecks``.  Standard library and NumPy only.  For each check it calls the
learner's backward function once, then the learner's forward function at ``x ± h`` for some
entries of each input ``x``, and sends back the numbers only:

.. math::
    \frac{\partial L}{\partial x_i} \approx \frac{L(x + h e_i) - L(x - h e_i)}{2h}

with ``L`` the forward's scalar output (a loss), or ``Σ forward(...) ⊙ G`` for a layer given
the upstream gradient ``G`` (so that ``∂L/∂x`` is exactly what its backward returns).  The
checker computes the relative errors and the verdict.
"""

H = 1e-5                 # the step of the central differences (float64)
MAX_ENTRIES = 60         # entries of one input differentiated, at most (evenly spread)


def run(checks, module, decode, describe_error, send, np):
    """Every check of the plan: one ``gradcheck`` event each, with the numbers or the error."""
    for check in checks:
        record = {"event": "gradcheck", "id": check["id"]}
        forward = _function(module, check["forward"])
        backward = _function(module, check["backward"])
        if forward is None or backward is None:
            record["missing"] = check["forward"] if forward is None else check["backward"]
            send(record)
            continue
        try:
            record["outputs"] = _one(check, forward, backward, decode, np)
        except BaseException as error:  # noqa: BLE001 - the learner's code may raise anything
            record["raised"] = describe_error(error)
        send(record)


def _function(module, name):
    try:
        function = getattr(module, name, None)
    except BaseException:  # noqa: BLE001 - a module __getattr__ may raise
        return None
    return function if callable(function) else None


def _one(check, forward, backward, decode, np):
    """The learner's analytic gradients and the central differences of its forward."""
    upstream = decode(check["upstream"], np) if check.get("upstream") else None

    def loss(args):
        value = np.asarray(forward(*args), dtype=np.float64)
        if upstream is not None:
            return float(np.sum(value * upstream))
        return float(value.reshape(-1)[0]) if value.size == 1 else float("nan")

    returned = backward(*[decode(v, np) for v in check["backward_inputs"]])
    arguments = [decode(v, np) for v in check["forward_inputs"]]
    outputs = []
    for wrt in check["wrt"]:
        analytic = returned
        for key in wrt["output"] if isinstance(wrt["output"], list) else [wrt["output"]]:
            analytic = analytic if key is None else analytic[key]   # e.g. grad_weights[1]
        analytic = np.asarray(analytic, dtype=np.float64)
        x = arguments[wrt["arg"]]
        if wrt.get("item") is not None:                             # one array of a list
            x = x[wrt["item"]]
        entries = _entries(x.size)
        numeric = []
        for i in entries:
            old = x.flat[i]
            x.flat[i] = old + H
            plus = loss(arguments)
            x.flat[i] = old - H
            minus = loss(arguments)
            x.flat[i] = old
            numeric.append((plus - minus) / (2 * H))
        outputs.append({"name": wrt["name"], "entries": entries, "numeric": numeric,
                        "shape": list(analytic.shape),
                        "analytic": analytic.reshape(-1).tolist()[:100_000]})
    return outputs


def _entries(size):
    """Which flat entries to differentiate: all of a small input, else evenly spread."""
    if size <= MAX_ENTRIES:
        return list(range(size))
    step = size / MAX_ENTRIES
    return sorted({int(k * step) for k in range(MAX_ENTRIES)})
