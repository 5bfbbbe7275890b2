"""Configuration of the real-time path: resamplers, vocoder, postfilter, sliding analysis, anonymizer, stream
and Live sessions (split from ``config.py``, which re-exports every name here).

Every tunable lives in a frozen dataclass validated in ``__post_init__``; variants come from
``dataclasses.replace(cfg, field=value)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError


@dataclass(frozen=True)
class ResamplerConfig:
    """The stream's polyphase resamplers (``resampling.PolyphaseResampler``).

    Band edges are relative to the lower Nyquist frequency. Into the model rate the pass band must reach
    ~Nyquist: the models saw full-band 16 kHz mel-cepstra, and a filter rolling off from 7.5 kHz raised a
    bundle's MCD from 5.35 to 6.27 dB (offline, same input); a pass band to Nyquist (aliasing only 8..9 kHz)
    moved the mel-cepstra of a 16 kHz file by 0.1 dB. Back to the stream rate the same holds: a pass band
    ending at 7 kHz cost 0.25 dB MCD (awb copy synthesis); the images it lets through lie above 8 kHz.
    """

    atten_db: float = 60.0
    in_band_hz: tuple[float, float] = (0.0, 1_000.0)
    out_band_hz: tuple[float, float] = (0.0, 1_000.0)

    def __post_init__(self) -> None:
        if self.atten_db < 20.0:
            raise ConfigError(f"atten_db={self.atten_db} is too weak; use >= 20 dB (60 dB is the default).")
        for name, (lo, hi) in (("in_band_hz", self.in_band_hz), ("out_band_hz", self.out_band_hz)):
            if not lo < hi:
                raise ConfigError(f"{name}={(lo, hi)}: the pass-band edge must lie below the stop-band edge.")


@dataclass(frozen=True)
class SynthConfig:
    """The streaming pulse/noise vocoder (``vocoder.PulseNoiseSynthesizer``).

    ``fft_size``: length of each pulse response (32 ms at 16 kHz; envelopes are sampled at every other bin
    of a 1024-point analysis). ``pre_samples``: the synthesiser's own delay, which keeps the pulses'
    fractional-delay pre-ringing causal. ``unvoiced_f0_hz``: pulse rate in unvoiced stretches (WORLD's).
    ``level_time_s``: time constant over which the converted envelope's power is matched to the source's
    (leaky power sums of both), the running counterpart of offline conversion's one gain per utterance;
    0 matches every frame on its own, which flattens the loudness contour between phones (that raised
    PocketSphinx's WER of awb -> slt streaming from 0.46 to 0.60 on the sample test set).
    """

    fft_size: int = 512
    pre_samples: int = 8
    unvoiced_f0_hz: float = 500.0
    level_time_s: float = 2.0

    def __post_init__(self) -> None:
        if self.fft_size < 64 or self.fft_size & (self.fft_size - 1):
            raise ConfigError(f"fft_size={self.fft_size} must be a power of two >= 64 (e.g. 512).")
        if not 1 <= self.pre_samples <= self.fft_size // 4:
            raise ConfigError(f"pre_samples={self.pre_samples} must be in 1..fft_size/4.")
        if self.unvoiced_f0_hz <= 0:
            raise ConfigError(f"unvoiced_f0_hz={self.unvoiced_f0_hz} must be > 0 (WORLD uses 500).")
        if not 0.0 <= self.level_time_s <= 60.0:
            raise ConfigError(f"level_time_s={self.level_time_s} must be in [0, 60] s; 2 follows the level over "
                              "a sentence, 0 matches every frame.")


@dataclass(frozen=True)
class PostfilterConfig:
    """The global-variance postfilter of converted mel-cepstra (``postfilter.Postfilter``).

    A trained model's output varies less than natural speech; each coefficient ``c_d`` (``d >= 1``) is
    spread about the model's mean by ``ratio_d ** gv_weight``, where ``ratio_d`` (stored in the bundle at
    training) is the target's standard deviation over the model's. 0 turns the filter off, 1 restores the
    target's spread in full. Measured with ``benchmarks/intelligibility.py`` (awb -> slt LSTM, default recipe,
    3 folds of 40 training / 10 test sentences, offline): weight 0 gives PocketSphinx WER 0.465, MCD 4.45 dB,
    GV ratio 0.76, speaker similarity 0.986; 0.5 gives 0.453, 4.49 dB, 0.90, 0.985. Over 8 models (folds,
    seeds, loss and lookahead variants) weight 0.5 moved WER by -0.04..+0.04 (mean -0.01: noise), and DNSMOS
    OVRL fell by 0.02 (1.0: by 0.05; 3 models), so the filter is off by default; the classic mel-cepstral emphasis
    (``c_m *= 1 + beta``, m >= 2) did worse (beta 0.2: WER 0.498 at 5.12 dB).
    """

    gv_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.gv_weight <= 1.5:
            raise ConfigError(f"gv_weight={self.gv_weight} must be in [0, 1.5]; 0 is off, 1 restores the target's "
                              "spread in full.")


@dataclass(frozen=True)
class AnalysisConfig:
    """Sliding-window WORLD analysis of a stream (``world_stream.WorldEngine``).

    ``window_ms`` of past audio goes into each DIO call, ``lookahead_ms`` of future audio is awaited
    per frame (latency against accuracy), and the buffer is extended by ``extend_ms`` of a plausible
    continuation (more than DIO's 35 ms edge zone). DIO decimates to ``sr / dio_speed`` (F0 <= 500 Hz is
    kept; StoneMask refines at the full rate) with ``dio_channels`` band-pass channels per octave.
    A frame's F0, voicing and aperiodicity are measured again ``voicing_delay_frames`` frames later (or
    the mapper's lookahead, when longer), when its voicing onset is clear: with none, the ``f0`` baseline
    missed 9 % of the frames offline analysis calls voiced (awb; V/UV error 0.21 against 0.12 offline).
    ``onset_periodicity``: a frame whose buffer tail (or its own 40 ms) autocorrelates above this at a
    pitch lag is continued as voiced at a voicing onset DIO has not confirmed yet (1.0 turns it off).
    Streaming minus offline V/UV error of the f0 baseline, awb -> slt, step by step: 0.059 (speed 8, D4C
    every other frame) -> 0.041 (onset continuation) -> 0.035 (D4C every frame) -> 0.024 (frames on the
    stream's hop grid, ``StreamConfig.align_frames``) -> 0.017 (``dio_speed`` 4; +0.3 ms a chunk).
    """

    window_ms: float = 120.0
    lookahead_ms: float = 15.0
    voicing_delay_frames: int = 4
    extend_ms: float = 40.0
    dio_speed: int = 4
    dio_channels: float = 2.0
    onset_periodicity: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.onset_periodicity <= 1.0:
            raise ConfigError(f"onset_periodicity={self.onset_periodicity} must be in (0, 1]; 1 turns the onset "
                              "continuation off.")
        if not 0.0 <= self.lookahead_ms <= 50.0:
            raise ConfigError(f"lookahead_ms={self.lookahead_ms} must be in 0..50 ms; 15 ms suits the 50 ms budget.")
        if not 40.0 <= self.window_ms <= 500.0:
            raise ConfigError(f"window_ms={self.window_ms} must be in 40..500 ms.")
        if not 0.0 < self.extend_ms <= 100.0:
            raise ConfigError(f"extend_ms={self.extend_ms} must be in (0, 100] ms.")
        if not 0 <= self.voicing_delay_frames <= 8:
            raise ConfigError(f"voicing_delay_frames={self.voicing_delay_frames} must be in 0..8 (5 ms each).")
        if not 1 <= self.dio_speed <= 12 or self.dio_channels <= 0:
            raise ConfigError(f"dio_speed={self.dio_speed} must be in 1..12 and dio_channels > 0.")


@dataclass(frozen=True)
class McAdamsConfig:
    """The streamed VoicePrivacy McAdams anonymizer (``anonymizer.McAdamsEngine``)."""

    sr: int = 16_000
    frame_ms: float = 20.0
    lpc_order: int = 20
    alpha: float = 0.8
    alpha_range: tuple[float, float] = (0.5, 1.5)
    max_gain: float = 4.0

    def __post_init__(self) -> None:
        if not 8_000 <= self.sr <= 48_000:
            raise ConfigError(f"sr={self.sr} Hz must be in 8000..48000 (16000 is the VoicePrivacy rate).")
        frame = round(self.sr * self.frame_ms / 1000.0)
        if frame < 2 * (self.lpc_order + 1) or frame % 2:
            raise ConfigError(
                f"frame_ms={self.frame_ms} gives {frame} samples: need an even count >= 2 * (lpc_order + 1)."
            )
        if not 2 <= self.lpc_order <= 64:
            raise ConfigError(f"lpc_order={self.lpc_order} must be in 2..64 (20 at 16 kHz).")
        lo, hi = self.alpha_range
        if not 0.0 < lo <= self.alpha <= hi:
            raise ConfigError(f"alpha={self.alpha} must lie in alpha_range {self.alpha_range}; VoicePrivacy uses 0.8.")
        if self.max_gain < 1.0:
            raise ConfigError(f"max_gain={self.max_gain} must be >= 1.")

    @property
    def frame_length(self) -> int:
        """Frame in samples (the hop is half of it)."""
        return int(round(self.sr * self.frame_ms / 1000.0))


@dataclass(frozen=True)
class StreamConfig:
    """Real-time conversion: the stream's rate and chunking, and the settings of each stage.

    ``align_frames`` delays the WORLD engine's input by the fraction of a hop (< 5 ms) that puts its
    analysis frames on the stream's hop grid, where offline analysis of the same audio puts them.
    """

    stream_sr: int = 48_000
    chunk_ms: float = 20.0
    stats_window: int = 1_000
    crossfade_ms: float = 10.0
    align_frames: bool = True
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    resampler: ResamplerConfig = field(default_factory=ResamplerConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    mcadams: McAdamsConfig = field(default_factory=McAdamsConfig)

    def __post_init__(self) -> None:
        if not 8_000 <= self.stream_sr <= 96_000:
            raise ConfigError(f"stream_sr={self.stream_sr} must be in 8000..96000 Hz.")
        if not 5.0 <= self.chunk_ms <= 100.0:
            raise ConfigError(f"chunk_ms={self.chunk_ms} must be in 5..100 ms.")
        if self.stats_window < 10:
            raise ConfigError(f"stats_window={self.stats_window} must be >= 10 chunks.")
        if not 0.0 < self.crossfade_ms <= 100.0:
            raise ConfigError(f"crossfade_ms={self.crossfade_ms} must be in (0, 100] ms.")

    @property
    def chunk_samples(self) -> int:
        return int(round(self.stream_sr * self.chunk_ms / 1000.0))


@dataclass(frozen=True)
class LiveConfig:
    """One Live (WebRTC) session: the stream, stall recovery, recording and the per-frame trace.

    ``stall_s``: "playing" this long without a frame means the server-side worker is gone.
    ``max_restarts``: automatic restarts in a row before the person is asked to press Stop, then Start.
    ``restart_timeout_s``: a restart phase that takes longer is retried. ``settle_s``: the component
    starts twice (two offers, one answer: stuck "connecting") when it re-renders between "start" and its
    first state change, which its own stop-and-resize triggers; so it starts only after this pause.
    ``trace_frames``: per-frame (time, input RMS, output RMS) rows kept in memory (0: no trace).
    ``max_sessions``: live streams converted at once; one more is refused with a polite message
    (``benchmarks/realtime.py`` measures how many this machine sustains). ``idle_release_s``: a stream
    that delivered no frame for this long gives its slot back (a browser that vanished without "ended").
    ``busy_window_s`` / ``busy_rtf``: the page says "machine too busy" when the compute time per audio
    time over the last ``busy_window_s`` seconds of audio exceeds ``busy_rtf`` (1.0: slower than real time).
    ``recent_s``: seconds of input and converted output kept for the scrolling view and the live speaker
    map (a fixed ring buffer: 5 s at 48 kHz is 1.9 MB; 0 keeps none).
    """

    stream: StreamConfig = field(default_factory=lambda: StreamConfig(stream_sr=48_000))  # WebRTC (Opus) rate
    stall_s: float = 3.0
    max_restarts: int = 3
    restart_timeout_s: float = 6.0
    settle_s: float = 1.0
    max_record_s: float = 600.0
    trace_frames: int = 0
    max_sessions: int = 2
    idle_release_s: float = 30.0
    busy_window_s: float = 2.0
    busy_rtf: float = 1.0
    recent_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_sessions < 1 or self.idle_release_s <= 0 or self.busy_window_s <= 0 or self.busy_rtf <= 0:
            raise ConfigError(
                f"max_sessions ({self.max_sessions}) must be >= 1; idle_release_s ({self.idle_release_s}), "
                f"busy_window_s ({self.busy_window_s}) and busy_rtf ({self.busy_rtf}) must be > 0."
            )
        if not 0 <= self.recent_s <= 60:
            raise ConfigError(f"recent_s ({self.recent_s}) must be in [0, 60] seconds; the view shows about 5 s.")
        if self.stall_s <= 0 or self.restart_timeout_s <= 0 or self.settle_s < 0:
            raise ConfigError(
                f"stall_s ({self.stall_s}) and restart_timeout_s ({self.restart_timeout_s}) must be > 0, "
                f"settle_s ({self.settle_s}) >= 0."
            )
        if self.max_restarts < 0 or self.max_record_s <= 0 or self.trace_frames < 0:
            raise ConfigError(
                f"max_restarts ({self.max_restarts}) and trace_frames ({self.trace_frames}) must be >= 0, "
                f"max_record_s ({self.max_record_s}) > 0."
            )
