"""`rnnlab report RUN_DIR`: rebuild a run's self-contained report.html from its files.

    rnnlab report runs/ptb-small                    # -> runs/ptb-small/report.html
    rnnlab report runs/experiments/forget-bias --out /tmp/fb.html

Works for any run directory (``train``, ``experiment``, ``inspect``): the page shows what the
files there hold (``rnnlab.reporting.write_report``). Thin.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="rebuild a run directory's self-contained report.html",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", help="a run directory (e.g. runs/NAME or runs/experiments/NAME)")
    p.add_argument(
        "--out", default=None, help="where to write the page (default RUN_DIR/report.html)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.reporting import write_report

    try:
        path = write_report(args.run_dir, args.out)
    except (FileNotFoundError, NotADirectoryError, PermissionError) as err:
        raise SystemExit(f"rnnlab report: {err}") from None
    print(f"wrote {path}")
    return 0
