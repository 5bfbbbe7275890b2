"""The recording-quality coach: measurements of a clip (and of a whole voice) with plain advice.

Per clip: duration, speech level, peak, clipping, noise floor and SNR, leading/trailing silence and the
F0 track. Per voice: the same over every clip, the F0 range (for a histogram) and the amount of speech.
Each finding comes with a sentence a newcomer can act on ("move closer to the microphone").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .audio import resample
from .config import FeatureConfig
from .errors import ConfigError

SEVERITIES = ("ok", "warn", "bad")


@dataclass(frozen=True)
class CoachConfig:
    """Thresholds of the coach (levels in dBFS, times in seconds)."""

    frame_ms: float = 20.0
    min_duration_s: float = 1.0
    max_duration_s: float = 20.0
    quiet_dbfs: float = -35.0
    loud_dbfs: float = -8.0
    clip_level: float = 0.999
    max_clip_fraction: float = 0.001
    min_snr_db: float = 25.0
    poor_snr_db: float = 15.0
    max_edge_silence_s: float = 1.0
    silence_below_peak_db: float = 40.0
    min_voice_speech_s: float = 30.0

    def __post_init__(self) -> None:
        if not 5.0 <= self.frame_ms <= 100.0:
            raise ConfigError(f"frame_ms={self.frame_ms} must be in 5..100 ms.")
        if not self.quiet_dbfs < self.loud_dbfs < 0:
            raise ConfigError(f"Need quiet_dbfs ({self.quiet_dbfs}) < loud_dbfs ({self.loud_dbfs}) < 0.")
        if not 0 < self.poor_snr_db <= self.min_snr_db:
            raise ConfigError(f"Need 0 < poor_snr_db ({self.poor_snr_db}) <= min_snr_db ({self.min_snr_db}).")


@dataclass(frozen=True)
class Advice:
    """One finding: ``severity`` (``ok``, ``warn``, ``bad``), what was measured and what to do."""

    severity: str
    topic: str
    text: str


@dataclass(frozen=True)
class ClipReport:
    """Measurements of one clip; ``f0_hz`` holds the voiced frames' F0 (Hz) for the voice histogram."""

    duration_s: float
    speech_dbfs: float
    peak_dbfs: float
    clip_fraction: float
    noise_floor_dbfs: float
    snr_db: float
    lead_silence_s: float
    trail_silence_s: float
    speech_s: float
    f0_hz: np.ndarray = field(repr=False, compare=False)
    advice: tuple[Advice, ...] = ()

    @property
    def worst(self) -> str:
        """The most severe finding (``ok`` when all is well)."""
        return max((a.severity for a in self.advice), key=SEVERITIES.index, default="ok")

    def summary(self) -> dict[str, float]:
        """The numbers for a table, with units in the keys."""
        return {"duration (s)": self.duration_s, "speech level (dBFS)": self.speech_dbfs, "peak (dBFS)": self.peak_dbfs,
                "clipped (%)": 100 * self.clip_fraction, "noise floor (dBFS)": self.noise_floor_dbfs,
                "SNR (dB)": self.snr_db, "silence at start (s)": self.lead_silence_s,
                "silence at end (s)": self.trail_silence_s}


@dataclass(frozen=True)
class VoiceReport:
    """A whole voice: its clips' reports combined."""

    n_clips: int
    speech_s: float
    f0_hz: np.ndarray = field(repr=False, compare=False)
    f0_range_hz: tuple[float, float] = (float("nan"), float("nan"))
    median_snr_db: float = float("nan")
    advice: tuple[Advice, ...] = ()


def _frame_db(y: np.ndarray, n: int) -> np.ndarray:
    frames = y[: y.size // n * n].reshape(-1, n) if y.size >= n else y[None, :]
    return 10.0 * np.log10(np.maximum(np.mean(np.square(frames, dtype=np.float64), axis=1), 1e-12))


def assess_clip(y: np.ndarray, sr: int, *, cfg: CoachConfig = CoachConfig(), f0_cfg: FeatureConfig = FeatureConfig()) -> ClipReport:
    """Measure one recording and advise on it.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        Mono audio in [-1, 1] (not validated: a silent clip is reported, not refused).
    sr : int
        Sample rate in Hz.

    Returns
    -------
    ClipReport
        Speech level is the 90th percentile of 20 ms frame levels, the noise floor the 10th; SNR is their
        difference. Silence at the ends is measured against ``silence_below_peak_db`` under the loudest frame.
    """
    from .features import f0 as track_f0

    y = np.asarray(y, dtype=np.float32)
    duration = y.size / sr
    n = max(1, int(sr * cfg.frame_ms / 1000.0))
    db = _frame_db(y, n)
    speech, floor = float(np.percentile(db, 90)), float(np.percentile(db, 10))
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    clip_fraction = float(np.mean(np.abs(y) >= cfg.clip_level)) if y.size else 0.0
    active = np.flatnonzero(db > db.max() - cfg.silence_below_peak_db) if db.size else np.array([], int)
    hop_s = n / sr
    lead = float(active[0] * hop_s) if active.size else duration
    trail = float(max(0.0, duration - (active[-1] + 1) * hop_s)) if active.size else duration
    f0_hz = np.array([], dtype=np.float32)
    if duration >= 0.3 and peak > 0:
        x = resample(y, orig_sr=sr, target_sr=f0_cfg.sr)
        hz, voiced = track_f0(x, cfg=f0_cfg)
        f0_hz = hz[voiced & (hz > 0)].astype(np.float32)
    report = dict(duration_s=duration, speech_dbfs=speech, peak_dbfs=20 * np.log10(peak) if peak > 0 else float("-inf"),
                  clip_fraction=clip_fraction, noise_floor_dbfs=floor, snr_db=speech - floor, lead_silence_s=lead,
                  trail_silence_s=trail, speech_s=float(np.sum(db > floor + 6.0) * hop_s))
    return ClipReport(**report, f0_hz=f0_hz, advice=tuple(_clip_advice(report, f0_hz, cfg)))


def _clip_advice(r: dict, f0_hz: np.ndarray, cfg: CoachConfig) -> list[Advice]:
    out: list[Advice] = []
    if r["duration_s"] < cfg.min_duration_s:
        out.append(Advice("bad", "duration", f"Only {r['duration_s']:.1f} s: read the whole sentence before stopping."))
    elif r["duration_s"] > cfg.max_duration_s:
        out.append(Advice("warn", "duration", f"{r['duration_s']:.0f} s is long for one sentence: stop soon after you finish."))
    if r["clip_fraction"] > cfg.max_clip_fraction:
        out.append(Advice("bad", "clipping", f"{100 * r['clip_fraction']:.1f} % of samples are clipped: move back from the "
                                             "microphone or lower its input gain."))
    elif r["speech_dbfs"] > cfg.loud_dbfs:
        out.append(Advice("warn", "level", f"Very loud ({r['speech_dbfs']:.0f} dBFS): move a little further from the microphone."))
    if r["speech_dbfs"] < cfg.quiet_dbfs:
        out.append(Advice("warn", "level", f"Quiet ({r['speech_dbfs']:.0f} dBFS speech): move closer to the microphone or speak up."))
    if r["snr_db"] < cfg.poor_snr_db:
        out.append(Advice("bad", "noise", f"Noisy: speech is only {r['snr_db']:.0f} dB above the background. Find a quieter "
                                          "room, switch off fans, or move closer."))
    elif r["snr_db"] < cfg.min_snr_db:
        out.append(Advice("warn", "noise", f"Some background noise (SNR {r['snr_db']:.0f} dB): a quieter room will help."))
    for where, key in (("start", "lead_silence_s"), ("end", "trail_silence_s")):
        if r[key] > cfg.max_edge_silence_s:
            out.append(Advice("warn", "silence", f"{r[key]:.1f} s of silence at the {where}: "
                                                 f"{'start speaking sooner' if where == 'start' else 'stop the recording sooner'} "
                                                 "(or let Preprocess trim it)."))
    if r["duration_s"] >= cfg.min_duration_s and f0_hz.size < 20:
        out.append(Advice("warn", "pitch", "Hardly any voiced speech found: is this speech? Read the sentence aloud."))
    if not out:
        out.append(Advice("ok", "all", f"Good take: level {r['speech_dbfs']:.0f} dBFS, SNR {r['snr_db']:.0f} dB."))
    return out


def assess_voice(reports: list[ClipReport], *, cfg: CoachConfig = CoachConfig()) -> VoiceReport:
    """Combine clip reports into a voice report: total speech, F0 range (5th-95th percentile), advice."""
    if not reports:
        return VoiceReport(0, 0.0, np.array([], np.float32),
                           advice=(Advice("bad", "clips", "No clips yet: record or upload a few sentences."),))
    f0_hz = np.concatenate([r.f0_hz for r in reports]) if reports else np.array([], np.float32)
    speech = float(sum(r.speech_s for r in reports))
    lo, hi = (float(np.percentile(f0_hz, 5)), float(np.percentile(f0_hz, 95))) if f0_hz.size else (float("nan"),) * 2
    snr = float(np.median([r.snr_db for r in reports]))
    advice = []
    if speech < cfg.min_voice_speech_s:
        advice.append(Advice("warn", "amount", f"{speech:.0f} s of speech so far; about {cfg.min_voice_speech_s:.0f} s "
                                               "(15-20 sentences) trains a usable model."))
    bad = sum(r.worst == "bad" for r in reports)
    if bad:
        advice.append(Advice("warn", "clips", f"{bad} of {len(reports)} clips have problems: re-record them (see each clip)."))
    if np.isfinite(lo) and hi / max(lo, 1.0) > 4.0:
        advice.append(Advice("warn", "pitch", f"F0 spans {lo:.0f}-{hi:.0f} Hz, unusually wide: pitch errors, or noise "
                                              "mistaken for voice? Check the noisiest clips."))
    if not advice:
        advice.append(Advice("ok", "all", f"{len(reports)} clips, {speech:.0f} s of speech, median SNR {snr:.0f} dB: "
                                          "ready to train."))
    return VoiceReport(len(reports), speech, f0_hz, (lo, hi), snr, tuple(advice))
