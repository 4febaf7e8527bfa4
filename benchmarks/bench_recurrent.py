"""Recurrent-layer speed benchmark: rnnlab (auto, scratch) vs torch.nn, same process.

    python benchmarks/bench_recurrent.py [--quick] [--device cpu|cuda] [--out PATH]

The same as ``rnnlab bench``; the logic lives in ``rnnlab.benchmark``.
"""

from __future__ import annotations

import argparse
import sys

from rnnlab.cli.bench import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
