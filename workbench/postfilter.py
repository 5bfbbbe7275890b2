"""Global-variance postfilter: undo a conversion model's over-smoothing of the mel-cepstrum, frame by frame.

A regression model trained with squared error predicts the conditional mean, so its mel-cepstra vary less
than natural speech (GV ratio 0.72-0.87 on the sample voices): formants flatten and consonants blur. The
classic remedy (Toda et al. 2007's global variance; Silén et al. 2012's variance scaling) rescales each
coefficient about its mean so that its spread matches the target speaker's. Here the statistics are fixed
per bundle (measured once after training, ``fit_gv_stats``), so the filter is an affine map of each frame
on its own: causal, with no delay, and the same offline and in a stream::

    c'_d = mean_d + ratio_d ** weight * (c_d - mean_d)          d = 1..M
    c'_0 = c_0 + 0.5 * log(P(c) / P(c'))                         (frame power P kept)

``mean_d`` is the mean of the model's own output, ``ratio_d`` the target's standard deviation over the
output's (both on speech frames of the training set), ``weight`` (``PostfilterConfig.gv_weight``) how much
of the gap is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import FeatureConfig, PostfilterConfig
from .features import mcep_to_sp, speech_mask


@dataclass(frozen=True)
class GvStats:
    """Per-coefficient statistics of a bundle's converted speech (``c_1..c_M``, speech frames).

    Attributes
    ----------
    mean : np.ndarray, shape (order,), float64
        Mean of the model's output.
    ratio : np.ndarray, shape (order,), float64
        Target standard deviation / output standard deviation (> 1 where the model over-smooths).
    """

    mean: np.ndarray
    ratio: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "ratio": self.ratio.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GvStats:
        return cls(np.asarray(d["mean"], dtype=np.float64), np.asarray(d["ratio"], dtype=np.float64))


def fit_gv_stats(converted: list[np.ndarray], targets: list[np.ndarray], *, max_ratio: float = 4.0) -> GvStats:
    """Measure how much a model over-smooths: its output against the target, on the target's speech frames.

    Parameters
    ----------
    converted : list of np.ndarray, shape (n_i, order + 1)
        The model's mel-cepstra of training utterances (``c_0`` from the source).
    targets : list of np.ndarray, shape (n_i, order + 1)
        The target's mel-cepstra aligned to them, frame for frame (``ParallelSet.targets``).
    max_ratio : float
        Upper bound of each ratio (a coefficient the model nearly zeroes must not explode).

    Returns
    -------
    GvStats
    """
    conv_rows, tgt_rows = [], []
    for c, t in zip(converted, targets):
        keep = speech_mask(t[:, 0])
        conv_rows.append(np.asarray(c, np.float64)[keep, 1:])
        tgt_rows.append(np.asarray(t, np.float64)[keep, 1:])
    c, t = np.concatenate(conv_rows), np.concatenate(tgt_rows)
    ratio = np.clip(t.std(axis=0) / np.maximum(c.std(axis=0), 1e-8), 1.0 / max_ratio, max_ratio)
    return GvStats(c.mean(axis=0), ratio)


class Postfilter:
    """The per-frame GV postfilter of one bundle (``apply``); the identity without statistics or weight.

    Parameters
    ----------
    stats : GvStats, optional
        The bundle's statistics (``None`` for baselines and bundles trained before they were stored).
    cfg : PostfilterConfig
        ``gv_weight``: 0 is off, 1 restores the target's spread in full.
    feature_cfg : FeatureConfig
        The mel-cepstrum's analysis settings (for the power kept in ``c_0``).
    """

    def __init__(self, stats: GvStats | None, *, cfg: PostfilterConfig = PostfilterConfig(),
                 feature_cfg: FeatureConfig = FeatureConfig()):
        self.stats, self.cfg, self.feature_cfg = stats, cfg, feature_cfg
        self._scale = None if stats is None or cfg.gv_weight == 0 else stats.ratio ** cfg.gv_weight

    @property
    def active(self) -> bool:
        """Whether ``apply`` changes anything."""
        return self._scale is not None

    def apply(self, mc: np.ndarray) -> np.ndarray:
        """Postfilter mel-cepstral frames; each output row depends on its input row only.

        Parameters
        ----------
        mc : np.ndarray, shape (n, order + 1)
            Converted mel-cepstra with ``c_0``.

        Returns
        -------
        np.ndarray, shape (n, order + 1), float64
            ``c_1..c_M`` spread about the bundle's mean; ``c_0`` moved so that each frame's power is kept.
        """
        mc = np.asarray(mc, dtype=np.float64)
        if self._scale is None or len(mc) == 0:
            return mc
        out = mc.copy()
        out[:, 1:] = self.stats.mean + self._scale * (mc[:, 1:] - self.stats.mean)
        before = mcep_to_sp(mc, cfg=self.feature_cfg).mean(axis=1)
        after = mcep_to_sp(out, cfg=self.feature_cfg).mean(axis=1)
        out[:, 0] += 0.5 * np.log(np.maximum(before, 1e-30) / np.maximum(after, 1e-30))
        return out


__all__ = ["GvStats", "Postfilter", "fit_gv_stats"]
