"""Plotly figure builders shared by the app and the notebooks.

Every builder takes frames-first arrays, as ``features`` returns them, and gives a compact
``go.Figure`` with a title, units on its axes and one shared look. Time axes are in seconds
(``features.frame_times``). Heatmaps longer than ``MAX_FRAMES`` frames are averaged down along time
so that the browser stays fast. This module never imports streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .config import FeatureConfig
from .features import DEFAULT_FEATURES, fft_frequencies, frame_times, mel_frequencies, waveform_envelope
from .plot_style import (  # noqa: F401  (re-exported: plots.HEIGHT etc. are part of the figure API)
    ACCENT_COLOR,
    DIVERGING_COLORS,
    F0_COLOR,
    HEIGHT,
    LINE_COLOR,
    MAX_BINS,
    MAX_FRAMES,
    MAX_WAVE_POINTS,
    SPEC_COLORS,
    TEMPLATE,
    _heatmap,
    _layout,
    _masked_f0,
    _pool,
)


# ------------------------------------------------------------------------------------------- signals
def waveform_figure(
    y: np.ndarray, sr: int, *, title: str = "Waveform", max_points: int = MAX_WAVE_POINTS, height: int = HEIGHT
) -> go.Figure:
    """Waveform against time; signals longer than ``max_points`` are drawn as a min/max envelope.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
    sr : int
        Sample rate in Hz.
    max_points : int
        Above this many samples, draw the envelope of ``max_points // 2`` blocks instead of every sample.

    Returns
    -------
    go.Figure
        One line trace, or two traces (lower, upper) filled between for the envelope.
    """
    y = np.asarray(y, dtype=np.float32)
    fig = go.Figure()
    if y.size <= max_points:
        t = np.arange(y.size, dtype=np.float32) / sr
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name="waveform", line={"color": LINE_COLOR, "width": 1}))
    else:
        t, lower, upper = waveform_envelope(y, sr, n_points=max_points // 2)
        t = t.astype(np.float32)
        fig.add_trace(go.Scatter(x=t, y=lower, mode="lines", name="min", line={"color": LINE_COLOR, "width": 0.5},
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=t, y=upper, mode="lines", name="max", line={"color": LINE_COLOR, "width": 0.5},
                                 fill="tonexty", fillcolor="rgba(31, 119, 180, 0.6)", showlegend=False,
                                 hovertemplate="t=%{x:.3f} s<extra></extra>"))
    peak = max(1e-3, float(np.max(np.abs(y))) if y.size else 1.0)
    fig.update_yaxes(range=[-1.05 * peak, 1.05 * peak], zeroline=True)
    return _layout(fig, title=title, x_title="time (s)", y_title="amplitude", height=height)


def spectrogram_figure(
    stft_db: np.ndarray,
    cfg: FeatureConfig = DEFAULT_FEATURES,
    f0_hz: np.ndarray | None = None,
    voiced: np.ndarray | None = None,
    *,
    max_hz: float | None = None,
    title: str = "Spectrogram",
    height: int = 300,
) -> go.Figure:
    """STFT magnitude heatmap on a Hz axis, optionally with the F0 contour drawn on top.

    Parameters
    ----------
    stft_db : np.ndarray, shape (n_frames, n_fft // 2 + 1), dB
    cfg : FeatureConfig
        Gives the hop (time axis) and the FFT size and rate (frequency axis).
    f0_hz : np.ndarray, shape (n_frames,), Hz, optional
        Drawn as a line where voiced (``voiced``, or ``f0_hz > 0``).
    voiced : np.ndarray, shape (n_frames,), bool, optional
    max_hz : float, optional
        Upper end of the visible frequency range (default: ``sr / 2``). The whole spectrum is still
        in the figure; zooming out shows it. About 4 kHz makes an F0 line easy to see.
    """
    heat, _ = _heatmap(stft_db, cfg, y=fft_frequencies(cfg), hover_y="%{y:.0f} Hz")
    fig = go.Figure(heat)
    if f0_hz is not None:
        hz = _masked_f0(f0_hz, voiced)
        fig.add_trace(go.Scatter(x=frame_times(len(hz), cfg).astype(np.float32), y=hz.astype(np.float32),
                                 mode="lines", name="F0", line={"color": F0_COLOR, "width": 2}, connectgaps=False,
                                 hovertemplate="t=%{x:.3f} s<br>F0 %{y:.1f} Hz<extra></extra>"))
    fig.update_yaxes(range=[0, min(max_hz or cfg.sr / 2, cfg.sr / 2)])
    return _layout(fig, title=title, x_title="time (s)", y_title="frequency (Hz)", height=height)


def mel_figure(mel_db: np.ndarray, cfg: FeatureConfig = DEFAULT_FEATURES, *, title: str = "Mel spectrogram",
               height: int = HEIGHT) -> go.Figure:
    """Mel spectrogram heatmap, one row per band; tick labels give band centres in Hz.

    Parameters
    ----------
    mel_db : np.ndarray, shape (n_frames, n_mels), dB
    """
    n_mels = mel_db.shape[1]
    heat, _ = _heatmap(mel_db, cfg, hover_y="band %{y}")
    fig = go.Figure(heat)
    centres = mel_frequencies(cfg) if n_mels == cfg.n_mels else None
    if centres is not None:
        ticks = np.unique(np.linspace(0, n_mels - 1, 6).round().astype(int))
        fig.update_yaxes(tickvals=ticks.tolist(), ticktext=[f"{centres[i]:.0f}" for i in ticks])
        y_title = "mel band centre (Hz)"
    else:
        y_title = "mel band"
    return _layout(fig, title=title, x_title="time (s)", y_title=y_title, height=height)


def mfcc_figure(mfcc: np.ndarray, cfg: FeatureConfig = DEFAULT_FEATURES, *, standardize: bool = True,
                title: str = "MFCC", height: int = HEIGHT) -> go.Figure:
    """MFCC heatmap, one row per coefficient (and its deltas when present).

    Parameters
    ----------
    mfcc : np.ndarray, shape (n_frames, n_mfcc) or (n_frames, 3 * n_mfcc)
    standardize : bool
        Scale each coefficient to zero mean and unit variance over time, so that ``c0`` does not
        swamp the colour scale.
    """
    m = np.asarray(mfcc, dtype=np.float32)
    if standardize:
        m = (m - m.mean(axis=0)) / np.maximum(m.std(axis=0), 1e-6)
    heat, _ = _heatmap(m, cfg, colorscale=DIVERGING_COLORS, colorbar_title="z" if standardize else "value",
                       zmid=0.0, hover_y="coef %{y}")
    fig = go.Figure(heat)
    if m.shape[1] == 3 * cfg.n_mfcc:  # static | delta | delta-delta, labelled on the y axis
        for k in (1, 2):
            fig.add_hline(y=k * cfg.n_mfcc - 0.5, line={"color": "black", "width": 1})
        fig.update_yaxes(tickvals=[(k + 0.5) * cfg.n_mfcc - 0.5 for k in range(3)], ticktext=["static", "Δ", "ΔΔ"])
    suffix = " (standardised per coefficient)" if standardize else ""
    return _layout(fig, title=title + suffix, x_title="time (s)", y_title="coefficient", height=height)


def f0_figure(f0_hz: np.ndarray, voiced: np.ndarray | None = None, cfg: FeatureConfig = DEFAULT_FEATURES, *,
              title: str = "Fundamental frequency (F0)", height: int = HEIGHT) -> go.Figure:
    """F0 contour over voiced frames, with the voiced/unvoiced decision shaded behind it.

    Parameters
    ----------
    f0_hz : np.ndarray, shape (n_frames,), Hz, 0 when unvoiced
    voiced : np.ndarray, shape (n_frames,), bool, optional
        Defaults to ``f0_hz > 0``.

    Returns
    -------
    go.Figure
        Traces ``voiced`` (0/1 area on a hidden right axis) and ``F0``.
    """
    hz = _masked_f0(f0_hz, voiced)
    is_voiced = np.isfinite(hz)
    t = frame_times(len(hz), cfg).astype(np.float32)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t, y=is_voiced.astype(np.float32), yaxis="y2", name="voiced", mode="lines",
                             line={"width": 0, "shape": "hv"}, fill="tozeroy", fillcolor="rgba(255,127,14,0.15)",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=t, y=hz.astype(np.float32), name="F0", mode="lines+markers",
                             line={"color": LINE_COLOR, "width": 1.5}, marker={"size": 3}, connectgaps=False,
                             hovertemplate="t=%{x:.3f} s<br>F0 %{y:.1f} Hz<extra></extra>"))
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "visible": False})
    if is_voiced.any():
        lo, hi = float(np.nanmin(hz)), float(np.nanmax(hz))
        fig.update_layout(yaxis={"range": [max(0.0, lo * 0.8), hi * 1.15]})
    return _layout(fig, title=title, x_title="time (s)", y_title="F0 (Hz)", height=height)


def energy_figure(rms_db: np.ndarray, cfg: FeatureConfig = DEFAULT_FEATURES, centroid_hz: np.ndarray | None = None,
                  *, title: str = "Energy", height: int = HEIGHT) -> go.Figure:
    """Frame RMS level in dBFS, and the spectral centroid in kHz on a right-hand axis when given.

    Parameters
    ----------
    rms_db : np.ndarray, shape (n_frames,), dBFS
    centroid_hz : np.ndarray, shape (n_frames,), Hz, optional
    """
    rms_db = np.asarray(rms_db, dtype=np.float32)
    t = frame_times(len(rms_db), cfg).astype(np.float32)
    fig = go.Figure(go.Scatter(x=t, y=rms_db, name="RMS (dBFS)", mode="lines", line={"color": LINE_COLOR},
                               hovertemplate="t=%{x:.3f} s<br>%{y:.1f} dBFS<extra></extra>"))
    if centroid_hz is not None:
        khz = np.asarray(centroid_hz, dtype=np.float32) / 1000.0
        fig.add_trace(go.Scatter(x=t, y=khz, name="centroid (kHz)", mode="lines", yaxis="y2",
                                 line={"color": ACCENT_COLOR, "width": 1},
                                 hovertemplate="t=%{x:.3f} s<br>centroid %{y:.2f} kHz<extra></extra>"))
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "title": {"text": "centroid (kHz)"},
                                  "showgrid": False, "rangemode": "tozero", "tickmode": "auto"})
        title = f"{title} and spectral centroid"
    _layout(fig, title=title, x_title="time (s)", y_title="RMS level (dBFS)", height=height)
    if centroid_hz is not None:
        fig.update_layout(margin={"r": 60})  # room for the right-hand axis title
    return fig


# --------------------------------------------------------------------------------------------- WORLD
def envelope_figure(values: np.ndarray, cfg: FeatureConfig = DEFAULT_FEATURES, *, kind: str = "sp",
                    title: str | None = None, height: int = HEIGHT) -> go.Figure:
    """WORLD spectral envelope (dB) or aperiodicity (0..1) as a heatmap on a Hz axis.

    Parameters
    ----------
    values : np.ndarray, shape (n_frames, n_fft // 2 + 1)
        ``FeatureSet.sp_db`` (dB) for ``kind="sp"``, ``FeatureSet.ap`` for ``kind="ap"``.
    kind : {"sp", "ap"}
    """
    if kind == "sp":
        v = np.asarray(values, dtype=np.float32)
        v = np.maximum(v, float(v.max()) - 90.0)  # 90 dB of range, like the spectrogram's 80
        heat, _ = _heatmap(v, cfg, y=fft_frequencies(cfg), colorbar_title="dB", hover_y="%{y:.0f} Hz")
        default_title = "WORLD spectral envelope (CheapTrick)"
    elif kind == "ap":
        heat, _ = _heatmap(values, cfg, y=fft_frequencies(cfg), colorscale="Viridis", colorbar_title="ap",
                           hover_y="%{y:.0f} Hz")
        heat.update(zmin=0.0, zmax=1.0)
        default_title = "WORLD aperiodicity (D4C)"
    else:
        raise ValueError(f"kind={kind!r} is unknown; use 'sp' (envelope) or 'ap' (aperiodicity).")
    fig = go.Figure(heat)
    fig.update_yaxes(range=[0, cfg.sr / 2])
    return _layout(fig, title=title or default_title, x_title="time (s)", y_title="frequency (Hz)", height=height)


def mcep_figure(mcep: np.ndarray, cfg: FeatureConfig = DEFAULT_FEATURES, *, include_c0: bool = False,
                title: str = "Mel-cepstrum", height: int = HEIGHT) -> go.Figure:
    """Mel-cepstral coefficients as a heatmap (``c0``, the log energy, left out by default).

    Parameters
    ----------
    mcep : np.ndarray, shape (n_frames, mcep_order + 1)
    """
    m = np.asarray(mcep, dtype=np.float32)
    first = 0 if include_c0 else 1
    m = m[:, first:]
    lim = float(np.percentile(np.abs(m), 99)) if m.size else 1.0
    heat, _ = _heatmap(m, cfg, y=np.arange(first, first + m.shape[1]), colorscale=DIVERGING_COLORS,
                       colorbar_title="value", zmid=0.0, hover_y="c%{y}")
    heat.update(zmin=-max(lim, 1e-6), zmax=max(lim, 1e-6))
    fig = go.Figure(heat)
    label = f"{title} (order {cfg.mcep_order}, α={cfg.mcep_alpha:g}" + (")" if include_c0 else ", c0 hidden)")
    return _layout(fig, title=label, x_title="time (s)", y_title="coefficient", height=height)


def posteriorgram_figure(posteriors: np.ndarray, phones: Sequence[str], cfg: FeatureConfig = DEFAULT_FEATURES, *,
                         title: str = "Phone posteriorgram", height: int = HEIGHT) -> go.Figure:
    """Phone posteriors over time (``workbench.phonetic.phone_posteriorgram``) as a heatmap, one row per phone.

    Parameters
    ----------
    posteriors : np.ndarray, shape (n_frames, n_phones)
    phones : sequence of str
        Row labels (``PhoneticEncoder.phones``).
    """
    p = np.asarray(posteriors, dtype=np.float32)
    if p.ndim != 2 or p.shape[1] != len(phones):
        raise ValueError(f"Expected (n_frames, {len(phones)}) posteriors, got shape {p.shape}.")
    heat, _ = _heatmap(p, cfg, colorscale=SPEC_COLORS, colorbar_title="p", hover_y="%{y}")
    heat.update(y=list(phones), zmin=0.0, zmax=1.0)
    fig = go.Figure(heat)
    _layout(fig, title=title, x_title="time (s)", y_title="phone", height=max(height, 14 * len(phones)))
    fig.update_yaxes(type="category", tickfont={"size": 9})
    return fig


# ---------------------------------------------------------------------------------- training, metrics
def loss_figure(history: Mapping[str, Sequence[float]], *, title: str = "Loss", log_y: bool = False,
                height: int = HEIGHT) -> go.Figure:
    """Training curves from a Keras-style history (``{"loss": [...], "val_loss": [...], ...}``).

    Each ``val_<name>`` curve is dashed and shares the colour of ``<name>``.

    Returns
    -------
    go.Figure
        One line trace per non-empty key, x = epoch (1-based).
    """
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    bases = [k.removeprefix("val_") for k in history]
    colors = {b: palette[i % len(palette)] for i, b in enumerate(dict.fromkeys(bases))}
    fig = go.Figure()
    for key, values in history.items():
        values = np.asarray(list(values), dtype=np.float64)
        if values.size == 0:
            continue
        is_val = key.startswith("val_")
        fig.add_trace(go.Scatter(
            x=np.arange(1, values.size + 1), y=values, name=key, mode="lines+markers" if values.size < 50 else "lines",
            line={"color": colors[key.removeprefix("val_")], "dash": "dash" if is_val else "solid"},
            marker={"size": 4}, hovertemplate=f"{key}<br>epoch %{{x}}: %{{y:.4g}}<extra></extra>",
        ))
    if log_y:
        fig.update_yaxes(type="log")
    if max((len(v) for v in history.values()), default=0) <= 20:
        fig.update_xaxes(dtick=1)  # whole epochs only
    return _layout(fig, title=title, x_title="epoch", y_title="loss (log)" if log_y else "loss", height=height)


def metrics_bar_figure(rows: Sequence[Mapping[str, Any]], key: str, *, label_key: str | None = None,
                       title: str | None = None, unit: str = "", height: int = HEIGHT) -> go.Figure:
    """Bar chart of one metric across rows of an evaluation table.

    Parameters
    ----------
    rows : sequence of dict
        One dict per system/voice, e.g. ``{"system": "lstm", "mcd_db": 5.5}``.
    key : str
        The metric to draw; rows without it (or with a non-numeric value) are skipped.
    label_key : str, optional
        The column that names each bar; defaults to the first key whose value is a string.
    unit : str
        Shown in the axis title, e.g. ``"dB"``.
    """
    usable = [r for r in rows if isinstance(r.get(key), (int, float, np.integer, np.floating))]
    if label_key is None:
        label_key = next((k for r in usable for k, v in r.items() if isinstance(v, str)), None)
    labels = [str(r.get(label_key, i)) if label_key else str(i) for i, r in enumerate(usable)]
    values = np.asarray([float(r[key]) for r in usable], dtype=np.float64)
    fig = go.Figure(go.Bar(x=labels, y=values, name=key, marker={"color": LINE_COLOR},
                           text=[f"{v:.3g}" for v in values], textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    y_title = f"{key} ({unit})" if unit else key
    fig.update_xaxes(type="category")
    return _layout(fig, title=title or key, x_title=label_key or "", y_title=y_title, height=height)


def f0_histogram_figure(f0_hz: np.ndarray, *, title: str = "F0 range", n_bins: int = 40,
                        height: int = HEIGHT) -> go.Figure:
    """Histogram of voiced F0 values on a log-frequency axis (how high and how wide a voice is).

    Parameters
    ----------
    f0_hz : np.ndarray, shape (n,), Hz
        Voiced frames only (zeros and NaNs are dropped).
    """
    hz = np.asarray(f0_hz, dtype=np.float64)
    hz = hz[np.isfinite(hz) & (hz > 0)]
    edges = np.geomspace(max(40.0, hz.min() * 0.9), min(1000.0, hz.max() * 1.1), n_bins + 1) if hz.size else np.geomspace(50, 500, n_bins + 1)
    counts, _ = np.histogram(hz, bins=edges)
    centers = np.sqrt(edges[:-1] * edges[1:])
    fig = go.Figure(go.Bar(x=centers, y=100.0 * counts / max(1, hz.size), width=np.diff(edges), marker={"color": LINE_COLOR},
                           hovertemplate="%{x:.0f} Hz: %{y:.1f} %<extra></extra>"))
    fig.update_xaxes(type="log")
    return _layout(fig, title=title, x_title="F0 (Hz, log scale)", y_title="voiced frames (%)", height=height)


# ------------------------------------------------------------------------------- tutorial figures
def line_figure(x: np.ndarray, series: Mapping[str, np.ndarray], *, title: str, x_title: str, y_title: str,
                log_y: bool = False, markers: bool = False, height: int = HEIGHT) -> go.Figure:
    """Several named curves over one x axis (activation functions, per-dimension statistics, signals).

    Parameters
    ----------
    x : np.ndarray, shape (n,)
    series : mapping of str to np.ndarray, each shape (n,)
        One line per entry, in order; NaN values break the line.
    log_y : bool
        Logarithmic y axis (e.g. variances spanning decades).
    markers : bool
        Draw a marker on every point (for short series).

    Returns
    -------
    go.Figure
        One scatter trace per series, named by its key.

    Raises
    ------
    ValueError
        When a series does not have the length of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    fig = go.Figure()
    for name, values in series.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != x.shape:
            raise ValueError(f"Series {name!r} has shape {values.shape}, x has {x.shape}; pass one value per x.")
        fig.add_trace(go.Scatter(x=x, y=values, name=str(name), mode="lines+markers" if markers else "lines",
                                 marker={"size": 5}, connectgaps=False,
                                 hovertemplate=f"{name}<br>%{{x:.4g}}: %{{y:.4g}}<extra></extra>"))
    if log_y:
        fig.update_yaxes(type="log")
    return _layout(fig, title=title, x_title=x_title, y_title=y_title, height=height)


def dtw_figure(source: np.ndarray, target: np.ndarray, path: np.ndarray, cfg: FeatureConfig = DEFAULT_FEATURES, *,
               title: str = "DTW alignment", height: int = 340) -> go.Figure:
    """Frame-to-frame distance between two utterances as a heatmap, with the DTW path drawn on top.

    Parameters
    ----------
    source, target : np.ndarray, shapes (n_source, n_dims) and (n_target, n_dims)
        Frames-first features of the two utterances (e.g. mel-cepstra without ``c_0``).
    path : np.ndarray, shape (n_steps, 2), int
        Pairs ``(source frame, target frame)`` from ``data.dtw_path``.
    cfg : FeatureConfig
        Gives the hop, for time axes in seconds.

    Returns
    -------
    go.Figure
        A ``heatmap`` of Euclidean distances (x: target time, y: source time), pooled to at most
        ``MAX_BINS`` cells per axis, and a ``path`` line.
    """
    a, b = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"Expected two frames-first arrays with the same width, got {a.shape} and {b.shape}.")
    dist = np.sqrt(np.maximum(np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2.0 * a @ b.T, 0.0))
    dist, step_a = _pool(dist, MAX_BINS, axis=0)
    dist, step_b = _pool(dist, MAX_BINS, axis=1)
    hop_s = cfg.hop_length / cfg.sr
    ta = (np.arange(dist.shape[0]) * step_a + (step_a - 1) / 2.0) * hop_s
    tb = (np.arange(dist.shape[1]) * step_b + (step_b - 1) / 2.0) * hop_s
    path = np.asarray(path)
    fig = go.Figure(go.Heatmap(x=tb.astype(np.float32), y=ta.astype(np.float32), z=dist.astype(np.float32),
                               colorscale="Viridis", reversescale=True, name="distance",
                               colorbar={"title": {"text": "distance", "side": "right"}, "thickness": 12},
                               hovertemplate="target %{x:.3f} s<br>source %{y:.3f} s<br>%{z:.2f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=(path[:, 1] * hop_s).astype(np.float32), y=(path[:, 0] * hop_s).astype(np.float32),
                             mode="lines", name="path", line={"color": ACCENT_COLOR, "width": 2},
                             hovertemplate="target %{x:.3f} s<br>source %{y:.3f} s<extra></extra>"))
    return _layout(fig, title=title, x_title="target time (s)", y_title="source time (s)", height=height)


def latency_budget_figure(stages_ms: Mapping[str, float], *, budget_ms: float | None = None,
                          title: str = "Latency budget", height: int = 220) -> go.Figure:
    """Where the delay of a real-time converter comes from: one horizontal bar, one segment per stage.

    Parameters
    ----------
    stages_ms : mapping of str to float
        Delay of each stage in ms, in pipeline order (e.g. resampling, analysis lookahead, model
        lookahead, synthesis).
    budget_ms : float, optional
        Drawn as a dashed vertical line (e.g. the 50 ms a conversation tolerates).

    Returns
    -------
    go.Figure
        One ``bar`` trace per stage, stacked; the title gives the total.
    """
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    fig = go.Figure()
    for i, (name, ms) in enumerate(stages_ms.items()):
        fig.add_trace(go.Bar(x=[float(ms)], y=["latency"], orientation="h", name=str(name),
                             marker={"color": palette[i % len(palette)]}, text=[f"{float(ms):.2f}"],
                             textposition="inside", hovertemplate=f"{name}: %{{x:.2f}} ms<extra></extra>"))
    total = float(sum(float(v) for v in stages_ms.values()))
    fig.update_layout(barmode="stack")
    if budget_ms is not None:
        fig.add_vline(x=float(budget_ms), line={"color": "black", "dash": "dash", "width": 1.5},
                      annotation_text=f"budget {float(budget_ms):g} ms", annotation_position="top")
    return _layout(fig, title=f"{title}: {total:.2f} ms", x_title="delay (ms)", y_title="", height=height)
def latency_figure(stages_ms: Mapping[str, float], chunk_ms: float) -> go.Figure:
    """Mean compute time per chunk of each streaming stage, one stacked horizontal bar against the chunk length.

    Parameters
    ----------
    stages_ms : mapping of stage name -> ms (``StreamStats.stages_ms``)
    chunk_ms : float
        The chunk length: compute beyond it cannot keep up.
    """
    fig = go.Figure()
    for stage, ms in stages_ms.items():
        fig.add_bar(y=["compute"], x=[ms], name=stage.replace("_", " "), orientation="h",
                    hovertemplate=f"{stage}: %{{x:.2f}} ms<extra></extra>")
    fig.add_vline(x=chunk_ms, line_dash="dot", annotation_text=f"{chunk_ms:g} ms chunk", annotation_position="top left")
    fig.update_layout(barmode="stack", height=190, margin=dict(l=10, r=10, t=40, b=10),
                      title="Compute time per chunk by stage (ms)",
                      legend=dict(orientation="h", y=-0.3, traceorder="normal"),
                      xaxis=dict(range=[0, max(chunk_ms * 1.15, sum(stages_ms.values()) * 1.1)]),
                      yaxis=dict(showticklabels=False))
    return fig
