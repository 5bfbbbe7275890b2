"""Simulated recording conditions: what a room and a microphone do to clean speech.

Training a many-to-one model on clean synthetic voices alone leaves it lost on a real microphone. These
functions degrade a clean clip the way a recording does, with nothing downloaded: room reverberation
(``room_impulse_response``: a direct path plus exponentially decaying noise, the usual statistical model of a
diffuse late field), additive noise at a chosen SNR (``preprocess.add_noise``), band-limiting (a cheap
microphone or a phone line) and a peaking EQ (a coloured microphone), and the recording level.
``simulate_recording`` draws one random condition from a ``RecordingConditions`` range and applies it; the
output keeps the input's length, so a degraded copy stays frame-aligned with its clean original.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import _JsonConfig
from .errors import ConfigError
from .preprocess import add_noise


@dataclass(frozen=True)
class RecordingConditions(_JsonConfig):
    """Ranges from which ``simulate_recording`` draws one condition (each ``(low, high)`` uniform).

    Parameters
    ----------
    p_reverb, p_noise, p_band, p_eq : float
        Probability that a clip gets room reverberation, additive noise, band-limiting, a peaking EQ.
    rt60_s : (float, float)
        Reverberation time (60 dB decay) in seconds.
    drr_db : (float, float)
        Direct-to-reverberant energy ratio in dB (high: close microphone; low: far away).
    snr_db : (float, float)
        Signal-to-noise ratio over the clip in dB.
    highpass_hz, lowpass_hz : (float, float)
        Band-limiting edges in Hz.
    eq_gain_db : (float, float)
        Peaking-EQ gain in dB (its centre is drawn log-uniformly in 200-5000 Hz).
    level_dbfs : (float, float)
        RMS level of the result in dBFS (the peak is then clipped at full scale, as a converter would).
    """

    p_reverb: float = 0.5
    rt60_s: tuple[float, float] = (0.15, 0.8)
    drr_db: tuple[float, float] = (-3.0, 12.0)
    p_noise: float = 0.6
    snr_db: tuple[float, float] = (10.0, 30.0)
    p_band: float = 0.4
    highpass_hz: tuple[float, float] = (60.0, 300.0)
    lowpass_hz: tuple[float, float] = (3_400.0, 7_500.0)
    p_eq: float = 0.4
    eq_gain_db: tuple[float, float] = (-8.0, 8.0)
    level_dbfs: tuple[float, float] = (-38.0, -16.0)

    def __post_init__(self) -> None:
        for name in ("p_reverb", "p_noise", "p_band", "p_eq"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)} is a probability; use a value in [0, 1].")
        for name in ("rt60_s", "drr_db", "snr_db", "highpass_hz", "lowpass_hz", "eq_gain_db", "level_dbfs"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ConfigError(f"{name}=({lo}, {hi}) must be (low, high) with low <= high; swap them.")
        if self.rt60_s[0] <= 0 or self.highpass_hz[0] < 0 or self.highpass_hz[1] >= self.lowpass_hz[0]:
            raise ConfigError(f"Need rt60_s > 0 and highpass_hz {self.highpass_hz} below lowpass_hz {self.lowpass_hz}.")
        if self.level_dbfs[1] > 0:
            raise ConfigError(f"level_dbfs={self.level_dbfs} must stay at or below 0 dBFS.")


def room_impulse_response(*, sr: int, rt60_s: float, drr_db: float, rng: np.random.Generator,
                          predelay_ms: float = 3.0) -> np.ndarray:
    """A synthetic room: a unit direct path, then Gaussian noise decaying by 60 dB in ``rt60_s``.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    rt60_s : float
        Reverberation time in seconds (energy falls 60 dB in this time).
    drr_db : float
        Energy of the direct path over the energy of the tail, in dB.
    rng : np.random.Generator
    predelay_ms : float
        Gap between the direct path and the start of the tail.

    Returns
    -------
    np.ndarray, shape (n_taps,), float32
        ``h[0] = 1`` (the direct path); ``n_taps`` covers ``1.2 * rt60_s``.
    """
    if rt60_s <= 0:
        raise ConfigError(f"rt60_s={rt60_s} must be > 0 seconds.")
    n = int(round(1.2 * rt60_s * sr))
    start = int(round(predelay_ms * sr / 1000.0)) + 1
    t = np.arange(max(n - start, 1)) / sr
    tail = rng.standard_normal(t.size) * np.exp(-3.0 * np.log(10.0) * t / rt60_s)  # amplitude: -60 dB at rt60
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail**2))
    h = np.zeros(start + tail.size)
    h[0] = 1.0
    h[start:] = tail
    return h.astype(np.float32)


def reverberate(y: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``y`` convolved with the impulse response ``h``, cut to ``len(y)`` and brought back to ``y``'s RMS."""
    from scipy.signal import fftconvolve

    out = fftconvolve(np.asarray(y, np.float64), np.asarray(h, np.float64))[: len(y)]
    return (out * _rms(y) / max(_rms(out), 1e-12)).astype(np.float32)


def band_limit(y: np.ndarray, sr: int, *, highpass_hz: float, lowpass_hz: float) -> np.ndarray:
    """4th-order Butterworth band-pass (zero-phase), like a small microphone or a telephone channel."""
    from scipy.signal import butter, sosfiltfilt

    lowpass_hz = min(lowpass_hz, 0.45 * sr)
    if not 0 < highpass_hz < lowpass_hz:
        raise ConfigError(f"Need 0 < highpass_hz ({highpass_hz}) < lowpass_hz ({lowpass_hz}) below Nyquist.")
    sos = butter(4, [highpass_hz, lowpass_hz], btype="bandpass", fs=sr, output="sos")
    return sosfiltfilt(sos, np.asarray(y, np.float64)).astype(np.float32)


def peaking_eq(y: np.ndarray, sr: int, *, centre_hz: float, gain_db: float, q: float = 1.0) -> np.ndarray:
    """One peaking biquad (RBJ audio-EQ cookbook): ``gain_db`` at ``centre_hz``, 0 dB far from it."""
    from scipy.signal import lfilter

    a_gain = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * centre_hz / sr
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1 + alpha * a_gain, -2 * np.cos(w0), 1 - alpha * a_gain])
    a = np.array([1 + alpha / a_gain, -2 * np.cos(w0), 1 - alpha / a_gain])
    return lfilter(b / a[0], a / a[0], np.asarray(y, np.float64)).astype(np.float32)


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def _draw(rng: np.random.Generator, lo_hi: tuple[float, float], *, log: bool = False) -> float:
    lo, hi = lo_hi
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if log else float(rng.uniform(lo, hi))


def simulate_recording(y: np.ndarray, sr: int, *, cfg: RecordingConditions = RecordingConditions(),
                       rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float | str]]:
    """Degrade a clean clip with one condition drawn from ``cfg``: room -> EQ -> band -> noise -> level.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        Clean speech.
    sr : int
        Sample rate in Hz.
    cfg : RecordingConditions
    rng : np.random.Generator
        Source of every random choice (seed it for reproducible data).

    Returns
    -------
    out : np.ndarray, shape (n_samples,), float32
        The degraded clip, same length as ``y``, in [-1, 1].
    condition : dict
        What was applied (``rt60_s``, ``drr_db``, ``eq_hz``, ``eq_db``, ``highpass_hz``, ``lowpass_hz``,
        ``snr_db``, ``noise``, ``level_dbfs``), for a manifest.
    """
    from .audio import validate_audio

    validate_audio(y, sr)
    out = np.asarray(y, np.float32)
    cond: dict[str, float | str] = {}
    if rng.random() < cfg.p_reverb:
        cond["rt60_s"], cond["drr_db"] = _draw(rng, cfg.rt60_s, log=True), _draw(rng, cfg.drr_db)
        out = reverberate(out, room_impulse_response(sr=sr, rt60_s=float(cond["rt60_s"]),
                                                     drr_db=float(cond["drr_db"]), rng=rng))
    if rng.random() < cfg.p_eq:
        cond["eq_hz"], cond["eq_db"] = _draw(rng, (200.0, 5_000.0), log=True), _draw(rng, cfg.eq_gain_db)
        out = peaking_eq(out, sr, centre_hz=float(cond["eq_hz"]), gain_db=float(cond["eq_db"]))
    if rng.random() < cfg.p_band:
        cond["highpass_hz"] = _draw(rng, cfg.highpass_hz, log=True)
        cond["lowpass_hz"] = _draw(rng, cfg.lowpass_hz, log=True)
        out = band_limit(out, sr, highpass_hz=float(cond["highpass_hz"]), lowpass_hz=float(cond["lowpass_hz"]))
    if rng.random() < cfg.p_noise:
        cond["snr_db"], cond["noise"] = _draw(rng, cfg.snr_db), str(rng.choice(["white", "pink"]))
        out = add_noise(out, snr_db=float(cond["snr_db"]), seed=int(rng.integers(2**31)), kind=str(cond["noise"]))
    cond["level_dbfs"] = _draw(rng, cfg.level_dbfs)
    out = out * (10.0 ** (float(cond["level_dbfs"]) / 20.0) / max(_rms(out), 1e-12))
    return np.clip(out, -1.0, 1.0).astype(np.float32), cond
