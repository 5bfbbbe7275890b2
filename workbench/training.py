"""Training as steps: prepare the data -> fit the chosen kind -> assemble and save the bundle.

``train_conversion`` is the whole recipe behind ``workbench train``, the Train page and the notebook:

1. ``prepare_parallel``: pair files, analyse them, align (a ``ParallelSet``);
2. ``split_data``: training/validation utterances and normalisation statistics (a ``TrainSplit``);
3. the kind's ``fit_<kind>`` (``workbench.fitting``, found through ``models.registry``) returns a ``Fitted``;
4. ``assemble_meta`` builds the bundle's ``BundleMeta`` from all of it, ``measure_gv`` adds how much the
   fitted model over-smooths (for the conversion's ``postfilter.Postfilter``), and ``save_bundle`` writes it.

Progress is reported through ``on_progress(Progress(...))``; a ``stop_event`` ends training early.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bundle import BundleMeta, save_bundle
from .config import FeatureConfig, TrainConfig
from .data import (
    NormStats,
    ParallelSet,
    UtteranceFeatures,
    align_to_source,
    analyze_files,
    build_parallel_set,
    pair_files,
    split_by_utterance,
)
from .errors import DataError, TrainingStopped
from .models import registry
from .postfilter import GvStats, fit_gv_stats

MIN_TRAIN_FRAMES = 1000


@dataclass(frozen=True)
class Progress:
    """One progress report: where training is and the latest losses."""

    stage: str
    epoch: int
    epochs: int
    step: int = 0
    steps: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0


ProgressFn = Callable[[Progress], None]

# ------------------------------------------------------------------------------------------- recipe
@dataclass
class TrainResult:
    """What ``train_conversion`` produced."""

    bundle_dir: Path
    history: dict[str, list[float]]
    n_train_frames: int
    n_val_frames: int
    elapsed_s: float
    stopped: bool = False


@dataclass(frozen=True)
class TrainSplit:
    """Training and validation utterances of a ``ParallelSet`` and the statistics fitted on the training part.

    ``output_norm`` normalises target ``c_1..c_M``; with ``TrainConfig.output_scale == "global"`` every
    coefficient shares one scale, so that squared error weighs dimensions as MCD does.
    """

    train_idx: np.ndarray
    val_idx: np.ndarray
    input_norm: NormStats
    output_norm: NormStats
    n_train_frames: int
    n_val_frames: int


def split_data(data: ParallelSet, cfg: TrainConfig) -> TrainSplit:
    """Split by recording (``cfg.val_fraction``, ``cfg.seed``) and fit the normalisation statistics.

    Items of one recorded pair (``ParallelSet.origin``: augmented copies, the pseudo-source pair) land on the
    same side, so that validation never scores a copy of a training utterance.
    """
    origin = np.asarray(data.origin if data.origin else range(len(data.inputs)))
    pairs = np.unique(origin)
    train_pairs, val_pairs = split_by_utterance(len(pairs), cfg.val_fraction, cfg.seed)
    train_idx = np.flatnonzero(np.isin(origin, pairs[train_pairs]))
    val_idx = np.flatnonzero(np.isin(origin, pairs[val_pairs]))
    out_norm = NormStats.fit(np.concatenate([data.targets[i][:, 1:] for i in train_idx]))
    if cfg.output_scale == "global":
        # one scale for every coefficient: squared error then weighs dimensions as MCD does, instead of
        # inflating the tiny high-order coefficients to unit variance
        out_norm = NormStats(out_norm.mean, np.full_like(out_norm.std, float(np.sqrt(np.mean(out_norm.std**2)))))
    in_norm = NormStats.fit(np.concatenate([data.inputs[i] for i in train_idx]))
    return TrainSplit(train_idx, val_idx, in_norm, out_norm, int(sum(len(data.inputs[i]) for i in train_idx)),
                      int(sum(len(data.inputs[i]) for i in val_idx)))


def prepare_parallel(
    pairs: Sequence[tuple[Path, Path]],
    *,
    cfg: TrainConfig,
    feature_cfg: FeatureConfig,
    on_progress: ProgressFn | None = None,
    groups: Sequence[int] | None = None,
) -> ParallelSet:
    """Analyse paired files and build the aligned training set (``groups``: source speaker of each pair)."""
    t0 = time.perf_counter()
    if on_progress:
        on_progress(Progress("analysis", 0, 1, 0, len(pairs), {}, 0.0))
    files = [p for pair in pairs for p in pair]
    feats = analyze_files(files, feature_cfg, n_jobs=cfg.n_jobs)
    utts: list[tuple[UtteranceFeatures, UtteranceFeatures]] = list(zip(feats[0::2], feats[1::2]))
    if on_progress:
        on_progress(Progress("alignment", 0, 1, 0, len(pairs), {}, time.perf_counter() - t0))
    data = build_parallel_set(utts, cfg=cfg, feature_cfg=feature_cfg, groups=groups)
    if data.n_frames < MIN_TRAIN_FRAMES:
        raise DataError(
            f"Only {data.n_frames} aligned frames ({data.n_frames * feature_cfg.hop_ms / 1000:.1f} s of speech); "
            f"record at least {MIN_TRAIN_FRAMES * feature_cfg.hop_ms / 1000:.0f} s of parallel sentences."
        )
    return data


def train_conversion(
    source_dirs: str | os.PathLike | Sequence[str | os.PathLike],
    target_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    cfg: TrainConfig = TrainConfig(),
    feature_cfg: FeatureConfig = FeatureConfig(),
    on_progress: ProgressFn | None = None,
    stop_event: threading.Event | None = None,
) -> TrainResult:
    """Train a source→target conversion model from parallel folders and save it as a bundle.

    Parameters
    ----------
    source_dirs : folder or list of folders
        Audio of the source voice(s); several folders make a many-to-one model.
    target_dir : folder
        Audio of the target voice; files pair with source files by stem.
    out_dir : folder
        Where the bundle is written (atomically).
    cfg : TrainConfig
        Model kind (``lstm``, ``gan``, ``gmm``), epochs, seed, augmentation, checkpointing.

    Raises
    ------
    DataError
        Missing folders, unpaired files or too little speech.
    TrainingStopped
        ``stop_event`` was set before any usable model existed.
    """
    t0 = time.perf_counter()
    if isinstance(source_dirs, (str, os.PathLike)):
        source_dirs = [source_dirs]
    grouped = [(g, pair) for g, d in enumerate(source_dirs) for pair in pair_files(d, target_dir)]
    pairs = [pair for _, pair in grouped]
    data = prepare_parallel(pairs, cfg=cfg, feature_cfg=feature_cfg, on_progress=on_progress,
                            groups=[g for g, _ in grouped])
    return fit_conversion(data, out_dir, cfg=cfg, feature_cfg=feature_cfg, on_progress=on_progress,
                          stop_event=stop_event, source_voices=[Path(d).name for d in source_dirs],
                          target_voice=Path(target_dir).name, n_pairs=len(pairs), t0=t0)



def _encoder_fingerprint(data: ParallelSet) -> str:
    if not data.phonetic:
        return ""
    from .phonetic import default_encoder

    return default_encoder().fingerprint


def assemble_meta(data: ParallelSet, split: TrainSplit, fitted, *, cfg: TrainConfig, feature_cfg: FeatureConfig,
                  source_voices: Sequence[str], target_voice: str, n_pairs: int, elapsed_s: float) -> BundleMeta:
    """The bundle's metadata, built once from the data, the split and what the fit decided."""
    val = fitted.history.get("val_loss") or [float("nan")]
    return BundleMeta(
        kind=cfg.model, feature_cfg=feature_cfg, output_norm=split.output_norm, source_f0=data.source_f0,
        target_f0=data.target_f0, input_norm=split.input_norm if fitted.use_input_norm else None,
        model_cfg=fitted.model_cfg, lookahead_frames=fitted.lookahead_frames, use_f0_input=cfg.use_f0_input,
        phonetic_input=data.phonetic, phonetic_encoder=_encoder_fingerprint(data), f0_mode=data.f0_mode, source_voices=list(source_voices),
        target_voice=target_voice,
        train_args={**cfg.to_dict(), "n_pairs": n_pairs, "n_utterances": len(data.inputs),
                    **({"history": fitted.history} if fitted.history else {})},
        metrics=({"val_loss": float(np.nanmin(val)), "epochs_run": len(fitted.history.get("loss", [])),
                  "train_frames": split.n_train_frames, "val_frames": split.n_val_frames,
                  "train_seconds": round(elapsed_s, 1)} if fitted.history else {}),
    )


def measure_gv(data: ParallelSet, meta: BundleMeta, model) -> GvStats | None:
    """The fitted model's output spread against the target's, per coefficient (``postfilter.fit_gv_stats``).

    Each training source is converted as offline conversion does (``FrameMapper.map_utterance``) and the
    target is aligned to the conversion with DTW. ``None`` when the set keeps no source features.
    """
    if not data.sources:
        return None
    mapper = registry.mapper_class(meta.kind).from_model(model, meta)
    converted, targets = [], []
    for src, tgt in zip(data.sources, data.target_feats):
        mc = mapper.map_utterance(src.mcep, src.f0)
        sl, aligned = align_to_source(src.mcep, tgt.mcep, guide=mc)
        converted.append(mc[sl])
        targets.append(aligned)
    return fit_gv_stats(converted, targets)


def fit_conversion(
    data: ParallelSet,
    out_dir: str | os.PathLike,
    *,
    cfg: TrainConfig,
    feature_cfg: FeatureConfig,
    on_progress: ProgressFn | None = None,
    stop_event: threading.Event | None = None,
    source_voices: Sequence[str] = (),
    target_voice: str = "",
    n_pairs: int = 0,
    t0: float | None = None,
) -> TrainResult:
    """Fit the kind ``cfg.model`` on an aligned ``ParallelSet`` and save the bundle (steps 2-4)."""
    t0 = time.perf_counter() if t0 is None else t0
    if stop_event is not None and stop_event.is_set():
        raise TrainingStopped("Training was stopped before it started; nothing was saved.")
    split = split_data(data, cfg)
    fit = registry.fit_function(cfg.model)
    fitted = fit(data, split, cfg=cfg, on_progress=on_progress, stop_event=stop_event)
    meta = assemble_meta(data, split, fitted, cfg=cfg, feature_cfg=feature_cfg, source_voices=source_voices,
                         target_voice=target_voice, n_pairs=n_pairs, elapsed_s=time.perf_counter() - t0)
    meta.gv = measure_gv(data, meta, fitted.model)
    save_bundle(out_dir, meta, fitted.model)
    return TrainResult(Path(out_dir), fitted.history, split.n_train_frames, split.n_val_frames,
                       time.perf_counter() - t0, fitted.stopped)
