"""The F0 transform of a conversion, one object for offline and streaming conversion.

A bundle moves F0 with the log-Gaussian transform of its training statistics (``data.transform_f0``).
A many-to-one bundle (``f0_mode == "adaptive"``) does not know its speaker: it estimates the source's
mean log-F0 from the input itself, with one rule in both paths — offline from the whole utterance,
live from a running mean that starts at the training speakers' mean (worth ``prior_frames`` voiced
frames) and converges to that same utterance mean as ``1 / n``. A baseline without statistics scales
F0 by a fixed ``ratio``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import F0TransformConfig
from .data import F0Stats, transform_f0


@dataclass(frozen=True)
class F0State:
    """A stream's running sum of voiced log-F0 and its count."""

    lf0_sum: float = 0.0
    n_voiced: int = 0


class F0Transform:
    """Source F0 (Hz, 0 = unvoiced) -> target F0.

    Parameters
    ----------
    source, target : F0Stats or None
        Log-F0 statistics of the training data; ``None`` for a fixed-ratio baseline.
    adaptive : bool
        Estimate the source mean from the input (many-to-one bundles); ``source.std`` is kept.
    ratio : float
        F0 multiplier when there are no statistics (the pitch-shift baseline).
    cfg : F0TransformConfig
        The prior's weight and the fewest voiced frames an utterance mean needs.
    """

    def __init__(self, source: F0Stats | None = None, target: F0Stats | None = None, *, adaptive: bool = False,
                 ratio: float = 1.0, cfg: F0TransformConfig = F0TransformConfig()):
        self.source, self.target, self.adaptive, self.ratio, self.cfg = source, target, adaptive, ratio, cfg

    @classmethod
    def from_meta(cls, meta, *, ratio: float = 1.0, cfg: F0TransformConfig = F0TransformConfig()) -> F0Transform:
        """The transform of a bundle's ``BundleMeta`` (or a fixed ``ratio`` when ``meta`` is None)."""
        if meta is None:
            return cls(ratio=ratio, cfg=cfg)
        return cls(meta.source_f0, meta.target_f0, adaptive=meta.f0_mode == "adaptive", cfg=cfg)

    def _apply(self, f0_hz: np.ndarray, source_mean: float | None) -> np.ndarray:
        f0_hz = np.asarray(f0_hz, dtype=np.float64)
        if self.source is None or self.target is None:
            return f0_hz * self.ratio
        source = self.source
        if self.adaptive and source_mean is not None:
            source = F0Stats(float(source_mean), source.std)
        return transform_f0(f0_hz, source, self.target)

    # ------------------------------------------------------------------------------------ offline
    def apply_utterance(self, f0_hz: np.ndarray, *, source_mean: float | None = None) -> np.ndarray:
        """Transform a whole utterance's F0 ``(n_frames,)``.

        An adaptive transform uses ``source_mean`` when given, else the utterance's own mean log-F0
        (when it has ``cfg.min_voiced_frames`` voiced frames; the training mean otherwise).
        """
        if self.adaptive and source_mean is None:
            voiced = np.asarray(f0_hz)[np.asarray(f0_hz) > 0]
            if voiced.size >= self.cfg.min_voiced_frames:
                source_mean = float(np.mean(np.log(voiced)))
        return self._apply(f0_hz, source_mean)

    # ------------------------------------------------------------------------------------- stream
    def initial_state(self) -> F0State:
        return F0State()

    def running_mean(self, state: F0State) -> float | None:
        """A stream's current estimate of the source mean log-F0 (None when not adaptive)."""
        if not self.adaptive or self.source is None:
            return None
        p = self.cfg.prior_frames
        return (self.source.mean * p + state.lf0_sum) / max(p + state.n_voiced, 1)

    def apply(self, f0_hz: np.ndarray, state: F0State) -> tuple[np.ndarray, F0State]:
        """Transform the next frames of a stream; the running mean includes these frames.

        Returns
        -------
        f0_out : np.ndarray, shape (n,), float64, Hz
        state : F0State
        """
        f0_hz = np.asarray(f0_hz, dtype=np.float64)
        if not (self.adaptive and self.source is not None and self.target is not None) or f0_hz.size == 0:
            return self._apply(f0_hz, None), state
        # frame by frame: frame i's mean includes the frames up to i, however the stream was chunked
        voiced = f0_hz > 0
        lf0 = np.where(voiced, np.log(np.where(voiced, f0_hz, 1.0)), 0.0)
        sums, counts = state.lf0_sum + np.cumsum(lf0), state.n_voiced + np.cumsum(voiced)
        p = self.cfg.prior_frames
        means = (self.source.mean * p + sums) / np.maximum(p + counts, 1)
        scale = self.target.std / self.source.std
        out = np.where(voiced, np.exp((lf0 - means) * scale + self.target.mean), 0.0)  # transform_f0, per frame
        return out, F0State(float(sums[-1]), int(counts[-1]))


__all__ = ["F0Transform", "F0State"]
