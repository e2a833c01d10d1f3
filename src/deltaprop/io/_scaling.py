"""The scaling stored in a model file, checked: the features' and the regression target's.

``preprocessing`` is a ``Standardizer`` of the model's inputs (or the caller's own JSON
object, stored as given); ``target_preprocessing`` a ``Standardizer`` of its outputs.  Both
are untrusted when read: one finite mean and one finite scale > 0 per input (output).
"""

from __future__ import annotations

from typing import Any

from ._files import finite_number


def target_text(target_preprocessing: Any, spec: list[dict[str, Any]],
                json_field: Any) -> str | None:
    """The ``target_preprocessing`` field's text: a Standardizer of the model's outputs."""
    if target_preprocessing is None:
        return None
    if not hasattr(target_preprocessing, "to_dict"):
        raise TypeError("target_preprocessing must be None or a Standardizer, got "
                        f"{type(target_preprocessing).__name__}")
    text, prep = json_field("target_preprocessing", target_preprocessing.to_dict(), allow_nan=True)
    check_target_preprocessing(prep, spec, "target_preprocessing")
    return text


def preprocessing_dict(preprocessing: Any) -> Any:
    """``preprocessing`` as the dict to save: ``to_dict()`` of a Standardizer, or the dict."""
    if preprocessing is None:
        return None
    if hasattr(preprocessing, "to_dict"):
        return preprocessing.to_dict()
    if isinstance(preprocessing, dict):
        return preprocessing
    raise TypeError("preprocessing must be None, a dict, or have to_dict() (Standardizer), "
                    f"got {type(preprocessing).__name__}")


def check_preprocessing(prep: Any, spec: list[dict[str, Any]], name: str) -> None:
    """None, the caller's own dict, or a Standardizer with one finite mean and one finite
    scale > 0 per model input."""
    if prep is None:
        return
    if not isinstance(prep, dict):
        raise ValueError(f"{name} must be a JSON object or null, found {type(prep).__name__}")
    if prep.get("type") != "standardizer":
        return                                          # the caller's own description
    width = next(entry["in_features"] for entry in spec if entry["type"] == "Dense")
    _check_standardizer(prep, width, "input", name)


def check_target_preprocessing(prep: Any, spec: list[dict[str, Any]], name: str) -> None:
    """None, or a Standardizer with one finite mean and one finite scale > 0 per output."""
    if prep is None:
        return
    if not isinstance(prep, dict) or prep.get("type") != "standardizer":
        raise ValueError(f"{name} must be a standardizer or null, found {prep!r:.60}")
    width = [entry["out_features"] for entry in spec if entry["type"] == "Dense"][-1]
    _check_standardizer(prep, width, "output", name)


def _check_standardizer(prep: dict[str, Any], width: int, what: str, name: str) -> None:
    """Exactly type, mean and scale; ``width`` finite means and ``width`` finite scales > 0."""
    if set(prep) != {"type", "mean", "scale"}:
        raise ValueError(f"{name}: a standardizer has exactly type, mean and scale, found "
                         f"{sorted(prep)}")
    for key in ("mean", "scale"):
        values = prep[key]
        if not isinstance(values, list) or len(values) != width:
            found = len(values) if isinstance(values, list) else type(values).__name__
            raise ValueError(f"{name}: standardizer {key} must be a list of {width} numbers "
                             f"(one per model {what}), found {found}")
        bad = [v for v in values if not finite_number(v) or (key == "scale" and v <= 0)]
        if bad:
            rule = "finite numbers > 0" if key == "scale" else "finite numbers"
            raise ValueError(f"{name}: standardizer {key} must hold {rule}, found "
                             f"{bad[0]!r:.40}")


def preprocessing_object(data: Any) -> Any:
    if isinstance(data, dict) and data.get("type") == "standardizer":
        from ..training.preprocessing import Standardizer

        return Standardizer.from_dict(data)
    return data
