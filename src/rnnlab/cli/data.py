"""`rnnlab data list | verify | download [NAMES] [--data-dir DIR]`: the dataset directory.

* ``list``: each dataset, its folder and whether its files are present (no hashing);
* ``verify``: re-hash the present files against the pinned SHA-256 (exit 1 on any problem);
* ``download``: fetch missing files from their canonical source (exit 1 if any fails).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=None,
        help="data directory (default: $RNNLAB_DATA, else ~/.cache/rnnlab)",
    )
    parser = subparsers.add_parser(
        "data", help="list, verify or download the datasets", description=__doc__.split("\n")[0]
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION")
    for action, help_text in (
        ("list", "show datasets and which files are present"),
        ("verify", "check sizes and SHA-256 of the files present"),
        ("download", "download missing files (SHA-256 checked)"),
    ):
        sub = actions.add_parser(action, parents=[common], help=help_text)
        sub.add_argument("names", nargs="*", metavar="NAME", help="datasets (default: all)")
        sub.set_defaults(func=_run, data_action=action)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _run(args: argparse.Namespace) -> int:
    from rnnlab.text import datasets

    names = getattr(args, "names", None) or list(datasets.DATASETS)
    try:
        for name in names:
            datasets.get_dataset(name)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    root = datasets.data_root(args.data_dir)
    handler = {"list": _list, "verify": _verify, "download": _download}[args.data_action]
    return handler(names, root)


def _list(names: list[str], root) -> int:
    from rnnlab.text.datasets import DATASETS

    print(f"data directory: {root}")
    for name in names:
        dataset = DATASETS[name]
        present = sum(f.path(root).is_file() for f in dataset.files.values())
        total = len(dataset.files)
        state = "present" if present == total else f"{present}/{total} files"
        print(f"  {name:<10} {dataset.folder + '/':<13} {state:<10} {dataset.description}")
    return 0


def _verify(names: list[str], root) -> int:
    from rnnlab.text.download import verify_dataset

    problems = 0
    for name in names:
        for item in verify_dataset(name, root):
            problems += item.status != "ok"
            print(f"{item.status:<12} {name:<10} {item.path}")
    print(f"{problems} problem(s)" if problems else "all files ok")
    return 1 if problems else 0


def _download(names: list[str], root) -> int:
    from rnnlab.text.datasets import resolve_dataset

    failed = 0
    for name in names:
        try:
            paths = resolve_dataset(name, root, download=True)
        except (OSError, ValueError) as err:
            failed += 1
            print(f"error: {err}", file=sys.stderr)
            continue
        print(f"{name}: {len(paths)} file(s) under {root}")
    return 1 if failed else 0
