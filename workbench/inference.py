"""Offline conversion: ``VoiceConverter.load(path_or_baseline).convert(y, sr)``.

A converter analyses speech with WORLD, maps the mel-cepstrum with its kind's ``FrameMapper``
(``workbench.models``: LSTM, GAN generator, GMM or a baseline), optionally spreads a trained model's output
back to the target's variance (``postfilter.Postfilter``, per frame; off by default), moves F0 with its ``pitch.F0Transform``,
keeps the source's aperiodicity and timing, and resynthesises with the streaming path's pulse/noise
vocoder (``vocoder.synthesize_frames``). The baselines ``identity`` (the input,
unchanged) and ``f0`` (F0 transform only) use the same interface so that they can be compared on one
table. Nothing here imports TensorFlow: bundles are run by NumPy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import dbfs, normalize_loudness, resample, validate_audio
from .bundle import BundleMeta, load_model, read_meta
from .config import FeatureConfig, PostfilterConfig
from .data import F0Stats
from .features import WorldFeatures, mcep_to_sp, sp_to_mcep, world_analyze
from .models import registry
from .models.base import FrameMapper
from .pitch import F0Transform
from .postfilter import Postfilter
from .vocoder import synthesize_frames


@dataclass
class Conversion:
    """Converted vocoder features of one utterance (all ``(n_frames, ...)``)."""

    mcep: np.ndarray
    f0: np.ndarray
    ap: np.ndarray


class VoiceConverter:
    """Converts speech into a target voice with a model bundle, or applies a baseline.

    Build with ``VoiceConverter.load("identity" | "f0" | bundle_dir)``. ``name`` is what tables show;
    ``mapper`` (the kind's ``FrameMapper``), ``postfilter`` and ``f0_transform`` are what offline and
    streaming conversion both use. ``postfilter_cfg`` sets the strength of the postfilter; it acts on
    trained kinds whose bundle stores its statistics (baselines pass the envelope through).
    """

    def __init__(self, name: str, *, kind: str, meta: BundleMeta | None = None, model: Any = None,
                 feature_cfg: FeatureConfig | None = None, pitch_ratio: float = 1.0,
                 postfilter_cfg: PostfilterConfig = PostfilterConfig()):
        self.name, self.kind, self.meta, self.model = name, kind, meta, model
        self.feature_cfg = meta.feature_cfg if meta is not None else (feature_cfg or FeatureConfig())
        self.pitch_ratio = pitch_ratio
        self._mapper: FrameMapper | None = None
        trained = registry.spec(kind).trainable  # an unknown kind fails here, not at the first conversion
        self.f0_transform = F0Transform.from_meta(meta, ratio=pitch_ratio)
        self.postfilter = Postfilter(meta.gv if trained and meta is not None else None, cfg=postfilter_cfg,
                                     feature_cfg=self.feature_cfg)

    # ------------------------------------------------------------------------------------- building
    @classmethod
    def load(cls, spec: str | os.PathLike, *, pitch_ratio: float = 1.0,
             postfilter_cfg: PostfilterConfig = PostfilterConfig()) -> VoiceConverter:
        """Load a bundle folder, or build the baseline named ``identity`` or ``f0``.

        Raises
        ------
        BundleError
            When the folder is not a usable bundle.
        """
        if str(spec) in registry.BASELINES and not Path(spec).is_dir():
            return cls(str(spec), kind=str(spec), pitch_ratio=pitch_ratio)
        path = Path(spec)
        meta = read_meta(path)
        return cls(path.name, kind=meta.kind, meta=meta, model=load_model(path, meta), postfilter_cfg=postfilter_cfg)

    @classmethod
    def f0_baseline(cls, meta: BundleMeta) -> VoiceConverter:
        """The ``f0`` baseline with the F0 statistics of a bundle (same data as its model)."""
        return cls("f0", kind="f0", meta=meta)

    @property
    def mapper(self) -> FrameMapper:
        """The kind's ``FrameMapper`` (built once, framework-free)."""
        if self._mapper is None:
            self._mapper = registry.mapper_class(self.kind).from_model(self.model, self.meta, kind=self.kind)
        return self._mapper

    @property
    def sr(self) -> int:
        return self.feature_cfg.sr

    @property
    def lookahead_frames(self) -> int:
        """Frames the mapper waits for in a stream."""
        return self.mapper.lookahead_frames

    @property
    def description(self) -> str:
        return self.mapper.describe(self.meta, pitch_ratio=self.pitch_ratio)

    # ----------------------------------------------------------------------------------- conversion
    @property
    def adaptive_f0(self) -> bool:
        """True for many-to-one bundles: the source's mean log-F0 is estimated from the input itself."""
        return self.f0_transform.adaptive

    def convert_f0(self, f0_hz: np.ndarray, *, source_mean: float | None = None) -> np.ndarray:
        """Target F0 of a whole utterance (``F0Transform.apply_utterance``)."""
        return self.f0_transform.apply_utterance(f0_hz, source_mean=source_mean)

    def map_mcep(self, mc: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
        """Map a whole utterance's mel-cepstrum ``(n_frames, order + 1)``; ``c_0`` (loudness) is kept."""
        return self.mapper.map_utterance(mc, f0_hz)

    def convert_features(self, wf: WorldFeatures) -> Conversion:
        """Convert WORLD features of a whole utterance (mapped and postfiltered mel-cepstrum, F0, aperiodicity)."""
        mc = sp_to_mcep(wf.sp, cfg=self.feature_cfg)
        return Conversion(self.postfilter.apply(self.map_mcep(mc, wf.f0)), self.convert_f0(wf.f0), wf.ap)

    def convert(self, y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
        """Convert a mono float32 signal; returns ``(y_converted, sr_out)`` at the model's rate.

        Raises
        ------
        AudioError
            When ``y`` is not usable speech.
        """
        validate_audio(y, sr)
        x = resample(y, orig_sr=sr, target_sr=self.sr)
        if not self.mapper.uses_vocoder:
            return x, self.sr
        wf = world_analyze(x, cfg=self.feature_cfg)
        conv = self.convert_features(wf)
        # the streaming path's vocoder, so that both paths render the same features alike; against
        # pyworld.synthesize it scored 4.46 vs 5.10 dB MCD (awb-to-slt) and 4.06 vs 4.03 (slt-to-awb)
        out = synthesize_frames(conv.f0, mcep_to_sp(conv.mcep, cfg=self.feature_cfg), conv.ap, cfg=self.feature_cfg)
        out = np.pad(out[: len(x)], (0, max(0, len(x) - len(out))))
        return normalize_loudness(out, target_dbfs=dbfs(x)), self.sr


__all__ = ["VoiceConverter", "Conversion", "F0Stats"]
