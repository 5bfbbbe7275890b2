"""Figures of the Live page: input and converted output scrolling by as spectrograms with their F0.

Kept apart from ``plots`` (signal and training figures) so that each module stays short; the look is the
shared one of ``plot_style``. This module never imports streamlit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .features import fft_frequencies, frame_times
from .live import RecentFeatures
from .plot_style import F0_COLOR, _heatmap, _layout, _masked_f0


def live_scroll_figure(view: RecentFeatures, *, window_s: float = 5.0, max_hz: float = 4000.0,
                       height: int = 460) -> go.Figure:
    """Input (top) and converted output (bottom) spectrograms with their F0 lines, on one stream-time axis.

    Parameters
    ----------
    view : RecentFeatures
        From ``live.analyse_recent``; frame ``i`` is drawn at ``view.start_s + i * hop``.
    window_s : float
        Width of the visible time range in seconds; it ends at the newest frame, so the picture scrolls
        while you speak (the first seconds fill it from the left).
    max_hz : float
        Top of the frequency axis; bins above it are left out of the figure (4 kHz shows F0 and the
        formants and halves what the browser receives 4 times a second: ~0.7 MB instead of 1.5 MB for 5 s).

    Returns
    -------
    go.Figure
        Four traces: heatmap and F0 line of the input (row 1), then of the output (row 2). F0 is NaN where
        unvoiced, so its line breaks there.
    """
    cfg = view.cfg
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("Your voice (input)", "Converted (output)"))
    freqs = fft_frequencies(cfg)
    n_bins = int(np.searchsorted(freqs, max_hz, side="right"))  # bins up to max_hz
    for row, (db, hz) in enumerate(((view.input_db, view.input_f0), (view.output_db, view.output_f0)), start=1):
        heat, times = _heatmap(db[:, :n_bins], cfg, y=freqs[:n_bins], hover_y="%{y:.0f} Hz")
        heat.x = np.asarray(times + view.start_s, np.float32)
        heat.showscale = row == 1
        fig.add_trace(heat, row=row, col=1)
        f0 = _masked_f0(hz, None)
        fig.add_trace(go.Scatter(x=(frame_times(len(f0), cfg) + view.start_s).astype(np.float32),
                                 y=f0.astype(np.float32), mode="lines", name="F0", showlegend=row == 1,
                                 line={"color": F0_COLOR, "width": 2}, connectgaps=False,
                                 hovertemplate="t=%{x:.2f} s<br>F0 %{y:.0f} Hz<extra></extra>"), row=row, col=1)
    _layout(fig, title="", x_title="", y_title="", height=height)
    fig.update_yaxes(range=[0, freqs[n_bins - 1]], title_text="frequency (Hz)")
    end = view.start_s + len(view.input_db) * cfg.hop_ms / 1000.0
    fig.update_xaxes(range=[max(end, window_s) - window_s, max(end, window_s)])
    fig.update_xaxes(title_text="stream time (s)", row=2, col=1)
    return fig


__all__ = ["live_scroll_figure"]
