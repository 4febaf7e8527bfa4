"""curves.png: training loss per logged step, validation per epoch, integer epoch ticks."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pytest

from rnnlab.plotting.curves import curve_figure, plot_curves, smooth, step_series


def _records(interval: bool, epochs: int = 3, steps_per_epoch: int = 40, every: int = 5):
    recs = []
    for e in range(1, epochs + 1):
        if interval:
            for s in range(every, steps_per_epoch + 1, every):
                step = (e - 1) * steps_per_epoch + s
                recs.append(
                    {
                        "epoch": e,
                        "step": step,
                        "split": "train_interval",
                        "metrics": {"loss": 3.0 / step**0.3},
                    }
                )
        end = e * steps_per_epoch
        recs.append({"epoch": e, "step": end, "split": "train", "metrics": {"loss": 2.0 / e}})
        recs.append({"epoch": e, "step": end, "split": "valid", "metrics": {"loss": 2.2 / e}})
    return recs


def test_step_series_places_intervals_and_epochs_on_one_step_axis():
    s = step_series(_records(interval=True), "loss")
    assert s["train_interval"][0][:3] == [5.0, 10.0, 15.0] and len(s["train_interval"][0]) == 24
    assert s["valid"] == ([40.0, 80.0, 120.0], [2.2, 1.1, pytest.approx(2.2 / 3)])
    assert s["epochs"] == ([40.0, 80.0, 120.0], [1, 2, 3])
    resumed = _records(interval=False) + [
        {"epoch": 3, "step": 120, "split": "valid", "metrics": {"loss": 0.5}}
    ]
    assert step_series(resumed, "loss")["valid"][1][-1] == 0.5  # the repeat keeps the last value


def test_smooth_is_a_debiased_moving_average():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    # w = 0.5: s1 = 0.5 * 1 / 0.5 = 1; s2 = (0.25 + 1.5) / 0.75
    assert smooth([1.0, 3.0], 0.5) == pytest.approx([1.0, 1.75 / 0.75])
    with pytest.raises(ValueError, match="weight"):
        smooth([1.0], 1.0)


@pytest.mark.parametrize("interval", [True, False])
def test_curve_figure_has_integer_epoch_ticks_at_epoch_ends(interval):
    fig = curve_figure(_records(interval), "loss")
    try:
        ax = fig.axes[0]
        top = [a for a in fig.axes[0].child_axes]
        assert len(top) == 1
        assert list(top[0].get_xticks()) == [40.0, 80.0, 120.0]
        assert [t.get_text() for t in top[0].get_xticklabels()] == ["1", "2", "3"]
        labels = [line.get_label() for line in ax.get_lines()]
        if interval:
            assert "train (every log step)" in labels and "train, smoothed" in labels
            raw = next(li for li in ax.get_lines() if li.get_label() == "train (every log step)")
            assert len(raw.get_xdata()) == 24 and raw.get_alpha() < 0.5
        else:
            assert "train, epoch mean" in labels
        assert "valid, per epoch" in labels
    finally:
        plt.close(fig)


def test_plot_curves_writes_a_png_and_names_the_file_when_empty(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in _records(True)) + "\n")
    assert plot_curves(path, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.jsonl: no train/valid records"):
        plot_curves(empty, tmp_path / "d.png")
