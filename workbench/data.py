"""Parallel training data: pairing files, WORLD analysis, DTW alignment, statistics and tf.data pipelines.

A source and a target voice reading the same sentences are paired by file stem. Their mel-cepstra are
aligned with dynamic time warping, so every source frame gets the target frame it corresponds to;
the model then learns the frame mapping on the source's time axis (conversion keeps the timing).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import types
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import list_audio_files, load_audio
from .config import FeatureConfig, TrainConfig
from .errors import DataError
from .features import interpolate_f0, sp_to_mcep, speech_mask, world_analyze

MIN_PAIRS = 3


# ------------------------------------------------------------------------------------------- pairing
def pair_files(source_dir: str | os.PathLike, target_dir: str | os.PathLike, *, min_pairs: int = MIN_PAIRS) -> list[tuple[Path, Path]]:
    """Pair the audio files of two folders by file stem (same stem = same sentence).

    Raises
    ------
    DataError
        When a folder is missing or empty, or fewer than ``min_pairs`` stems appear in both.
    """
    files = []
    for role, folder in (("source", source_dir), ("target", target_dir)):
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"The {role} folder {str(folder)!r} does not exist; pass a folder of wav/flac files.")
        found = list_audio_files(folder)
        if not found:
            raise DataError(f"The {role} folder {str(folder)!r} holds no audio files (.wav, .flac, .ogg, .mp3).")
        files.append({p.stem: p for p in found})
    src, tgt = files
    common = sorted(set(src) & set(tgt))
    if len(common) < min_pairs:
        raise DataError(
            f"Only {len(common)} sentence(s) appear in both folders (need >= {min_pairs}); parallel files "
            f"must share a file name, e.g. s001.flac in both. Source has {len(src)}, target {len(tgt)} files."
        )
    unpaired = sorted(set(src) ^ set(tgt))
    if unpaired:
        warnings.warn(f"Ignoring {len(unpaired)} unpaired file(s): {', '.join(unpaired[:5])}", stacklevel=2)
    return [(src[s], tgt[s]) for s in common]


# ------------------------------------------------------------------------------------------ analysis
@dataclass(frozen=True)
class UtteranceFeatures:
    """Vocoder features of one utterance: mel-cepstrum ``(n_frames, order + 1)`` and F0 ``(n_frames,)`` in Hz."""

    name: str
    mcep: np.ndarray
    f0: np.ndarray


def analyze_file(path: str | os.PathLike, cfg: FeatureConfig) -> UtteranceFeatures:
    """Load a file at ``cfg.sr`` and return its mel-cepstrum and F0."""
    y, _ = load_audio(path, sr=cfg.sr)
    wf = world_analyze(y, cfg=cfg)
    return UtteranceFeatures(Path(path).stem, sp_to_mcep(wf.sp, cfg=cfg).astype(np.float32), wf.f0)


@contextmanager
def _plain_main() -> Iterator[None]:
    """An empty ``__main__`` while a spawn pool starts its workers.

    A spawned worker first re-runs ``__main__`` from its file. Inside Streamlit or AppTest ``__main__`` is a
    page script, which a worker cannot run (seen: the Evaluate page ran in a training run's workers and they
    died, "terminated abruptly"). The workers need only ``workbench`` modules, imported by name.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def analyze_files(paths: list[Path], cfg: FeatureConfig, *, n_jobs: int = 2) -> list[UtteranceFeatures]:
    """Analyse many files, in ``n_jobs`` processes when more than one."""
    if n_jobs > 1 and len(paths) > 4:
        # always spawn fresh workers: a forked child inherits the parent's threads and native libraries
        # (TensorFlow, onnxruntime, aiortc loaded by the app or earlier work) and was seen to deadlock or die
        # ("A process in the process pool was terminated abruptly") after DNSMOS and the browser tests ran
        ctx = multiprocessing.get_context("spawn")
        with _plain_main(), ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
            return list(pool.map(analyze_file, paths, [cfg] * len(paths), chunksize=4))
    return [analyze_file(p, cfg) for p in paths]


# ----------------------------------------------------------------------------------------- alignment
def trim_range(c0: np.ndarray, *, threshold_db: float = 40.0, margin: int = 5) -> slice:
    """Slice from the first to the last speech frame (``features.speech_mask``), with a few frames of margin."""
    idx = np.flatnonzero(speech_mask(c0, threshold_db=threshold_db))
    if idx.size == 0:
        return slice(0, len(c0))
    return slice(max(0, idx[0] - margin), min(len(c0), idx[-1] + 1 + margin))


def dtw_path(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """DTW path between two frames-first sequences (Euclidean), shape ``(n_steps, 2)``, in time order."""
    import librosa

    _, wp = librosa.sequence.dtw(X=x.T, Y=y.T, metric="euclidean", backtrack=True)
    return wp[::-1]


def align_to_source(src_mc: np.ndarray, tgt_mc: np.ndarray, *, guide: np.ndarray | None = None) -> tuple[slice, np.ndarray]:
    """Align target frames to the source's time axis.

    DTW runs on the speech region of each utterance, on ``c_1..c_M`` (``c_0``, the loudness, is left
    out so that level differences do not drive the alignment). ``guide``, when given, replaces the
    source in the distance: a first conversion of the source lies closer to the target, so aligning it
    instead gives a cleaner path (iterative refinement).

    Returns
    -------
    src_slice : slice
        The source frames that were aligned.
    tgt_aligned : np.ndarray, shape (n_aligned, order + 1)
        For each source frame in ``src_slice``, the mean of the target frames DTW matched to it.
    """
    s, t = trim_range(src_mc[:, 0]), trim_range(tgt_mc[:, 0])
    xs, ys = src_mc[s], tgt_mc[t]
    path = dtw_path((xs if guide is None else guide[s])[:, 1:], ys[:, 1:])
    sums = np.zeros_like(xs, dtype=np.float64)
    counts = np.zeros(len(xs))
    np.add.at(sums, path[:, 0], ys[path[:, 1]])
    np.add.at(counts, path[:, 0], 1.0)
    return s, (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)


# ---------------------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class F0Stats:
    """Mean and standard deviation of log-F0 over voiced frames."""

    mean: float
    std: float

    @classmethod
    def from_tracks(cls, tracks: list[np.ndarray]) -> F0Stats:
        lf0 = np.concatenate([np.log(t[t > 0]) for t in tracks]) if tracks else np.array([])
        if lf0.size < 10:
            raise DataError("Too few voiced frames to estimate F0 statistics; use longer recordings with speech.")
        return cls(float(lf0.mean()), float(max(lf0.std(), 1e-3)))

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}


def transform_f0(f0_hz: np.ndarray, source: F0Stats, target: F0Stats) -> np.ndarray:
    """Log-Gaussian F0 transform: ``exp((log f0 - mu_s) / sigma_s * sigma_t + mu_t)``; unvoiced stays 0."""
    out = np.zeros_like(f0_hz, dtype=np.float64)
    v = f0_hz > 0
    out[v] = np.exp((np.log(f0_hz[v]) - source.mean) / source.std * target.std + target.mean)
    return out


@dataclass(frozen=True)
class NormStats:
    """Per-dimension mean and standard deviation used to normalise model inputs or outputs."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> NormStats:
        return cls(x.mean(axis=0).astype(np.float32), np.maximum(x.std(axis=0), 1e-4).astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    def invert(self, z: np.ndarray) -> np.ndarray:
        return (z * self.std + self.mean).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> NormStats:
        return cls(np.asarray(d["mean"], dtype=np.float32), np.asarray(d["std"], dtype=np.float32))


def model_inputs(mcep: np.ndarray, f0_hz: np.ndarray, *, use_f0: bool = True,
                 posteriors: np.ndarray | None = None) -> np.ndarray:
    """Frame-wise model input: ``c_1..c_M`` (+ interpolated log-F0 and a voicing flag) (+ the phonetic
    encoder's ``posteriors`` of the same frames), float32."""
    parts = [mcep[:, 1:]]
    if use_f0:
        parts += [interpolate_f0(f0_hz)[:, None], (f0_hz > 0).astype(np.float32)[:, None]]
    if posteriors is not None:
        parts.append(posteriors)
    return np.concatenate(parts, axis=1).astype(np.float32)


def uses_phonetic(cfg: TrainConfig) -> bool:
    """Whether a model trained with ``cfg`` takes phone posteriors as input (LSTM and GAN kinds)."""
    return bool(cfg.phonetic_input) and cfg.model != "gmm"


# -------------------------------------------------------------------------------------- augmentation
def augment_features(utt: UtteranceFeatures, kind: str, factor: float, cfg: FeatureConfig) -> UtteranceFeatures:
    """A perturbed copy of a source utterance, in the vocoder domain.

    ``pitch`` scales F0; ``formant`` scales the spectral envelope's frequency axis (vocal-tract length);
    ``speed`` resamples the frame sequence in time. Used to make a many-to-one model robust to unseen
    speakers.
    """
    mc, hz = utt.mcep, utt.f0
    if kind == "pitch":
        hz = hz * factor
    elif kind == "formant":
        from .features import mcep_to_sp

        sp = mcep_to_sp(mc.astype(np.float64), cfg=cfg)
        bins = np.arange(sp.shape[1])
        src_bins = np.clip(bins / factor, 0, sp.shape[1] - 1)
        warped = np.stack([np.interp(src_bins, bins, row) for row in sp])
        mc = sp_to_mcep(warped, cfg=cfg).astype(np.float32)
    elif kind == "speed":
        n = max(2, int(round(len(mc) / factor)))
        pos = np.linspace(0, len(mc) - 1, n)
        mc = np.stack([np.interp(pos, np.arange(len(mc)), mc[:, d]) for d in range(mc.shape[1])], axis=1).astype(np.float32)
        nearest = np.round(pos).astype(int)
        hz = hz[nearest]
    else:
        raise DataError(f"Unknown augmentation {kind!r}; use pitch, formant or speed.")
    return UtteranceFeatures(f"{utt.name}~{kind}{factor:g}", mc, hz)


# ranges of the random factors: pitch x0.75..1.33, vocal-tract length x0.88..1.14, tempo x0.9..1.1
AUGMENT_RANGES = {"pitch": (0.75, 1.33), "formant": (0.88, 1.14), "speed": (0.9, 1.1)}


# ------------------------------------------------------------------------------------- parallel set
def frame_weights(target_mc: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    """Loss weight of each target frame: 1 for speech (``features.speech_mask`` of ``c_0``), ``cfg.silence_weight``
    for pauses, float32."""
    return np.where(speech_mask(target_mc[:, 0]), 1.0, cfg.silence_weight).astype(np.float32)


@dataclass
class ParallelSet:
    """Aligned training material for one conversion direction.

    ``inputs[i]``/``targets[i]`` are the i-th utterance's source inputs ``(n, in_dim)`` and aligned
    target mel-cepstra ``(n, order + 1)``, on the source's time axis; ``weights[i]`` is 1 for speech
    frames and ``TrainConfig.silence_weight`` for pauses. ``sources[i]``/``target_feats[i]`` are the features
    of the first ``len(sources)`` items, the DTW-aligned ones (realignment redoes those); items after them are
    pseudo-source pairs with exact targets (``add_pseudo_source_pairs``). ``origin[i]`` is the recorded pair an
    item comes from (augmented copies and pseudo-source pairs share their pair's), so that training and
    validation split by recording; empty means every item is its own.
    """

    names: list[str]
    inputs: list[np.ndarray]
    targets: list[np.ndarray]
    weights: list[np.ndarray]
    source_f0: F0Stats
    target_f0: F0Stats
    f0_mode: str = "global"
    sources: list[UtteranceFeatures] = field(default_factory=list)
    target_feats: list[UtteranceFeatures] = field(default_factory=list)
    phonetic: bool = False  # inputs end with the phonetic encoder's posteriors
    origin: list[int] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(sum(len(x) for x in self.inputs))


def build_parallel_set(
    pairs: list[tuple[UtteranceFeatures, UtteranceFeatures]],
    *,
    cfg: TrainConfig,
    feature_cfg: FeatureConfig,
    groups: list[int] | None = None,
    clean_sources: list[UtteranceFeatures] | None = None,
) -> ParallelSet:
    """Align every pair (and augmented copies of the source) and collect model inputs and targets.

    With ``groups`` naming several source speakers (many-to-one), the F0 transform becomes ``adaptive``:
    the source statistics keep the mean within-speaker spread, and the mean comes from each input later.

    ``clean_sources`` (one per pair, same frame count as its source) are clean takes of sources that were
    degraded (reverberation, noise, a microphone's band): the DTW path and the speech trimming come from the
    clean take, the model inputs from the degraded one, so the model learns to map what a microphone hears
    onto the target without noise steering the alignment. Augmented copies get the same factors on both.
    """
    if clean_sources is not None:
        if len(clean_sources) != len(pairs):
            raise DataError(f"clean_sources has {len(clean_sources)} utterances for {len(pairs)} pairs; give one per pair.")
        bad = [s.name for (s, _), c in zip(pairs, clean_sources) if len(s.mcep) != len(c.mcep)]
        if bad:
            raise DataError(f"Clean takes differ in length from their degraded sources ({bad[:3]}); degrade "
                            "without changing the length (see acoustics.simulate_recording).")
    source_f0 = F0Stats.from_tracks([s.f0 for s, _ in pairs])
    f0_mode = "global"
    if groups is not None and len(set(groups)) > 1:
        per_voice = [F0Stats.from_tracks([s.f0 for (s, _), g in zip(pairs, groups) if g == k]) for k in sorted(set(groups))]
        source_f0 = F0Stats(float(np.mean([v.mean for v in per_voice])), float(np.mean([v.std for v in per_voice])))
        f0_mode = "adaptive"
    target_f0 = F0Stats.from_tracks([t.f0 for _, t in pairs])
    names, inputs, targets, weights, origin = [], [], [], [], []
    sources: list[UtteranceFeatures] = []
    target_feats: list[UtteranceFeatures] = []
    rng = np.random.default_rng(cfg.seed)
    encoder = None
    if uses_phonetic(cfg):
        from .phonetic import default_encoder

        encoder = default_encoder()
    for j, (src, tgt) in enumerate(pairs):
        clean = src if clean_sources is None else clean_sources[j]
        if clean is not src:  # trimming (c0) from the clean take, so that realignment finds the same frames
            src = UtteranceFeatures(src.name, np.concatenate([clean.mcep[:, :1], src.mcep[:, 1:]], axis=1), src.f0)
        variants = [(src, clean)]
        for _ in range(cfg.augment_copies if cfg.augment else 0):
            v, c = src, clean
            for kind in cfg.augment:  # each copy draws one log-uniform factor per augmentation kind
                lo, hi = AUGMENT_RANGES[kind]
                factor = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
                v = augment_features(v, kind, factor, feature_cfg)
                c = v if clean is src else augment_features(c, kind, factor, feature_cfg)
            variants.append((v, c))
        for v, c in variants:
            ppg = encoder.posteriors(v.mcep) if encoder is not None else None  # causal: the whole take, as live
            sl, tgt_aligned = align_to_source(v.mcep, tgt.mcep, guide=None if c is v else c.mcep)
            x = model_inputs(v.mcep[sl], v.f0[sl], use_f0=cfg.use_f0_input, posteriors=None if ppg is None else ppg[sl])
            w = frame_weights(tgt_aligned, cfg)
            names.append(v.name)
            sources.append(v)
            target_feats.append(tgt)
            inputs.append(x)
            targets.append(tgt_aligned)
            weights.append(w)
            origin.append(j)
    data = ParallelSet(names, inputs, targets, weights, source_f0, target_f0, f0_mode, sources, target_feats,
                       phonetic=encoder is not None, origin=origin)
    if cfg.pseudo_source_weight > 0 and cfg.model != "gmm" and f0_mode == "global":
        add_pseudo_source_pairs(data, cfg=cfg, encoder=encoder)
    return data


def add_pseudo_source_pairs(data: ParallelSet, *, cfg: TrainConfig, encoder=None) -> None:
    """Append one pair per target utterance: a pseudo-source as input, the target's own frames as output.

    A DTW-aligned target frame is the mean of the target frames matched to a source frame, so squared error
    on aligned pairs alone teaches averaged envelopes and smeared transitions. Here the output is the target
    take itself, frame for frame (speech region, same weights as aligned pairs times
    ``cfg.pseudo_source_weight``). The input is what the source voice might have said: the target's
    ``c_1..c_M`` through an affine map onto the source's, fitted by least squares on the aligned speech frames
    (``c_0``, the level, kept), F0 moved to the source's statistics, and the phonetic encoder's posteriors of
    that pseudo-source. On awb -> slt (three seeds, 70 sentences, offline) it lowered PocketSphinx's word error
    after conversion on every seed (mean 0.392 -> 0.354; README, "Pseudo-source pairs"). The idea is
    back-translation's (machine translation) applied to a frame mapper; no maintained VC library offers it, so
    it is written here.
    """
    n_aligned = len(data.sources)
    if n_aligned == 0:
        return
    tgt_frames, src_frames = [], []
    for src, y in zip(data.sources, data.targets):
        speech = speech_mask(y[:, 0])
        tgt_frames.append(y[speech, 1:])
        src_frames.append(src.mcep[trim_range(src.mcep[:, 0])][speech, 1:])
    x = np.concatenate(tgt_frames).astype(np.float64)
    if len(x) <= x.shape[1] + 1:
        return  # too few speech frames to fit the map
    coef, *_ = np.linalg.lstsq(np.c_[x, np.ones(len(x))], np.concatenate(src_frames).astype(np.float64), rcond=None)
    origin = data.origin or list(range(n_aligned))
    seen: set[int] = set()
    for i in range(n_aligned):
        if origin[i] in seen:  # augmented copies share their pair's target
            continue
        seen.add(origin[i])
        tgt = data.target_feats[i]
        pseudo = np.c_[tgt.mcep[:, :1], np.c_[tgt.mcep[:, 1:], np.ones(len(tgt.mcep))] @ coef].astype(np.float32)
        f0 = transform_f0(tgt.f0, data.target_f0, data.source_f0)
        sl = trim_range(tgt.mcep[:, 0])
        ppg = encoder.posteriors(pseudo) if encoder is not None else None
        out = tgt.mcep[sl].astype(np.float32)
        data.names.append(f"{tgt.name}~pseudo")
        data.inputs.append(model_inputs(pseudo[sl], f0[sl], use_f0=cfg.use_f0_input,
                                        posteriors=None if ppg is None else ppg[sl]))
        data.targets.append(out)
        data.weights.append(frame_weights(out, cfg) * np.float32(cfg.pseudo_source_weight))
        data.origin.append(origin[i])


def realign(data: ParallelSet, convert, *, cfg: TrainConfig) -> None:
    """Recompute every target alignment with DTW between ``convert(source)`` and the target (in place).

    ``convert`` maps an ``UtteranceFeatures`` to a converted mel-cepstrum of the same shape. Inputs are
    unchanged (same source frames), only the aligned targets and their weights move.
    """
    for i, (src, tgt) in enumerate(zip(data.sources, data.target_feats)):
        _, aligned = align_to_source(src.mcep, tgt.mcep, guide=convert(src))
        data.targets[i] = aligned
        data.weights[i] = frame_weights(aligned, cfg)


def split_by_utterance(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation utterances (at least one of each when ``n >= 2``)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = min(n - 1, max(1, int(round(n * val_fraction))))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def make_windows(
    inputs: list[np.ndarray], targets: list[np.ndarray], weights: list[np.ndarray], *, seq_frames: int, lookahead: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut utterances into fixed-length windows (half overlap) with the target delayed by ``lookahead``.

    The model is causal: it emits target frame ``t - lookahead`` while reading input frame ``t``, so it has
    seen ``lookahead`` frames of the future. Frames without a target get weight 0; short utterances are padded
    with weight 0.

    Returns
    -------
    x : (n_windows, seq_frames, in_dim); y : (n_windows, seq_frames, out_dim); w : (n_windows, seq_frames)
    """
    xs, ys, ws = [], [], []
    hop = max(1, seq_frames // 2)
    for x, y, w in zip(inputs, targets, weights):
        n = len(x)
        y_shift = np.zeros_like(y)
        w_shift = np.zeros_like(w)
        if n > lookahead:
            y_shift[lookahead:] = y[: n - lookahead]
            w_shift[lookahead:] = w[: n - lookahead]
        starts = list(range(0, max(1, n - seq_frames + 1), hop))
        if n > seq_frames and starts[-1] != n - seq_frames:
            starts.append(n - seq_frames)
        for s in starts:
            e = min(n, s + seq_frames)
            pad = seq_frames - (e - s)
            xs.append(np.pad(x[s:e], ((0, pad), (0, 0)), mode="edge"))
            ys.append(np.pad(y_shift[s:e], ((0, pad), (0, 0))))
            ws.append(np.pad(w_shift[s:e], (0, pad)))
    return np.stack(xs), np.stack(ys), np.stack(ws)


def make_dataset(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, batch_size: int, shuffle: bool, seed: int):
    """A ``tf.data.Dataset`` of ``(x, y, sample_weight)`` batches."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y, w))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
