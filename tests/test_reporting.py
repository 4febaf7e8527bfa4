"""report.html: built from a run directory's files alone, self-contained, renders in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from rnnlab.cli import main
from rnnlab.reporting import write_report


def _png(path, color=(200, 30, 30)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1], color=[c / 255 for c in color])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "command.txt").write_text("rnnlab train lm --dataset ptb --epochs 2\n")
    (d / "config.json").write_text(json.dumps({"model": {"cell": "lstm", "hidden_size": 8}}))
    recs = []
    for step in range(5, 41, 5):
        recs.append(
            {
                "epoch": 1 + (step > 20),
                "step": step,
                "split": "train_interval",
                "metrics": {"loss": 3.0 - step / 40},
            }
        )
        if step % 20 == 0:
            for split in ("train", "valid"):
                recs.append(
                    {
                        "epoch": step // 20,
                        "step": step,
                        "split": split,
                        "metrics": {"loss": 2.5 - step / 40},
                    }
                )
    (d / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    (d / "final_metrics.json").write_text(json.dumps({"test_ppl": 112.5, "epochs": 2}))
    (d / "forget_bias.json").write_text(
        json.dumps(
            {
                "finding": "Forget bias 1 is higher than 0 at T=20.",
                "comparisons": [{"sentence": "T=20: fb 1 0.95 [0.9, 1.0] is higher than fb 0"}],
            }
        )
    )
    (d / "samples.txt").write_text("the cat <sat> & the dog\n")
    _png(d / "accuracy.png")
    _png(d / "inspect" / "gates_rnn_layer0.png", (30, 30, 200))
    return d


def test_report_shows_every_file_and_needs_no_network(run_dir):
    page = write_report(run_dir).read_text()
    assert (run_dir / "curves.png").is_file()  # drawn from metrics.jsonl when absent
    assert "rnnlab train lm --dataset ptb --epochs 2" in page
    assert "Forget bias 1 is higher than 0 at T=20." in page and "fb 1 0.95" in page
    assert "112.5" in page and "model.hidden_size" in page
    assert "the cat &lt;sat&gt; &amp; the dog" in page  # escaped verbatim
    imgs = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert imgs == ["curves.png", "accuracy.png", "inspect/gates_rnn_layer0.png"]
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_report_never_raises_on_missing_or_broken_optional_files(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "No command.txt" in write_report(empty).read_text()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "metrics.jsonl").write_text("")
    page = write_report(broken).read_text()
    assert "config.json: not readable as JSON" in page
    assert "curves.png could not be drawn" in page
    with pytest.raises(SystemExit, match="expected a run directory"):
        main(["report", str(tmp_path / "nope")])
    assert main(["report", str(broken), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").is_file() and "wrote" in capsys.readouterr().out


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _open(browser, page, *extra):
    """Headless Chromium on a file: (DOM after scripts ran, console lines from stderr)."""
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        f"file://{page}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    console = [ln for ln in done.stderr.splitlines() if ":CONSOLE" in ln]
    return done.stdout, console


def test_report_renders_in_headless_chromium_without_console_errors(run_dir, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not on PATH (Debian: apt-get install -y chromium)")
    page = write_report(run_dir)
    dom, console = _open(browser, page, "--dump-dom")
    assert console == []
    assert 'data-ready="yes"' in dom and "data-errors" not in dom  # the inline script ran
    for element in ('id="title"', 'id="command"', 'id="verdicts"', 'id="curves"', 'id="figures"'):
        assert element in dom
    assert '<a href="#verdicts">Verdicts</a>' in dom  # the table of contents was built
    shot = tmp_path / "screenshot.png"
    _open(browser, page, f"--screenshot={shot}", "--window-size=1200,2400")
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    # the check itself can fail: a page with a script error is caught
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    assert any("undefinedFunction" in line for line in _open(browser, bad, "--dump-dom")[1])
