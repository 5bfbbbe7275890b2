"""The seed's pipeline as a figure: capture → preprocessing → features → speech recognition → text processing
→ speech synthesis → cloned output, each box labelled with its stage's time."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

PIPELINE = (
    ("capture", "Capture"),
    ("preprocessing", "Preprocessing"),
    ("features", "Features"),
    ("recognition", "Speech<br>recognition"),
    ("text", "Text<br>processing"),
    ("synthesis", "Speech<br>synthesis"),
    ("conversion", "Cloned<br>output"),
)
_DONE, _TODO = "#2e7d32", "#9e9e9e"


def pipeline_figure(timings: Mapping[str, float] | None = None, *, height: int = 190) -> go.Figure:
    """Boxes and arrows for the seven stages of ``PIPELINE``; a stage with a time in ``timings`` (seconds)
    is drawn as done and labelled with its time in ms.

    Parameters
    ----------
    timings : mapping of stage key -> seconds, optional
        Keys from ``PIPELINE`` (``capture`` may carry the input's duration, shown as "N s of audio").
    """
    timings = timings or {}
    fig = go.Figure()
    width, gap = 1.0, 0.45
    for i, (key, label) in enumerate(PIPELINE):
        x0 = i * (width + gap)
        done = key in timings
        color = _DONE if done else _TODO
        fig.add_shape(type="rect", x0=x0, x1=x0 + width, y0=0.0, y1=1.0, line={"color": color, "width": 2},
                      fillcolor=color, opacity=0.15 if done else 0.06)
        fig.add_annotation(x=x0 + width / 2, y=0.62, text=f"<b>{label}</b>", showarrow=False, font={"size": 13})
        if done:
            value = timings[key]
            note = f"{value:.1f} s of audio" if key == "capture" else f"{value * 1000:.0f} ms"
            fig.add_annotation(x=x0 + width / 2, y=0.18, text=note, showarrow=False, font={"size": 12, "color": color})
        if i + 1 < len(PIPELINE):
            fig.add_annotation(x=x0 + width + gap - 0.03, y=0.5, ax=x0 + width + 0.03, ay=0.5, xref="x", yref="y",
                               axref="x", ayref="y", showarrow=True, arrowhead=3, arrowwidth=2, text="")
    fig.update_xaxes(visible=False, range=[-0.1, len(PIPELINE) * (width + gap) - gap + 0.1])
    fig.update_yaxes(visible=False, range=[-0.1, 1.1])
    fig.update_layout(height=height, margin={"l": 5, "r": 5, "t": 10, "b": 5}, showlegend=False,
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return fig


def timing_figure(timings: Mapping[str, float], *, title: str = "Time per stage") -> go.Figure:
    """A horizontal stacked bar of stage times (ms), in pipeline order."""
    order = [k for k, _ in PIPELINE if k in timings and k != "capture"]
    fig = go.Figure()
    for key in order:
        fig.add_bar(y=["cascade"], x=[timings[key] * 1000.0], name=key, orientation="h",
                    text=[f"{key} {timings[key] * 1000:.0f} ms"], textposition="inside")
    fig.update_layout(barmode="stack", height=150, title=title, xaxis_title="ms",
                      margin={"l": 5, "r": 5, "t": 40, "b": 30}, showlegend=False)
    return fig
