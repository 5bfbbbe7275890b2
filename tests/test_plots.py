"""Tests of workbench.plots: every builder gives a labelled go.Figure with the expected traces."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from workbench import features, plots


@pytest.fixture(scope="module")
def cfg():
    return features.FeatureConfig(hop_ms=10.0, n_fft=512)  # 257 bins: drawn without pooling


@pytest.fixture(scope="module")
def feats(cfg):
    from conftest import synth_speech

    y = synth_speech(cfg.sr, duration_s=0.8)
    return y, features.extract_all(y, cfg=cfg)


def decode(spec) -> np.ndarray:
    """Array from a trace field in a figure's JSON: plotly 7 writes numpy arrays as base64 ``bdata``."""
    if isinstance(spec, dict) and "bdata" in spec:
        a = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
        return a.reshape([int(s) for s in str(spec["shape"]).split(",")]) if "shape" in spec else a
    return np.asarray(spec, dtype=float)


def check_layout(fig, *, title: str, x_title: str, y_title: str) -> None:
    assert isinstance(fig, go.Figure)
    assert title in fig.layout.title.text
    assert fig.layout.xaxis.title.text == x_title
    assert fig.layout.yaxis.title.text == y_title
    assert 200 <= fig.layout.height <= 340
    json.loads(fig.to_json())  # serialisable, as st.plotly_chart needs


def test_waveform_short_signal_is_one_line(feats, cfg):
    y, _ = feats
    fig = plots.waveform_figure(y[:3000], cfg.sr)
    check_layout(fig, title="Waveform", x_title="time (s)", y_title="amplitude")
    assert [t.type for t in fig.data] == ["scatter"]
    np.testing.assert_array_equal(fig.data[0].y, y[:3000])
    assert fig.data[0].x[-1] == pytest.approx(2999 / cfg.sr)


def test_waveform_long_signal_is_min_max_envelope(feats, cfg):
    y, _ = feats
    fig = plots.waveform_figure(y, cfg.sr, max_points=1000)
    lower, upper = fig.data
    assert lower.y.size == upper.y.size == 500 and upper.fill == "tonexty"
    assert lower.y.min() == y.min() and upper.y.max() == y.max()


def test_spectrogram_with_f0_overlay(feats, cfg):
    _, fs = feats
    fig = plots.spectrogram_figure(fs.stft_db, cfg, fs.f0_hz, fs.voiced)
    check_layout(fig, title="Spectrogram", x_title="time (s)", y_title="frequency (Hz)")
    heat, line = fig.data
    assert heat.type == "heatmap" and line.type == "scatter" and line.name == "F0"
    assert heat.z.shape == (cfg.n_bins, len(fs.times))  # frequency rows, time columns
    assert heat.y[-1] == pytest.approx(cfg.sr / 2)
    np.testing.assert_allclose(heat.x, fs.times, atol=1e-6)
    assert np.all(np.isnan(line.y[~fs.voiced])) and np.allclose(line.y[fs.voiced], fs.f0_hz[fs.voiced], rtol=1e-6)
    spec = fig.to_dict()["data"][0]
    np.testing.assert_allclose(decode(spec["z"]), fs.stft_db.T, atol=1e-6)


def test_spectrogram_without_f0_has_only_the_heatmap(feats, cfg):
    _, fs = feats
    assert [t.type for t in plots.spectrogram_figure(fs.stft_db, cfg).data] == ["heatmap"]


def test_long_heatmaps_are_pooled_along_time(cfg, rng):
    n = 4000
    stft = rng.normal(size=(n, cfg.n_bins)).astype(np.float32)
    heat = plots.spectrogram_figure(stft, cfg).data[0]
    n_cols = heat.z.shape[1]
    assert n_cols <= plots.MAX_FRAMES and heat.x.size == n_cols
    assert heat.x[0] == pytest.approx(features.frame_times(3, cfg).mean())  # block of 3 frames, centred
    np.testing.assert_allclose(heat.z[:, 0], stft[:3].mean(axis=0), atol=1e-5)
    big = features.FeatureConfig(n_fft=2048)
    sp = rng.normal(size=(10, big.n_bins)).astype(np.float32)
    wide = plots.envelope_figure(sp, big).data[0]
    assert wide.z.shape == (plots.MAX_BINS, 10) and wide.y.size == plots.MAX_BINS
    np.testing.assert_allclose(wide.z[0], sp[:, :4].mean(axis=1), atol=1e-5)  # blocks of 4 bins
    assert wide.y[0] == pytest.approx(features.fft_frequencies(big)[:4].mean())


def test_mel_figure_labels_bands_in_hz(feats, cfg):
    _, fs = feats
    fig = plots.mel_figure(fs.mel_db, cfg)
    check_layout(fig, title="Mel spectrogram", x_title="time (s)", y_title="mel band centre (Hz)")
    assert fig.data[0].z.shape == (cfg.n_mels, len(fs.times))
    centres = features.mel_frequencies(cfg)
    assert fig.layout.yaxis.ticktext[-1] == f"{centres[-1]:.0f}"


def test_mfcc_figure_standardises_and_marks_deltas(feats, cfg):
    _, fs = feats
    fig = plots.mfcc_figure(fs.mfcc, cfg)
    check_layout(fig, title="MFCC", x_title="time (s)", y_title="coefficient")
    z = fig.data[0].z
    assert z.shape == (3 * cfg.n_mfcc, len(fs.times))
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-4)
    assert list(fig.layout.yaxis.ticktext) == ["static", "Δ", "ΔΔ"] and len(fig.layout.shapes) == 2
    raw = plots.mfcc_figure(fs.mfcc[:, : cfg.n_mfcc], cfg, standardize=False)
    np.testing.assert_allclose(raw.data[0].z, fs.mfcc[:, : cfg.n_mfcc].T)
    assert raw.layout.yaxis.ticktext is None and not raw.layout.shapes


def test_f0_figure(feats, cfg):
    _, fs = feats
    fig = plots.f0_figure(fs.f0_hz, fs.voiced, cfg)
    check_layout(fig, title="F0", x_title="time (s)", y_title="F0 (Hz)")
    shade, line = fig.data
    assert shade.name == "voiced" and line.name == "F0"
    np.testing.assert_array_equal(shade.y, fs.voiced.astype(np.float32))
    assert np.isnan(line.y[~fs.voiced]).all()
    unvoiced = plots.f0_figure(np.zeros(50), None, cfg)  # nothing voiced: still a figure
    assert np.isnan(unvoiced.data[1].y).all()


def test_energy_figure_with_and_without_centroid(feats, cfg):
    _, fs = feats
    fig = plots.energy_figure(fs.rms_db, cfg, fs.centroid_hz)
    check_layout(fig, title="Energy", x_title="time (s)", y_title="RMS level (dBFS)")
    assert [t.name for t in fig.data] == ["RMS (dBFS)", "centroid (kHz)"]
    assert fig.data[1].yaxis == "y2" and fig.layout.yaxis2.title.text == "centroid (kHz)"
    np.testing.assert_allclose(fig.data[1].y, fs.centroid_hz / 1000, rtol=1e-6)
    assert len(plots.energy_figure(fs.rms_db, cfg).data) == 1


@pytest.mark.parametrize("kind", ["sp", "ap"])
def test_envelope_figure(feats, cfg, kind):
    _, fs = feats
    values = fs.sp_db if kind == "sp" else fs.ap
    fig = plots.envelope_figure(values, cfg, kind=kind)
    check_layout(fig, title="WORLD", x_title="time (s)", y_title="frequency (Hz)")
    assert fig.data[0].type == "heatmap" and fig.data[0].z.shape == (cfg.n_bins, len(fs.times))
    if kind == "ap":
        assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)
    else:
        assert fig.data[0].z.min() >= fs.sp_db.max() - 90.0 - 1e-3


def test_envelope_figure_rejects_unknown_kind(feats, cfg):
    with pytest.raises(ValueError, match="kind='mag'"):
        plots.envelope_figure(feats[1].sp_db, cfg, kind="mag")


def test_mcep_figure_hides_c0_by_default(feats, cfg):
    _, fs = feats
    fig = plots.mcep_figure(fs.mcep, cfg)
    check_layout(fig, title="Mel-cepstrum", x_title="time (s)", y_title="coefficient")
    heat = fig.data[0]
    assert heat.z.shape == (cfg.mcep_order, len(fs.times)) and heat.y[0] == 1
    assert heat.zmin == -heat.zmax
    assert plots.mcep_figure(fs.mcep, cfg, include_c0=True).data[0].z.shape[0] == cfg.mcep_order + 1


def test_loss_figure_pairs_train_and_val(rng):
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.4, 2.0], "mae": [1.0, 0.8, 0.7], "empty": []}
    fig = plots.loss_figure(history, log_y=True)
    check_layout(fig, title="Loss", x_title="epoch", y_title="loss (log)")
    by_name = {t.name: t for t in fig.data}
    assert list(by_name) == ["loss", "val_loss", "mae"]
    assert by_name["loss"].line.color == by_name["val_loss"].line.color != by_name["mae"].line.color
    assert by_name["val_loss"].line.dash == "dash" and by_name["loss"].line.dash == "solid"
    np.testing.assert_array_equal(by_name["loss"].x, [1, 2, 3])
    assert fig.layout.yaxis.type == "log"


def test_metrics_bar_figure():
    rows = [{"system": "identity", "mcd_db": 10.3}, {"system": "lstm", "mcd_db": 5.5},
            {"system": "gmm", "mcd_db": None}, {"system": "gan"}]
    fig = plots.metrics_bar_figure(rows, "mcd_db", unit="dB")
    check_layout(fig, title="mcd_db", x_title="system", y_title="mcd_db (dB)")
    (bar,) = fig.data
    assert bar.type == "bar" and list(bar.x) == ["identity", "lstm"]
    np.testing.assert_allclose(bar.y, [10.3, 5.5])
    assert list(bar.text) == ["10.3", "5.5"]


def test_spectrogram_max_hz_limits_the_view_not_the_data(feats, cfg):
    _, fs = feats
    fig = plots.spectrogram_figure(fs.stft_db, cfg, fs.f0_hz, fs.voiced, max_hz=4000)
    assert tuple(fig.layout.yaxis.range) == (0, 4000)
    assert fig.data[0].z.shape[0] == cfg.n_bins
    assert tuple(plots.spectrogram_figure(fs.stft_db, cfg, max_hz=1e6).layout.yaxis.range) == (0, cfg.sr / 2)


def test_no_colour_is_a_streamlit_placeholder(feats, cfg):
    """Streamlit rewrites #000001.. #0000NN in chart specs to theme colours, even with theme=None."""
    y, fs = feats
    figures = [
        plots.waveform_figure(y, cfg.sr), plots.spectrogram_figure(fs.stft_db, cfg, fs.f0_hz, fs.voiced),
        plots.mel_figure(fs.mel_db, cfg), plots.mfcc_figure(fs.mfcc, cfg), plots.f0_figure(fs.f0_hz, fs.voiced, cfg),
        plots.energy_figure(fs.rms_db, cfg, fs.centroid_hz), plots.envelope_figure(fs.sp_db, cfg),
        plots.envelope_figure(fs.ap, cfg, kind="ap"), plots.mcep_figure(fs.mcep, cfg),
        plots.loss_figure({"loss": [1.0, 0.5]}), plots.metrics_bar_figure([{"name": "a", "x": 1.0}], "x"),
    ]
    for fig in figures:
        assert not re.findall(r"#0000[0-9a-fA-F]{2}", fig.to_json()), fig.layout.title.text
    assert plots.SPEC_COLORS[0][1] == "#010004"  # Magma's black, nudged


# ------------------------------------------------------------------------------- tutorial figures
def test_line_figure_one_trace_per_series_and_length_checked():
    x = np.linspace(-6, 6, 25)
    fig = plots.line_figure(x, {"sigmoid": 1 / (1 + np.exp(-x)), "tanh": np.tanh(x)}, title="Activations",
                            x_title="z", y_title="output", markers=True)
    check_layout(fig, title="Activations", x_title="z", y_title="output")
    assert [t.name for t in fig.data] == ["sigmoid", "tanh"] and fig.data[0].mode == "lines+markers"
    np.testing.assert_allclose(fig.data[1].y, np.tanh(x))
    assert plots.line_figure(x, {"a": x**2 + 1}, title="t", x_title="x", y_title="y", log_y=True).layout.yaxis.type == "log"
    with pytest.raises(ValueError, match="one value per x"):
        plots.line_figure(x, {"short": x[:3]}, title="t", x_title="x", y_title="y")


def test_dtw_figure_distances_and_path_in_seconds(cfg, rng):
    a = rng.standard_normal((40, 3))
    b = np.repeat(a, 2, axis=0)  # the same sequence at half speed: the path has slope 2, distance 0 on it
    path = np.stack([np.arange(80) // 2, np.arange(80)], axis=1)
    fig = plots.dtw_figure(a, b, path, cfg)
    check_layout(fig, title="DTW alignment", x_title="target time (s)", y_title="source time (s)")
    heat, line = fig.data
    assert heat.z.shape == (40, 80)
    np.testing.assert_allclose(heat.z[path[:, 0], path[:, 1]], 0.0, atol=1e-3)
    np.testing.assert_allclose(heat.z[0, 2], np.linalg.norm(a[0] - a[1]), rtol=1e-5)
    hop_s = cfg.hop_length / cfg.sr
    np.testing.assert_allclose(line.x, path[:, 1] * hop_s, rtol=1e-6)
    np.testing.assert_allclose(line.y, path[:, 0] * hop_s, rtol=1e-6)
    with pytest.raises(ValueError, match="same width"):
        plots.dtw_figure(a, b[:, :2], path, cfg)


def test_dtw_figure_pools_long_utterances(cfg, rng):
    a, b = rng.standard_normal((600, 2)), rng.standard_normal((300, 2))
    fig = plots.dtw_figure(a, b, np.stack([np.arange(300) * 2, np.arange(300)], axis=1), cfg)
    assert fig.data[0].z.shape[0] <= plots.MAX_BINS and fig.data[0].z.shape[1] <= plots.MAX_BINS
    assert fig.data[0].y[-1] == pytest.approx(599.5 * cfg.hop_length / cfg.sr, rel=0.01)


def test_latency_budget_figure_stacks_stages_and_totals_them():
    stages = {"resample": 2.75, "analysis lookahead": 15.0, "model lookahead": 20.0, "hop + synthesis": 5.5}
    fig = plots.latency_budget_figure(stages, budget_ms=50)
    check_layout(fig, title="Latency budget: 43.25 ms", x_title="delay (ms)", y_title="")
    assert [t.name for t in fig.data] == list(stages) and fig.layout.barmode == "stack"
    assert [t.x[0] for t in fig.data] == list(stages.values())
    assert fig.layout.shapes[0].x0 == 50
def test_f0_histogram_counts_voiced_frames_in_percent():
    hz = np.concatenate([np.full(30, 100.0), np.full(10, 200.0), np.zeros(50), [np.nan]])  # unvoiced and NaN dropped
    fig = plots.f0_histogram_figure(hz, n_bins=20)
    heights = np.asarray(fig.data[0].y, dtype=float)
    centers = np.asarray(fig.data[0].x, dtype=float)
    assert heights.sum() == pytest.approx(100.0)
    assert heights.max() == pytest.approx(75.0) and 90 < centers[np.argmax(heights)] < 110
    assert fig.layout.xaxis.type == "log"
    assert np.asarray(plots.f0_histogram_figure(np.zeros(5)).data[0].y, dtype=float).sum() == 0.0  # nothing voiced


def test_posteriorgram_figure_labels_rows_with_phones():
    phones = ["SIL", "AA", "B"]
    post = np.tile(np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]], np.float32), (50, 1))
    fig = plots.posteriorgram_figure(post, phones)
    heat = fig.data[0]
    assert list(heat.y) == phones and heat.z.shape == (3, 100) and heat.zmin == 0.0 and heat.zmax == 1.0
    with pytest.raises(ValueError, match="posteriors"):
        plots.posteriorgram_figure(post[:, :2], phones)
