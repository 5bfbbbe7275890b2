"""``FrameMapper``: what a model kind does to mel-cepstral frames, the same way offline and live.

Offline conversion (``inference``), the streaming engine (``world_stream``) and training's
realignment all call a mapper and never ask which kind it is. A mapper maps frames of mel-cepstrum
``(n, order + 1)`` (with ``c_0``) and F0 ``(n,)`` to converted ``c_1..c_M``:

- ``map(mcep, f0_hz, state) -> (mapped, state)`` is causal: fed frames ``k..k+n-1`` it returns the
  converted frames ``k - lookahead_frames ..`` (a stream's first ``lookahead_frames`` rows belong to
  frames before the stream and are dropped by the caller);
- ``map_utterance(mcep, f0_hz)`` converts a whole utterance and keeps its ``c_0`` (loudness).

A kind's class also reads and writes its model in a bundle folder (``load`` / ``save``) and wraps a
freshly trained model (``from_model``). Register a new kind in ``models/registry.py``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


class FrameMapper:
    """Base class: the identity map (``c_1..c_M`` unchanged), no lookahead, no state."""

    kind: str = ""
    lookahead_frames: int = 0
    uses_vocoder: bool = True  # False: the signal passes through untouched (no WORLD analysis at all)

    def __init__(self, kind: str = "") -> None:
        self.kind = kind or type(self).kind

    # ------------------------------------------------------------------------------------- mapping
    def initial_state(self) -> Any:
        """State at the start of a stream (``None`` for stateless mappers)."""
        return None

    def map(self, mcep: np.ndarray, f0_hz: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """Causally map the next frames.

        Parameters
        ----------
        mcep : np.ndarray, shape (n, order + 1)
        f0_hz : np.ndarray, shape (n,), 0 when unvoiced
        state : what ``initial_state`` or the previous call returned

        Returns
        -------
        mapped : np.ndarray, shape (n, order), float64
            Converted ``c_1..c_M`` of frames ``k - lookahead_frames``.
        state : the state after these frames
        """
        return np.asarray(mcep[:, 1:], dtype=np.float64), state

    def map_utterance(self, mcep: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
        """Convert a whole utterance: the lookahead is filled by repeating the last frame.

        Returns
        -------
        np.ndarray, shape (n, order + 1), float64 — ``c_0`` of the input, converted ``c_1..c_M``.
        """
        L = self.lookahead_frames
        mc = np.pad(mcep, ((0, L), (0, 0)), mode="edge") if L else mcep
        f0 = np.pad(f0_hz, (0, L), mode="edge") if L else f0_hz
        mapped, _ = self.map(mc, f0, self.initial_state())
        return np.concatenate([np.asarray(mcep[:, :1], np.float64), mapped[L:]], axis=1)

    def describe(self, meta, *, pitch_ratio: float = 1.0) -> str:
        """A one-line description for tables (``meta`` is None for a baseline without a bundle)."""
        if meta is None:
            return self.kind
        src = ", ".join(meta.source_voices) or "?"
        return f"{self.kind.upper()} {src} → {meta.target_voice or '?'}"

    # ----------------------------------------------------------------------------------- bundles
    @classmethod
    def load_model(cls, path: str | os.PathLike, meta) -> Any:
        """The model stored in bundle folder ``path`` (``None`` for baselines)."""
        return None

    @classmethod
    def save_model(cls, model: Any, path: str | os.PathLike) -> None:
        """Write ``model`` into the (temporary) bundle folder ``path``."""

    @classmethod
    def from_model(cls, model: Any, meta, *, kind: str = "") -> FrameMapper:
        """The mapper of a loaded or freshly trained ``model`` with the bundle's ``meta``."""
        return cls(kind)
