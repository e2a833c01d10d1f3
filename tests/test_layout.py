"""The package layout: old flat module paths still work for one release and say where to go,
``import deltaprop`` warns about nothing, and ``fit(resume=...)`` takes a checkpoint's state."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import deltaprop as dp

MOVED = {
    "activations": "deltaprop.nn.activations", "callbacks": "deltaprop.training.callbacks",
    "checkpoint": "deltaprop.io.checkpoint", "gradcheck": "deltaprop.training.gradient_check",
    "init": "deltaprop.nn.init", "layers": "deltaprop.nn.layers",
    "losses": "deltaprop.nn.losses", "metrics": "deltaprop.training.metrics",
    "model": "deltaprop.nn.model", "onnx": "deltaprop.io.onnx", "optim": "deltaprop.nn.optim",
    "preprocessing": "deltaprop.training.preprocessing",
    "progress": "deltaprop.training.progress", "schedules": "deltaprop.nn.schedules",
    "validation": "deltaprop.training.validation",
}


def _a_public_name(module) -> str:
    return sorted(n for n in vars(module) if not n.startswith("_") and n != "annotations")[0]


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_path_gives_the_same_object_with_a_warning_naming_the_new_one(old, new,
                                                                            monkeypatch):
    monkeypatch.setattr(dp, old, getattr(dp, old, None), raising=False)   # put back after
    shim, target = importlib.import_module(f"deltaprop.{old}"), importlib.import_module(new)
    name = _a_public_name(target)
    with pytest.warns(DeprecationWarning, match=rf"deltaprop\.{old} is deprecated.*{new}"):
        value = getattr(shim, name)
    assert value is getattr(target, name)
    with pytest.raises(AttributeError, match="no attribute"):
        shim.__no_such_dunder__  # noqa: B018


def test_a_dunder_lookup_on_an_old_path_does_not_warn():
    shim = importlib.import_module("deltaprop.layers")
    assert not hasattr(shim, "__wrapped__")        # inspect/doctest probe these: no warning


def test_explain_is_the_function_and_explainer_the_module():
    assert callable(dp.explain) and dp.explain.__module__ == "deltaprop.explainer"
    assert importlib.import_module("deltaprop.explainer").Trace is dp.Trace


@pytest.mark.slow
def test_importing_the_packages_and_old_paths_never_breaks_the_public_functions():
    code = ("import deltaprop, deltaprop.nn, deltaprop.training, deltaprop.io, "
            "deltaprop.explainer, deltaprop.practice, deltaprop.datasets, deltaprop.plots, "
            "deltaprop.cli\n"
            "import deltaprop.gradcheck, deltaprop.layers\n"
            "m = deltaprop.mlp([2, 3, 1], seed=0)\n"
            "import numpy as np\n"
            "X, y = np.ones((4, 2)), np.zeros((4, 1))\n"
            "print(deltaprop.gradcheck(m, X, y, loss='mse').passed)\n")
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr


def test_the_old_gradcheck_module_keeps_the_functions_signature(monkeypatch):
    import inspect

    monkeypatch.setattr(dp, "gradcheck", dp.gradcheck)
    module = importlib.import_module("deltaprop.gradcheck")
    assert inspect.signature(module) == inspect.signature(dp.training.gradient_check.gradcheck)


@pytest.mark.slow
def test_fit_resumes_from_a_state_object_as_from_its_path(tmp_path, rng):
    pytest.importorskip("safetensors")
    from deltaprop.io.checkpoint import Checkpoint, load_checkpoint

    X, y = rng.normal(size=(32, 3)), rng.integers(0, 2, size=32)

    def run(epochs, **kwargs):
        model = dp.mlp([3, 4, 2], seed=0)
        history = dp.fit(model, X, y, loss="cross_entropy", optimizer=dp.SGD(model, lr=0.1),
                         epochs=epochs, batch_size=8, seed=1, **kwargs)
        return model, history

    path = tmp_path / "run.ckpt"
    run(2, callbacks=[Checkpoint(path)])
    from_path, _ = run(4, resume=path)
    from_state, history = run(4, resume=load_checkpoint(path))
    assert len(history.history["loss"]) == 4
    for key, value in from_path.state_dict().items():
        assert (from_state.state_dict()[key] == value).all()


def test_every_package_has_a_place_in_the_layering_contract():
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    in_contract = {name.strip() for layer in contract["layers"] for name in layer.split("|")}
    packages = {f"deltaprop.{path.parent.name}"
                for path in (root / "src" / "deltaprop").glob("*/__init__.py")}
    assert packages | {"deltaprop._checks"} == in_contract


@pytest.mark.slow
def test_no_private_name_is_imported_from_another_module():
    """STYLE rule 15: a private name (``_x``) is imported across modules only from a
    package-private helper module, whose own name starts with ``_``."""
    import ast
    from pathlib import Path

    root = Path(dp.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            module = (node.module or "").split(".")[-1]
            found += [f"{path.relative_to(root)}:{node.lineno} {alias.name}"
                      for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")
                      and not module.startswith("_") and node.module]
    assert found == []
