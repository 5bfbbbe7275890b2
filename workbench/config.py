"""Typed, validated configuration for every part of the workbench.

Every tunable lives in a frozen dataclass; derived values are properties. Variants come from
``dataclasses.replace(cfg, field=value)``. Configs round-trip through JSON with ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import ConfigError
from .models.registry import BASELINES, MODEL_KINDS  # noqa: F401 - the one list of kinds (light: no Keras)

T = TypeVar("T")

F0_METHODS = ("dio", "harvest", "pyin")


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from a dict, ignoring unknown keys (a newer bundle may carry more)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
    return cls(**kwargs)


class _JsonConfig:
    """``to_dict``/``from_dict`` for config dataclasses, so they round-trip through JSON (bundle.json)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class AudioConfig:
    """Limits applied when audio is loaded or validated.

    ``max_upload_mb``: audio handed over as bytes or an in-memory file (an upload, a recording) larger than
    this is refused before decoding; it matches the app's ``server.maxUploadSize`` in ``.streamlit/config.toml``.
    """

    min_duration_s: float = 0.3
    max_duration_s: float = 600.0
    silence_dbfs: float = -70.0
    low_level_dbfs: float = -45.0
    clip_fraction_warn: float = 0.01
    max_upload_mb: float = 50.0

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise ConfigError(f"max_upload_mb={self.max_upload_mb} must be > 0 (MB); 50 is the default.")
        if not 0 < self.min_duration_s < self.max_duration_s:
            raise ConfigError(
                f"min_duration_s={self.min_duration_s} must be > 0 and below max_duration_s="
                f"{self.max_duration_s}; choose a smaller minimum."
            )


@dataclass(frozen=True)
class FeatureConfig(_JsonConfig):
    """Analysis parameters shared by every feature, the vocoder and the models.

    Frames are centred every ``hop_ms``; all features computed with one config have the same
    number of frames for the same signal (see ``features.n_frames``).
    """

    sr: int = 16_000
    n_fft: int = 1024
    win_ms: float = 25.0
    hop_ms: float = 5.0
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    n_mfcc: int = 20
    mcep_order: int = 24
    mcep_alpha: float = 0.42
    f0_method: str = "dio"
    f0_floor: float = 60.0
    f0_ceil: float = 500.0

    def __post_init__(self) -> None:
        if not 4_000 <= self.sr <= 96_000:
            raise ConfigError(f"sr={self.sr} Hz is outside 4000..96000; use e.g. 16000.")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ConfigError(f"hop_ms={self.hop_ms} must be in (0, win_ms={self.win_ms}]; shorten the hop.")
        if self.win_length > self.n_fft:
            raise ConfigError(
                f"win_ms={self.win_ms} gives {self.win_length} samples, more than n_fft={self.n_fft}; "
                "raise n_fft or shorten the window."
            )
        if self.n_fft & (self.n_fft - 1):
            raise ConfigError(f"n_fft={self.n_fft} must be a power of two (e.g. 512, 1024).")
        if not 0 <= self.fmin < self.fmax_hz <= self.sr / 2:
            raise ConfigError(
                f"Need 0 <= fmin ({self.fmin}) < fmax ({self.fmax_hz}) <= sr/2 ({self.sr / 2}); adjust the range."
            )
        if not 8 <= self.n_mels <= 256:
            raise ConfigError(f"n_mels={self.n_mels} must be in 8..256.")
        if not 2 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"n_mfcc={self.n_mfcc} must be in 2..n_mels ({self.n_mels}).")
        if not 4 <= self.mcep_order <= self.n_fft // 8:
            raise ConfigError(f"mcep_order={self.mcep_order} must be in 4..n_fft/8 ({self.n_fft // 8}).")
        if not 0.0 <= self.mcep_alpha < 1.0:
            raise ConfigError(f"mcep_alpha={self.mcep_alpha} must be in [0, 1); 0.42 suits 16 kHz.")
        if self.f0_method not in F0_METHODS:
            raise ConfigError(f"f0_method={self.f0_method!r} is unknown; choose one of {F0_METHODS}.")
        if not 20 <= self.f0_floor < self.f0_ceil <= self.sr / 4:
            raise ConfigError(
                f"Need 20 <= f0_floor ({self.f0_floor}) < f0_ceil ({self.f0_ceil}) <= sr/4; adjust the F0 range."
            )

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return int(round(self.sr * self.hop_ms / 1000.0))

    @property
    def win_length(self) -> int:
        """Analysis window in samples."""
        return int(round(self.sr * self.win_ms / 1000.0))

    @property
    def fmax_hz(self) -> float:
        """Upper mel band edge in Hz (``fmax`` or the Nyquist frequency)."""
        return float(self.fmax) if self.fmax is not None else self.sr / 2.0

    @property
    def n_bins(self) -> int:
        """Number of one-sided spectrum bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1


@dataclass(frozen=True)
class ModelConfig(_JsonConfig):
    """Hyperparameters of the LSTM mapping model; field names equal ``MappingModel``'s kwargs."""

    in_dim: int = 26
    out_dim: int = 24
    units: int = 96
    n_layers: int = 2
    dropout: float = 0.1
    input_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.units < 4 or self.n_layers < 1 or self.in_dim < 1 or self.out_dim < 1:
            raise ConfigError(f"Model sizes must be positive (got {self}); e.g. units=96, n_layers=2.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout={self.dropout} must be in [0, 1).")


@dataclass(frozen=True)
class TrainConfig(_JsonConfig):
    """How a conversion model is trained.

    ``lookahead_frames`` delays the target so that a causal model sees that many future frames
    (each ``hop_ms`` long) before it emits a frame: 4 frames of 5 ms add 20 ms of latency.
    ``delta_weight`` adds the squared error of each coefficient's frame-to-frame change to the LSTM's loss
    (``losses.mapping_loss``), against transitions smeared in time.
    """

    model: str = "lstm"
    epochs: int = 60
    batch_size: int = 16
    seq_frames: int = 200
    learning_rate: float = 2e-3
    seed: int = 0
    patience: int = 8
    lr_patience: int = 0
    realign_rounds: int = 1
    val_fraction: float = 0.15
    lookahead_frames: int = 4
    silence_weight: float = 0.1
    delta_weight: float = 0.0
    output_scale: str = "global"
    use_f0_input: bool = True
    gmm_components: int = 16
    gan_epochs: int = 25
    gan_adv_weight: float = 0.3
    gan_learning_rate: float = 2e-4
    disc_channels: int = 64
    disc_kernel_size: int = 5
    disc_layers: int = 2
    augment: tuple[str, ...] = ()
    augment_copies: int = 2
    n_jobs: int = 2
    strategy: str = "default"
    checkpoint_dir: str | None = None
    model_cfg: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        if self.model not in MODEL_KINDS:
            raise ConfigError(f"model={self.model!r} is unknown; choose one of {MODEL_KINDS}.")
        if self.epochs < 1 or self.batch_size < 1 or self.seq_frames < 16:
            raise ConfigError(
                f"epochs ({self.epochs}), batch_size ({self.batch_size}) must be >= 1 and seq_frames "
                f"({self.seq_frames}) >= 16."
            )
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction={self.val_fraction} must be in (0, 0.5).")
        if not 0 <= self.lookahead_frames <= 10:
            raise ConfigError(f"lookahead_frames={self.lookahead_frames} must be in 0..10 (latency budget).")
        if self.strategy not in ("default", "mirrored", "multiworker"):
            raise ConfigError(f"strategy={self.strategy!r}; choose default, mirrored or multiworker.")
        if self.disc_channels < 1 or self.disc_kernel_size < 1 or self.disc_layers < 1:
            raise ConfigError(
                f"Discriminator sizes must be >= 1 (channels {self.disc_channels}, kernel {self.disc_kernel_size}, "
                f"layers {self.disc_layers}); e.g. 64, 5, 2."
            )
        if not 0.0 <= self.delta_weight <= 10.0:
            raise ConfigError(f"delta_weight={self.delta_weight} must be in [0, 10]; 0 trains on squared error alone.")
        if self.output_scale not in ("global", "per_dim"):
            raise ConfigError(f"output_scale={self.output_scale!r}; choose global or per_dim.")
        unknown = set(self.augment) - {"pitch", "formant", "speed"}
        if unknown:
            raise ConfigError(f"Unknown augmentation {sorted(unknown)}; use pitch, formant or speed.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        if isinstance(data.get("model_cfg"), dict):
            data["model_cfg"] = ModelConfig.from_dict(data["model_cfg"])
        return _from_dict(cls, data)


@dataclass(frozen=True)
class F0TransformConfig:
    """How ``pitch.F0Transform`` estimates a many-to-one (adaptive) bundle's source mean from the input.

    Offline, the utterance's own mean log-F0 is used once it has ``min_voiced_frames`` voiced frames;
    a stream starts from the training speakers' mean, worth ``prior_frames`` voiced frames, and its
    running mean converges to the same utterance mean as ``1 / n``.
    """

    prior_frames: int = 50
    min_voiced_frames: int = 10

    def __post_init__(self) -> None:
        if self.prior_frames < 0 or self.min_voiced_frames < 1:
            raise ConfigError(
                f"prior_frames ({self.prior_frames}) must be >= 0 and min_voiced_frames ({self.min_voiced_frames}) >= 1."
            )


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
    """

    fft_size: int = 512
    pre_samples: int = 8
    unvoiced_f0_hz: float = 500.0

    def __post_init__(self) -> None:
        if self.fft_size < 64 or self.fft_size & (self.fft_size - 1):
            raise ConfigError(f"fft_size={self.fft_size} must be a power of two >= 64 (e.g. 512).")
        if not 1 <= self.pre_samples <= self.fft_size // 4:
            raise ConfigError(f"pre_samples={self.pre_samples} must be in 1..fft_size/4.")
        if self.unvoiced_f0_hz <= 0:
            raise ConfigError(f"unvoiced_f0_hz={self.unvoiced_f0_hz} must be > 0 (WORLD uses 500).")


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
class EncoderConfig(_JsonConfig):
    """The speaker encoder's features and architecture (``units``..``emb_dim`` are ``SpeakerEncoder``'s kwargs).

    Utterances are embedded in partial windows of ``window_frames`` log-mel frames, ``window_hop_frames``
    apart; the utterance embedding is the normalised mean of the window embeddings.
    """

    sr: int = 16_000
    n_mels: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    window_frames: int = 160
    window_hop_frames: int = 80
    units: int = 128
    n_layers: int = 2
    emb_dim: int = 64

    def __post_init__(self) -> None:
        if not 8_000 <= self.sr <= 48_000:
            raise ConfigError(f"sr={self.sr} must be in 8000..48000 Hz; 16000 suits speech.")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ConfigError(f"hop_ms={self.hop_ms} must be in (0, win_ms={self.win_ms}].")
        if not 16 <= self.window_frames <= 1000 or not 1 <= self.window_hop_frames <= self.window_frames:
            raise ConfigError(f"window_frames={self.window_frames} must be in 16..1000 and window_hop_frames="
                              f"{self.window_hop_frames} in 1..window_frames.")
        if min(self.n_mels, self.units, self.n_layers, self.emb_dim) < 1:
            raise ConfigError(f"Encoder sizes must be positive, got {self}.")

    @property
    def model_kwargs(self) -> dict[str, int]:
        return {"n_mels": self.n_mels, "units": self.units, "n_layers": self.n_layers, "emb_dim": self.emb_dim}


@dataclass(frozen=True)
class EncoderTrainConfig(_JsonConfig):
    """How the speaker encoder is trained with the GE2E loss.

    Each step draws ``speakers_per_batch`` speakers with ``utterances_per_speaker`` random crops each, all
    ``crop_frames`` long (drawn per step between ``min_crop_frames`` and the window length). An epoch is
    ``steps_per_epoch`` steps (by default: as many as the data has utterances, in batches).
    """

    epochs: int = 40
    speakers_per_batch: int = 16
    utterances_per_speaker: int = 6
    min_crop_frames: int = 100
    steps_per_epoch: int | None = None
    learning_rate: float = 1e-3
    seed: int = 0
    checkpoint_dir: str | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.speakers_per_batch < 2 or self.utterances_per_speaker < 2:
            raise ConfigError(f"epochs ({self.epochs}) must be >= 1, speakers_per_batch ({self.speakers_per_batch}) "
                              f"and utterances_per_speaker ({self.utterances_per_speaker}) >= 2 (GE2E compares them).")
        if self.min_crop_frames < 16 or (self.steps_per_epoch is not None and self.steps_per_epoch < 1):
            raise ConfigError(f"min_crop_frames={self.min_crop_frames} must be >= 16 and steps_per_epoch >= 1.")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"learning_rate={self.learning_rate} must be in (0, 1).")


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
