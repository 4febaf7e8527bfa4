"""The ``rnnlab`` command line: a thin layer that parses arguments and calls library code.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (the handler,
called with the parsed arguments, returning an exit code). Handlers import torch
and the library lazily so that ``rnnlab --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rnnlab import __version__

# Order is the order of ``rnnlab --help``.
COMMAND_MODULES = [
    "rnnlab.cli.quickstart",
    "rnnlab.cli.train",
    "rnnlab.cli.evaluate",
    "rnnlab.cli.generate",
    "rnnlab.cli.experiment",
    "rnnlab.cli.inspect",
    "rnnlab.cli.report",
    "rnnlab.cli.bench",
    "rnnlab.cli.export",
    "rnnlab.cli.data",
    "rnnlab.cli.configs",
    "rnnlab.cli.example",
    "rnnlab.cli.predict",
    "rnnlab.cli.translate",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnlab",
        description="Recurrent neural networks for NLP: train, evaluate, sample, inspect, measure.",
    )
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `rnnlab translate CKPT --beam 5 "text"`: argparse gives a "*" positional nothing once an
    # option sits between it and the positional before it; a command that names such a list
    # in ``late_positionals`` receives those words (anything else is still an error)
    late = getattr(args, "late_positionals", None)
    if extra and late and not any(e.startswith("-") for e in extra):
        setattr(args, late, [*getattr(args, late), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
