"""``deltaprop export``: a saved model as an ONNX file that takes raw rows.

By default the scaling saved with the model is folded into the graph: the features are
standardised first and a regression output is returned to the target's units last, so
onnxruntime on the rows of a CSV file gives the numbers of 'deltaprop predict'.  With
--no-preprocessing the graph is the bare network: it expects standardised rows and answers
a regression in standardised units.  The input is named "input", shape (N, features), the
output "output"; both in the model's dtype.  Needs the onnx extra (pip install
'deltaprop[onnx]').
"""

from __future__ import annotations

import argparse

from . import CLIError
from ._common import check_output_file, load_model, positive_int, user_errors

EXAMPLES = """examples:
  deltaprop train diabetes --out runs/diabetes
  deltaprop export runs/diabetes/model.safetensors diabetes.onnx
  deltaprop export runs/diabetes/model.safetensors bare.onnx --no-preprocessing
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="write a saved model as ONNX (raw rows in, as predict reads them)",
        description=__doc__, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a model file written by 'deltaprop train --out'")
    parser.add_argument("output", help="the ONNX file to write (written whole or not at all)")
    parser.add_argument("--no-preprocessing", action="store_true",
                        help="export the bare network, without the stored scaling (default: "
                             "fold the scaling in, so the graph takes raw rows)")
    parser.add_argument("--opset", type=positive_int, default=None,
                        help="the ONNX opset, 13 or more (default: 17)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..io.onnx import OPSET, export_onnx

    check_output_file("OUTPUT", args.output, {"model file": args.model})
    bundle = load_model(args.model)
    if not args.no_preprocessing and isinstance(bundle.preprocessing, dict):
        raise CLIError(f"cannot export {args.model!r}: its preprocessing is the caller's own "
                       "description, not a standardisation deltaprop can fold into the graph; "
                       "pass --no-preprocessing and apply it before onnxruntime")
    with user_errors(f"cannot export {args.model!r}"):
        path = export_onnx(bundle, args.output, preprocessing=not args.no_preprocessing,
                           opset=OPSET if args.opset is None else args.opset)
    folded = "the bare network (standardised rows in)" if args.no_preprocessing else \
        "raw rows in" + (", the target's units out" if bundle.target_preprocessing else "")
    print(f"wrote {path}: {bundle.model.in_features} inputs, {bundle.model.out_features} "
          f"outputs, {folded}")
    return 0
