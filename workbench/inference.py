"""Offline conversion: ``VoiceConverter.load(path_or_baseline).convert(y, sr)``.

A converter analyses speech with WORLD, maps the mel-cepstrum with the bundle's model (LSTM, GAN
generator or GMM), moves F0 to the target's statistics, keeps the source's aperiodicity and timing,
and resynthesises. The baselines ``identity`` (the input, unchanged) and ``f0`` (F0 transform only)
use the same interface so that they can be compared on one table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import dbfs, normalize_loudness, resample, validate_audio
from .bundle import BundleMeta, load_model, read_meta
from .config import BASELINES, FeatureConfig
from .data import F0Stats, model_inputs, transform_f0
from .features import WorldFeatures, mcep_to_sp, sp_to_mcep, world_analyze, world_synthesize


@dataclass
class Conversion:
    """Converted vocoder features of one utterance (all ``(n_frames, ...)``)."""

    mcep: np.ndarray
    f0: np.ndarray
    ap: np.ndarray


class VoiceConverter:
    """Converts speech into a target voice with a model bundle, or applies a baseline.

    Build with ``VoiceConverter.load("identity" | "f0" | bundle_dir)``. ``name`` is what tables show.
    """

    def __init__(self, name: str, *, kind: str, meta: BundleMeta | None = None, model: Any = None,
                 feature_cfg: FeatureConfig | None = None, pitch_ratio: float = 1.0):
        self.name, self.kind, self.meta, self.model = name, kind, meta, model
        self.feature_cfg = meta.feature_cfg if meta is not None else (feature_cfg or FeatureConfig())
        self.pitch_ratio = pitch_ratio
        self._numpy_mapper = None

    # ------------------------------------------------------------------------------------- building
    @classmethod
    def load(cls, spec: str | os.PathLike, *, pitch_ratio: float = 1.0) -> VoiceConverter:
        """Load a bundle folder, or build the baseline named ``identity`` or ``f0``.

        Raises
        ------
        BundleError
            When the folder is not a usable bundle.
        """
        if str(spec) in BASELINES and not Path(spec).is_dir():
            return cls(str(spec), kind=str(spec), pitch_ratio=pitch_ratio)
        path = Path(spec)
        meta = read_meta(path)
        return cls(path.name, kind=meta.kind, meta=meta, model=load_model(path, meta))

    @classmethod
    def f0_baseline(cls, meta: BundleMeta) -> VoiceConverter:
        """The ``f0`` baseline with the F0 statistics of a bundle (same data as its model)."""
        return cls("f0", kind="f0", meta=meta)

    @property
    def mapper(self):
        """The model as a ``NumpyMapper`` (built once): fast, framework-free, same numbers as Keras."""
        if self._numpy_mapper is None:
            from .models.mapping import NumpyMapper

            self._numpy_mapper = NumpyMapper.from_model(self.model)
        return self._numpy_mapper

    @property
    def sr(self) -> int:
        return self.feature_cfg.sr

    @property
    def lookahead_frames(self) -> int:
        return self.meta.lookahead_frames if self.meta is not None and self.kind in ("lstm", "gan") else 0

    @property
    def description(self) -> str:
        if self.meta is None:
            return {"identity": "input unchanged", "f0": f"WORLD resynthesis, pitch x{self.pitch_ratio:g}"}[self.kind]
        src = ", ".join(self.meta.source_voices) or "?"
        return f"{self.kind.upper()} {src} → {self.meta.target_voice or '?'}"

    # ----------------------------------------------------------------------------------- conversion
    @property
    def adaptive_f0(self) -> bool:
        """True for many-to-one bundles: the source's mean log-F0 is estimated from the input itself."""
        return self.meta is not None and self.meta.f0_mode == "adaptive"

    def convert_f0(self, f0_hz: np.ndarray, *, source_mean: float | None = None) -> np.ndarray:
        """Target F0 track: the log-Gaussian transform of the bundle's statistics, or a fixed ratio.

        For an ``adaptive`` (many-to-one) bundle the source mean is ``source_mean`` (a stream's running
        estimate) or the mean log-F0 of ``f0_hz`` itself, so any speaker lands on the target's range.
        """
        if self.meta is None:
            return f0_hz * self.pitch_ratio
        source = self.meta.source_f0
        if self.adaptive_f0:
            voiced = f0_hz[f0_hz > 0]
            if source_mean is None and voiced.size >= 10:
                source_mean = float(np.mean(np.log(voiced)))
            if source_mean is not None:
                source = F0Stats(source_mean, source.std)
        return transform_f0(f0_hz, source, self.meta.target_f0)

    def map_mcep(self, mc: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
        """Map a whole utterance's mel-cepstrum ``(n_frames, order + 1)``; ``c_0`` (loudness) is kept."""
        if self.kind in ("identity", "f0"):
            return mc
        meta = self.meta
        if self.kind == "gmm":
            mapped = self.model.convert(mc[:, 1:].astype(np.float64))
        else:
            x = meta.input_norm.apply(model_inputs(mc, f0_hz, use_f0=meta.use_f0_input))
            lookahead = meta.lookahead_frames
            if lookahead:
                x = np.pad(x, ((0, lookahead), (0, 0)), mode="edge")
            out, _ = self.mapper.run(x)
            out = out[lookahead:]
            mapped = meta.output_norm.invert(out)
        return np.concatenate([mc[:, :1], mapped], axis=1)

    def convert_features(self, wf: WorldFeatures) -> Conversion:
        """Convert WORLD features of a whole utterance."""
        mc = sp_to_mcep(wf.sp, cfg=self.feature_cfg)
        return Conversion(self.map_mcep(mc, wf.f0), self.convert_f0(wf.f0), wf.ap)

    def convert(self, y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
        """Convert a mono float32 signal; returns ``(y_converted, sr_out)`` at the model's rate.

        Raises
        ------
        AudioError
            When ``y`` is not usable speech.
        """
        validate_audio(y, sr)
        x = resample(y, orig_sr=sr, target_sr=self.sr)
        if self.kind == "identity":
            return x, self.sr
        wf = world_analyze(x, cfg=self.feature_cfg)
        conv = self.convert_features(wf)
        out = world_synthesize(WorldFeatures(conv.f0, mcep_to_sp(conv.mcep, cfg=self.feature_cfg), conv.ap),
                               cfg=self.feature_cfg, n_samples=len(x))
        return normalize_loudness(out, target_dbfs=dbfs(x)), self.sr


__all__ = ["VoiceConverter", "Conversion", "F0Stats"]
