"""Speech features as pure functions: spectrograms, MFCC, F0, energy and the WORLD vocoder.

Arrays are frames-first: ``(n_frames, n_dims)``. Every frame-based feature computed with the same
``FeatureConfig`` has ``n_frames(len(y), cfg)`` frames, centred at ``k * hop_length`` samples, so
features can be stacked and plotted on one time axis. librosa's ``(n_dims, n_frames)`` layout is
transposed here, once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .config import FeatureConfig

DEFAULT_FEATURES = FeatureConfig()


# ---------------------------------------------------------------------------------------------- framing
def n_frames(n_samples: int, cfg: FeatureConfig = DEFAULT_FEATURES) -> int:
    """Number of centred frames for ``n_samples`` samples: ``1 + n_samples // hop_length``."""
    return 1 + int(n_samples) // cfg.hop_length


def frame_times(n: int, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Centre time in seconds of each of ``n`` frames, shape ``(n,)``."""
    return np.arange(n) * cfg.hop_length / cfg.sr


def _fit(a: np.ndarray, n: int) -> np.ndarray:
    """Crop or edge-pad ``a`` along axis 0 to ``n`` frames (decoders differ by a frame at the end)."""
    if len(a) >= n:
        return a[:n]
    pad = [(0, n - len(a))] + [(0, 0)] * (a.ndim - 1)
    return np.pad(a, pad, mode="edge")


def _f64(y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(y, dtype=np.float64)


# ------------------------------------------------------------------------------------------- spectral
def waveform_envelope(y: np.ndarray, sr: int, *, n_points: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max envelope of a waveform for drawing long signals quickly.

    Returns
    -------
    times : np.ndarray, shape (n,), seconds
    lower, upper : np.ndarray, shape (n,), float32
    """
    n = max(1, min(n_points, y.size))
    edges = np.linspace(0, y.size, n + 1).astype(int)  # strictly increasing while n <= y.size
    if y.size == 0:
        return np.zeros(1), np.zeros(1, np.float32), np.zeros(1, np.float32)
    lower = np.minimum.reduceat(y, edges[:-1]).astype(np.float32)
    upper = np.maximum.reduceat(y, edges[:-1]).astype(np.float32)
    return (edges[:-1] + edges[1:]) / 2.0 / sr, lower, upper


def stft_db(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, top_db: float = 80.0) -> np.ndarray:
    """STFT magnitude in dB (0 dB = the loudest bin), shape ``(n_frames, n_fft // 2 + 1)``."""
    import librosa

    spec = np.abs(librosa.stft(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length))
    return librosa.amplitude_to_db(spec, ref=np.max, top_db=top_db).T.astype(np.float32)


def fft_frequencies(cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Frequency in Hz of each one-sided FFT bin, shape ``(n_fft // 2 + 1,)``."""
    return np.linspace(0.0, cfg.sr / 2.0, cfg.n_bins)


def mel_frequencies(cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Centre frequency in Hz of each mel band, shape ``(n_mels,)``."""
    import librosa

    return librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax_hz)[1:-1]


def mel_spectrogram(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, to_db: bool = True) -> np.ndarray:
    """Mel spectrogram, shape ``(n_frames, n_mels)``; power, or dB re the maximum when ``to_db``."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax_hz,
    )
    if to_db:
        mel = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    return mel.T.astype(np.float32)


def mfcc(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, with_deltas: bool = False) -> np.ndarray:
    """MFCCs (librosa's definition), shape ``(n_frames, n_mfcc)`` or ``(n_frames, 3 * n_mfcc)`` with deltas."""
    import librosa

    m = librosa.feature.mfcc(
        y=y, sr=cfg.sr, n_mfcc=cfg.n_mfcc, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=cfg.win_length, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax_hz,
    ).T
    if with_deltas:
        m = np.concatenate([m, deltas(m), deltas(m, order=2)], axis=1)
    return m.astype(np.float32)


def deltas(x: np.ndarray, *, order: int = 1, width: int = 9) -> np.ndarray:
    """Time derivative of frames-first features (librosa's Savitzky-Golay delta), same shape as ``x``."""
    import librosa

    if len(x) < 3:
        return np.zeros_like(x)
    width = min(width, len(x) if len(x) % 2 else len(x) - 1)
    return librosa.feature.delta(x.T, order=order, width=max(3, width), mode="interp").T.astype(x.dtype)


def rms_energy(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, to_db: bool = True) -> np.ndarray:
    """Frame RMS energy, shape ``(n_frames,)``; in dBFS when ``to_db``."""
    import librosa

    e = librosa.feature.rms(y=y, frame_length=cfg.win_length, hop_length=cfg.hop_length)[0]
    if to_db:
        e = 20.0 * np.log10(np.maximum(e, 1e-5))
    return e.astype(np.float32)


def spectral_centroid(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Spectral centroid in Hz, shape ``(n_frames,)``."""
    import librosa

    c = librosa.feature.spectral_centroid(
        y=y, sr=cfg.sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length
    )[0]
    return c.astype(np.float32)


# ------------------------------------------------------------------------------------------------ F0
def f0(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental frequency per frame.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
    cfg : FeatureConfig
        ``f0_floor``/``f0_ceil`` bound the search; ``f0_method`` is the default method.
    method : {"dio", "harvest", "pyin"}, optional
        WORLD DIO + StoneMask (fast, default), WORLD Harvest, or librosa's probabilistic YIN.

    Returns
    -------
    f0 : np.ndarray, shape (n_frames,), float64, Hz; 0 where unvoiced
    voiced : np.ndarray, shape (n_frames,), bool
    """
    method = method or cfg.f0_method
    n = n_frames(y.size, cfg)
    if method == "pyin":
        import librosa

        frame_length = max(cfg.n_fft, 2 ** int(np.ceil(np.log2(3 * cfg.sr / cfg.f0_floor))))
        hz, voiced, _ = librosa.pyin(
            y, fmin=cfg.f0_floor, fmax=cfg.f0_ceil, sr=cfg.sr, frame_length=frame_length,
            hop_length=cfg.hop_length,
        )
        hz = np.where(voiced, np.nan_to_num(hz), 0.0)
    elif method in ("dio", "harvest"):
        hz = _world_f0(_f64(y), cfg.sr, cfg.hop_ms, cfg.f0_floor, cfg.f0_ceil, method)
    else:
        from .errors import ConfigError

        raise ConfigError(f"F0 method {method!r} is unknown; choose dio, harvest or pyin.")
    hz = _fit(np.asarray(hz, dtype=np.float64), n)
    return hz, hz > 0


def _world_f0(x: np.ndarray, sr: int, hop_ms: float, floor: float, ceil: float, method: str) -> np.ndarray:
    import pyworld

    if method == "harvest":
        hz, t = pyworld.harvest(x, sr, f0_floor=floor, f0_ceil=ceil, frame_period=hop_ms)
    else:
        hz, t = pyworld.dio(x, sr, f0_floor=floor, f0_ceil=ceil, frame_period=hop_ms)
    return pyworld.stonemask(x, hz, t, sr)


def interpolate_f0(hz: np.ndarray) -> np.ndarray:
    """Log-F0 with unvoiced gaps linearly interpolated (edges held), shape ``(n_frames,)``.

    Returns zeros when no frame is voiced.
    """
    voiced = hz > 0
    if not voiced.any():
        return np.zeros_like(hz, dtype=np.float64)
    idx = np.arange(len(hz))
    return np.interp(idx, idx[voiced], np.log(hz[voiced]))


# --------------------------------------------------------------------------------------------- WORLD
def envelope_f0(hz: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, hold: float | None = None) -> np.ndarray:
    """The F0 track that sizes CheapTrick's window (``cfg.envelope_f0``), shape ``(n_frames,)``.

    ``"held"``: unvoiced frames take the last voiced frame's F0 (``hold``, else ``cfg.envelope_f0_hz``, before
    the first), causally, as the live analysis can; ``"world"``: ``hz`` unchanged (WORLD sizes unvoiced
    frames' windows for 500 Hz).
    """
    hz = np.asarray(hz, dtype=np.float64)
    if cfg.envelope_f0 == "world":
        return hz
    voiced = hz > 0
    last = np.maximum.accumulate(np.where(voiced, np.arange(len(hz)), -1))  # index of the last voiced frame
    first = cfg.envelope_f0_hz if hold is None else hold
    return np.where(last >= 0, hz[np.maximum(last, 0)], first)


@dataclass(frozen=True)
class WorldFeatures:
    """WORLD analysis of one signal.

    Attributes
    ----------
    f0 : np.ndarray, shape (n_frames,), Hz, 0 when unvoiced
    sp : np.ndarray, shape (n_frames, n_fft // 2 + 1), power spectral envelope
    ap : np.ndarray, shape (n_frames, n_fft // 2 + 1), aperiodicity in [0, 1]
    """

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray

    @property
    def n_frames(self) -> int:
        return len(self.f0)


def world_analyze(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, f0_hz: np.ndarray | None = None) -> WorldFeatures:
    """Analyse ``y`` with the WORLD vocoder (F0, CheapTrick envelope, D4C aperiodicity).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32, at ``cfg.sr``
    f0_hz : np.ndarray, shape (n_frames,), optional
        A precomputed F0 track (else ``cfg.f0_method``; pYIN is refined by nothing).
    """
    import pyworld

    x = _f64(y)
    n = n_frames(y.size, cfg)
    if f0_hz is None:
        f0_hz, _ = f0(y, cfg=cfg)
    hz = _fit(np.ascontiguousarray(f0_hz, dtype=np.float64), n)
    t = frame_times(n, cfg)
    sp = pyworld.cheaptrick(x, np.ascontiguousarray(envelope_f0(hz, cfg=cfg)), t, cfg.sr, f0_floor=cfg.f0_floor,
                            fft_size=cfg.n_fft)
    ap = pyworld.d4c(x, hz, t, cfg.sr, fft_size=cfg.n_fft)
    return WorldFeatures(f0=hz, sp=sp, ap=ap)


def world_synthesize(wf: WorldFeatures, *, cfg: FeatureConfig = DEFAULT_FEATURES, n_samples: int | None = None) -> np.ndarray:
    """Resynthesise a waveform from WORLD features, shape ``(n_samples,)``, float32."""
    import pyworld

    y = pyworld.synthesize(
        np.ascontiguousarray(wf.f0, dtype=np.float64), np.ascontiguousarray(wf.sp, dtype=np.float64),
        np.ascontiguousarray(wf.ap, dtype=np.float64), cfg.sr, cfg.hop_ms,
    )
    if n_samples is not None:
        y = np.pad(y[:n_samples], (0, max(0, n_samples - len(y))))
    return y.astype(np.float32)


def code_aperiodicity(ap: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Band aperiodicity in dB, shape ``(n_frames, n_bands)`` (WORLD's coding; 1 band at 16 kHz)."""
    import pyworld

    return pyworld.code_aperiodicity(np.ascontiguousarray(ap, dtype=np.float64), cfg.sr)


def decode_aperiodicity(bap: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Inverse of ``code_aperiodicity``, shape ``(n_frames, n_fft // 2 + 1)``."""
    import pyworld

    return pyworld.decode_aperiodicity(np.ascontiguousarray(bap, dtype=np.float64), cfg.sr, cfg.n_fft)


# ------------------------------------------------------------------------------------- mel-cepstrum
# SPTK's sp2mc/mc2sp (via pysptk) work one frame at a time in C; the warped-cosine transform is two
# small matrices, which lets the trainer, the evaluator and the 5 ms streaming path share one batched
# implementation. Convention (SPTK): log|H(w)| = sum_m c_m cos(m * warp(w)), c in natural-log units.
def warp_frequency(omega: np.ndarray, alpha: float) -> np.ndarray:
    """Phase response of the first-order all-pass ``(z^-1 - a) / (1 - a z^-1)``: the mel warping."""
    return omega + 2.0 * np.arctan2(alpha * np.sin(omega), 1.0 - alpha * np.cos(omega))


@functools.lru_cache(maxsize=16)
def _mcep_matrices(n_fft: int, order: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    omega = np.linspace(0.0, np.pi, n_fft // 2 + 1)
    warped = warp_frequency(omega, alpha)
    cos = np.cos(np.outer(warped, np.arange(order + 1)))  # (n_bins, order + 1)
    # forward: c_m = (2 - [m=0]) / pi * integral_0^pi A(w) cos(m warp(w)) warp'(w) dw  (trapezoid rule)
    jac = (1.0 - alpha**2) / (1.0 - 2.0 * alpha * np.cos(omega) + alpha**2)
    weights = np.full(omega.size, np.pi / (omega.size - 1))
    weights[[0, -1]] /= 2.0
    scale = np.full(order + 1, 2.0 / np.pi)
    scale[0] = 1.0 / np.pi
    forward = (cos * (jac * weights)[:, None] * scale[None, :])  # (n_bins, order + 1)
    return forward, cos.T.copy()  # sp->mc uses log-amplitude @ forward; mc->log-amplitude uses mc @ cos.T


def sp_to_mcep(sp: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Mel-cepstrum of a power spectral envelope.

    Parameters
    ----------
    sp : np.ndarray, shape (n_frames, n_fft // 2 + 1)
        Power spectrum (e.g. WORLD's CheapTrick envelope).

    Returns
    -------
    np.ndarray, shape (n_frames, mcep_order + 1), float64
        Coefficients ``c_0..c_M`` (SPTK convention, natural-log amplitude).
    """
    forward, _ = _mcep_matrices(cfg.n_fft, cfg.mcep_order, cfg.mcep_alpha)
    log_amp = 0.5 * np.log(np.maximum(sp, 1e-16))
    return log_amp @ forward


def mcep_to_sp(mc: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Power spectral envelope of a mel-cepstrum, shape ``(n_frames, n_fft // 2 + 1)``."""
    _, inverse = _mcep_matrices(cfg.n_fft, cfg.mcep_order, cfg.mcep_alpha)
    return np.exp(2.0 * (mc @ inverse))


def mcep(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> np.ndarray:
    """Mel-cepstrum of a waveform via WORLD's CheapTrick, shape ``(n_frames, mcep_order + 1)``."""
    return sp_to_mcep(world_analyze(y, cfg=cfg).sp, cfg=cfg)


def speech_mask(c0: np.ndarray, *, threshold_db: float = 40.0) -> np.ndarray:
    """Frames within ``threshold_db`` of the loudest frame, from ``c0`` (log amplitude) of a mel-cepstrum."""
    db = 20.0 / np.log(10.0) * np.asarray(c0)
    return db > db.max() - threshold_db


# ------------------------------------------------------------------------------------------ summary
@dataclass(frozen=True)
class FeatureSet:
    """Every feature the Explore page and its notebook show, on one time axis."""

    times: np.ndarray
    stft_db: np.ndarray
    mel_db: np.ndarray
    mfcc: np.ndarray
    rms_db: np.ndarray
    centroid_hz: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    sp_db: np.ndarray
    ap: np.ndarray
    mcep: np.ndarray


def extract_all(y: np.ndarray, *, cfg: FeatureConfig = DEFAULT_FEATURES, f0_method: str | None = None) -> FeatureSet:
    """Compute every feature of ``y`` with one config; all arrays have ``n_frames(len(y))`` rows.

    Raises
    ------
    AudioError
        When ``y`` is not usable audio (see ``audio.validate_audio``).
    """
    from .audio import validate_audio

    validate_audio(y, cfg.sr)
    n = n_frames(y.size, cfg)
    hz, voiced = f0(y, cfg=cfg, method=f0_method)
    wf = world_analyze(y, cfg=cfg, f0_hz=hz)
    return FeatureSet(
        times=frame_times(n, cfg),
        stft_db=_fit(stft_db(y, cfg=cfg), n),
        mel_db=_fit(mel_spectrogram(y, cfg=cfg), n),
        mfcc=_fit(mfcc(y, cfg=cfg, with_deltas=True), n),
        rms_db=_fit(rms_energy(y, cfg=cfg), n),
        centroid_hz=_fit(spectral_centroid(y, cfg=cfg), n),
        f0_hz=hz,
        voiced=voiced,
        sp_db=(10.0 * np.log10(np.maximum(wf.sp, 1e-16))).astype(np.float32),
        ap=wf.ap.astype(np.float32),
        mcep=sp_to_mcep(wf.sp, cfg=cfg).astype(np.float32),
    )


def summarize_clip(y: np.ndarray, feats: FeatureSet, *, cfg: FeatureConfig = DEFAULT_FEATURES) -> dict[str, float]:
    """Headline numbers of a clip for a stats table: duration, level, peak, median F0, voiced share.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32, at ``cfg.sr``
    feats : FeatureSet
        ``extract_all(y, cfg=cfg)``.

    Returns
    -------
    dict of str to float
        Keys carry their units: ``"duration (s)"``, ``"level (dBFS)"``, ``"peak (dBFS)"``,
        ``"median F0 (Hz)"`` (NaN when nothing is voiced), ``"voiced (%)"``, ``"frames"``.
    """
    from .audio import dbfs

    peak = float(np.max(np.abs(y))) if y.size else 0.0
    voiced_hz = feats.f0_hz[feats.voiced]
    return {
        "duration (s)": y.size / cfg.sr,
        "level (dBFS)": dbfs(y),
        "peak (dBFS)": 20.0 * np.log10(peak) if peak > 0 else float("-inf"),
        "median F0 (Hz)": float(np.median(voiced_hz)) if voiced_hz.size else float("nan"),
        "voiced (%)": 100.0 * float(np.mean(feats.voiced)) if feats.voiced.size else 0.0,
        "frames": float(len(feats.times)),
    }
