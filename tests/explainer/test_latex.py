"""The LaTeX trace compiles with pdflatex for any layer width, and nothing runs off the page."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import deltaprop
from deltaprop import mlp
from deltaprop.explainer.latex import to_text

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(
    PDFLATEX is None, reason="pdflatex is not installed (Debian: apt-get install "
                             "texlive-latex-base; .ci/run installs it)")


def _compile(tex: str, tmp_path) -> str:
    """pdflatex's log; fails the test with the first error if the document does not compile."""
    (tmp_path / "trace.tex").write_text(tex, encoding="ascii")
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                          "-no-shell-escape",
                          "trace.tex"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, check=False)
    log = (tmp_path / "trace.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and (tmp_path / "trace.pdf").exists(), errors[:3]
    return log


def _trace(n_inputs: int, rng, **options):
    model = mlp([n_inputs, 3, 2], activation="tanh", seed=0, dtype=np.float64)
    return deltaprop.explain(model, rng.normal(size=(4, n_inputs)), rng.integers(0, 2, 4),
                             "cross_entropy", optimizer=deltaprop.Adam(model, lr=0.1),
                             show_unfused=True, compare="column", **options)


@needs_pdflatex
@pytest.mark.parametrize("n_inputs", [pytest.param(n, marks=pytest.mark.slow)
                                      for n in (1, 3, 20, 100)] + [784])
@pytest.mark.slow
def test_the_latex_trace_compiles_for_any_input_width(n_inputs, rng, tmp_path):
    log = _compile(_trace(n_inputs, rng).to_latex(), tmp_path)
    assert "Overfull \\hbox" not in log


@needs_pdflatex
@pytest.mark.slow
@pytest.mark.parametrize("notation", ["batch", "ng", "haykin"])
def test_wide_and_tall_matrices_shown_whole_are_tiled_and_fit(notation, rng, tmp_path):
    trace = _trace(20, rng, max_values=10_000)         # every matrix whole: (4, 20), (3, 20)
    tex = trace.in_notation(notation).to_latex()
    assert r"columns 19--20}" in tex or r"\text{rows 13--20, columns" in tex
    log = _compile(tex, tmp_path)
    assert "Overfull \\hbox" not in log


def test_tiles_hold_every_entry_the_text_form_prints(rng):
    from deltaprop.explainer.render import NUMBER_PATTERN, _latex_value, format_array

    trace = _trace(20, rng, max_values=10_000)
    (value,) = [v for v in trace["forward.z.1"].values if v.slot == "weight"]
    weight = value.array                                              # (3, 20)
    tiles = _latex_value(value, trace)
    assert len(tiles) == 4                                            # columns in sixes
    shown = [n for tile in tiles for n in NUMBER_PATTERN.findall(tile.split("=", 1)[1])]
    printed = NUMBER_PATTERN.findall(format_array(weight, 10_000))
    assert sorted(shown) == sorted(printed) and len(shown) == weight.size


def test_a_summarised_matrix_shows_its_corner_and_dots(rng):
    from deltaprop.explainer.render import _latex_value

    trace = _trace(784, rng)
    values = {v.slot: v for v in trace["forward.z.1"].values + trace["input"].values}
    summary, line = _latex_value(values["weight"], trace)            # W is (3, 784)
    assert summary.startswith(to_text("W⁽¹⁾ (given): shape (3, 784): min"))
    assert line.count(r"\cdots") == 3 and line.count(r"\vdots") == 0
    summary, line = _latex_value(values["x"], trace)                 # X is (4, 784)
    assert line.count(r"\cdots") == 3 and line.count(r"\vdots") == 3 and r"\ddots" in line
    corner = values["x"].array[:3, :3]
    assert all(f"{x:.4g}" in line for x in corner.ravel())


@pytest.mark.parametrize(("prose", "escaped"), [
    ("100% & $5 #1 a_b {x} ~ ^ \\", r"100\% \& \$5 \#1 a\_b \{x\} \textasciitilde{} "
                                     r"\textasciicircum{} \textbackslash{}"),
    ("|σ′(Z)| < 1e−3 > 0", r"$|\sigma'$(Z)$|$ $<$ 1e-3 $>$ 0"),
    ("$σ", r"\$$\sigma$"),                   # an escaped $ next to inline math stays escaped
])
def test_prose_is_escaped_for_latex(prose, escaped):
    assert to_text(prose) == escaped


@needs_pdflatex
def test_every_special_character_compiles(tmp_path):
    body = to_text("100% & $5 #1 a_b {x} ~ ^ \\ |σ′(Z)| < 1e−3 > 0 $σ W⁽¹⁾ᵀ Δ⁽²⁾ ≈ η")
    tex = "\\documentclass{article}\n\\begin{document}\n" + body + "\n\\end{document}\n"
    _compile(tex, tmp_path)


@needs_pdflatex
@pytest.mark.slow
def test_saturated_and_dead_unit_notes_compile(tmp_path):
    model = mlp([2, 3, 3, 1], activation="relu", output="sigmoid", seed=0, dtype=np.float64)
    model.layers[0].params["weight"][0] = [-5.0, -5.0]          # dead on this batch
    X, y = np.array([[0.5, 1.0], [1.0, 2.0]]), np.array([[1.0], [0.0]])
    model.layers[4].params["weight"][0] = 40.0                   # the output sigmoid saturates
    model.layers[4].params["bias"][0] = 200.0
    tex = deltaprop.explain(model, X, y, "mse").to_latex()
    assert r"dead on this batch" in tex and r"$\sigma'$ $\approx$ 0 here" in tex
    _compile(tex, tmp_path)


def test_a_symbol_after_a_word_stays_math():
    """``log A⁽²⁾``: the word is text, the matrix keeps its superscript (not ``\\text{log A}``)."""
    from deltaprop.explainer.latex import to_math

    assert to_math("Y ⊙ log A⁽²⁾") == r"Y \odot  \text{log }A^{(2)}"
    assert to_math("mean over rows of x") == r"\text{mean over rows of }x"
