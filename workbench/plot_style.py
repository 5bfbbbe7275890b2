"""The shared look of the workbench's plotly figures: template, sizes, colour scales and layout helpers.

``plots`` (signal and training figures) and ``plots_eval`` (evaluation and speaker figures) build on these,
so every figure has the same height, margins, fonts and colours.
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go

from .config import FeatureConfig
from .features import frame_times


def _streamlit_safe(name: str) -> list[list]:
    """A named plotly colour scale with near-black ``#0000xx`` stops nudged to ``#01xxxx``.

    Streamlit's chart renderer replaces ``#000001``, ``#000002``, ... in a figure with its theme
    colours, even with ``theme=None`` (``#000004`` becomes ``#ab63fa``): Magma's black turned purple.
    """
    import plotly.colors

    return [[pos, "#01" + c[3:] if re.fullmatch(r"#0000[0-9a-fA-F]{2}", c) else c]
            for pos, c in plotly.colors.get_colorscale(name)]


TEMPLATE = "plotly_white"
HEIGHT = 280
MAX_FRAMES = 1500
MAX_BINS = 257  # about the pixel height of a plot; n_fft 512 is drawn as is, 1024 averages bin pairs
MAX_WAVE_POINTS = 4000
SPEC_COLORS = _streamlit_safe("Magma")
DIVERGING_COLORS = "RdBu_r"
LINE_COLOR = "#1f77b4"
ACCENT_COLOR = "#ff7f0e"
F0_COLOR = "#00e5ff"


# --------------------------------------------------------------------------------------------- helpers
def _layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, height: int = HEIGHT) -> go.Figure:
    """Apply the shared template, margins, title and axis labels."""
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}},
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        hovermode="closest",
    )
    fig.update_layout(xaxis_title_text=x_title, yaxis_title_text=y_title)  # primary axes only
    return fig


def _pool(a: np.ndarray, max_n: int, *, axis: int) -> tuple[np.ndarray, int]:
    """Average ``a`` over blocks along ``axis`` so it has at most ``max_n`` entries; return it and the block size."""
    n = a.shape[axis]
    if n <= max_n:
        return a, 1
    step = int(np.ceil(n / max_n))
    n_blocks = int(np.ceil(n / step))
    pad = [(0, 0)] * a.ndim
    pad[axis] = (0, n_blocks * step - n)
    padded = np.pad(a.astype(np.float64), pad, mode="edge")
    shape = list(a.shape)
    shape[axis : axis + 1] = [n_blocks, step]
    return padded.reshape(shape).mean(axis=axis + 1).astype(np.float32), step


def _heatmap(
    values: np.ndarray,
    cfg: FeatureConfig,
    *,
    y: np.ndarray | None = None,
    colorscale: str | list = SPEC_COLORS,
    colorbar_title: str = "dB",
    zmid: float | None = None,
    hover_y: str = "%{y:.0f}",
) -> tuple[go.Heatmap, np.ndarray]:
    """A ``(n_frames, n_dims)`` array as a time-by-dimension heatmap, pooled to the size limits."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"Expected a frames-first array (n_frames, n_dims), got shape {values.shape}.")
    times = frame_times(len(values), cfg)
    z, t_step = _pool(values, MAX_FRAMES, axis=0)
    if t_step > 1:
        times, _ = _pool(times[:, None], MAX_FRAMES, axis=0)
        times = times[:, 0]
    y = np.arange(values.shape[1]) if y is None else np.asarray(y, dtype=np.float64)
    z, f_step = _pool(z, MAX_BINS, axis=1)
    if f_step > 1:
        y = _pool(y[None, :], MAX_BINS, axis=1)[0][0]
    trace = go.Heatmap(
        x=np.asarray(times, dtype=np.float32),
        y=np.asarray(y, dtype=np.float32),
        z=np.ascontiguousarray(z.T),
        colorscale=colorscale,
        zmid=zmid,
        colorbar={"title": {"text": colorbar_title, "side": "right"}, "thickness": 12, "len": 0.9},
        hovertemplate=f"t=%{{x:.3f}} s<br>{hover_y}<br>%{{z:.1f}}<extra></extra>",
    )
    return trace, times


def _masked_f0(f0_hz: np.ndarray, voiced: np.ndarray | None) -> np.ndarray:
    """F0 in Hz with unvoiced frames set to NaN, so lines break there."""
    hz = np.asarray(f0_hz, dtype=np.float64)
    mask = hz > 0 if voiced is None else np.asarray(voiced, dtype=bool) & (hz > 0)
    return np.where(mask, hz, np.nan)
