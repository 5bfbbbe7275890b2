"""Cleaning up recordings before analysis or training, and measuring what the cleaning did.

Steps (each optional, in this order): spectral-gating denoise (``noisereduce``), trimming of leading and
trailing silence or full voice-activity detection (``librosa.effects``), loudness normalisation to a
target LUFS (ITU-R BS.1770 via ``pyloudnorm``) and pre-emphasis. ``add_noise`` makes a noisy copy of a
clean clip at a chosen SNR, and ``quality_scores`` measures a signal against its clean reference with
wide-band PESQ (``pesq``) and STOI (``pystoi``), so the page can show "before" and "after" numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .audio import resample, validate_audio
from .config import _JsonConfig
from .errors import AudioError, ConfigError

PESQ_SR = 16_000  # wide-band PESQ is defined at 16 kHz


@dataclass(frozen=True)
class PreprocessConfig(_JsonConfig):
    """Which cleaning steps run, and how strongly.

    ``denoise_strength`` is the fraction of the estimated noise removed (noisereduce's ``prop_decrease``);
    ``silence_top_db`` is how far below the clip's loudest frame counts as silence; ``vad`` keeps only the
    speech intervals (pauses shortened to ``keep_pause_ms``) instead of trimming the ends only.
    ``pre_emphasis`` is the first-order filter coefficient (0 turns it off; 0.97 is usual).
    """

    denoise: bool = False
    denoise_strength: float = 0.75
    stationary: bool = True
    trim: bool = True
    vad: bool = False
    silence_top_db: float = 35.0
    keep_pause_ms: float = 150.0
    normalize: bool = True
    target_lufs: float = -23.0
    pre_emphasis: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.denoise_strength <= 1.0:
            raise ConfigError(f"denoise_strength={self.denoise_strength} must be in (0, 1]; 0.75 keeps speech intact.")
        if not 10.0 <= self.silence_top_db <= 80.0:
            raise ConfigError(f"silence_top_db={self.silence_top_db} must be in 10..80 dB below the peak.")
        if not 0.0 <= self.keep_pause_ms <= 2000.0:
            raise ConfigError(f"keep_pause_ms={self.keep_pause_ms} must be in 0..2000 ms.")
        if not -50.0 <= self.target_lufs <= -5.0:
            raise ConfigError(f"target_lufs={self.target_lufs} must be in -50..-5 LUFS; -23 is broadcast level.")
        if not 0.0 <= self.pre_emphasis < 1.0:
            raise ConfigError(f"pre_emphasis={self.pre_emphasis} must be in [0, 1); 0.97 is usual, 0 turns it off.")

    @property
    def is_identity(self) -> bool:
        """True when no step is enabled (the signal passes unchanged)."""
        return not (self.denoise or self.trim or self.vad or self.normalize or self.pre_emphasis)


# ---------------------------------------------------------------------------------------------- steps
def denoise(y: np.ndarray, sr: int, *, strength: float = 0.75, stationary: bool = True) -> np.ndarray:
    """Spectral-gating noise reduction (``noisereduce.reduce_noise``); same length as ``y``.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
    strength : float
        Fraction of the noise removed, in (0, 1].
    stationary : bool
        Estimate one noise profile for the whole clip (steady hum, fan) instead of a running one.
    """
    import noisereduce

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = noisereduce.reduce_noise(y=np.asarray(y, np.float32), sr=sr, prop_decrease=strength,
                                       stationary=stationary, n_jobs=1)
    return np.asarray(out, dtype=np.float32)


def speech_intervals(y: np.ndarray, sr: int, *, top_db: float = 35.0) -> np.ndarray:
    """Sample ranges ``[start, end)`` louder than ``top_db`` below the loudest frame, shape (n, 2), int."""
    import librosa

    return librosa.effects.split(y, top_db=top_db, frame_length=int(0.032 * sr), hop_length=int(0.008 * sr))


def trim_silence(y: np.ndarray, sr: int, *, top_db: float = 35.0, pad_ms: float = 50.0) -> np.ndarray:
    """Cut leading and trailing silence, keeping ``pad_ms`` around the speech."""
    spans = speech_intervals(y, sr, top_db=top_db)
    if spans.size == 0:
        return y
    pad = int(sr * pad_ms / 1000.0)
    return y[max(0, spans[0, 0] - pad): min(y.size, spans[-1, 1] + pad)]


def keep_speech(y: np.ndarray, sr: int, *, top_db: float = 35.0, keep_pause_ms: float = 150.0) -> np.ndarray:
    """Voice-activity detection: keep the speech intervals, shortening every pause to ``keep_pause_ms``."""
    spans = speech_intervals(y, sr, top_db=top_db)
    if spans.size == 0:
        return y
    half = int(sr * keep_pause_ms / 2000.0)
    parts = [y[spans[0, 0]:spans[0, 1]]]
    for (_, prev_end), (start, end) in zip(spans[:-1], spans[1:]):
        if start - prev_end > 2 * half:  # a long pause: keep its two edges only
            parts += [y[prev_end:prev_end + half], y[start - half:start]]
        else:
            parts.append(y[prev_end:start])
        parts.append(y[start:end])
    return np.concatenate(parts).astype(np.float32)


def loudness_lufs(y: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4); ``-inf`` for silence."""
    import pyloudnorm

    block = min(0.4, y.size / sr)  # pyloudnorm needs at least one block
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pyloudnorm.Meter(sr, block_size=block).integrated_loudness(np.asarray(y, np.float64)))


def normalize_lufs(y: np.ndarray, sr: int, *, target_lufs: float = -23.0, peak_limit: float = 0.99) -> np.ndarray:
    """Scale ``y`` to ``target_lufs``, lowering the gain when the peak would pass ``peak_limit``."""
    level = loudness_lufs(y, sr)
    if not np.isfinite(level):
        return np.asarray(y, np.float32)
    gain = 10.0 ** ((target_lufs - level) / 20.0)
    peak = float(np.max(np.abs(y))) * gain
    if peak > peak_limit:
        gain *= peak_limit / peak
    return (np.asarray(y, np.float64) * gain).astype(np.float32)


def pre_emphasis(y: np.ndarray, *, coef: float = 0.97) -> np.ndarray:
    """First-order high-pass ``y[n] - coef * y[n-1]``: lifts the high frequencies ~6 dB per octave."""
    y = np.asarray(y, np.float32)
    return np.concatenate([y[:1], y[1:] - coef * y[:-1]]).astype(np.float32)


def add_noise(y: np.ndarray, *, snr_db: float, seed: int = 0, kind: str = "white") -> np.ndarray:
    """``y`` plus Gaussian noise scaled to the given signal-to-noise ratio (dB, over the whole clip).

    ``kind="pink"`` shapes the noise 1/f (closer to a room); ``"white"`` is flat.
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(y.size)
    if kind == "pink":
        spec = np.fft.rfft(noise)
        spec /= np.sqrt(np.maximum(np.arange(spec.size), 1.0))
        noise = np.fft.irfft(spec, n=y.size)
    elif kind != "white":
        raise ConfigError(f"Noise kind {kind!r} is unknown; use 'white' or 'pink'.")
    p_sig, p_noise = float(np.mean(np.square(y, dtype=np.float64))), float(np.mean(noise**2))
    noise *= np.sqrt(p_sig / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (y + noise).astype(np.float32)


# --------------------------------------------------------------------------------------------- chain
def preprocess(y: np.ndarray, sr: int, *, cfg: PreprocessConfig = PreprocessConfig()) -> np.ndarray:
    """Run the enabled steps of ``cfg`` on a clip: denoise -> trim or VAD -> loudness -> pre-emphasis.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
    sr : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray, shape (n_out,), float32
        ``n_out == n_samples`` unless trimming or VAD is on.

    Raises
    ------
    AudioError
        When ``y`` is not usable audio, or nothing is left after trimming.
    """
    validate_audio(y, sr)
    out = np.asarray(y, np.float32)
    if cfg.denoise:
        out = denoise(out, sr, strength=cfg.denoise_strength, stationary=cfg.stationary)
    if cfg.vad:
        out = keep_speech(out, sr, top_db=cfg.silence_top_db, keep_pause_ms=cfg.keep_pause_ms)
    elif cfg.trim:
        out = trim_silence(out, sr, top_db=cfg.silence_top_db)
    if out.size < 0.1 * sr:
        raise AudioError(f"Only {out.size / sr * 1000:.0f} ms left after trimming; lower 'silence below peak' "
                         "or turn trimming off.")
    if cfg.normalize:
        out = normalize_lufs(out, sr, target_lufs=cfg.target_lufs)
    if cfg.pre_emphasis:
        out = pre_emphasis(out, coef=cfg.pre_emphasis)
    return out


# ------------------------------------------------------------------------------------------- quality
def quality_scores(reference: np.ndarray, degraded: np.ndarray, sr: int) -> dict[str, float]:
    """Wide-band PESQ (MOS-LQO, 1.0-4.64) and STOI (0-1) of ``degraded`` against a clean ``reference``.

    Both signals are resampled to 16 kHz and cut to the shorter length; they must be time-aligned (so
    compare length-preserving processing only). A PESQ that cannot be computed (no speech found) is NaN.

    Returns
    -------
    dict
        ``{"pesq_wb": float, "stoi": float}``.
    """
    from pesq import PesqError, pesq
    from pystoi import stoi

    ref = resample(np.asarray(reference, np.float32), orig_sr=sr, target_sr=PESQ_SR)
    deg = resample(np.asarray(degraded, np.float32), orig_sr=sr, target_sr=PESQ_SR)
    n = min(ref.size, deg.size)
    if n < PESQ_SR // 4:
        raise AudioError(f"Need at least 0.25 s of aligned audio to score quality, got {n / PESQ_SR:.2f} s.")
    ref, deg = ref[:n], deg[:n]
    score = pesq(PESQ_SR, ref, deg, "wb", on_error=PesqError.RETURN_VALUES)
    return {"pesq_wb": float(score) if score > 0 else float("nan"),
            "stoi": float(stoi(ref, deg, PESQ_SR, extended=False))}
