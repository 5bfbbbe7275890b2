"""Real-time conversion: ``StreamingConverter(converter).process(chunk)``, chunk by chunk, at any stream rate.

A stream (48 kHz from WebRTC, or any rate) is resampled to the model's rate (16 kHz) by a stateful
polyphase FIR, converted frame by frame (5 ms hop), and resampled back. Every stage keeps its state
between calls, so the output is the same whatever the chunk sizes are, and it is the input delayed by
a fixed, known number of samples (``latency_ms``).

Where the delay comes from (default bundle: 4 frames of model lookahead, 48 kHz stream)::

    resampler in  (linear-phase FIR, 177 taps at 48 kHz)            1.83 ms
    analysis lookahead (future samples a frame waits for)          15.00 ms
    model lookahead (4 frames x 5 ms)                              20.00 ms
    frame hop (synthesis interpolates between two frames)           5.00 ms
    synthesis (room for the pulses' fractional-delay ringing)       0.50 ms
    resampler out (89 taps at 48 kHz)                               0.92 ms
    total                                                          43.25 ms

Every WORLD-based kind waits at least ``AnalysisConfig.voicing_delay_frames`` (4) frames before a frame's
F0 and voicing are final, so the ``f0``/pitch-shift baseline and a GMM bundle have the same 43.25 ms; the
anonymizer needs one 20 ms frame (22.69 ms); the passthrough none (0 ms).

The stages live in their own modules: ``resampling`` (FIFO, polyphase resampler), ``world_stream``
(sliding WORLD analysis -> the kind's ``FrameMapper`` -> ``F0Transform``), ``vocoder`` (the pulse/noise
synthesiser) and ``anonymizer`` (McAdams). Every setting is in ``config.StreamConfig``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from .anonymizer import McAdamsEngine, check_mcadams
from .audio import dbfs, resample, validate_audio
from .config import StreamConfig
from .errors import AudioError, ConfigError
from .inference import VoiceConverter
from .resampling import PolyphaseResampler, SampleFifo
from .vocoder import PulseNoiseSynthesizer, synthesize_frames
from .world_stream import WorldEngine

STAGES = ("resample_in", "analysis", "model", "synthesis", "resample_out")


class StreamEngine(Protocol):
    """What ``StreamingConverter`` drives at the engine's rate ``sr`` (``WorldEngine``, ``McAdamsEngine``).

    ``push`` returns samples; ``fill`` zeros in front of them keep the output at least as long as the
    input, and output sample ``i`` (counting the fill) renders input sample ``i - delay``.
    """

    sr: int
    fill: int
    delay: int
    reports_f0: bool
    f0_hz: float
    out_f0_hz: float
    stage_s: dict[str, float]

    def push(self, x: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class StreamStats:
    """What ``StreamingConverter.snapshot()`` reports (times in ms, over the last ``cfg.stats_window`` chunks).

    ``rtf`` is compute time / audio time; ``stages_ms`` is the mean compute time per chunk of each stage
    (``resample_in``, ``analysis``, ``model``, ``synthesis``, ``resample_out``) for a stacked bar.
    ``f0_hz`` is the input's F0 at the newest analysed frame and ``out_f0_hz`` the output's (0 when
    unvoiced; NaN for engines without F0). ``n_sanitized`` counts chunks whose NaN/inf samples were zeroed.
    """

    n_chunks: int = 0
    last_ms: float = 0.0
    median_ms: float = 0.0
    p99_ms: float = 0.0
    rtf: float = 0.0
    input_dbfs: float = -120.0
    f0_hz: float = float("nan")
    out_f0_hz: float = float("nan")
    latency_ms: float = 0.0
    bypass: bool = False
    n_sanitized: int = 0
    stages_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


# ================================================================================ StreamingConverter
class StreamingConverter:
    """Converts a live stream chunk by chunk: ``process(chunk) -> chunk`` of the same length.

    Parameters
    ----------
    converter : VoiceConverter, optional
        A loaded bundle or a baseline: a mapper without a vocoder (``identity``) streams as a passthrough
        (no delay); every other kind through ``world_stream.WorldEngine`` with its own ``FrameMapper``
        and ``F0Transform``.
    cfg : StreamConfig
        ``stream_sr`` is the rate of the chunks; ``cfg.analysis`` (window, lookahead), ``cfg.resampler``,
        ``cfg.synth`` and ``cfg.mcadams`` configure the stages.
    seed : int
        Seed of the synthesizer's noise; ``reset()`` restarts it, so a re-run repeats exactly.
    engine : StreamEngine, optional
        Instead of ``converter``: an engine to drive (e.g. ``anonymizer.McAdamsEngine``), with the
        ``name`` and ``description`` to show.

    Attributes
    ----------
    bypass : bool
        When set, the output is the dry input delayed by ``latency_ms`` (conversion keeps running, and a
        10 ms crossfade avoids clicks), for A/B listening. Safe to flip from any thread.

    Notes
    -----
    ``process`` and ``reset`` hold one lock and ``snapshot`` another, so a UI thread may read stats, flip
    ``bypass`` or set ``mcadams`` while an audio thread processes. Bad chunks: non-float dtypes and
    anything but a 1-D array raise ``AudioError`` (mix down with ``audio.to_mono`` first); NaN/inf
    samples are replaced by 0 and counted in ``snapshot().n_sanitized`` so one bad packet cannot
    stop a stream.
    """

    def __init__(self, converter: VoiceConverter | None = None, *, cfg: StreamConfig = StreamConfig(), seed: int = 0,
                 engine: StreamEngine | None = None, name: str = "", description: str = ""):
        if (converter is None) == (engine is None):
            raise ConfigError("Pass either a VoiceConverter or an engine (e.g. anonymizer.McAdamsEngine), not both.")
        if converter is not None:
            name, description = converter.name, converter.description
            if converter.mapper.uses_vocoder:
                engine = WorldEngine(converter, analysis=cfg.analysis, synth_cfg=cfg.synth, seed=seed)
        self.cfg, self.name, self.description = cfg, name, description
        self._engine = engine
        self._proc_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.bypass = False
        sr = cfg.stream_sr
        if engine is None:
            self._down = self._up = None
            self._delay = 0.0
        else:
            self._down = PolyphaseResampler(sr, engine.sr, band_hz=cfg.resampler.in_band_hz,
                                            atten_db=cfg.resampler.atten_db)
            self._up = PolyphaseResampler(engine.sr, sr, band_hz=cfg.resampler.out_band_hz,
                                          atten_db=cfg.resampler.atten_db)
            # The input resampler delays the engine's frame grid by a fraction of a hop; that many zeros more
            # put the engine's frames on the stream's 5 ms grid, where an offline analysis of the same audio
            # puts them (awb -> slt f0 baseline: V/UV error gap to offline 0.035 -> see AnalysisConfig).
            hop = getattr(engine, "hop", 0)
            self._pad = (-int(round(self._down.delay * engine.sr / sr))) % hop if hop and cfg.align_frames else 0
            # stream time of output sample e is e - delay: resamplers' group delays plus the engine's
            self._delay = (self._down.delay + self._up.delay * sr / engine.sr
                           + (engine.delay + self._pad) * sr / engine.sr)
        self._delay_samples = int(round(self._delay))
        self.reset()

    # ------------------------------------------------------------------------------- constructors
    @classmethod
    def passthrough(cls, *, cfg: StreamConfig = StreamConfig()) -> StreamingConverter:
        """The input, unchanged and undelayed (the ``identity`` baseline)."""
        return cls(VoiceConverter.load("identity"), cfg=cfg)

    @classmethod
    def pitch_shift(cls, *, semitones: float | None = None, ratio: float | None = None,
                    cfg: StreamConfig = StreamConfig()) -> StreamingConverter:
        """WORLD resynthesis with F0 scaled by ``ratio`` (or ``2 ** (semitones / 12)``)."""
        if ratio is None:
            ratio = 2.0 ** ((semitones or 0.0) / 12.0)
        if not 0.25 <= ratio <= 4.0:
            raise ConfigError(f"Pitch ratio {ratio:g} is outside 0.25..4 (two octaves); choose a smaller shift.")
        return cls(VoiceConverter.load("f0", pitch_ratio=ratio), cfg=cfg)

    @classmethod
    def anonymize(cls, *, mcadams: float | None = None, cfg: StreamConfig = StreamConfig()) -> StreamingConverter:
        """The VoicePrivacy McAdams-coefficient anonymizer (``cfg.mcadams``); ``mcadams`` can change while streaming."""
        engine = McAdamsEngine(cfg.mcadams, alpha=mcadams)
        return cls(engine=engine, cfg=cfg, name="anonymize", description=f"McAdams anonymizer (alpha {engine.alpha:g})")

    # -------------------------------------------------------------------------------- properties
    @property
    def latency_ms(self) -> float:
        """Algorithmic delay between input and output, in ms (0 for the passthrough)."""
        return 1000.0 * self._delay / self.cfg.stream_sr

    @property
    def latency_samples(self) -> int:
        """``latency_ms`` in stream samples, rounded."""
        return self._delay_samples

    @property
    def mcadams(self) -> float:
        """The anonymizer's McAdams coefficient (NaN for other engines)."""
        return self._engine.alpha if isinstance(self._engine, McAdamsEngine) else float("nan")

    @mcadams.setter
    def mcadams(self, alpha: float) -> None:
        if not isinstance(self._engine, McAdamsEngine):
            raise ConfigError(f"{self.name} is not the anonymizer; build one with StreamingConverter.anonymize().")
        check_mcadams(alpha, self._engine.cfg)
        with self._stats_lock:
            self._engine.alpha = float(alpha)
            self.description = f"McAdams anonymizer (alpha {alpha:g})"

    # ------------------------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget all audio: buffers, model state, synthesis tail and stats; the next chunk starts a new stream."""
        with self._proc_lock:
            if self._engine is not None:
                self._engine.reset()
                self._down.reset()
                self._up.reset()
                self._fifo_int = SampleFifo(self._engine.fill, dtype=np.float64)
                if self._pad:
                    self._fifo_int.push(self._engine.push(np.zeros(self._pad)))
                self._fifo_out = SampleFifo(0)
            self._dry = SampleFifo(self._delay_samples)
            self._mix = 1.0 if self.bypass else 0.0
            with self._stats_lock:
                self._times: deque[float] = deque(maxlen=self.cfg.stats_window)
                self._audio_s: deque[float] = deque(maxlen=self.cfg.stats_window)
                self._stage_hist = {s: deque(maxlen=self.cfg.stats_window) for s in STAGES}
                self._n_chunks = 0
                self._n_sanitized = 0
                self._level = -120.0

    def snapshot(self) -> StreamStats:
        """Current statistics, read under a lock (safe from any thread)."""
        with self._stats_lock:
            times = np.array(self._times)
            audio = float(np.sum(self._audio_s)) if self._audio_s else 0.0
            stages = {s: (1000.0 * float(np.mean(h)) if h else 0.0) for s, h in self._stage_hist.items()}
            eng = self._engine
            has_f0 = eng is not None and eng.reports_f0
            return StreamStats(
                n_chunks=self._n_chunks,
                last_ms=1000.0 * float(times[-1]) if times.size else 0.0,
                median_ms=1000.0 * float(np.median(times)) if times.size else 0.0,
                p99_ms=1000.0 * float(np.percentile(times, 99)) if times.size else 0.0,
                rtf=float(times.sum()) / audio if audio > 0 else 0.0,
                input_dbfs=float(self._level),
                f0_hz=eng.f0_hz if has_f0 else float("nan"),
                out_f0_hz=eng.out_f0_hz if has_f0 else float("nan"),
                latency_ms=self.latency_ms,
                bypass=bool(self.bypass),
                n_sanitized=self._n_sanitized,
                stages_ms=stages,
            )

    # ---------------------------------------------------------------------------------- process
    def _check(self, chunk: np.ndarray) -> tuple[np.ndarray, bool]:
        if not isinstance(chunk, np.ndarray):
            chunk = np.asarray(chunk)
        if chunk.ndim != 1:
            raise AudioError(
                f"Expected a mono chunk of shape (n_samples,), got shape {chunk.shape}; mix it down with "
                "audio.to_mono(chunk) (WebRTC frames: frame_to_mono) first."
            )
        if chunk.dtype.kind != "f":
            raise AudioError(
                f"Expected float samples in [-1, 1], got {chunk.dtype}; convert with audio.to_mono(chunk) first."
            )
        x = chunk.astype(np.float32, copy=True)
        finite = np.isfinite(x)
        if not finite.all():
            x[~finite] = 0.0
            return x, True
        return x, False

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Convert the next chunk of the stream.

        Parameters
        ----------
        chunk : np.ndarray, shape (n_samples,), float32, at ``cfg.stream_sr``
            Any length (20 ms = 960 samples at 48 kHz is typical).

        Returns
        -------
        np.ndarray, shape (n_samples,), float32
            Converted audio, ``latency_ms`` behind the input.

        Raises
        ------
        AudioError
            When the chunk is not a 1-D float array.
        """
        x, sanitized = self._check(chunk)
        n = len(x)
        if n == 0:
            return x
        with self._proc_lock:
            t_start = time.perf_counter()
            stage = dict.fromkeys(STAGES, 0.0)
            eng = self._engine
            if eng is None:
                y = x.copy()
            else:
                for key in eng.stage_s:
                    eng.stage_s[key] = 0.0
                xi = self._down.process(x)
                t1 = time.perf_counter()
                self._fifo_int.push(eng.push(xi))
                t2 = time.perf_counter()
                self._fifo_out.push(self._up.process(self._fifo_int.pop(len(xi))))
                y = self._fifo_out.pop(n)
                t3 = time.perf_counter()
                stage.update(eng.stage_s)
                stage["resample_in"] = t1 - t_start
                stage["resample_out"] = t3 - t2
            self._dry.push(x)
            dry = self._dry.pop(n)
            y = self._mix_bypass(y, dry)
            elapsed = time.perf_counter() - t_start
            level = dbfs(x)
            with self._stats_lock:
                self._times.append(elapsed)
                self._audio_s.append(n / self.cfg.stream_sr)
                for s in STAGES:
                    self._stage_hist[s].append(stage[s])
                self._n_chunks += 1
                self._n_sanitized += int(sanitized)
                self._level = max(-120.0, float(level))
        return y

    def _mix_bypass(self, wet: np.ndarray, dry: np.ndarray) -> np.ndarray:
        target = 1.0 if self.bypass else 0.0
        if self._mix == target:
            return (dry if target == 1.0 else wet).astype(np.float32)
        step = 1000.0 / (self.cfg.crossfade_ms * self.cfg.stream_sr)
        g = np.clip(self._mix + np.sign(target - self._mix) * step * np.arange(1, len(wet) + 1), 0.0, 1.0)
        self._mix = float(g[-1])
        return ((1.0 - g) * wet + g * dry).astype(np.float32)


# ========================================================================================== offline
def convert_streaming(converter: VoiceConverter, y: np.ndarray, sr: int, *, cfg: StreamConfig = StreamConfig(),
                      stream: StreamingConverter | None = None) -> tuple[np.ndarray, int]:
    """Convert a whole signal through the real-time path, in ``cfg.chunk_ms`` chunks at ``cfg.stream_sr``.

    The signal is resampled to the stream rate, fed to a fresh ``StreamingConverter`` chunk by chunk,
    flushed with silence for the latency, and the first ``latency_samples`` output samples are dropped,
    so the result lines up with the input (same length). ``stream``: a fresh ``StreamingConverter(converter,
    cfg=cfg)`` to use instead (e.g. one whose stages a benchmark watches).

    Returns
    -------
    y_out : np.ndarray, shape (round(len(y) * cfg.stream_sr / sr),), float32
    sr_out : int
        ``cfg.stream_sr``.

    Raises
    ------
    AudioError
        When ``y`` is not usable speech.
    """
    validate_audio(y, sr)
    x = y.astype(np.float32)
    if sr != cfg.stream_sr:
        x = resample(x, orig_sr=sr, target_sr=cfg.stream_sr)  # the whole band, as a microphone at that rate
    stream = StreamingConverter(converter, cfg=cfg) if stream is None else stream
    d = stream.latency_samples
    step = cfg.chunk_samples
    padded = np.concatenate([x, np.zeros(d + step, dtype=np.float32)])
    out = np.concatenate([stream.process(padded[i:i + step]) for i in range(0, len(padded), step)])
    return out[d:d + len(x)].astype(np.float32), cfg.stream_sr


__all__ = ["StreamingConverter", "StreamStats", "StreamEngine", "PulseNoiseSynthesizer", "PolyphaseResampler",
           "convert_streaming", "synthesize_frames", "STAGES"]
