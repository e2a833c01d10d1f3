r"""More practice topics: the losses' backward passes, dropout's and one Adam step.

=====================  =======================================================================
topic                  the function and its equation (batch rows, the mean over N·n entries)
=====================  =======================================================================
``mse``                ``mse_backward(output, target)``: ∂L/∂A = 2(A − Y)/(N n)
``bce``                ``bce_backward(probs, target)``: ∂L/∂P = (P − Y) / (P(1 − P)) / (N n)
``sigmoid_bce``        ``sigmoid_bce_backward(logits, target)``: ∂L/∂Z = (σ(Z) − Y)/(N n)
``dropout``            ``dropout_backward(grad_out, mask, p)``: ∂L/∂X = ∂L/∂A ⊙ M/(1 − p)
``adam``               ``adam_step(weight, grad, m, v, t, lr, beta1, beta2, eps)``
=====================  =======================================================================

Every reference runs the engine (``MSELoss``, ``BCELoss``, ``BCEWithLogitsLoss``, ``Dropout``,
``Adam``), and each planted mistake is the reference with one step changed.
"""

from __future__ import annotations

import numpy as np

from ..nn.layers import Dense, Dropout
from ..nn.losses import BCELoss, BCEWithLogitsLoss, MSELoss
from ..nn.model import Sequential
from ..nn.optim import Adam
from .references import Case, FunctionSpec, Outputs, read_single, read_tuple


# -- mse: ∂L/∂A = 2(A − Y)/(N n) ----------------------------------------------------------------
def _regression_case(rng: np.random.Generator, shape: tuple) -> Case:
    n, units = shape
    return {"output": rng.normal(size=shape), "target": rng.normal(size=shape),
            "_sizes": {"N": n, "n": units}}


def _mse_reference(case: Case) -> Outputs:
    _, grad = MSELoss()(case["output"].copy(), case["target"].copy())
    return {"grad_output": grad}


def _mse_variants(case: Case, reference: Outputs) -> list:
    diff = case["output"] - case["target"]
    n, units = diff.shape
    return [("mean_missing", "the mean runs over all N·n entries: ∂L/∂A = 2(A − Y)/(N n)",
             {"grad_output": 2 * diff}),
            ("mean_missing", "divided by N only: MSE averages over the N·n entries, so "
                             "∂L/∂A = 2(A − Y)/(N n)", {"grad_output": 2 * diff / n}),
            ("other", "the factor 2 of the square is missing ((A − Y)/(N n) is the gradient "
                      "of ½ MSE; deltaprop's MSE, like PyTorch's, has no ½)",
             {"grad_output": diff / (n * units)})]


# -- bce on probabilities: ∂L/∂P = (P − Y)/(P(1 − P)) / (N n) -----------------------------------
def _binary_case(rng: np.random.Generator, shape: tuple) -> Case:
    n, units = shape
    return {"probs": rng.uniform(0.05, 0.95, size=shape),
            "target": rng.integers(0, 2, size=shape).astype(np.float64),
            "_sizes": {"N": n, "n": units}}


def _bce_reference(case: Case) -> Outputs:
    _, grad = BCELoss()(case["probs"].copy(), case["target"].copy())
    return {"grad_probs": grad}


def _bce_variants(case: Case, reference: Outputs) -> list:
    p, y = case["probs"], case["target"]
    count = p.size
    return [("mean_missing", "the mean runs over all N·n entries: divide by N n",
             {"grad_probs": reference["grad_probs"] * count}),
            ("other", "you returned the fused (P − Y)/(N n): that is ∂L/∂Z after a sigmoid; "
                      "∂L/∂P divides it by P(1 − P)", {"grad_probs": (p - y) / count}),
            ("other", "only the first term: ∂/∂p of −[y log p + (1 − y) log(1 − p)] is "
                      "−y/p + (1 − y)/(1 − p)", {"grad_probs": -y / p / count})]


# -- sigmoid + bce, fused: ∂L/∂Z = (σ(Z) − Y)/(N n) ----------------------------------------------
def _logit_case(rng: np.random.Generator, shape: tuple) -> Case:
    n, units = shape
    return {"logits": rng.normal(0.0, 2.0, size=shape),
            "target": rng.integers(0, 2, size=shape).astype(np.float64),
            "_sizes": {"N": n, "n": units}}


def _sigmoid_bce_reference(case: Case) -> Outputs:
    _, grad = BCEWithLogitsLoss()(case["logits"].copy(), case["target"].copy())
    return {"grad_logits": grad}


def _sigmoid_bce_variants(case: Case, reference: Outputs) -> list:
    z, y = case["logits"], case["target"]
    a, count = 1 / (1 + np.exp(-z)), z.size
    return [("mean_missing", "the mean runs over all N·n entries: divide by N n",
             {"grad_logits": reference["grad_logits"] * count}),
            ("activation_derivative_missing", "σ was not applied: Δ = (σ(Z) − Y)/(N n), "
             "not (Z − Y)/(N n)", {"grad_logits": (z - y) / count}),
            ("other", "you multiplied by σ′ = A(1 − A) again: the fused gradient already "
                      "holds the sigmoid's derivative (it cancels the 1/(A(1 − A)) of BCE)",
             {"grad_logits": reference["grad_logits"] * a * (1 - a)}),
            ("other", "you forgot to subtract the targets: Δ = (σ(Z) − Y)/(N n)",
             {"grad_logits": a / count})]


# -- dropout: ∂L/∂X = ∂L/∂A ⊙ M/(1 − p) -----------------------------------------------------------
def _dropout_case(rng: np.random.Generator, shape: tuple) -> Case:
    """The keep mask M (1 kept, 0 dropped) as the engine's ``Dropout`` draws it."""
    n, units, p = shape
    layer = Dropout(p, seed=int(rng.integers(2 ** 31)))
    layer.forward(np.ones((n, units)))
    return {"grad_out": rng.normal(size=(n, units)), "mask": (layer.mask > 0).astype(float),
            "p": p, "_sizes": {"N": n, "n": units, "p": p}}


def _dropout_reference(case: Case) -> Outputs:
    layer = Dropout(case["p"])
    layer.mask = case["mask"] / (1.0 - case["p"])        # what forward stored: M / (1 − p)
    return {"grad_x": layer.backward(case["grad_out"].copy())}


def _dropout_variants(case: Case, reference: Outputs) -> list:
    g, mask, p = case["grad_out"], case["mask"], case["p"]
    return [("other", "the 1/(1 − p) of inverted dropout is missing: the forward pass scaled "
                      "the kept units, so the backward pass scales them too",
             {"grad_x": g * mask}),
            ("other", "divided by p instead of 1 − p (p is the probability to DROP)",
             {"grad_x": g * mask / p}),
            ("other", "the mask is missing: dropped units pass no gradient",
             {"grad_x": g / (1 - p)}),
            ("other", "the mask is inverted: M marks the units KEPT",
             {"grad_x": g * (1 - mask) / (1 - p)})]


# -- adam: m, v, bias correction, step ------------------------------------------------------------
def _adam_case(rng: np.random.Generator, shape: tuple) -> Case:
    (n_out, n_in), t, lr, beta1, beta2 = shape
    return {"weight": rng.normal(size=(n_out, n_in)), "grad": rng.normal(size=(n_out, n_in)),
            "m": rng.normal(0.0, 0.3, size=(n_out, n_in)),
            "v": rng.uniform(0.0, 0.5, size=(n_out, n_in)) if t > 1 else np.zeros((n_out, n_in)),
            "t": t, "lr": lr, "beta1": beta1, "beta2": beta2, "eps": 1e-8,
            "_sizes": {"shape": f"{n_out}x{n_in}", "t": t, "lr": lr}}


def _adam_reference(case: Case) -> Outputs:
    n_out, n_in = case["weight"].shape
    model = Sequential(Dense(n_in, n_out, bias=False, dtype=np.float64))
    model[0].params["weight"][...] = case["weight"]
    model[0].grads["weight"] = case["grad"].copy()
    optimizer = Adam(model, lr=case["lr"], betas=(case["beta1"], case["beta2"]), eps=case["eps"])
    optimizer.state["0.weight"] = {"step": case["t"] - 1, "m": case["m"].copy(),
                                   "v": case["v"].copy()}          # the state before step t
    optimizer.step()
    state = optimizer.state["0.weight"]
    return {"new_weight": model[0].params["weight"], "new_m": state["m"], "new_v": state["v"]}


def _adam_update(case: Case, m, v, t, sign=-1.0) -> np.ndarray:
    m_hat = m / (1 - case["beta1"] ** t)
    v_hat = v / (1 - case["beta2"] ** t)
    return case["weight"] + sign * case["lr"] * m_hat / (np.sqrt(v_hat) + case["eps"])


def _adam_variants(case: Case, reference: Outputs) -> list:
    g, t, b1, b2 = case["grad"], case["t"], case["beta1"], case["beta2"]
    m, v = reference["new_m"], reference["new_v"]
    v_abs = b2 * case["v"] + (1 - b2) * np.abs(g)
    off_by_one = ("the bias correction used t − 1 or t + 1: t counts this step, the first "
                  "step has t = 1")
    found = [("sign_flipped", "the step climbs the loss: W ← W − η m̂ / (√v̂ + ε)",
              {"new_weight": _adam_update(case, m, v, t, +1.0)}),
             ("other", "no bias correction: m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ) matter most in "
                       "the first steps", {"new_weight": case["weight"] - case["lr"] * m
                                           / (np.sqrt(v) + case["eps"])}),
             ("other", off_by_one, {"new_weight": _adam_update(case, m, v, t + 1)}),
             ("other", "v averages the SQUARED gradient: v ← β₂ v + (1 − β₂) g²",
              {"new_v": v_abs, "new_weight": _adam_update(case, m, v_abs, t)}),
             ("other", "β₁ and (1 − β₁) are swapped: m ← β₁ m + (1 − β₁) g",
              {"new_m": (1 - b1) * case["m"] + b1 * g})]
    if t > 1:
        found.append(("other", off_by_one, {"new_weight": _adam_update(case, m, v, t - 1)}))
    return found


# -- the table ------------------------------------------------------------------------------------
_PAIRS = ((5, 3), (4, 1), (7, 2), (5, 3))

MORE_SPECS: dict[str, FunctionSpec] = {
    "mse_backward": FunctionSpec(
        "mse_backward", "mse", ("output", "target"), _PAIRS, _regression_case,
        _mse_reference, read_single("grad_output")),
    "bce_backward": FunctionSpec(
        "bce_backward", "bce", ("probs", "target"), _PAIRS, _binary_case, _bce_reference,
        read_single("grad_probs")),
    "sigmoid_bce_backward": FunctionSpec(
        "sigmoid_bce_backward", "sigmoid_bce", ("logits", "target"), _PAIRS, _logit_case,
        _sigmoid_bce_reference, read_single("grad_logits")),
    "dropout_backward": FunctionSpec(
        "dropout_backward", "dropout", ("grad_out", "mask", "p"),
        ((5, 3, 0.5), (4, 7, 0.2), (6, 2, 0.3), (5, 3, 0.5)), _dropout_case,
        _dropout_reference, read_single("grad_x")),
    "adam_step": FunctionSpec(
        "adam_step", "adam", ("weight", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
        (((4, 3), 1, 0.1, 0.9, 0.999), ((2, 5), 3, 0.01, 0.8, 0.99),
         ((6, 2), 10, 0.05, 0.9, 0.999), ((4, 3), 2, 0.2, 0.5, 0.9)),
        _adam_case, _adam_reference, read_tuple(("new_weight", "new_m", "new_v"))),
}

MORE_VARIANTS = {"mse_backward": _mse_variants, "bce_backward": _bce_variants,
                 "sigmoid_bce_backward": _sigmoid_bce_variants,
                 "dropout_backward": _dropout_variants, "adam_step": _adam_variants}

_LOSS_GENERIC = frozenset({"sign_flipped", "transposed", "wrong_shape", "mean_missing",
                           "mean_doubled"})
MORE_GENERIC = {"mse": _LOSS_GENERIC, "bce": _LOSS_GENERIC, "sigmoid_bce": _LOSS_GENERIC,
                "dropout": frozenset({"sign_flipped", "transposed", "wrong_shape"}),
                "adam": frozenset({"transposed", "wrong_shape"})}

MORE_TOPIC_HINTS = {
    ("mse", "sign_flipped"): "the sign is flipped: ∂L/∂A = 2(A − Y)/(N n), prediction minus "
                             "target",
    ("mse", "mean_doubled"): "divided by N twice: the mean over N·n entries divides once",
    ("bce", "sign_flipped"): "the sign is flipped: ∂L/∂P = (P − Y)/(P(1 − P) N n)",
    ("sigmoid_bce", "sign_flipped"): "the sign is flipped: Δ = (σ(Z) − Y)/(N n), not "
                                     "(Y − σ(Z))/(N n)",
    ("dropout", "sign_flipped"): "the sign is flipped: dropout only masks and scales, "
                                 "∂L/∂X = +∂L/∂A ⊙ M/(1 − p)",
    ("dropout", "transposed"): "the result is transposed: ∂L/∂X has X's shape (N, n)",
    ("adam", "transposed"): "the result is transposed: W, m and v keep W's shape",
}
