"""One self-contained HTML page per run, built from the files of its run directory alone.

    write_report("runs/ptb-small")          # -> runs/ptb-small/report.html
    rnnlab report runs/ptb-small            # the same from the command line

What the page shows, each section only when its files exist (a missing or unreadable file
is noted on the page, never raised):

    file(s) in RUN_DIR                         section
    command.txt, or "command" in config.json   Reproduce: the exact command
    *.json with a "finding" / "comparisons"    Verdicts: the sentences the run printed
    final_metrics.json, final.json, ...        Final metrics (flat JSON)
    metrics.jsonl                              Curves (curves.png, drawn here if absent)
    config.json                                Config (flattened key = value)
    samples.txt, *.md                          Samples / tables (verbatim)
    *.png (also one folder down, e.g. inspect/)  Figures, inlined as base64

No network: images are ``data:`` URIs, the style sheet and the one small script (which
builds the table of contents and records any script error in ``<body data-errors>``) are
inline.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

__all__ = ["write_report", "REPORT_NAME"]

REPORT_NAME = "report.html"
_FINAL_FILES = ("final_metrics.json", "final.json", "metrics.json")
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #ddd; }
pre { background: #f6f8fa; padding: .7em; overflow-x: auto; font-size: 13px; }
pre#command { white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd;
        padding: 2px 8px; text-align: left; } td.num { text-align: right; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; } .note { color: #a33; }
li.verdict { margin-bottom: .4em; } nav#toc a { margin-right: 1em; }
"""
_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message)); document.body.dataset.errors = errors.join(' | ');
  });
  var toc = document.getElementById('toc');
  document.querySelectorAll('h2[id]').forEach(function (h) {
    var a = document.createElement('a'); a.href = '#' + h.id; a.textContent = h.textContent;
    toc.appendChild(a);
  });
  document.body.dataset.ready = 'yes';
})();
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _read_json(path: Path, notes: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        notes.append(f"{path.name}: not readable as JSON ({err})")
        return None


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        rows = []
        for k, v in value.items():
            rows += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return rows
    return [(prefix, value)]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)) and len(value) > 12:
        return f"[{len(value)} values: {', '.join(_format(v) for v in value[:6])}, ...]"
    return str(value)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{_esc(k)}</th><td{' class=num' if isinstance(v, (int, float)) else ''}>"
        f"{_esc(_format(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


def _img(path: Path, run_dir: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = path.relative_to(run_dir).as_posix()
    return (
        f'<figure><img alt="{_esc(name)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_esc(name)}</figcaption></figure>"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section><h2 id="{anchor}">{_esc(title)}</h2>\n{body}\n</section>'


def _command(run_dir: Path, config: Any) -> str | None:
    path = run_dir / "command.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    if isinstance(config, dict) and isinstance(config.get("command"), str):
        return config["command"]
    return None


def _verdicts(run_dir: Path, notes: list[str]) -> list[str]:
    """Sentences from any *.json holding "finding" or "comparisons": [{"sentence"}]."""
    out = []
    for path in sorted(run_dir.glob("*.json")):
        if path.name in _FINAL_FILES or path.name == "config.json":
            continue
        data = _read_json(path, notes)
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("finding"), str):
            out.append(data["finding"])
        for c in data.get("comparisons") or []:
            if isinstance(c, dict) and isinstance(c.get("sentence"), str):
                out.append(c["sentence"])
    return out


def _curves(run_dir: Path, notes: list[str]) -> Path | None:
    png = run_dir / "curves.png"
    if png.is_file() or not (run_dir / "metrics.jsonl").is_file():
        return png if png.is_file() else None
    try:
        from rnnlab.plotting.curves import plot_curves

        return plot_curves(run_dir / "metrics.jsonl", png)
    except Exception as err:  # a report must never fail because a plot could not be drawn
        notes.append(f"curves.png could not be drawn from metrics.jsonl: {err}")
        return None


def _epoch_table(run_dir: Path, notes: list[str]) -> str:
    from rnnlab.training.metrics import read_jsonl

    try:
        records = read_jsonl(run_dir / "metrics.jsonl")
    except (OSError, ValueError) as err:
        notes.append(f"metrics.jsonl: {err}")
        return ""
    rows = [r for r in records if r.get("split") not in ("train_interval",)]
    if not rows:
        n = len(records)
        return f"<p>{n} per-step records, no per-epoch records yet.</p>"
    keys = sorted({k for r in rows for k in r.get("metrics", {})})
    head = "".join(f"<th>{_esc(k)}</th>" for k in ["epoch", "step", "split", *keys, "lr"])
    body = ""
    for r in rows:
        m = r.get("metrics", {})
        cells = [r.get("epoch"), r.get("step"), r.get("split"), *(m.get(k) for k in keys)]
        cells.append(r.get("lr"))
        body += "<tr>" + "".join(f"<td>{_esc(_format(c))}</td>" for c in cells) + "</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Build ``report.html`` (or ``out``) from the files in ``run_dir``; returns its path.

    Raises only when ``run_dir`` is not a directory (or the page cannot be written).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"expected a run directory, got {str(run_dir)!r} (not a folder)")
    notes: list[str] = []
    config = (
        _read_json(run_dir / "config.json", notes) if (run_dir / "config.json").is_file() else None
    )
    sections = []
    command = _command(run_dir, config)
    sections.append(
        _section(
            "reproduce",
            "Reproduce",
            f"<pre id=command>{_esc(command)}</pre>"
            if command
            else "<p>No command.txt in this run directory.</p>",
        )
    )
    verdicts = _verdicts(run_dir, notes)
    if verdicts:
        items = "".join(f"<li class=verdict>{_esc(v)}</li>" for v in verdicts)
        sections.append(_section("verdicts", "Verdicts", f"<ul id=verdicts>{items}</ul>"))
    for name in _FINAL_FILES:
        if (run_dir / name).is_file():
            data = _read_json(run_dir / name, notes)
            if isinstance(data, dict):
                sections.append(
                    _section("final", f"Final metrics ({name})", _table(_flatten(data)))
                )
            break
    curves = _curves(run_dir, notes)
    if curves is not None or (run_dir / "metrics.jsonl").is_file():
        body = _img(curves, run_dir) if curves is not None else ""
        if (run_dir / "metrics.jsonl").is_file():
            body += "<details><summary>per-epoch records</summary>"
            body += _epoch_table(run_dir, notes) + "</details>"
        sections.append(_section("curves", "Curves", body))
    if isinstance(config, dict):
        sections.append(_section("config", "Config", _table(_flatten(config))))
    texts = [p for p in sorted(run_dir.glob("*.txt")) if p.name != "command.txt"]
    texts += sorted(run_dir.glob("*.md"))
    for path in texts:
        content = path.read_text(encoding="utf-8", errors="replace")
        sections.append(
            _section(path.stem.replace(".", "-"), path.name, f"<pre>{_esc(content)}</pre>")
        )
    pngs = [p for p in sorted(run_dir.glob("*.png")) if p != curves]
    pngs += sorted(p for p in run_dir.glob("*/*.png") if "checkpoints" not in p.parts)
    if pngs:
        sections.append(_section("figures", "Figures", "\n".join(_img(p, run_dir) for p in pngs)))
    if notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in notes)
        sections.append(_section("notes", "Notes", f"<ul class=note>{items}</ul>"))
    page = (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>rnnlab run: {_esc(run_dir.resolve().name)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
        f"<h1 id=title>rnnlab run: {_esc(run_dir.resolve().name)}</h1>\n"
        f"<p>Built from the files in <code>{_esc(run_dir)}</code> by "
        "<code>rnnlab report</code>.</p>\n<nav id=toc></nav>\n"
        + "\n".join(sections)
        + f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
    from rnnlab.training.storage import write_atomic

    path = Path(out) if out is not None else run_dir / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return path
