"""`rnnlab configs`: the named run configurations shipped with rnnlab, with their task and
one-line description (the first comment line of each TOML file).

    rnnlab configs            # name, task, description
    rnnlab configs --show ptb-small
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "configs",
        help="list the named run configs (rnnlab train TASK --config NAME)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--show", metavar="NAME", help="print one config's TOML")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.training.config import ConfigError
    from rnnlab.training.runs import config_path, shipped_configs

    if args.show:
        try:
            print(config_path(args.show).read_text(encoding="utf-8"), end="")
        except ConfigError as exc:
            print(f"rnnlab configs: {exc}", file=sys.stderr)
            return 2
        return 0
    configs = shipped_configs()
    width = max(len(c["name"]) for c in configs)
    for c in configs:
        print(f"{c['name']:<{width}}  {c['task']:<8}  {c['description']}")
    return 0
