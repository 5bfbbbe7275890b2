"""Tests of workbench.plots_live: the Live page's scrolling spectrogram + F0 view, values pinned."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.config import FeatureConfig
from workbench.live import RecentFeatures
from workbench.plots_live import live_scroll_figure


@pytest.fixture
def view() -> RecentFeatures:
    cfg = FeatureConfig(n_fft=512, hop_ms=10.0)
    n = 200  # 2 s
    db_in = np.linspace(-80, 0, n * 257, dtype=np.float32).reshape(n, 257)
    f0_in = np.where(np.arange(n) % 50 < 30, 120.0, 0.0)  # voiced 0.3 s, unvoiced 0.2 s
    return RecentFeatures(db_in, db_in - 10, f0_in, f0_in * 2, start_s=7.0, cfg=cfg)


def test_input_and_output_rows_carry_the_values_on_stream_time(view):
    fig = live_scroll_figure(view, window_s=5.0)
    heat_in, f0_in, heat_out, f0_out = fig.data
    assert [t.type for t in fig.data] == ["heatmap", "scatter", "heatmap", "scatter"]
    assert heat_in.yaxis == f0_in.yaxis == "y" and heat_out.yaxis == f0_out.yaxis == "y2"  # input on top
    # frequency rows (0..4 kHz: 129 bins of 31.25 Hz), time columns
    np.testing.assert_allclose(np.asarray(heat_in.z), view.input_db[:, :129].T, atol=1e-5)
    np.testing.assert_allclose(np.asarray(heat_out.z), view.input_db[:, :129].T - 10, atol=1e-5)
    times = 7.0 + np.arange(200) * 0.01  # frames from start_s on, 10 ms apart
    np.testing.assert_allclose(heat_in.x, times, atol=1e-5)
    np.testing.assert_allclose(f0_out.x, times, atol=1e-5)
    assert heat_in.y[-1] == pytest.approx(4000.0) and len(heat_in.y) == 129  # bins above max_hz left out
    full = live_scroll_figure(view, max_hz=8000.0).data[0]
    assert len(full.y) == 257 and np.asarray(full.z).shape == (257, 200)
    voiced = view.input_f0 > 0
    assert np.all(np.isnan(np.asarray(f0_in.y)[~voiced])) and np.allclose(np.asarray(f0_in.y)[voiced], 120.0)
    assert np.allclose(np.asarray(f0_out.y)[voiced], 240.0)
    assert heat_in.showscale and not heat_out.showscale  # one colour bar for both
    json.loads(fig.to_json())  # serialisable, as st.plotly_chart needs


def test_the_window_ends_at_the_newest_frame(view):
    fig = live_scroll_figure(view, window_s=5.0, max_hz=4000.0)
    end = 7.0 + 2.0  # start_s + 200 frames of 10 ms
    assert fig.layout.xaxis.range == pytest.approx((end - 5.0, end))  # the last 5 s: it scrolls
    assert fig.layout.xaxis2.range == pytest.approx((end - 5.0, end))
    assert fig.layout.yaxis.range == pytest.approx((0, 4000.0)) and fig.layout.yaxis2.range == pytest.approx((0, 4000.0))
    assert fig.layout.xaxis2.title.text == "stream time (s)"
    early = RecentFeatures(view.input_db[:50], view.output_db[:50], view.input_f0[:50], view.output_f0[:50],
                           start_s=0.0, cfg=view.cfg)
    assert live_scroll_figure(early, window_s=5.0).layout.xaxis.range == pytest.approx((0.0, 5.0))  # fills from the left


def test_an_empty_view_draws_empty_rows():
    cfg = FeatureConfig(n_fft=512, hop_ms=10.0)
    empty = np.zeros((0, 257), np.float32)
    fig = live_scroll_figure(RecentFeatures(empty, empty, np.zeros(0), np.zeros(0), 0.0, cfg))
    assert len(fig.data) == 4 and len(fig.data[0].x) == 0
    json.loads(fig.to_json())
