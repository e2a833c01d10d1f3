"""``deltaprop datasets``: list the datasets ``train`` can load by name."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  deltaprop datasets
  deltaprop train moons --layers 16,16 --activation tanh
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "datasets", help="list the datasets that can be loaded by name", description=__doc__,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run)


def run(args) -> int:
    from .. import datasets

    entries = datasets.available()
    width = max(len(name) for name, _ in entries)
    for name, description in entries:
        print(f"{name:<{width}}  {description}")
    print("\nAny .csv file (with --target COLUMN) or .npz file (arrays X and y) works too.")
    return 0
