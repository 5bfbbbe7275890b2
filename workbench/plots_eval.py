"""Plotly figures for evaluation and speaker embeddings (used by the report, the app and the notebooks).

Kept apart from ``plots.py`` (signal figures); the shared look comes from ``plot_style._layout``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .plot_style import DIVERGING_COLORS, _layout

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def project_2d(embeddings: np.ndarray, *, fit_on: np.ndarray | None = None) -> np.ndarray:
    """PCA of embeddings ``(n, d)`` onto their first two principal axes, shape ``(n, 2)``.

    The sign of each axis is fixed (largest loading positive) so that the map does not flip between runs.
    With ``fit_on`` (``(m, d)``), the mean and axes come from those embeddings and ``embeddings`` are
    projected with them: new points (a live voice) land on the same map without moving it.
    """
    x = np.asarray(embeddings, np.float64)
    fit = x if fit_on is None else np.asarray(fit_on, np.float64)
    if len(fit) < 2:
        return np.zeros((len(x), 2))
    mean = fit.mean(axis=0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    axes = vt[:2]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    out = (x - mean) @ axes.T
    return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


def embedding_map_figure(points: np.ndarray, labels: Sequence[str], *, hover: Sequence[str] | None = None,
                         highlight: Mapping[str, str] | None = None, title: str = "Speaker embeddings (PCA)",
                         height: int = 420) -> go.Figure:
    """Scatter of 2-D projected embeddings, one colour per label.

    Parameters
    ----------
    points : np.ndarray, shape (n, 2)
        From ``project_2d``.
    labels : sequence of str, length n
        Voice (or system) of each point.
    hover : sequence of str, optional
        Text shown on hover (e.g. the clip name).
    highlight : mapping of label to marker symbol, optional
        Labels drawn large with that symbol (e.g. ``{"converted": "star"}``).
    """
    fig = go.Figure()
    labels = list(labels)
    hover = list(hover) if hover is not None else labels
    highlight = dict(highlight or {})
    for k, lab in enumerate(dict.fromkeys(labels)):
        idx = [i for i, v in enumerate(labels) if v == lab]
        big = lab in highlight
        fig.add_trace(go.Scatter(
            x=points[idx, 0], y=points[idx, 1], mode="markers", name=lab, text=[hover[i] for i in idx],
            marker={"size": 14 if big else 8, "symbol": highlight.get(lab, "circle"),
                    "color": PALETTE[k % len(PALETTE)], "line": {"width": 1, "color": "white"}},
            hovertemplate="%{text}<extra>" + lab + "</extra>"))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return _layout(fig, title=title, x_title="PC 1", y_title="PC 2", height=height)


def similarity_heatmap_figure(sim: np.ndarray, labels: Sequence[str], *, title: str = "Cosine similarity",
                              height: int = 420) -> go.Figure:
    """Heatmap of a similarity matrix ``(n, n)`` with ``labels`` on both axes (in [-1, 1])."""
    labels = [str(v) for v in labels]
    fig = go.Figure(go.Heatmap(z=np.asarray(sim, np.float32), x=labels, y=labels, zmin=-1.0, zmax=1.0,
                               colorscale=DIVERGING_COLORS, colorbar={"title": "cos"},
                               hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(type="category")
    return _layout(fig, title=title, x_title="", y_title="", height=height)


def utterance_metric_figure(records: Sequence[Mapping], key: str = "mcd_db", *, unit: str = "dB",
                            title: str | None = None, height: int = 320) -> go.Figure:
    """Grouped bars of one per-utterance score: utterances on x, one bar per model.

    ``records`` are dicts (or objects with ``model``, ``stem`` and ``scores``) as in
    ``evaluation.Evaluation.utterances``.
    """
    rows = [r if isinstance(r, Mapping) else {"model": r.model, "stem": r.stem, **r.scores} for r in records]
    fig = go.Figure()
    for k, model in enumerate(dict.fromkeys(r["model"] for r in rows)):
        mine = [r for r in rows if r["model"] == model and key in r]
        fig.add_trace(go.Bar(x=[r["stem"] for r in mine], y=[float(r[key]) for r in mine], name=model,
                             marker={"color": PALETTE[k % len(PALETTE)]},
                             hovertemplate="%{x}: %{y:.3f}<extra>" + model + "</extra>"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    return _layout(fig, title=title or f"{key} per utterance", x_title="utterance",
                   y_title=f"{key} ({unit})" if unit else key, height=height)


def f0_contours_figure(tracks: Mapping[str, np.ndarray], *, hop_ms: float = 5.0, title: str = "F0 contours",
                       height: int = 300) -> go.Figure:
    """F0 tracks (Hz, 0 = unvoiced, drawn as gaps) of several versions of one utterance, on one time axis."""
    fig = go.Figure()
    for k, (name, f0) in enumerate(tracks.items()):
        f0 = np.asarray(f0, np.float64)
        t = np.arange(len(f0)) * hop_ms / 1000.0
        fig.add_trace(go.Scatter(x=t.astype(np.float32), y=np.where(f0 > 0, f0, np.nan).astype(np.float32),
                                 mode="lines", name=name, connectgaps=False,
                                 line={"color": PALETTE[k % len(PALETTE)], "width": 2}))
    return _layout(fig, title=title, x_title="time (s)", y_title="F0 (Hz)", height=height)
